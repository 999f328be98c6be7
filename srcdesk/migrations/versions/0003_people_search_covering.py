"""people search index holds what a search filters and sorts on

At decade scale person rows are spread over a 2.4 GB file, so every person a search had to
look at (to sort by name, or to check establishment, kind or deletion) cost a page read.
``person_search_word`` now carries ``search_name``, ``establishment_id`` and ``kind`` and
holds live people only, plus one row with the empty word per person (the whole list, in
name order), so a search reads only this compact table and then the one page of people it
shows. Kept by triggers on ``person``, as before.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 17:55:00

"""
import importlib.util
from pathlib import Path
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD_TRIGGERS = ("trg_person_search_insert", "trg_person_search_update", "trg_person_search_delete")
COLUMNS = "word, search_name, person_id, establishment_id, kind"


def _words(row: str, source: str = "") -> str:
    """SQL selecting the index rows of person row ``row`` (``NEW``, or an alias in ``source``):
    the empty word, each word of ``search_name`` (single-space separated, as the services
    write it: split by turning it into a JSON array; a name that isn't valid JSON once quoted,
    e.g. with a control character, is indexed as one word rather than failing the write) and
    the reference lower-cased as SQLite's LIKE compares it (ASCII only). Live people only.
    """
    quoted = (f"""'["' || replace(replace(replace({row}.search_name, '\\', '\\\\'), '"', '\\"'), ' ', '","')"""
              """ || '"]'""")
    array = f"CASE WHEN json_valid({quoted}) THEN {quoted} ELSE json_array({row}.search_name) END"
    rest = f"{row}.search_name, {row}.id, {row}.establishment_id, {row}.kind"
    live = f"{row}.deleted_hlc IS NULL"
    return (
        f"SELECT '', {rest} {source} WHERE {live} "
        f"UNION ALL SELECT w.value, {rest} {source}{',' if source else 'FROM'} json_each({array}) AS w "
        f"WHERE {live} AND w.value <> '' "
        f"UNION ALL SELECT lower({row}.external_ref), {rest} {source} "
        f"WHERE {live} AND coalesce({row}.external_ref, '') <> ''"
    )


TRIGGERS = {
    "trg_person_search_word_insert": (
        f"AFTER INSERT ON person BEGIN INSERT OR IGNORE INTO person_search_word ({COLUMNS}) {_words('NEW')}; END"
    ),
    "trg_person_search_word_update": (
        "AFTER UPDATE OF search_name, external_ref, establishment_id, kind, deleted_hlc ON person BEGIN "
        "DELETE FROM person_search_word WHERE person_id = OLD.id; "
        f"INSERT OR IGNORE INTO person_search_word ({COLUMNS}) {_words('NEW')}; END"
    ),
    "trg_person_search_word_delete": (
        "AFTER DELETE ON person BEGIN DELETE FROM person_search_word WHERE person_id = OLD.id; END"
    ),
}


def upgrade() -> None:
    for name in OLD_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index('ix_person_search_word_person', table_name='person_search_word')
    op.drop_table('person_search_word')
    op.create_table(
        'person_search_word',
        sa.Column('word', sa.String(length=170), nullable=False),
        sa.Column('search_name', sa.String(length=170), nullable=False),
        sa.Column('person_id', sa.String(length=36), nullable=False),
        sa.Column('establishment_id', sa.String(length=36), nullable=True),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.PrimaryKeyConstraint('word', 'search_name', 'person_id', name=op.f('pk_person_search_word')),
        sqlite_with_rowid=False,
    )
    op.create_index('ix_person_search_word_person', 'person_search_word', ['person_id', 'word'], unique=False)
    op.create_index('ix_person_search_word_order', 'person_search_word',
                    ['search_name', 'person_id', 'word', 'establishment_id', 'kind'], unique=False)
    op.execute(f"INSERT OR IGNORE INTO person_search_word ({COLUMNS}) {_words('p', 'FROM person AS p')}")
    for name, body in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index('ix_person_search_word_order', table_name='person_search_word')
    op.drop_index('ix_person_search_word_person', table_name='person_search_word')
    op.drop_table('person_search_word')
    spec = importlib.util.spec_from_file_location("srcdesk_migration_0002",
                                                  Path(__file__).with_name("0002_people_search_index.py"))
    assert spec is not None and spec.loader is not None
    previous = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(previous)
    previous.upgrade()  # 0002's table, filled, with its triggers
