"""Verify a certificate anywhere, offline: its signed code (or a serial typed by hand) against what
this PC knows.

What this PC knows, besides its own records:

- the signing keys of the installations it trusts (``installation``), and those the SRC office has
  enrolled, sent in the office's bundles (``certificate_issuer``: :func:`issuers_for_bundle` /
  :func:`apply_issuers`). Only the office speaks for the estate: an establishment PC enrols the
  office alone, so without these it could not check a certificate issued at another
  establishment. A key known this way is for checking certificates only: it never makes this PC
  trust that installation's bundles (those need ``installation``, enrolled by a person);
- every certificate the office knows was revoked or superseded (``certificate_status``:
  :func:`statuses_for_bundle` / :func:`apply_statuses`): serial, key id, dates, who and why, the
  superseding serial; no name, no person. A certificate's own record only reaches the PCs whose
  scope holds its person; its status reaches every PC.

:func:`verify` answers one of ``valid``, ``revoked``, ``superseded``, ``not_here`` (genuine,
issued by a PC whose records have not reached this one yet) or ``not_genuine``, with one plain
sentence and a few lines of detail. It reads only: any signed-in user may verify.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from ..dates import day_month_year
from ..models import (
    USER_ROLES,
    Certificate,
    CertificateIssuer,
    CertificateStatus,
    Establishment,
    Installation,
    User,
)
from ..sync import certcode
from ..sync.errors import BundleRefused
from ..sync.identity import ROLES, check_installation_id
from ..sync.minisign import PublicKey
from .base import Context

__all__ = [
    "MAX_ISSUERS",
    "MAX_STATUSES",
    "OUTCOMES",
    "REVOKE_WARNING",
    "Verdict",
    "apply_issuers",
    "apply_statuses",
    "issuers_for_bundle",
    "statuses_for_bundle",
    "verify",
]

OUTCOMES = ("valid", "revoked", "superseded", "not_here", "not_genuine")
MAX_ISSUERS = 10_000
MAX_STATUSES = 1_000_000
MAX_REASON_CHARS = 1000
#: What the revoke and reissue dialogs say (and the command line): the reason is not kept private.
REVOKE_WARNING = ("The reason is sent with the certificate's serial to every srcdesk PC in the estate, so that "
                  "any of them can say the certificate was revoked and why: write nothing about the person "
                  "in it.")

_ISSUER_KEYS = frozenset({"installation_id", "role", "establishment_code", "name", "signing_key", "enrolled_at",
                          "revoked_at"})
_STATUS_KEYS = frozenset({"serial", "key_id", "issued_on", "status", "status_on", "by_name", "by_role", "reason",
                          "superseded_by"})
_ISO_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_KEY_ID_RE = re.compile(r"[0-9a-f]{16}")
_CODE_RE = re.compile(r"[A-Z0-9]{1,8}")
# A serial as typed by hand: SRC-PER-2026-3F9A-000123 (or the older SRC-PER-2026-000123).
_SERIAL_RE = re.compile(r"SRC-[A-Z0-9]{1,8}-\d{4}(-[0-9A-F]{4,8})?-\d{1,9}")
SERIAL_ONLY = "Checked by serial only: the code was not checked."


# --------------------------------------------------------------------------- the verdict


@dataclass(frozen=True)
class Verdict:
    """What a check found: ``outcome`` (one of :data:`OUTCOMES`), ``headline`` (one plain
    sentence), ``details`` (lines: who issued it, where, when, what; or when, by whom and why it
    was revoked; or what superseded it), ``certificate_id`` (the record, if held here),
    ``name_checked`` (None: no name given; True/False: the name typed matches the code or not),
    ``serial`` (as read, if any) and ``by_serial_only`` (a serial typed by hand: no code was
    checked)."""

    outcome: str
    headline: str
    details: tuple[str, ...] = ()
    certificate_id: str | None = None
    name_checked: bool | None = None
    serial: str | None = None
    by_serial_only: bool = False

    @property
    def valid(self) -> bool:
        return self.outcome == "valid"

    def line(self) -> str:
        """The verdict on one line (the command line's answer)."""
        return " ".join([self.headline, *(d if d.endswith(".") else d + "." for d in self.details)])


def _not_genuine(reason: str, serial: str | None = None, name_checked: bool | None = None) -> Verdict:
    return Verdict("not_genuine", f"Not genuine: {reason}", serial=serial, name_checked=name_checked)


@dataclass(frozen=True)
class _Key:
    public: PublicKey
    installation_id: str
    name: str
    establishment_code: str | None
    revoked_at: dt.datetime | None


@dataclass(frozen=True)
class _Record:
    """A certificate held here, with the names of who issued it and who changed its status."""

    id: str
    serial: str
    code: str | None
    recipient_name: str
    title: str
    issued_on: dt.date
    status: str
    status_reason: str | None
    status_changed_on: dt.date | None
    issued_by_name: str | None
    changed_by_name: str | None
    changed_by_role: str | None
    superseded_by: str | None
    establishment: str | None  # "Name (CODE)" of the issuing establishment, None at the office


@dataclass(frozen=True)
class _Status:
    serial: str
    issued_on: dt.date
    status: str
    status_on: dt.date | None
    by_name: str | None
    by_role: str | None
    reason: str
    superseded_by: str | None


@functools.lru_cache(maxsize=256)
def _public_key(line: str) -> PublicKey | None:
    """A key line read once (a line always reads as the same key)."""
    try:
        return PublicKey.from_line(line)
    except (ValueError, BundleRefused):
        return None


def _date(value: Any) -> dt.date | None:
    return None if value is None else value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _datetime(value: Any) -> dt.datetime | None:
    return None if value is None else value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))


