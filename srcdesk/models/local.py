"""Tables that belong to this installation only and never travel in bundles."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Installation(Base):
    """Installations this one knows about; exactly one row has ``is_self``."""

    __tablename__ = "installation"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    role: Mapped[str] = mapped_column(String(14))  # establishment | office
    establishment_id: Mapped[str | None] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(120))
    is_self: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # Public identity (enrolment card): minisign key line, age recipient, the office's recovery
    # recipient, and the fingerprint people compare. Private keys live in the data folder only.
    signing_key: Mapped[str | None] = mapped_column(String(80))
    age_recipient: Mapped[str | None] = mapped_column(String(100))
    recovery_recipient: Mapped[str | None] = mapped_column(String(100))
    fingerprint: Mapped[str | None] = mapped_column(String(100))
    enrolled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    enrolled_by: Mapped[str | None] = mapped_column(String(36))
    # Revoked: bundles it signs with a seq above ``revoked_after_seq`` or made after
    # ``revoked_at`` are refused. ``revoked_by`` is the installation that revoked it.
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_after_seq: Mapped[int | None] = mapped_column(Integer)
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by: Mapped[str | None] = mapped_column(String(36))
    # Outgoing: the change-log seq up to which this installation has been sent changes.
    sent_watermark: Mapped[int] = mapped_column(Integer, default=0)


class ChangeLog(Base):
    """Every change to a syncable row: who, where, when (HLC) and the fields it set.

    ``fields`` is canonical JSON of the column values the change set (for an insert, all of
    them; for a delete, the tombstone), or NULL for an insert whose values are still the row's
    own (see :mod:`srcdesk.sync.changelog`). Bundles are made from this table and merged field
    by field by (hlc, origin_id).
    """

    __tablename__ = "change_log"
    __table_args__ = (Index("ix_change_log_row", "table_name", "row_id", "hlc"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hlc: Mapped[int] = mapped_column(BigInteger)
    origin_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str | None] = mapped_column(String(36))
    table_name: Mapped[str] = mapped_column(String(40))
    row_id: Mapped[str] = mapped_column(String(36))
    op: Mapped[str] = mapped_column(String(6))  # insert | update | delete
    fields: Mapped[str | None] = mapped_column(Text)
    # What the change overwrote, for telling sequential edits from concurrent ones: canonical
    # JSON {field: [[hlc, origin], ...]} of the versions the writer had (None for an insert).
    base: Mapped[str | None] = mapped_column(Text)


class LocalState(Base):
    """Small key/value state of this installation: the clock, serial counters, settings."""

    __tablename__ = "local_state"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class BundleRecord(Base):
    """A bundle this installation wrote (``sent``) or imported (``received``).

    ``seq`` counts per origin and recipient (the office numbers each establishment's bundles
    1, 2, 3…), so a gap in what this PC received from an origin is a bundle not (yet) imported. ``counts`` and ``summary`` are JSON (records per table; new/updated/unchanged/conflicts).
    """

    __tablename__ = "bundle_record"
    __table_args__ = (UniqueConstraint("origin_id", "recipient_id", "seq"),)

    bundle_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    direction: Mapped[str] = mapped_column(String(8))  # sent | received
    origin_id: Mapped[str] = mapped_column(String(36))
    recipient_id: Mapped[str] = mapped_column(String(36))
    seq: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime)
    file_name: Mapped[str] = mapped_column(String(200))
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    schema: Mapped[str] = mapped_column(String(20))
    changes: Mapped[int] = mapped_column(Integer, default=0)
    watermark: Mapped[int | None] = mapped_column(Integer)  # sent: change_log seq covered up to
    counts: Mapped[str] = mapped_column(Text, default="{}")
    summary: Mapped[str] = mapped_column(Text, default="{}")
    user_id: Mapped[str | None] = mapped_column(String(36))


class SyncConflict(Base):
    """A concurrent value that lost the merge (per-field last writer wins) and waits for a person.

    Derived from the change log by the merge: for a field, every concurrent head other than the
    winner whose value differs (``field`` is a column), or an edit that raced the deletion of its
    row (``field`` = ``"*deleted*"``). Resolving writes an ordinary change naming both versions,
    which syncs; every installation then drops the conflict.
    """

    __tablename__ = "sync_conflict"
    __table_args__ = (
        UniqueConstraint("table_name", "row_id", "field", "loser_hlc", "loser_origin"),
        Index("ix_sync_conflict_detected", "detected_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    table_name: Mapped[str] = mapped_column(String(40))
    row_id: Mapped[str] = mapped_column(String(36))
    field: Mapped[str] = mapped_column(String(60))
    winner_hlc: Mapped[int] = mapped_column(BigInteger)
    winner_origin: Mapped[str] = mapped_column(String(36))
    winner_user: Mapped[str | None] = mapped_column(String(36))
    winner_value: Mapped[str] = mapped_column(Text)  # canonical JSON
    loser_hlc: Mapped[int] = mapped_column(BigInteger)
    loser_origin: Mapped[str] = mapped_column(String(36))
    loser_user: Mapped[str | None] = mapped_column(String(36))
    loser_value: Mapped[str] = mapped_column(Text)
    detected_at: Mapped[dt.datetime] = mapped_column(DateTime)


class SyncWaiting(Base):
    """A record whose changes arrived but can't be written yet, and why (``reason``).

    Most often its references are not here yet (its person or session comes in a bundle not
    imported yet): a new record is left out of its table until they come. Or its new state
    breaks a rule of the database (e.g. edits made on two PCs that make a session end before it
    starts): the record keeps its last good state. Either way its changes wait in the change log,
    nothing is lost, and every import (and every edit of the record here) tries again.
    ``bundle_id`` is the bundle whose changes could not be applied (NULL: this PC's own)."""

    __tablename__ = "sync_waiting"

    table_name: Mapped[str] = mapped_column(String(40), primary_key=True)
    row_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    since: Mapped[dt.datetime] = mapped_column(DateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    bundle_id: Mapped[str | None] = mapped_column(String(36))


class SyncSentScope(Base):
    """What the office remembers of each establishment PC's scope as it stood when it was last
    sent a bundle, so that anything entering that scope later is sent with its whole history.

    Not one row per record: only the people in the scope, from whom (with the columns that name a
    person, session or establishment) every other row's place in it follows (see
    :mod:`srcdesk.sync.scope`). ``kind``: ``here`` (a person at the establishment), ``person``
    (another person in its scope), or ``waiting:<table>`` (a record waiting at the office then).
    Written in the transaction that records the bundle as sent; ``--full`` sets it afresh.
    """

    __tablename__ = "sync_sent_scope"
    __table_args__ = ({"sqlite_with_rowid": False},)

    recipient_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(48), primary_key=True)
    row_id: Mapped[str] = mapped_column(String(36), primary_key=True)


class CertificateIssuer(Base):
    """The public signing key of an installation the SRC office has enrolled, sent by the office
    so that this PC can check certificates issued anywhere on the estate.

    Kept apart from ``installation`` on purpose: knowing a key to check certificates with must
    never make this PC trust that key's bundles. ``key_id`` is the key's 8-byte minisign key id in
    hex (what a certificate's code names). ``revoked_at``: when the office revoked it (once set, it
    stays). Written only by :func:`srcdesk.services.certificate_verify.apply_issuers`.
    """

    __tablename__ = "certificate_issuer"

    installation_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), index=True)
    role: Mapped[str] = mapped_column(String(14))
    establishment_code: Mapped[str | None] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(120))
    signing_key: Mapped[str] = mapped_column(String(80))
    enrolled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime)  # when the bundle that last told of it was made


