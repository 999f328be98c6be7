"""people search index: person_search_word, kept by triggers

Searching people matched name words with ``search_name LIKE '% word%'``, which reads every
person (about 160 ms at decade scale). This table holds one row per word of each person's
``search_name`` plus their lower-cased ``external_ref``; a typed word is then an index range.

It is local to this installation (never synced, not in the change log) and kept by SQLite
triggers on ``person``, so every writer (services, ``bulk_insert`` for demo data and imports,
sync merges) keeps it right without knowing about it. Rows of deleted people stay; the search
joins ``person`` and leaves them out.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 17:50:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _words(row: str) -> str:
    """SQL selecting (word, person_id) for one person row ``row`` (NEW, or a table alias).

    The words of ``search_name`` (single-space separated, as the services write it) come from
    turning it into a JSON array; a name that isn't valid JSON once quoted (a control
    character) is indexed as one word rather than failing the write. The reference is one
    token, lower-cased as SQLite's LIKE compares it (ASCII only).
    """
    quoted = (f"""'["' || replace(replace(replace({row}.search_name, '\\', '\\\\'), '"', '\\"'), ' ', '","')"""
              """ || '"]'""")
    array = f"CASE WHEN json_valid({quoted}) THEN {quoted} ELSE json_array({row}.search_name) END"
    return (
        f"SELECT w.value, {row}.id FROM json_each({array}) AS w WHERE w.value <> '' "
        f"UNION SELECT lower({row}.external_ref), {row}.id WHERE coalesce({row}.external_ref, '') <> ''"
    )


def _fill_all() -> str:
    quoted = ("""'["' || replace(replace(replace(p.search_name, '\\', '\\\\'), '"', '\\"'), ' ', '","')"""
              """ || '"]'""")
    array = f"CASE WHEN json_valid({quoted}) THEN {quoted} ELSE json_array(p.search_name) END"
    return (
        "INSERT OR IGNORE INTO person_search_word (word, person_id) "
        f"SELECT w.value, p.id FROM person AS p, json_each({array}) AS w WHERE w.value <> '' "
        "UNION ALL SELECT lower(p.external_ref), p.id FROM person AS p WHERE coalesce(p.external_ref, '') <> ''"
    )


TRIGGERS = {
    "trg_person_search_insert": (
        "AFTER INSERT ON person BEGIN "
        f"INSERT OR IGNORE INTO person_search_word (word, person_id) {_words('NEW')}; END"
    ),
    "trg_person_search_update": (
        "AFTER UPDATE OF search_name, external_ref ON person BEGIN "
        "DELETE FROM person_search_word WHERE person_id = OLD.id; "
        f"INSERT OR IGNORE INTO person_search_word (word, person_id) {_words('NEW')}; END"
    ),
    "trg_person_search_delete": (
        "AFTER DELETE ON person BEGIN DELETE FROM person_search_word WHERE person_id = OLD.id; END"
    ),
}


def upgrade() -> None:
    op.create_table(
        'person_search_word',
        sa.Column('word', sa.String(length=170), nullable=False),
        sa.Column('person_id', sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint('word', 'person_id', name=op.f('pk_person_search_word')),
        sqlite_with_rowid=False,
    )
    op.create_index('ix_person_search_word_person', 'person_search_word', ['person_id', 'word'], unique=False)
    op.execute(_fill_all())
    for name, body in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index('ix_person_search_word_person', table_name='person_search_word')
    op.drop_table('person_search_word')