class _Lookup:
    """What a check reads, in one read transaction, with plain SQL: a scan must take milliseconds."""

    _RECORD = (
        "SELECT c.id, c.serial, c.code, c.recipient_name, c.title, c.issued_on, c.status, c.status_reason, "
        "c.status_changed_on, iu.display_name, su.display_name, su.role, "
        "(SELECT n.serial FROM certificate n WHERE n.supersedes_id = c.id AND n.deleted_hlc IS NULL "
        " ORDER BY n.issued_on, n.id LIMIT 1), "
        "CASE WHEN e.id IS NULL THEN NULL ELSE e.name || ' (' || e.code || ')' END "
        "FROM certificate c LEFT JOIN app_user iu ON iu.id = c.issued_by "
        "LEFT JOIN app_user su ON su.id = c.status_changed_by LEFT JOIN establishment e ON e.id = c.establishment_id "
        "WHERE c.serial = ? AND c.deleted_hlc IS NULL ORDER BY c.issued_on, c.id")
    _STATUS = ("SELECT serial, issued_on, status, status_on, by_name, by_role, reason, superseded_by "
               "FROM certificate_status")

    def __init__(self, s: OrmSession) -> None:
        self.raw = s.connection().connection.driver_connection

    def key(self, key_id: bytes) -> _Key | None:
        """The key named ``key_id``: this PC's own, an installation's it knows, or one the office sent
        (the earliest revocation either knows of counts)."""
        found: _Key | None = None
        for row_id, name, line, revoked, code in self.raw.execute(
                "SELECT i.id, i.name, i.signing_key, i.revoked_at, e.code FROM installation i "
                "LEFT JOIN establishment e ON e.id = i.establishment_id WHERE i.signing_key IS NOT NULL"):
            public = _public_key(line)
            if public is not None and public.key_id == key_id:
                found = _Key(public, row_id, name, code, _datetime(revoked))
                break
        issuer = self.raw.execute(
            "SELECT installation_id, name, signing_key, revoked_at, establishment_code FROM certificate_issuer "
            "WHERE key_id = ?", (key_id.hex(),)).fetchone()
        if issuer is None:
            return found
        row_id, name, line, revoked, code = issuer
        public = _public_key(line)
        if public is None or public.key_id != key_id:
            return found
        revoked_at = _datetime(revoked)
        if found is None:
            return _Key(public, row_id, name, code, revoked_at)
        if public == found.public and revoked_at is not None and (found.revoked_at is None
                                                                   or revoked_at < found.revoked_at):
            return _Key(found.public, found.installation_id, found.name, found.establishment_code, revoked_at)
        return found

    def records(self, serial: str) -> list[_Record]:
        return [_Record(i, se, co, rn, ti, _date(io), st, sr, _date(sc), ib, cb, cr, sb, est)
                for i, se, co, rn, ti, io, st, sr, sc, ib, cb, cr, sb, est in self.raw.execute(self._RECORD, (serial,))]

    def status(self, serial: str, key_hex: str | None) -> _Status | None:
        if key_hex is None:  # a serial typed by hand: the newest news of it, whatever its key
            row = self.raw.execute(self._STATUS + " WHERE serial = ? ORDER BY received_at DESC LIMIT 1",
                                   (serial,)).fetchone()
        else:
            row = self.raw.execute(self._STATUS + " WHERE serial = ? AND key_id = ?", (serial, key_hex)).fetchone()
        if row is None:
            return None
        se, io, st, so, bn, br, re_, sb = row
        return _Status(se, _date(io), st, _date(so), bn, br, re_, sb)

    def place(self, establishment_code: str) -> str:
        if establishment_code == "OFF":
            return "the SRC office"
        row = self.raw.execute("SELECT name FROM establishment WHERE code = ? AND merged_into IS NULL LIMIT 1",
                               (establishment_code,)).fetchone()
        return f"{row[0]} ({establishment_code})" if row else establishment_code

    def award(self, award_code: str) -> str:
        """What the award code names here (a programme's, a ladder level's or a module's code)."""
        for table in ("programme", "milestone_definition", "module"):
            names = self.raw.execute(f"SELECT name FROM {table} WHERE code = ? AND deleted_hlc IS NULL LIMIT 2",
                                     (award_code,)).fetchall()
            if len(names) == 1:
                return f"{names[0][0]} ({award_code})"
        return award_code