class CertificateStatus(Base):
    """A certificate the SRC office knows was revoked or superseded, sent by the office to every PC
    (whether or not the certificate's person is in its scope) so that a PC that does not hold the
    certificate still says it is revoked. No name or person id: only what the verdict says.

    One row per (serial, key id of its code; ``""`` for a certificate without a code). The newest
    status wins (``status_on``, then the date of the bundle that carried it: ``received_at``).
    Written only by :func:`srcdesk.services.certificate_verify.apply_statuses`.
    """

    __tablename__ = "certificate_status"
    __table_args__ = ({"sqlite_with_rowid": False},)

    serial: Mapped[str] = mapped_column(String(40), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    issued_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))  # revoked | superseded
    status_on: Mapped[dt.date | None] = mapped_column(Date)
    by_name: Mapped[str | None] = mapped_column(String(120))
    by_role: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    superseded_by: Mapped[str | None] = mapped_column(String(40))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime)


class ExportRecord(Base):
    """An export this installation wrote (a list to XLSX/CSV, the Steering Group report): who, what,
    with which filters, how many rows, to which file name, and when. Exports of personal data need a
    coordinator; every export is recorded, so the record answers "who took what out, and when".
    Never synced, never deleted by the app.
    """

    __tablename__ = "export_record"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # time-ordered (srcdesk.ids)
    exported_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    user_id: Mapped[str | None] = mapped_column(String(36))
    user_name: Mapped[str] = mapped_column(String(120))  # as it was then
    what: Mapped[str] = mapped_column(String(40))  # "sessions", "attendance", "people", "indicators", "steering"…
    personal: Mapped[bool] = mapped_column(Boolean)  # names or other personal data in it
    file_format: Mapped[str] = mapped_column(String(8))  # xlsx | csv | pdf
    filters: Mapped[str] = mapped_column(Text, default="{}")  # JSON: what was asked for
    rows: Mapped[int] = mapped_column(Integer, default=0)
    file_name: Mapped[str] = mapped_column(String(260))  # the name only, not the folder
