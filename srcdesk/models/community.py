"""Initiatives in establishments, community organisations and referrals."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Mergeable, Syncable, natural_key, ref

INITIATIVE_KINDS = {
    "recovery_cafe": "Recovery café",
    "recovery_community": "Recovery community",
    "recovery_pathway": "Recovery pathway",
    "peer_support": "Peer-support activity",
}
INITIATIVE_STATUSES = ("planned", "active", "paused", "ended")

# Early Release to Residential Rehabilitation Protocol, in order.
REFERRAL_STAGES = {
    "referred": "Referred",
    "assessed": "Assessed for residential rehabilitation",
    "approved": "Approved for early release",
    "placement_confirmed": "Placement confirmed",
    "released": "Released to residential rehabilitation",
    "handed_over": "Handed over to community organisation",
}
REFERRAL_STATUSES = ("open", "completed", "withdrawn")


class Initiative(Syncable, Base):
    __tablename__ = "initiative"

    establishment_id: Mapped[str] = mapped_column(ref("establishment.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default="active")
    started_on: Mapped[dt.date | None] = mapped_column(Date)
    last_reviewed_on: Mapped[dt.date | None] = mapped_column(Date)
    review_notes: Mapped[str | None] = mapped_column(Text)


class CommunityOrganisation(Syncable, Base):
    """A Lived Experience Recovery Organisation (LERO) or other recovery-oriented service."""

    __tablename__ = "community_organisation"

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(12), default="lero")  # lero | service
    area: Mapped[str | None] = mapped_column(String(120))
    contact: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)


class OrganisationLink(Mergeable, Syncable, Base):
    """Which establishments a community organisation connects to."""

    __tablename__ = "organisation_link"
    __natural_key__ = ("organisation_id", "establishment_id")
    __table_args__ = natural_key(__tablename__, *__natural_key__, reference_first=True)

    organisation_id: Mapped[str] = mapped_column(ref("community_organisation.id"))
    establishment_id: Mapped[str] = mapped_column(ref("establishment.id"))


class Referral(Syncable, Base):
    """A person's path through the Early Release to Residential Rehabilitation Protocol."""

    __tablename__ = "referral"

    person_id: Mapped[str] = mapped_column(ref("person.id"), index=True)
    establishment_id: Mapped[str] = mapped_column(ref("establishment.id"))
    organisation_id: Mapped[str | None] = mapped_column(ref("community_organisation.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="open")
    handover_on: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)


class ReferralStage(Mergeable, Syncable, Base):
    __tablename__ = "referral_stage"
    __natural_key__ = ("referral_id", "stage")
    __table_args__ = natural_key(__tablename__, *__natural_key__, reference_first=True)

    referral_id: Mapped[str] = mapped_column(ref("referral.id"))
    stage: Mapped[str] = mapped_column(String(24))
    reached_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