# --------------------------------------------------------------------------- verify


def verify(ctx: Context, text: str, *, printed_name: str | None = None) -> Verdict:
    """Check a certificate's code as a barcode scanner typed it (or a serial typed by hand).

    Order: the code is read (damaged or not a code: not genuine); its key is found (this PC's own,
    an installation it trusts, or one the office sent; unknown: not genuine); the key was not
    revoked before the certificate's date of issue; the signature holds; the name typed (if any)
    is the one it was issued to; then, if this PC holds the certificate, the record's code must
    be exactly this one (a genuine code copied onto another certificate is not genuine) and the
    record's status answers; if not, the office's list of revoked and superseded certificates
    answers, or it is genuine but not here yet.
    """
    ctx.require("certificate.verify")
    text = (text or "").strip()
    if printed_name is not None and not printed_name.strip():
        printed_name = None
    if not text:
        return _not_genuine("nothing was scanned or typed.")
    if not text.upper().startswith(certcode.PREFIX) and _SERIAL_RE.fullmatch(text.upper()):
        return _by_serial(ctx, text.upper())
    try:
        code = certcode.decode(text)
    except certcode.NotACode as exc:
        return _not_genuine(_lower_first(str(exc)))
    with ctx.read() as s:
        look = _Lookup(s)
        key = look.key(code.key_id)
        if key is None:
            return _not_genuine("it was signed by a PC this srcdesk does not know.", code.serial)
        if key.revoked_at is not None and key.revoked_at.date() < code.issued_on:
            return _not_genuine(f"it was signed with the key of {key.name}, which was revoked on "
                                f"{day_month_year(key.revoked_at.date())}, before the certificate's date of issue.",
                                code.serial)
        if not code.verifies(key.public):
            return _not_genuine("its signature does not match its content (it was altered or forged).",
                                code.serial)
        if key.establishment_code and code.establishment_code != key.establishment_code:
            # An establishment's PC issues for its own establishment only (the office for any).
            return _not_genuine(f"it was signed by {key.name}, a PC of {look.place(key.establishment_code)}, "
                                f"but says it was issued at {look.place(code.establishment_code)}.", code.serial)
        name_checked = None
        if printed_name is not None:
            name_checked = code.name_matches(printed_name)
            if not name_checked:
                return _not_genuine("the name typed is not the name this certificate was issued to.", code.serial,
                                    False)
        rows = look.records(code.serial)
        if rows:
            exact = code.text()
            record = next((r for r in rows if r.code == exact), None)
            if record is None:
                return _not_genuine("the code does not match the record for this serial.", code.serial, name_checked)
            return _from_record(record, look.place(code.establishment_code), name_checked)
        where = look.place(code.establishment_code)
        common = (f"Issued at: {where}", f"For: {look.award(code.award_code)}")
        status = look.status(code.serial, code.key_id.hex())
        if status is not None:
            return _from_status(status, common, name_checked)
        return Verdict(
            "not_here",
            f"Genuine, issued by {_pc_name(where)} on {day_month_year(code.issued_on)}; its records have not "
            "reached this PC yet.",
            (f"Serial: {code.serial}", f"Issued on: {day_month_year(code.issued_on)}", *common),
            None, name_checked, code.serial)


