"""The workplan: plan years, focus establishments and targets."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Mergeable, Syncable, natural_key, ref


class PlanYear(Mergeable, Syncable, Base):
    __tablename__ = "plan_year"
    __natural_key__ = ("code",)
    __table_args__ = natural_key(__tablename__, *__natural_key__)

    code: Mapped[str] = mapped_column(String(10))  # "2021-22"
    name: Mapped[str] = mapped_column(String(60))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)


class PlanFocus(Mergeable, Syncable, Base):
    """An establishment the workplan focuses on in a plan year."""

    __tablename__ = "plan_focus"
    __natural_key__ = ("plan_year_id", "establishment_id")
    __table_args__ = natural_key(__tablename__, *__natural_key__, reference_first=True)

    plan_year_id: Mapped[str] = mapped_column(ref("plan_year.id"))
    establishment_id: Mapped[str] = mapped_column(ref("establishment.id"))


class PlanTarget(Syncable, Base):
    __tablename__ = "plan_target"

    plan_year_id: Mapped[str] = mapped_column(ref("plan_year.id"), index=True)
    establishment_id: Mapped[str | None] = mapped_column(ref("establishment.id"))
    programme_id: Mapped[str | None] = mapped_column(ref("programme.id"))
    code: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text)
    target_value: Mapped[int | None] = mapped_column(Integer)
