"""Reference data: the estate, programmes, activity types, attendance codes, the ladder.

Shipped in ``resources/reference`` with stable readable ids; editable, never deleted
(``retired`` hides a value from new records while old records keep pointing at it).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Mergeable, Syncable, natural_key, ref


class Establishment(Mergeable, Syncable, Base):
    __tablename__ = "establishment"
    __natural_key__ = ("code",)
    __table_args__ = natural_key(__tablename__, *__natural_key__)

    code: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20), default="prison")  # prison | ccu
    opened: Mapped[dt.date | None] = mapped_column(Date)
    closed: Mapped[dt.date | None] = mapped_column(Date)
    replaced_by_id: Mapped[str | None] = mapped_column(ref("establishment.id"))


class Programme(Mergeable, Syncable, Base):
    __tablename__ = "programme"
    __natural_key__ = ("code",)
    __table_args__ = natural_key(__tablename__, *__natural_key__)

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20), default="programme")  # programme | award
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    # JSON: when a person has completed it (srcdesk.services.completion); None: no rule, so
    # nobody is listed as eligible for its certificate (one may still be issued by hand).
    completion_rule: Mapped[str | None] = mapped_column(Text)


class Module(Mergeable, Syncable, Base):
    __tablename__ = "module"
    __natural_key__ = ("programme_id", "code")
    __table_args__ = natural_key(__tablename__, *__natural_key__)

    programme_id: Mapped[str] = mapped_column(ref("programme.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str | None] = mapped_column(Text)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    completion_rule: Mapped[str | None] = mapped_column(Text)  # as Programme.completion_rule


class ActivityType(Mergeable, Syncable, Base):
    __tablename__ = "activity_type"
    __natural_key__ = ("code",)
    __table_args__ = natural_key(__tablename__, *__natural_key__)

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)


class AttendanceStatus(Mergeable, Syncable, Base):
    __tablename__ = "attendance_status"
    __natural_key__ = ("code",)
    __table_args__ = natural_key(__tablename__, *__natural_key__)

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(60))
    key: Mapped[str] = mapped_column(String(1))  # keyboard shortcut on the register
    counts_as_attended: Mapped[bool] = mapped_column(Boolean)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)


class AttendanceRole(Mergeable, Syncable, Base):
    __tablename__ = "attendance_role"
    __natural_key__ = ("code",)
    __table_args__ = natural_key(__tablename__, *__natural_key__)

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(60))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)


class MilestoneDefinition(Mergeable, Syncable, Base):
    """One rung of the peer-volunteer ladder.

    ``rules`` is JSON, e.g. ``{"attended_sessions": 6, "within_days": 90,
    "role_sessions": {"roles": ["helper"], "count": 4}}``; see
    :mod:`srcdesk.services.ladder` for the vocabulary.
    """

    __tablename__ = "milestone_definition"
    __natural_key__ = ("code",)
    __table_args__ = natural_key(__tablename__, *__natural_key__)

    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(120))
    level: Mapped[int] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)
    rules: Mapped[str] = mapped_column(Text, default="{}")
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