def _lower_first(sentence: str) -> str:
    return sentence[:1].lower() + sentence[1:] if sentence[:2] != sentence[:2].upper() else sentence


def _pc_name(where: str) -> str:
    return "the SRC office's PC" if where == "the SRC office" else f"{where.split(' (')[0]}'s PC"


def _by(name: str | None, role: str | None) -> str:
    if not name:
        return ""
    return f" by {name}" + (f" ({role})" if role else "")


def _on(day: dt.date | None) -> str:
    return f" on {day_month_year(day)}" if day else ""


def _from_record(record: _Record, where: str | None, name_checked: bool | None, *,
                 serial_only: bool = False) -> Verdict:
    place = where or record.establishment or ("the SRC office" if record.code else "not recorded")
    common = (f"Serial: {record.serial}", f"Issued to: {record.recipient_name}", f"For: {record.title}",
              f"Issued on: {day_month_year(record.issued_on)}",
              f"Issued at: {place}" + (f", by {record.issued_by_name}" if record.issued_by_name else ""))
    prefix = (SERIAL_ONLY + " ") if serial_only else ""
    when, by = _on(record.status_changed_on), _by(record.changed_by_name, record.changed_by_role)
    reason = f"Reason: {record.status_reason or 'none given'}"
    if record.status == "revoked":
        return Verdict("revoked", prefix + f"Genuine, but revoked{when}.", (f"Revoked{when}{by}", reason, *common),
                       record.id, name_checked, record.serial, serial_only)
    if record.status == "superseded":
        newer = record.superseded_by
        headline = f"Genuine, but superseded by {newer}." if newer else "Genuine, but superseded by a later certificate."
        details = (f"Superseded by {newer or 'a certificate not held here'}{when}{by}", reason, *common)
        return Verdict("superseded", prefix + headline, details, record.id, name_checked, record.serial, serial_only)
    headline = "Genuine and valid." if not serial_only else f"{SERIAL_ONLY} This PC's record says it is valid."
    return Verdict("valid", headline, common, record.id, name_checked, record.serial, serial_only)


def _from_status(status: _Status, common: tuple[str, ...], name_checked: bool | None, *,
                 serial_only: bool = False) -> Verdict:
    when, by = _on(status.status_on), _by(status.by_name, status.by_role)
    prefix = (SERIAL_ONLY + " ") if serial_only else ""
    details = [f"Reason: {status.reason or 'none given'}", f"Serial: {status.serial}",
               f"Issued on: {day_month_year(status.issued_on)}", *common,
               "From the SRC office's list of revoked and superseded certificates"]
    if status.status == "revoked":
        return Verdict("revoked", prefix + f"Genuine, but revoked{when}.", (f"Revoked{when}{by}", *details), None,
                       name_checked, status.serial, serial_only)
    newer = status.superseded_by
    headline = f"Genuine, but superseded by {newer}." if newer else "Genuine, but superseded by a later certificate."
    return Verdict("superseded", prefix + headline, (f"Superseded by {newer or 'a later certificate'}{when}{by}",
                                                     *details), None, name_checked, status.serial, serial_only)


