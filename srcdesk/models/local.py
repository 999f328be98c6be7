"""Tables that belong to this installation only and never travel in bundles."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, DateTime, Index, Integer, String, Text
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


class ChangeLog(Base):
    """Every change to a syncable row: who, where, when (HLC) and the fields it set.

    ``fields`` is canonical JSON of the column values the change set (for an insert,
    all of them; for a delete, the tombstone). Bundles are made from this table and
    merged field by field by (hlc, origin_id).
    """

    __tablename__ = "change_log"
    __table_args__ = (
        Index("ix_change_log_row", "table_name", "row_id", "hlc"),
        Index("ix_change_log_origin", "origin_id", "hlc"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hlc: Mapped[int] = mapped_column(BigInteger)
    origin_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str | None] = mapped_column(String(36))
    table_name: Mapped[str] = mapped_column(String(40))
    row_id: Mapped[str] = mapped_column(String(36))
    op: Mapped[str] = mapped_column(String(6))  # insert | update | delete
    fields: Mapped[str] = mapped_column(Text)


class LocalState(Base):
    """Small key/value state of this installation: the clock, serial counters, settings."""

    __tablename__ = "local_state"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
