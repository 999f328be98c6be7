"""Sessions delivered, who facilitated them, and the register."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Mergeable, Syncable, natural_key, ref


class RecruitCohort(Syncable, Base):
    """A cohort of new SPS recruits who receive Recovery Awareness Training."""

    __tablename__ = "recruit_cohort"

    name: Mapped[str] = mapped_column(String(120))
    establishment_id: Mapped[str | None] = mapped_column(ref("establishment.id"))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    size: Mapped[int | None] = mapped_column(Integer)


class Session(Syncable, Base):
    """One delivered occurrence of a module or an activity."""

    __tablename__ = "session"
    __table_args__ = (
        CheckConstraint(
            "(module_id IS NULL) <> (activity_type_id IS NULL)", name="module_xor_activity"
        ),
        CheckConstraint("end_time > start_time", name="ends_after_start"),
        Index("ix_session_establishment_date", "establishment_id", "date", "id"),
        Index("ix_session_date", "date", "id"),
    )

    establishment_id: Mapped[str] = mapped_column(ref("establishment.id"))
    date: Mapped[dt.date] = mapped_column(Date)
    start_time: Mapped[str] = mapped_column(String(5))  # "HH:MM", local time
    end_time: Mapped[str] = mapped_column(String(5))
    module_id: Mapped[str | None] = mapped_column(ref("module.id"), index=True)
    activity_type_id: Mapped[str | None] = mapped_column(ref("activity_type.id"), index=True)
    recruit_cohort_id: Mapped[str | None] = mapped_column(ref("recruit_cohort.id"), index=True)
    initiative_id: Mapped[str | None] = mapped_column(ref("initiative.id"), index=True)  # belongs to
    title: Mapped[str | None] = mapped_column(String(200))
    location: Mapped[str | None] = mapped_column(String(120))
    notes: Mapped[str | None] = mapped_column(Text)
    series_id: Mapped[str | None] = mapped_column(String(36), index=True)  # "repeat weekly"
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    cancelled_reason: Mapped[str | None] = mapped_column(Text)


class SessionFacilitator(Mergeable, Syncable, Base):
    __tablename__ = "session_facilitator"
    __natural_key__ = ("session_id", "person_id")
    __table_args__ = natural_key(__tablename__, *__natural_key__, reference_first=True)

    session_id: Mapped[str] = mapped_column(ref("session.id"))
    person_id: Mapped[str] = mapped_column(ref("person.id"), index=True)


class Attendance(Mergeable, Syncable, Base):
    """A person on a session's register, with a status and a role."""

    __tablename__ = "attendance"
    __natural_key__ = ("session_id", "person_id")
    __table_args__ = (
        *natural_key(__tablename__, *__natural_key__, reference_first=True),
        # Covers what a person's history and the ladder read, so neither visits the table rows.
        Index("ix_attendance_person", "person_id", "session_id", "status_id", "role_id", "deleted_hlc"),
    )

    session_id: Mapped[str] = mapped_column(ref("session.id"))
    person_id: Mapped[str] = mapped_column(ref("person.id"))
    status_id: Mapped[str] = mapped_column(ref("attendance_status.id"))
    role_id: Mapped[str] = mapped_column(ref("attendance_role.id"))
    note: Mapped[str | None] = mapped_column(Text)