def _by_serial(ctx: Context, serial: str) -> Verdict:
    """A serial typed by hand: what this PC's record, or the office's list, says about it."""
    with ctx.read() as s:
        look = _Lookup(s)
        rows = look.records(serial)
        if rows:
            verdict = _from_record(rows[0], None, None, serial_only=True)
            if len(rows) > 1:
                verdict = Verdict(verdict.outcome, verdict.headline, (
                    *verdict.details, f"{len(rows)} certificates on this PC have this serial: scan the QR code to "
                    "tell them apart"), verdict.certificate_id, None, serial, True)
            return verdict
        status = look.status(serial, None)
        if status is not None:
            return _from_status(status, (), None, serial_only=True)
    return Verdict("not_here", f"{SERIAL_ONLY} This PC knows no certificate {serial}; it may have been issued by a "
                   "PC whose records have not reached this one yet. Scan its QR code to check it is genuine.",
                   (f"Serial: {serial}",), None, None, serial, True)


# --------------------------------------------------------------------------- issuer keys in bundles


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def issuers_for_bundle(s: OrmSession) -> list[dict[str, Any]]:
    """At the office: the signing key of every installation it knows a key of (those it enrolled,
    revoked ones included, and its own), as plain records for a bundle."""
    rows = s.execute(select(Installation).where(Installation.signing_key.is_not(None))
                     .order_by(Installation.created_at, Installation.id)).scalars().all()
    codes = dict(s.execute(select(Establishment.id, Establishment.code)).all())
    return [
        {
            "installation_id": row.id,
            "role": row.role,
            "establishment_code": codes.get(row.establishment_id) if row.establishment_id else None,
            "name": row.name,
            "signing_key": row.signing_key,
            "enrolled_at": _iso(row.created_at if row.is_self else row.enrolled_at),
            "revoked_at": _iso(row.revoked_at),
        }
        for row in rows
    ]


def _bad_issuer(index: int, reason: str) -> BundleRefused:
    return BundleRefused(f"Certificate key {index + 1} in the bundle is refused: {reason}.")


def _moment(value: Any, index: int, what: str, bad: Any) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _ISO_RE.fullmatch(value):
        raise bad(index, f"its {what} is not a time like 2025-01-31T09:30:00")
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise bad(index, f"its {what} is not a real date and time") from None


