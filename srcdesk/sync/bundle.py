"""The bundle file: writing one, and reading an untrusted one until every check has passed.

See ``docs/bundle-format.md``. In short: ``PER-to-office-<pc>-<seq>.srcbundle`` is a zip holding
exactly ``payload.age`` (binary age, to the recipient and the office's recovery key) and
``payload.age.minisig`` (prehashed minisign ``ED`` signature by the origin; its trusted comment
names the format, origin, seq and bundle id). The decrypted payload is a zip of
``manifest.json``, ``manifest.json.minisig`` and ``data/*.jsonl``.

Nothing here touches the database: :mod:`srcdesk.services.sync` decides whom to trust and what
to apply. Nothing is ever extracted to disk; the payload is decrypted into memory.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyrage
from sqlalchemy import BigInteger, Boolean, Date, Integer, String, Text

from .. import __version__
from ..models import (
    ACHIEVEMENT_STATUSES,
    CERTIFICATE_KINDS,
    CERTIFICATE_STATUSES,
    INITIATIVE_KINDS,
    INITIATIVE_RUNNERS,
    INITIATIVE_STATUSES,
    MERGED_INTO,
    ORGANISATION_KINDS,
    PERSON_KINDS,
    REFERRAL_STAGES,
    REFERRAL_STATUSES,
    SYNCABLE_MODELS,
    USER_ROLES,
)
from ..untrusted import read_untrusted
from . import minisign, strictjson
from .changelog import content_columns
from .errors import BundleRefused
from .fold import Change
from .safezip import Limits, StrictZip

FORMAT = "srcdesk-bundle/1"
SUFFIX = ".srcbundle"
PAYLOAD = "payload.age"
PAYLOAD_SIG = "payload.age.minisig"
MANIFEST = "manifest.json"
MANIFEST_SIG = "manifest.json.minisig"
CHANGES = "data/changes.jsonl"
REVOCATIONS = "data/revocations.jsonl"
DATA_FILES = (CHANGES, REVOCATIONS)
# Files a bundle may hold or not (added after format 1 was first written: a bundle made before
# them still reads). Each is present exactly when the manifest's ``records`` has its count.
# Only the office writes them: the signing keys of the installations it enrolled (for checking
# certificates) and the statuses of revoked or superseded certificates.
CERTIFICATE_ISSUERS = "data/certificate_issuers.jsonl"
CERTIFICATE_STATUS = "data/certificate_status.jsonl"
OPTIONAL_FILES = {CERTIFICATE_ISSUERS: "certificate_issuers", CERTIFICATE_STATUS: "certificate_status"}

MAX_BUNDLE_BYTES = 1 << 30  # the file on the stick
MAX_PAYLOAD_BYTES = 1 << 30  # decrypted payload zip, held in memory
MAX_MANIFEST_BYTES = 1 << 20
MAX_SIG_BYTES = 4096
MAX_CHANGES = 20_000_000
MAX_REVOCATIONS = 10_000
MAX_CERTIFICATE_ISSUERS = 10_000
MAX_CERTIFICATE_STATUSES = 1_000_000
_MAX_OPTIONAL = {"certificate_issuers": MAX_CERTIFICATE_ISSUERS, "certificate_status": MAX_CERTIFICATE_STATUSES}
MAX_TEXT = 100_000  # characters in a Text field
MAX_BASE_VERSIONS = 64
MAX_SEQ = 10**12
FUTURE_SLACK = dt.timedelta(days=1)  # PCs' clocks disagree; more than a day ahead is refused
# What a PC whose clock was wrong does about it (said wherever its bundles are refused for it).
CLOCK_REPAIR_ADVICE = ("On that PC, correct the clock, then run 'srcdesk clock repair' (or Settings → This PC's "
                       "clock → Repair) and export again: its changes are kept.")

_UUIDISH = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_ROW_ID = re.compile(r"^[A-Za-z0-9._:-]{1,36}$")
_COMMENT = re.compile(
    r"^srcdesk-bundle/(?P<version>[0-9]{1,4}) origin=(?P<origin>[0-9a-f-]{36}) seq=(?P<seq>[0-9]{1,13}) "
    r"bundle=(?P<bundle>[0-9a-f-]{36})$"
)
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_CREATED = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")
AGE_MAGIC = b"age-encryption.org/v1\n"


def trusted_comment(origin_id: str, seq: int, bundle_id: str) -> str:
    return f"{FORMAT} origin={origin_id} seq={seq} bundle={bundle_id}"


def short_id(installation_id: str) -> str:
    """The last 8 hex digits of an installation id (its random part): tells PCs apart."""
    return installation_id.replace("-", "")[-8:]


def file_name(*, origin_code: str | None, recipient_code: str | None, origin_id: str, recipient_id: str,
              to_office: bool, seq: int) -> str:
    """The name says which way the bundle goes and which PC it is from or for, so bundles from two
    PCs of one establishment, or for them, never have the same name:
    ``PER-to-office-1a2b3c4d-00000012.srcbundle`` (from that Perth PC) and
    ``office-to-PER-5e6f7a8b-00000003.srcbundle`` (for that Perth PC). ``seq`` is the origin's
    number for this recipient."""
    if to_office:
        return f"{origin_code or 'SRC'}-to-office-{short_id(origin_id)}-{seq:08d}{SUFFIX}"
    return f"office-to-{recipient_code or 'SRC'}-{short_id(recipient_id)}-{seq:08d}{SUFFIX}"


@dataclass(frozen=True)
class Header:
    """What the outer signature's trusted comment says (signed, checked against the manifest)."""

    format: str
    origin_id: str
    seq: int
    bundle_id: str


