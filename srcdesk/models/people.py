"""People who are recorded, their moves between establishments, and app users."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Syncable, ref

PERSON_KINDS = {
    "prisoner": "Person in custody",
    "sps_staff": "SPS staff",
    "healthcare_staff": "Healthcare staff",
    "third_sector_staff": "Third-sector staff",
    "src_staff": "SRC staff",
    "community_member": "Community / LERO member",
}


class Person(Syncable, Base):
    __tablename__ = "person"

    given_name: Mapped[str] = mapped_column(String(80))
    family_name: Mapped[str] = mapped_column(String(80))
    # Lower-cased "given family" for search-as-you-type (kept by the services).
    search_name: Mapped[str] = mapped_column(String(170), index=True)
    kind: Mapped[str] = mapped_column(String(24), default="prisoner")
    establishment_id: Mapped[str | None] = mapped_column(ref("establishment.id"), index=True)
    # Protected: e.g. an SPS prisoner number. Never printed on certificates.
    external_ref: Mapped[str | None] = mapped_column(String(40), index=True)
    consent_date: Mapped[dt.date | None] = mapped_column(Date)
    consent_scope: Mapped[str | None] = mapped_column(String(200))
    liberation_date: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)


class PersonTransfer(Syncable, Base):
    """An explicit change of a person's establishment (the establishment history)."""

    __tablename__ = "person_transfer"

    person_id: Mapped[str] = mapped_column(ref("person.id"), index=True)
    from_establishment_id: Mapped[str | None] = mapped_column(ref("establishment.id"))
    to_establishment_id: Mapped[str | None] = mapped_column(ref("establishment.id"))
    transferred_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)


USER_ROLES = ("recorder", "coordinator", "administrator")


class User(Syncable, Base):
    """An app account. The password hash never leaves this installation.

    Accounts travel in bundles (names on certificates and sign-offs) but sign in only where they
    were made, so a username is unique per installation (``origin_id``), not across the estate.
    """

    __tablename__ = "app_user"
    __sync_exclude__ = frozenset({"password_hash"})
    __table_args__ = (UniqueConstraint("origin_id", "username"),)

    username: Mapped[str] = mapped_column(String(60))
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    person_id: Mapped[str | None] = mapped_column(ref("person.id"), index=True)


class PersonSearchWord(Base):
    """Search index (this installation only, never synced): for each live person, one row per
    word of their ``search_name``, one for their lower-cased ``external_ref`` and one with the
    empty word, each carrying what a search filters and sorts on. Kept by SQLite triggers on
    ``person`` (migrations 0002-0003, 0008), so every way a person row is written (services, bulk
    inserts, sync merges) keeps it right. Its ``search_name`` is the order people are listed in:
    family name, then given name (:func:`srcdesk.services.people.sort_key`).
    """

    __tablename__ = "person_search_word"
    __table_args__ = (
        Index("ix_person_search_word_person", "person_id", "word"),
        Index("ix_person_search_word_order", "search_name", "person_id", "word", "establishment_id", "kind"),
        {"sqlite_with_rowid": False},
    )

    word: Mapped[str] = mapped_column(String(170), primary_key=True)
    search_name: Mapped[str] = mapped_column(String(170), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    establishment_id: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(24))