def _line(value: Any, limit: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit and value.isprintable()


def _check_issuer(index: int, record: Any) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise _bad_issuer(index, "it is not an object")
    if set(record) != _ISSUER_KEYS:
        raise _bad_issuer(index, "its fields are wrong")
    try:
        check_installation_id(record["installation_id"])
    except BundleRefused as exc:
        raise _bad_issuer(index, str(exc)) from None
    if record["role"] not in ROLES:
        raise _bad_issuer(index, "its role is not establishment or office")
    code = record["establishment_code"]
    if code is not None and not (isinstance(code, str) and _CODE_RE.fullmatch(code)):
        raise _bad_issuer(index, "its establishment code is not a code")
    if not _line(record["name"], 120):
        raise _bad_issuer(index, "its name is not a short line of text")
    line = record["signing_key"]
    if not isinstance(line, str) or len(line) > 80:
        raise _bad_issuer(index, "its key is not a minisign key line")
    try:
        public = PublicKey.from_line(line)
    except (ValueError, BundleRefused):
        raise _bad_issuer(index, "its key is not a minisign key line") from None
    return {**record, "public": public,
            "enrolled_at": _moment(record["enrolled_at"], index, "enrolment time", _bad_issuer),
            "revoked_at": _moment(record["revoked_at"], index, "revocation time", _bad_issuer)}


def apply_issuers(s: OrmSession, records: Any, *, made_at: dt.datetime) -> int:
    """Record the certificate keys a bundle from the office carries (``made_at``: when the bundle
    was made); return how many were new or changed.

    Every record is checked first (BundleRefused if any is malformed, nothing is changed). This
    PC's own key is left out. A key the office sent before keeps its key: a different key for the
    same installation, or the same key id for two installations, is refused. A revocation, once
    known, stays (the earliest time wins). Runs in the caller's transaction; the caller makes sure
    the bundle is from the office."""
    if not isinstance(records, list):
        raise BundleRefused("The certificate keys in the bundle are not a list.")
    if len(records) > MAX_ISSUERS:
        raise BundleRefused(f"The bundle carries more than {MAX_ISSUERS:,} certificate keys.")
    checked = [_check_issuer(i, r) for i, r in enumerate(records)]
    ids = [r["installation_id"] for r in checked]
    key_ids = [r["public"].key_id for r in checked]
    if len(set(ids)) != len(ids) or len(set(key_ids)) != len(key_ids):
        raise BundleRefused("The bundle names the same installation or key twice among its certificate keys.")
    me = s.execute(select(Installation).where(Installation.is_self.is_(True))).scalar_one()
    changed = 0
    for record in checked:
        if record["installation_id"] == me.id or record["signing_key"] == me.signing_key:
            continue
        key_hex = record["public"].key_id.hex()
        row = s.get(CertificateIssuer, record["installation_id"])
        clash = s.execute(select(CertificateIssuer).where(CertificateIssuer.key_id == key_hex,
                                                          CertificateIssuer.installation_id != record["installation_id"])
                          ).scalars().first()
        if clash is not None or (row is not None and row.signing_key != record["signing_key"]):
            raise BundleRefused(
                f"The bundle gives installation {record['installation_id']} ({record['name']}) a signing key that "
                "differs from the one the office sent before (or that another installation has); it was refused.")
        revoked_at = record["revoked_at"]
        if row is None:
            s.add(CertificateIssuer(
                installation_id=record["installation_id"], key_id=key_hex, signing_key=record["signing_key"],
                role=record["role"], establishment_code=record["establishment_code"], name=record["name"],
                enrolled_at=record["enrolled_at"], revoked_at=revoked_at, received_at=made_at))
            changed += 1
            continue
        news = False
        if revoked_at is not None and (row.revoked_at is None or revoked_at < row.revoked_at):
            row.revoked_at = revoked_at
            news = True
        if made_at >= row.received_at:  # what a newer bundle says of its name and place
            values = {"role": record["role"], "establishment_code": record["establishment_code"],
                      "name": record["name"], "enrolled_at": record["enrolled_at"]}
            if any(getattr(row, k) != v for k, v in values.items()):
                news = True
                for k, v in values.items():
                    setattr(row, k, v)
            row.received_at = made_at
        changed += news
    s.flush()
    return changed


# --------------------------------------------------------------------------- statuses in bundles


def statuses_for_bundle(s: OrmSession) -> list[dict[str, Any]]:
    """At the office: every certificate it holds that was revoked or superseded, as plain records
    for a bundle (no name, no person): serial, the key id of its code, the dates, who changed its
    status (name and role), why, and the serial that superseded it."""
    rows = s.execute(
        select(Certificate.id, Certificate.serial, Certificate.code, Certificate.issued_on, Certificate.status,
               Certificate.status_changed_on, Certificate.status_changed_by, Certificate.status_reason)
        .where(Certificate.status.in_(("revoked", "superseded")), Certificate.deleted_hlc.is_(None))
        .order_by(Certificate.serial, Certificate.id)
    ).all()
    if not rows:
        return []
    newer = dict(s.execute(
        select(Certificate.supersedes_id, Certificate.serial)
        .where(Certificate.supersedes_id.is_not(None), Certificate.deleted_hlc.is_(None))
        .order_by(Certificate.issued_on, Certificate.id)).all())
    users = {u.id: (u.display_name, u.role) for u in s.execute(select(User)).scalars()}
    out: dict[tuple[str, str | None], dict[str, Any]] = {}
    for cid, serial, code, issued_on, status, changed_on, changed_by, reason in rows:
        key_id = None
        if code:
            try:
                key_id = certcode.decode(code).key_id.hex()
            except certcode.NotACode:
                key_id = None
        name, role = users.get(changed_by, (None, None))
        record = {
            "serial": serial, "key_id": key_id, "issued_on": issued_on.isoformat(), "status": status,
            "status_on": changed_on.isoformat() if changed_on else None,
            "by_name": name[:120] if name else None, "by_role": role,
            "reason": (reason or "")[:MAX_REASON_CHARS], "superseded_by": newer.get(cid) if status == "superseded" else None,
        }
        key = (serial, key_id)
        if key not in out or (record["status_on"] or "") >= (out[key]["status_on"] or ""):
            out[key] = record
    return list(out.values())


def _bad_status(index: int, reason: str) -> BundleRefused:
    return BundleRefused(f"Certificate status {index + 1} in the bundle is refused: {reason}.")


def _day(value: Any, index: int, what: str, *, required: bool) -> dt.date | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
        raise _bad_status(index, f"its {what} is not an ISO date (2026-01-31)")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _bad_status(index, f"its {what} is not a real date") from None


def _serial_ok(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= certcode.MAX_FIELD_CHARS and value.isascii() \
        and value.isprintable()


def _check_status(index: int, record: Any) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise _bad_status(index, "it is not an object")
    if set(record) != _STATUS_KEYS:
        raise _bad_status(index, "its fields are wrong")
    if not _serial_ok(record["serial"]):
        raise _bad_status(index, "its serial is not a serial")
    key_id = record["key_id"]
    if key_id is not None and not (isinstance(key_id, str) and _KEY_ID_RE.fullmatch(key_id)):
        raise _bad_status(index, "its key id is not 16 hex digits")
    if record["status"] not in ("revoked", "superseded"):
        raise _bad_status(index, "its status is not revoked or superseded")
    name, role, reason = record["by_name"], record["by_role"], record["reason"]
    if name is not None and not _line(name, 120):
        raise _bad_status(index, "the name of who changed it is not a short line of text")
    if role is not None and role not in USER_ROLES:
        raise _bad_status(index, "the role of who changed it is not a role")
    if not isinstance(reason, str) or len(reason) > MAX_REASON_CHARS:
        raise _bad_status(index, f"its reason is not text of at most {MAX_REASON_CHARS} characters")
    newer = record["superseded_by"]
    if newer is not None and not _serial_ok(newer):
        raise _bad_status(index, "the serial that superseded it is not a serial")
    return {**record, "key_id": key_id or "",
            "issued_on": _day(record["issued_on"], index, "date of issue", required=True),
            "status_on": _day(record["status_on"], index, "date of revocation", required=False)}


def apply_statuses(s: OrmSession, records: Any, *, made_at: dt.datetime) -> int:
    """Record the certificate statuses a bundle from the office carries (``made_at``: when the bundle
    was made); return how many were new or changed.

    Every record is checked first (BundleRefused if any is malformed, nothing is changed). For one
    serial and key, the newest status wins: the later ``status_on``, then the later bundle, so
    bundles imported out of order settle the same. Runs in the caller's transaction; the caller
    makes sure the bundle is from the office."""
    if not isinstance(records, list):
        raise BundleRefused("The certificate statuses in the bundle are not a list.")
    if len(records) > MAX_STATUSES:
        raise BundleRefused(f"The bundle carries more than {MAX_STATUSES:,} certificate statuses.")
    checked = [_check_status(i, r) for i, r in enumerate(records)]
    keys = {(r["serial"], r["key_id"]) for r in checked}
    if len(keys) != len(checked):
        raise BundleRefused("The bundle gives the same certificate two statuses.")
    changed = 0
    for record in checked:
        row = s.get(CertificateStatus, (record["serial"], record["key_id"]))
        incoming = (record["status_on"] or dt.date.min, made_at)
        if row is not None and (row.status_on or dt.date.min, row.received_at) >= incoming:
            continue
        if row is None:
            row = CertificateStatus(serial=record["serial"], key_id=record["key_id"])
            s.add(row)
        values = {k: record[k] for k in ("issued_on", "status", "status_on", "by_name", "by_role", "reason",
                                         "superseded_by")}
        if any(getattr(row, k) != v for k, v in values.items()):
            changed += 1
        for k, v in values.items():
            setattr(row, k, v)
        row.received_at = made_at
    s.flush()
    return changed
