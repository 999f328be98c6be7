"""Initiatives in establishments, community organisations and referrals."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Mergeable, Syncable, natural_key, ref

INITIATIVE_KINDS = {
    "recovery_cafe": "Recovery café",
    "recovery_community": "Recovery community",
    "mutual_aid": "Mutual-aid group",
    "recovery_pathway": "Recovery pathway",
    "peer_support": "Peer-support activity",
    "other": "Other initiative",
}
INITIATIVE_STATUSES = {"planned": "Planned", "running": "Running", "paused": "Paused", "ended": "Ended"}
# Who runs an initiative.
INITIATIVE_RUNNERS = {"sps": "SPS", "healthcare": "Healthcare", "third_sector": "Third sector", "peers": "Peers"}

ORGANISATION_KINDS = {
    "lero": "Lived Experience Recovery Organisation (LERO)",
    "recovery_community": "Recovery community",
    "service": "Service",
}
# LEROs and recovery communities before services: what someone leaving custody looks for first.
ORGANISATION_ORDER = {kind: n for n, kind in enumerate(ORGANISATION_KINDS)}
# Scotland's 32 council areas: a community organisation's area and where a person goes on
# liberation are one of them, so "near the area they go to" is an exact match.
LOCAL_AUTHORITIES = (
    "Aberdeen City", "Aberdeenshire", "Angus", "Argyll and Bute", "City of Edinburgh", "Clackmannanshire",
    "Dumfries and Galloway", "Dundee City", "East Ayrshire", "East Dunbartonshire", "East Lothian",
    "East Renfrewshire", "Falkirk", "Fife", "Glasgow City", "Highland", "Inverclyde", "Midlothian", "Moray",
    "Na h-Eileanan Siar", "North Ayrshire", "North Lanarkshire", "Orkney Islands", "Perth and Kinross",
    "Renfrewshire", "Scottish Borders", "Shetland Islands", "South Ayrshire", "South Lanarkshire", "Stirling",
    "West Dunbartonshire", "West Lothian",
)

# Early Release to Residential Rehabilitation Protocol, in order: the way to a placement, then
# the follow-up after admission. A referral may be withdrawn or declined at any point.
REFERRAL_STAGES = {
    "identified": "Identified",
    "consented": "Consented",
    "assessed": "Assessed",
    "funding_agreed": "Funding agreed",
    "placement_offered": "Placement offered",
    "release_approved": "Release approved",
    "admitted": "Admitted to residential rehabilitation",
    "week_4": "Still in placement at 4 weeks",
    "week_12": "Still in placement at 12 weeks",
    "completed": "Completed the placement",
}
FOLLOW_UP_STAGES = ("week_4", "week_12", "completed")
# open: on the way to admission; in_placement: admitted, followed up; the rest are closed.
REFERRAL_STATUSES = {
    "open": "Open",
    "in_placement": "In placement",
    "completed": "Completed",
    "withdrawn": "Withdrawn",
    "declined": "Declined",
    "left_placement": "Left the placement early",
}
REFERRAL_CLOSED = ("completed", "withdrawn", "declined", "left_placement")


class Initiative(Syncable, Base):
    __tablename__ = "initiative"

    establishment_id: Mapped[str] = mapped_column(ref("establishment.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default="running")
    run_by: Mapped[str] = mapped_column(String(16), default="sps")
    meeting_pattern: Mapped[str | None] = mapped_column(String(200))  # "Tuesdays 14:00, fortnightly"
    started_on: Mapped[dt.date | None] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    # The year-1 "mapping and review": when it was last reviewed and when it is next due.
    last_reviewed_on: Mapped[dt.date | None] = mapped_column(Date)
    review_due_on: Mapped[dt.date | None] = mapped_column(Date)
    review_notes: Mapped[str | None] = mapped_column(Text)


class CommunityOrganisation(Syncable, Base):
    """A Lived Experience Recovery Organisation (LERO) or other recovery-oriented service."""

    __tablename__ = "community_organisation"

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="lero")  # ORGANISATION_KINDS
    area: Mapped[str | None] = mapped_column(String(120))  # a council area (LOCAL_AUTHORITIES)
    offers: Mapped[str | None] = mapped_column(Text)  # what they offer
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
    status: Mapped[str] = mapped_column(String(16), default="open")  # REFERRAL_STATUSES
    closed_on: Mapped[dt.date | None] = mapped_column(Date)  # withdrawn, declined, left or completed
    close_reason: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)


class ReferralStage(Mergeable, Syncable, Base):
    __tablename__ = "referral_stage"
    __natural_key__ = ("referral_id", "stage")
    __table_args__ = natural_key(__tablename__, *__natural_key__, reference_first=True)

    referral_id: Mapped[str] = mapped_column(ref("referral.id"))
    stage: Mapped[str] = mapped_column(String(24))
    reached_on: Mapped[dt.date] = mapped_column(Date)
    recorded_by: Mapped[str | None] = mapped_column(ref("app_user.id"))  # who recorded it (signed)
    note: Mapped[str | None] = mapped_column(Text)


class LiberationRecord(Syncable, Base):
    """The record a person takes home on liberation: what was printed, kept as it was.

    ``content`` is the printed record as JSON (journey in their own words, programmes and modules,
    ladder levels, certificates with serials, community organisations near ``area``), frozen once
    made: a reprint prints it again; a changed record is a new one. It never holds an offence or
    a prison number. ``consent_on``: the day the person agreed to it being made and shared.
    """

    __tablename__ = "liberation_record"

    person_id: Mapped[str] = mapped_column(ref("person.id"), index=True)
    establishment_id: Mapped[str | None] = mapped_column(ref("establishment.id"))
    made_on: Mapped[dt.date] = mapped_column(Date)
    made_by: Mapped[str | None] = mapped_column(ref("app_user.id"))
    area: Mapped[str | None] = mapped_column(String(120))  # the council area they go to
    consent_on: Mapped[dt.date] = mapped_column(Date)
    own_words: Mapped[str | None] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    printed_count: Mapped[int] = mapped_column(Integer, default=0)
