"""Milestone achievements on the peer-volunteer ladder, and certificates.

Neither is ever deleted: achievements are superseded or withdrawn, certificates revoked
or superseded, always with a reason.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Mergeable, Syncable, natural_key, ref

ACHIEVEMENT_STATUSES = ("active", "superseded", "withdrawn")
CERTIFICATE_STATUSES = ("valid", "revoked", "superseded")
CERTIFICATE_KINDS = ("programme", "module", "milestone", "award")


class MilestoneAchievement(Syncable, Base):
    __tablename__ = "milestone_achievement"

    person_id: Mapped[str] = mapped_column(ref("person.id"), index=True)
    definition_id: Mapped[str] = mapped_column(ref("milestone_definition.id"), index=True)
    achieved_on: Mapped[dt.date] = mapped_column(Date, index=True)  # the dashboard counts by quarter
    signed_off_by: Mapped[str] = mapped_column(ref("app_user.id"))
    status: Mapped[str] = mapped_column(String(12), default="active")
    status_reason: Mapped[str | None] = mapped_column(Text)
    superseded_by_id: Mapped[str | None] = mapped_column(ref("milestone_achievement.id"), index=True)
    notes: Mapped[str | None] = mapped_column(Text)


class MilestoneEvidence(Mergeable, Syncable, Base):
    """A session that counts as evidence for an achievement."""

    __tablename__ = "milestone_evidence"
    __natural_key__ = ("achievement_id", "session_id")
    __table_args__ = natural_key(__tablename__, *__natural_key__, reference_first=True)

    achievement_id: Mapped[str] = mapped_column(ref("milestone_achievement.id"))
    session_id: Mapped[str] = mapped_column(ref("session.id"), index=True)


class Certificate(Syncable, Base):
    __tablename__ = "certificate"

    # Minted with the installation in it, so two PCs never make the same one; serials from before
    # that (one counter per establishment) may repeat across PCs, so they are not unique here.
    serial: Mapped[str] = mapped_column(String(40), index=True)
    person_id: Mapped[str] = mapped_column(ref("person.id"), index=True)
    recipient_name: Mapped[str] = mapped_column(String(170))  # as printed
    kind: Mapped[str] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(250))  # what it certifies, as printed
    programme_id: Mapped[str | None] = mapped_column(ref("programme.id"), index=True)
    module_id: Mapped[str | None] = mapped_column(ref("module.id"), index=True)
    achievement_id: Mapped[str | None] = mapped_column(ref("milestone_achievement.id"), index=True)
    issued_on: Mapped[dt.date] = mapped_column(Date)
    issued_by: Mapped[str] = mapped_column(ref("app_user.id"))
    status: Mapped[str] = mapped_column(String(12), default="valid")
    status_reason: Mapped[str | None] = mapped_column(Text)
    supersedes_id: Mapped[str | None] = mapped_column(ref("certificate.id"), index=True)
    # Frozen at issue (issue "Certificates"; older certificates have none and are printed from the
    # columns above): the issuing establishment (None: the office), the code of what it is for
    # (a programme's, module's or ladder level's code), the printed content as canonical JSON
    # (see srcdesk.services.certificates.CONTENT_KEYS), and the signed text its QR code holds
    # (srcdesk.sync.certcode). A reprint prints exactly this content and this code.
    establishment_id: Mapped[str | None] = mapped_column(String(36))  # no FK: added by ALTER TABLE
    award_code: Mapped[str | None] = mapped_column(String(30))
    content: Mapped[str | None] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(String(400))
    batch_id: Mapped[str | None] = mapped_column(String(36), index=True)  # issued together (one print run)
    # When and by whom it was revoked or superseded (the reason is status_reason).
    status_changed_on: Mapped[dt.date | None] = mapped_column(Date)
    status_changed_by: Mapped[str | None] = mapped_column(String(36))  # a user id


class CertificateDesign(Mergeable, Syncable, Base):
    """What every certificate shows besides its own content, set at the office and sent to every
    PC: ``key`` -> ``value``. Keys (srcdesk.services.certificate_design): ``signatory1_name``,
    ``signatory1_role``, ``signatory2_name``, ``signatory2_role``, ``footer``, ``logo_left``,
    ``logo_right`` (PNG, base64, at most 70 KB)."""

    __tablename__ = "certificate_design"
    __natural_key__ = ("key",)
    __table_args__ = natural_key(__tablename__, *__natural_key__)

    key: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(Text, default="")