def parse_trusted_comment(text: str) -> Header:
    m = _COMMENT.match(text)
    if m is None:
        raise BundleRefused("The bundle's signature does not describe a srcdesk bundle (unexpected trusted comment).")
    if m["version"] != "1":
        raise BundleRefused(
            f"This bundle is in format srcdesk-bundle/{m['version']}, which this srcdesk does not read; "
            "update srcdesk."
        )
    for value in (m["origin"], m["bundle"]):
        if not _UUIDISH.match(value):
            raise BundleRefused("The bundle's signature names an origin or bundle id that is not an id.")
    return Header(FORMAT, m["origin"], int(m["seq"]), m["bundle"])


# -- writing ------------------------------------------------------------------------------


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.external_attr = 0o600 << 16
    info.create_system = 3
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


class _HashingWriter:
    """Counts and hashes what goes into a zip entry."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.sha.update(data)
        self.size += len(data)
        self.stream.write(data)


@dataclass(frozen=True)
class Written:
    path: Path
    bundle_id: str
    seq: int
    created: dt.datetime
    changes: int
    counts: dict[str, int]
    size: int


def write_bundle(
    target_dir: Path, *, name: str, key: minisign.SigningKey, origin: Mapping[str, Any], seq: int, bundle_id: str,
    created: dt.datetime, schema: str, full: bool, recipients: list[dict[str, str]],
    change_lines: Iterable[tuple[str, bytes]], revocations: list[dict[str, Any]],
    certificate_issuers: list[dict[str, Any]] | None = None,
    certificate_status: list[dict[str, Any]] | None = None,
) -> Written:
    """Write a bundle to ``target_dir / name`` (never overwriting), atomically.

    ``change_lines`` yields (table, one JSON line without newline) in (table, row, hlc, origin)
    order; ``recipients`` are {"installation_id", "age_recipient", "kind"} (kind: installation |
    recovery). The payload is built and encrypted in memory: nothing unencrypted touches the disk.
    ``certificate_issuers`` and ``certificate_status`` (the office's): written when not None.
    """
    target = target_dir / name
    if target.exists():
        raise BundleRefused(f"{target} already exists; srcdesk never overwrites a bundle.")
    counts: dict[str, int] = {}
    inner = io.BytesIO()
    files = []
    with zipfile.ZipFile(inner, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        with z.open(_info(CHANGES), "w") as raw:
            out = _HashingWriter(raw)
            buf: list[bytes] = []
            pending = 0
            for table, line in change_lines:
                counts[table] = counts.get(table, 0) + 1
                buf.append(line)
                pending += 1
                if pending >= 2000:
                    buf.append(b"")
                    out.write(b"\n".join(buf))
                    buf, pending = [], 0
            if buf:
                buf.append(b"")
                out.write(b"\n".join(buf))
        files.append({"name": CHANGES, "size": out.size, "sha256": out.sha.hexdigest()})
        rev = b"".join(_json_line(r) + b"\n" for r in revocations)
        z.writestr(_info(REVOCATIONS), rev)
        files.append({"name": REVOCATIONS, "size": len(rev), "sha256": hashlib.sha256(rev).hexdigest()})
        total = sum(counts.values())
        records: dict[str, Any] = {"changes": total, "revocations": len(revocations),
                                   "tables": dict(sorted(counts.items()))}
        for name, items in ((CERTIFICATE_ISSUERS, certificate_issuers), (CERTIFICATE_STATUS, certificate_status)):
            if items is None:
                continue
            data = b"".join(_json_line(r) + b"\n" for r in items)
            z.writestr(_info(name), data)
            files.append({"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
            records[OPTIONAL_FILES[name]] = len(items)
        manifest = {
            "format": FORMAT, "schema": schema, "app_version": __version__, "bundle_id": bundle_id,
            "origin": dict(origin), "seq": seq, "created": _iso(created), "full": full,
            "recipients": recipients, "records": records, "files": files,
        }
        manifest_bytes = json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False).encode() + b"\n"
        comment = trusted_comment(origin["installation_id"], seq, bundle_id)
        z.writestr(_info(MANIFEST), manifest_bytes)
        z.writestr(_info(MANIFEST_SIG), key.sign_bytes(manifest_bytes, comment, "srcdesk bundle manifest"))
    payload = inner.getvalue()
    del inner
    try:
        encrypted = pyrage.encrypt(payload, [pyrage.x25519.Recipient.from_str(r["age_recipient"]) for r in recipients])
    except (pyrage.RecipientError, pyrage.EncryptError) as exc:
        raise BundleRefused(f"Couldn't encrypt the bundle: {exc}.") from exc
    del payload
    signature = key.sign_bytes(encrypted, comment, "srcdesk bundle: verify with minisign -Vm payload.age")
    fd, tmp = tempfile.mkstemp(dir=target_dir, prefix=".srcdesk-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as z:
                info = _info(PAYLOAD)
                info.compress_type = zipfile.ZIP_STORED
                z.writestr(info, encrypted)
                info = _info(PAYLOAD_SIG)
                info.compress_type = zipfile.ZIP_STORED
                z.writestr(info, signature)
            fh.flush()
            os.fsync(fh.fileno())
        if target.exists():
            raise BundleRefused(f"{target} already exists; srcdesk never overwrites a bundle.")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Written(target, bundle_id, seq, created, total, counts, target.stat().st_size)


def _when(hlc: int) -> str:
    return f"{dt.datetime.fromtimestamp((hlc >> 16) / 1000, tz=dt.UTC):%d %B %Y at %H:%M}"


def _iso(moment: dt.datetime) -> str:
    return moment.replace(tzinfo=None, microsecond=0).isoformat() + "Z"


_LINE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _json_line(record: Mapping[str, Any]) -> bytes:
    return _LINE.encode(record).encode()


def change_line(table: str, row_id: str, hlc: int, origin: str, user: str | None, op: str,
                fields_json: str, base_json: str | None) -> bytes:
    """One record of ``data/changes.jsonl`` from a change-log row, its JSON reused as it is."""
    enc = _LINE.encode
    return (
        f'{{"b":{base_json or "null"},"f":{fields_json},"h":{hlc},"o":{enc(origin)},"p":{enc(op)},'
        f'"r":{enc(row_id)},"t":{enc(table)},"u":{enc(user)}}}'
    ).encode()


# -- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outer:
    header: Header
    signature: bytes  # payload.age.minisig as read
    key_id: bytes
    zip: StrictZip


def read_bundle_file(path: Path) -> bytes:
    """Every byte of a bundle file, read once (a regular file of at most :data:`MAX_BUNDLE_BYTES`;
    anything else is refused at once: :mod:`srcdesk.untrusted`)."""
    return read_untrusted(path, limit=MAX_BUNDLE_BYTES, what="bundle", refuse=BundleRefused)


def open_outer(path: Path, data: bytes | None = None) -> Outer:
    """Open the bundle file (or ``data``, its bytes as read already) and read its signature's
    trusted comment (not yet verified)."""
    if data is None:
        data = read_bundle_file(path)  # read once: what is verified is what is decrypted
    outer = StrictZip(data, what="the bundle file", allowed={PAYLOAD, PAYLOAD_SIG}.__contains__,
                      required=(PAYLOAD, PAYLOAD_SIG), limits=Limits(max_entries=2, max_ratio=1000))
    try:
        raw_sig = outer.read(PAYLOAD_SIG, MAX_SIG_BYTES)
        sig = _signature_check(PAYLOAD_SIG, lambda: minisign.parse_signature(raw_sig))
        header = parse_trusted_comment(sig.trusted_comment)
    except BaseException:
        outer.close()
        raise
    return Outer(header, raw_sig, sig.key_id, outer)


def verify_and_decrypt(outer: Outer, public: minisign.PublicKey, identity: Any) -> bytes:
    """Check the outer signature over ``payload.age`` (streamed), then decrypt it into memory."""
    digest = hashlib.blake2b(digest_size=64)
    first = b""
    for chunk in outer.zip.iter_chunks(PAYLOAD):
        if len(first) < len(AGE_MAGIC):
            first += chunk[:len(AGE_MAGIC)]
        digest.update(chunk)
    _signature_check(PAYLOAD_SIG, lambda: minisign.verify_digest(public, outer.signature, digest.digest()))
    if not first.startswith(AGE_MAGIC):
        raise BundleRefused("payload.age is not a binary age file (the format allows no other).")
    out = _CappedBuffer(MAX_PAYLOAD_BYTES)
    try:
        with outer.zip.open(PAYLOAD) as src:
            pyrage.decrypt_io(src, out, [identity])
    except BundleRefused:
        raise
    except pyrage.DecryptError as exc:
        if "no matching keys" in str(exc).lower():
            raise BundleRefused(
                "The bundle can't be decrypted with this PC's key: it was encrypted for another installation."
            ) from exc
        raise BundleRefused(f"payload.age is not a valid age file ({exc}).") from exc
    except (ValueError, OSError) as exc:
        inner = exc.__cause__ or exc.__context__
        if isinstance(inner, BundleRefused):
            raise inner from None
        raise BundleRefused(
            "payload.age is damaged or truncated: its encrypted data does not check out, so the bundle can't "
            "be decrypted."
        ) from exc
    return out.getvalue()


def _signature_check(name: str, check: Callable[[], Any]) -> Any:
    """Run a minisign check, saying which signature file a refusal is about."""
    try:
        return check()
    except BundleRefused as exc:
        reason = str(exc).rstrip(".")
        raise BundleRefused(f"{name} is refused: {reason}.") from exc


class _CappedBuffer(io.BytesIO):
    def __init__(self, cap: int) -> None:
        super().__init__()
        self.cap = cap

    def write(self, data: Any) -> int:
        if self.tell() + len(data) > self.cap:
            raise BundleRefused("The bundle's decrypted payload is larger than any bundle srcdesk writes.")
        return super().write(data)


_MANIFEST_KEYS = {"format", "schema", "app_version", "bundle_id", "origin", "seq", "created", "full",
                  "recipients", "records", "files"}


@dataclass
class Payload:
    manifest: dict[str, Any]
    zip: StrictZip
    created: dt.datetime

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.manifest["records"]["tables"])

    @property
    def total(self) -> int:
        return int(self.manifest["records"]["changes"])

    def close(self) -> None:
        self.zip.close()


def open_payload(payload: bytes, public: minisign.PublicKey, header: Header, *, now: dt.datetime) -> Payload:
    """Check the inner zip, the manifest's signature and the manifest itself (not the data files:
    :meth:`verify_files`)."""
    inner = StrictZip(payload, what="the bundle's payload",
                      allowed={MANIFEST, MANIFEST_SIG, *DATA_FILES, *OPTIONAL_FILES}.__contains__,
                      required=(MANIFEST, MANIFEST_SIG, *DATA_FILES),
                      limits=Limits(max_entries=8, max_entry_size=4 << 30, max_total_size=8 << 30, max_ratio=1000))
    try:
        raw = inner.read(MANIFEST, MAX_MANIFEST_BYTES)
        raw_sig = inner.read(MANIFEST_SIG, MAX_SIG_BYTES)
        comment = _signature_check(MANIFEST_SIG, lambda: minisign.verify_bytes(public, raw_sig, raw))
        if parse_trusted_comment(comment) != header:
            raise BundleRefused("The manifest's signature and the bundle's signature describe different bundles.")
        manifest = strictjson.loads(raw, what="The bundle's manifest", max_depth=5)
        created = _check_manifest(manifest, header, inner, now)
    except BaseException:
        inner.close()
        raise
    return Payload(manifest, inner, created)


def _fail(reason: str) -> BundleRefused:
    return BundleRefused(f"The bundle's manifest is not valid: {reason}.")


def _check_manifest(m: Any, header: Header, inner: StrictZip, now: dt.datetime) -> dt.datetime:
    if not isinstance(m, dict):
        raise _fail("it is not an object")
    if m.get("format") != FORMAT:
        raise BundleRefused(f"This bundle is in an unknown format ({str(m.get('format'))[:40]!r}); update srcdesk.")
    if set(m) != _MANIFEST_KEYS:
        extra, missing = set(m) - _MANIFEST_KEYS, _MANIFEST_KEYS - set(m)
        raise _fail(f"unexpected {sorted(extra)}" if extra else f"missing {sorted(missing)}")
    origin = m["origin"]
    if not isinstance(origin, dict) or origin.get("installation_id") != header.origin_id:
        raise BundleRefused("The manifest names a different origin than the bundle's signature.")
    if m["bundle_id"] != header.bundle_id:
        raise BundleRefused("The manifest names a different bundle id than the bundle's signature.")
    if type(m["seq"]) is not int or m["seq"] != header.seq:
        raise BundleRefused("The manifest names a different sequence number than the bundle's signature.")
    for key in ("schema", "app_version", "created"):
        if not isinstance(m[key], str) or len(m[key]) > 40:
            raise _fail(f"{key} is not short text")
    if not isinstance(m["full"], bool):
        raise _fail("full is not true or false")
    if not _CREATED.match(m["created"]):
        raise _fail("created is not a date and time like 2026-11-27T14:30:00Z")
    try:
        created = dt.datetime.fromisoformat(m["created"][:-1])
    except ValueError:
        raise _fail("created is not a date and time") from None
    if created > now + FUTURE_SLACK:
        raise BundleRefused(
            f"The bundle says it was made on {created:%d %B %Y at %H:%M} UTC, in the future: the clock of the "
            f"PC that made it is wrong. {CLOCK_REPAIR_ADVICE}"
        )
    recipients = m["recipients"]
    if (not isinstance(recipients, list) or not 1 <= len(recipients) <= 8 or not all(
            isinstance(r, dict) and set(r) == {"installation_id", "age_recipient", "kind"}
            and all(isinstance(v, str) and len(v) <= 120 for v in r.values()) for r in recipients)):
        raise _fail("recipients are not a list of installations")
    records = m["records"]
    optional = set(records) - {"changes", "revocations", "tables"} if isinstance(records, dict) else set()
    if (not isinstance(records, dict) or not {"changes", "revocations", "tables"} <= set(records)
            or not optional <= set(_MAX_OPTIONAL)):
        raise _fail("records are not counts")
    for key in optional:
        if type(records[key]) is not int or not 0 <= records[key] <= _MAX_OPTIONAL[key]:
            raise _fail(f"the count of {key.replace('_', ' ')} is not a number up to {_MAX_OPTIONAL[key]:,}")
    tables = records["tables"]
    if (type(records["changes"]) is not int or type(records["revocations"]) is not int
            or not isinstance(tables, dict)
            or not all(isinstance(k, str) and type(v) is int and v >= 0 for k, v in tables.items())):
        raise _fail("records are not counts")
    if not 0 <= records["changes"] <= MAX_CHANGES or sum(tables.values()) != records["changes"]:
        raise _fail("the record counts don't add up")
    if not 0 <= records["revocations"] <= MAX_REVOCATIONS:
        raise _fail("too many revocations")
    unknown = set(tables) - set(SCHEMA)
    if unknown:
        raise BundleRefused(f"The bundle holds kinds of records this srcdesk doesn't know ({', '.join(sorted(unknown))[:80]}).")
    files = m["files"]
    if (not isinstance(files, list) or not all(
            isinstance(f, dict) and set(f) == {"name", "size", "sha256"} and isinstance(f["name"], str)
            and type(f["size"]) is int and isinstance(f["sha256"], str) for f in files)):
        raise _fail("files are not a list of names, sizes and hashes")
    names = [f["name"] for f in files]
    expected = [*DATA_FILES, *(name for name, key in OPTIONAL_FILES.items() if key in optional)]
    held = sorted(set(inner.names) - {MANIFEST, MANIFEST_SIG})
    if sorted(names) != sorted(expected) or held != sorted(expected):
        raise BundleRefused("The bundle's files don't match its manifest (a file is missing or extra).")
    for f in files:
        if inner.size(f["name"]) != f["size"]:
            raise BundleRefused(f"{f['name']} is not the size the manifest gives; the bundle was altered.")
    return created


def verify_files(payload: Payload) -> None:
    """Hash every data file against the signed manifest (streamed)."""
    for f in payload.manifest["files"]:
        sha = hashlib.sha256()
        for chunk in payload.zip.iter_chunks(f["name"]):
            sha.update(chunk)
        if sha.hexdigest() != f["sha256"]:
            raise BundleRefused(f"{f['name']} does not match the manifest's hash; the bundle was altered.")


# -- validating records -------------------------------------------------------------------


def _checker(column: Any) -> Callable[[Any], bool]:
    nullable = column.nullable
    kind = column.type
    if isinstance(kind, Boolean):
        def ok(v: Any) -> bool:
            return isinstance(v, bool)
    elif isinstance(kind, (Integer, BigInteger)):
        def ok(v: Any) -> bool:
            return type(v) is int and -(2**63) <= v < 2**63
    elif isinstance(kind, Date):
        def ok(v: Any) -> bool:
            if not isinstance(v, str) or not _DATE.match(v):
                return False
            try:
                dt.date.fromisoformat(v)
            except ValueError:
                return False
            return True
    elif isinstance(kind, String) and kind.length and not isinstance(kind, Text):
        limit = kind.length

        def ok(v: Any) -> bool:
            return isinstance(v, str) and len(v) <= limit
    elif isinstance(kind, (Text, String)):
        def ok(v: Any) -> bool:
            return isinstance(v, str) and len(v) <= MAX_TEXT
    else:  # pragma: no cover - a new column type must be taught here
        raise TypeError(f"no bundle check for {kind!r}")
    if nullable:
        return lambda v: v is None or ok(v)
    return ok


# Columns whose values come from a fixed list (the screens show them by name).
ENUMS: dict[tuple[str, str], frozenset[str]] = {
    ("person", "kind"): frozenset(PERSON_KINDS),
    ("app_user", "role"): frozenset(USER_ROLES),
    ("milestone_achievement", "status"): frozenset(ACHIEVEMENT_STATUSES),
    ("certificate", "status"): frozenset(CERTIFICATE_STATUSES),
    ("certificate", "kind"): frozenset(CERTIFICATE_KINDS),
    ("initiative", "kind"): frozenset(INITIATIVE_KINDS),
    ("initiative", "status"): frozenset(INITIATIVE_STATUSES),
    ("referral", "status"): frozenset(REFERRAL_STATUSES),
    ("referral_stage", "stage"): frozenset(REFERRAL_STAGES),
    ("initiative", "run_by"): frozenset(INITIATIVE_RUNNERS),
    ("community_organisation", "kind"): frozenset(ORGANISATION_KINDS),
}


def _column_check(table: str, column: Any) -> Callable[[Any], bool]:
    base = _checker(column)
    allowed = ENUMS.get((table, column.key))
    if allowed is None:
        return base
    return lambda v: base(v) and (v is None or v in allowed)


SCHEMA: dict[str, dict[str, Callable[[Any], bool]]] = {
    m.__tablename__: {c: _column_check(m.__tablename__, m.__table__.columns[c]) for c in content_columns(m)}
    for m in SYNCABLE_MODELS
}
_RECORD_KEYS = frozenset({"b", "f", "h", "o", "p", "r", "t", "u"})
# Columns an insert may leave out: added since srcdesk-bundle/1 was first written (schema 0005).
OPTIONAL_ON_INSERT = frozenset({MERGED_INTO})
# Columns added to a table since (a bundle from an older srcdesk leaves them out of a new record),
# and what leaving them out means: the value the migration that added them gave existing rows.
ADDED_COLUMNS: dict[str, dict[str, Any]] = {
    "programme": {"completion_rule": None},  # 0009
    "module": {"completion_rule": None},
    "certificate": dict.fromkeys(("establishment_id", "award_code", "content", "code", "batch_id",
                                  "status_changed_on", "status_changed_by")),
    "initiative": {"run_by": "sps", "meeting_pattern": None, "ended_on": None, "notes": None,  # 0013
                   "review_due_on": None},
    "session": {"initiative_id": None},
    "community_organisation": {"offers": None},
    "referral": {"closed_on": None, "close_reason": None},
    "referral_stage": {"recorded_by": None},
}
# Words an older srcdesk wrote that this one says otherwise (0013: the protocol's stages, an
# initiative "running", a referral's closing date), renamed as the migration renamed them in this
# PC's own records and change log. No old word is a new word, so the rename is safe to repeat.
LEGACY_VALUES: dict[tuple[str, str], dict[str, str]] = {
    ("initiative", "status"): {"active": "running"},
    ("referral_stage", "stage"): {"referred": "identified", "approved": "release_approved",
                                  "placement_confirmed": "placement_offered", "released": "admitted",
                                  "handed_over": "completed"},
}
LEGACY_FIELDS: dict[str, dict[str, str]] = {"referral": {"handover_on": "closed_on"}}
LEGACY_TABLES = frozenset(LEGACY_FIELDS) | {t for t, _c in LEGACY_VALUES}


def _modern(table: str, fields: dict[str, Any]) -> dict[str, Any]:
    """A record's fields in this srcdesk's words (see :data:`LEGACY_VALUES`)."""
    renamed = LEGACY_FIELDS.get(table)
    if renamed and not renamed.keys().isdisjoint(fields):
        fields = {renamed.get(k, k): v for k, v in fields.items()}
    for (t, column), words in LEGACY_VALUES.items():
        if t == table and fields.get(column) in words:
            fields = {**fields, column: words[fields[column]]}
    return fields
_OPS = {op: op for op in ("insert", "update", "delete")}  # the one string of each
_intern = sys.intern


def _bad(n: int, reason: str) -> BundleRefused:
    return BundleRefused(f"Record {n} of {CHANGES} is not valid: {reason}.")


def _check_record(n: int, rec: Any) -> tuple[str, str, Change]:
    if not isinstance(rec, dict) or rec.keys() != _RECORD_KEYS:
        raise _bad(n, "it does not have exactly the fields b, f, h, o, p, r, t, u")
    table, row_id, hlc, origin, user, op, fields, base = (
        rec["t"], rec["r"], rec["h"], rec["o"], rec["u"], rec["p"], rec["f"], rec["b"])
    columns = SCHEMA.get(table) if isinstance(table, str) else None
    if columns is None:
        raise _bad(n, f"unknown kind of record {str(table)[:40]!r}")
    if not isinstance(row_id, str) or not _ROW_ID.match(row_id):
        raise _bad(n, "the record id is not an id")
    if type(hlc) is not int or not 0 < hlc < 2**63:
        raise _bad(n, "the clock is not a timestamp")
    if not isinstance(origin, str) or not _UUIDISH.match(origin) and origin != "00000000-0000-0000-0000-000000000000":
        raise _bad(n, "the origin is not an installation id")
    if user is not None and (not isinstance(user, str) or not _ROW_ID.match(user)):
        raise _bad(n, "the user is not an id")
    if op not in _OPS:
        raise _bad(n, "unknown operation")
    if not isinstance(fields, dict) or not fields:
        raise _bad(n, "no fields")
    if table in LEGACY_TABLES:
        fields = _modern(table, fields)
    if op == "insert" and fields.keys() != columns.keys():
        added = ADDED_COLUMNS.get(table, {})
        left_out = columns.keys() - fields.keys()
        if not (fields.keys() <= columns.keys() and left_out <= OPTIONAL_ON_INSERT | added.keys()):
            raise _bad(n, f"a new {table} record must give every field")
        fields = {**{k: added.get(k) for k in left_out}, **fields}  # written by an older srcdesk
    merged = fields.get(MERGED_INTO)
    if merged is not None and (not _ROW_ID.match(merged) or merged >= row_id):
        raise _bad(n, "a record can only be merged into an older record (one with a lower id)")
    for key, value in fields.items():
        check = columns.get(key)
        if check is None:
            raise _bad(n, f"{table} has no field {str(key)[:40]!r}")
        if not check(value):
            raise _bad(n, f"{table}.{key} has a value of the wrong type or size")
    parsed_base = None
    if base is not None:
        if not isinstance(base, dict) or op == "insert":
            raise _bad(n, "the versions it overwrote are not valid")
        parsed_base = {}
        renamed = LEGACY_FIELDS.get(table, {})
        for key, versions in base.items():
            key = renamed.get(key, key)
            if key not in columns or not isinstance(versions, list) or len(versions) > MAX_BASE_VERSIONS:
                raise _bad(n, "the versions it overwrote are not valid")
            out = []
            for v in versions:
                if (not isinstance(v, list) or len(v) != 2 or type(v[0]) is not int or not 0 < v[0] < 2**63
                        or not isinstance(v[1], str) or len(v[1]) > 36):
                    raise _bad(n, "the versions it overwrote are not valid")
                out.append((v[0], _intern(v[1])))
            parsed_base[_intern(key)] = out
    # One string for each origin, user and field name, however many changes repeat it: a bundle of
    # 200,000 changes to one record is held whole while it is folded.
    fields = {_intern(k): v for k, v in fields.items()}
    return table, row_id, Change(hlc, _intern(origin), None if user is None else _intern(user), _OPS[op], fields,
                                 parsed_base)


def iter_groups(payload: Payload, *, max_hlc: int) -> Iterator[tuple[str, str, list[Change]]]:
    """Each row's changes, validated, in the bundle's (table, row, hlc, origin) order. The counts
    per table are checked against the manifest at the end (a refusal then rolls back the apply)."""
    counts: dict[str, int] = {}
    last: tuple | None = None
    group: list[Change] = []
    key: tuple[str, str] | None = None
    n = 0
    records = strictjson.iter_jsonl(payload.zip.iter_chunks(CHANGES), what=CHANGES, max_depth=5,
                                    max_records=payload.total)
    for rec in records:
        n += 1
        table, row_id, change = _check_record(n, rec)
        if change.hlc > max_hlc:
            raise BundleRefused(
                f"Record {n} of {CHANGES} was stamped {_when(change.hlc)} UTC, more than a day in the future: the PC "
                f"that made it had its clock set ahead. {CLOCK_REPAIR_ADVICE}")
        order = (table, row_id, change.hlc, change.origin)
        if last is not None and order <= last:
            raise _bad(n, "records are out of order or repeated")
        last = order
        counts[table] = counts.get(table, 0) + 1
        if key != (table, row_id):
            if group:
                yield key[0], key[1], group  # type: ignore[index]
            key, group = (table, row_id), []
        group.append(change)
    if group:
        yield key[0], key[1], group  # type: ignore[index]
    if {t: c for t, c in counts.items() if c} != {t: c for t, c in payload.counts.items() if c}:
        raise BundleRefused("The bundle holds different numbers of records than its manifest says.")


def read_revocations(payload: Payload) -> list[dict[str, Any]]:
    out = list(strictjson.iter_jsonl(payload.zip.iter_chunks(REVOCATIONS), what=REVOCATIONS, max_depth=2,
                                     max_records=MAX_REVOCATIONS))
    if len(out) != payload.manifest["records"]["revocations"]:
        raise BundleRefused("The bundle holds a different number of revocations than its manifest says.")
    return out


def read_optional(payload: Payload, name: str) -> list[dict[str, Any]]:
    """The records of one of :data:`OPTIONAL_FILES` (none if the bundle has not got it), as plain
    JSON objects, bounded; each is checked by whoever applies them."""
    key = OPTIONAL_FILES[name]
    expected = payload.manifest["records"].get(key)
    if expected is None:
        return []
    out = list(strictjson.iter_jsonl(payload.zip.iter_chunks(name), what=name, max_depth=2,
                                     max_records=_MAX_OPTIONAL[key]))
    if len(out) != expected:
        raise BundleRefused(f"The bundle holds a different number of records in {name} than its manifest says.")
    return out


def optional_count(manifest: Mapping[str, Any], name: str) -> int:
    """How many records of one of :data:`OPTIONAL_FILES` the (checked) manifest says it holds."""
    return int(manifest["records"].get(OPTIONAL_FILES[name], 0))
