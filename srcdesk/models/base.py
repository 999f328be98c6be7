"""Declarative base, naming convention and the columns every syncable table carries."""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import BigInteger, ForeignKey, Index, MetaData, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Columns that describe a row's history rather than its content; sync merges the content.
SYNC_META_COLUMNS = frozenset(
    {
        "id",
        "origin_id",
        "created_hlc",
        "created_by",
        "updated_hlc",
        "updated_by",
    }
)
TOMBSTONE_COLUMNS = frozenset({"deleted_hlc", "deleted_by", "deleted_reason"})
# Set by a merge: the row is one record with the row it names (see Mergeable).
MERGED_INTO = "merged_into"


class Syncable:
    """Mixin for every table that travels between installations.

    - ``id``: a uuid7 made where the row was created (reference data: a stable readable id);
    - ``origin_id``: the installation that created it;
    - ``created_hlc``/``updated_hlc``: hybrid logical clock stamps, ``created_by``/``updated_by``
      the user id (``None`` for system writes such as shipped reference data);
    - a tombstone (``deleted_hlc``, ``deleted_by``, ``deleted_reason``) instead of deletion.

    The stamps are set by the change-capture hook (:mod:`srcdesk.sync.capture`), never by hand.
    Columns listed in ``__sync_exclude__`` stay on this installation (e.g. password hashes).
    """

    __sync_exclude__: frozenset[str] = frozenset()

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    origin_id: Mapped[str] = mapped_column(String(36))
    created_hlc: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str | None] = mapped_column(String(36))
    updated_hlc: Mapped[int] = mapped_column(BigInteger)
    updated_by: Mapped[str | None] = mapped_column(String(36))
    deleted_hlc: Mapped[int | None] = mapped_column(BigInteger)
    deleted_by: Mapped[str | None] = mapped_column(String(36))
    deleted_reason: Mapped[str | None] = mapped_column(Text)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_hlc is not None


def is_syncable(obj_or_cls: object) -> bool:
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    return issubclass(cls, Syncable)


def ref(target: str, **kw) -> ForeignKey:
    """A foreign key checked at commit, not per statement.

    Deferred checks let one transaction apply a bundle's rows in any order (sync) while
    SQLite still refuses a commit that leaves a dangling reference.
    """
    return ForeignKey(target, deferrable=True, initially="DEFERRED", **kw)


class Mergeable:
    """Mixin for a table with a **natural key**: content that names one thing, e.g. one register
    line per person and session, one programme per code.

    Two PCs that have not heard of each other can both make the same key (the office and Perth
    both put someone on a register). Sync folds such rows into one record, the one with the lower
    id; the other stays as a tombstone whose ``merged_into`` names it, and its changes count as
    edits of that record (:mod:`srcdesk.sync.history`). So the key is unique among the rows not
    merged into another, and a deleted row still holds its key (a service brings it back rather
    than making a second one).
    """

    __natural_key__: ClassVar[tuple[str, ...]] = ()

    merged_into: Mapped[str | None] = mapped_column(String(36))


def natural_key(table: str, *columns: str, reference_first: bool = False) -> tuple[Index, ...]:
    """The indexes of a :class:`Mergeable` table: its key, unique among rows not merged into
    another, and the (few) merged rows by the record they were merged into.

    ``reference_first``: the key starts with a reference (a register line's session). SQLite can't
    use a partial index to find a parent's children, as it must for every foreign key checked at
    commit (a bundle adds register lines before their sessions): that column gets an index of its
    own, or each session added scans every register line."""
    indexes = (
        Index(f"uq_{table}_{'_'.join(columns)}", *columns, unique=True,
              sqlite_where=text("merged_into IS NULL"), postgresql_where=text("merged_into IS NULL")),
        Index(f"ix_{table}_merged_into", "merged_into",
              sqlite_where=text("merged_into IS NOT NULL"), postgresql_where=text("merged_into IS NOT NULL")),
    )
    if reference_first:
        indexes += (Index(f"ix_{table}_{columns[0]}", columns[0]),)
    return indexes
