"""people lists sort by family name, then given name

``person_search_word.search_name`` is now the order people are listed in: the family name, then
the given name (``"bloggs jo"``), where it was the name as written (``"jo bloggs"``). It is made
by the triggers on ``person`` from the person's ``search_name`` (the services' case-folded
"given family", whose last word(s) are the family name) and ``family_name``; when case-folding
changed the family name's length (e.g. "ß"), from SQLite's ``lower()`` of the two names instead.
The words searched on are unchanged. Only the local index is rebuilt: no record changes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 11:00:00

"""
import importlib.util
from pathlib import Path
from typing import Sequence, Union

from alembic import op


revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COLUMNS = "word, search_name, person_id, establishment_id, kind"


def sort_name(row: str) -> str:
    """SQL for the order of person row ``row``: "family given", case-folded."""
    n, f = f"length({row}.search_name)", f"length({row}.family_name)"
    return (f"CASE WHEN {f} < {n} AND substr({row}.search_name, {n} - {f}, 1) = ' ' "
            f"THEN substr({row}.search_name, {n} - {f} + 1) || ' ' || substr({row}.search_name, 1, {n} - {f} - 1) "
            f"ELSE lower({row}.family_name) || ' ' || lower({row}.given_name) END")


def _words(row: str, source: str = "") -> str:
    """As in 0003 (the empty word, each word of ``search_name``, the reference; live people only),
    with the order column sorted by family name."""
    quoted = (f"""'["' || replace(replace(replace({row}.search_name, '\\', '\\\\'), '"', '\\"'), ' ', '","')"""
              """ || '"]'""")
    array = f"CASE WHEN json_valid({quoted}) THEN {quoted} ELSE json_array({row}.search_name) END"
    rest = f"{sort_name(row)}, {row}.id, {row}.establishment_id, {row}.kind"
    live = f"{row}.deleted_hlc IS NULL"
    return (
        f"SELECT '', {rest} {source} WHERE {live} "
        f"UNION ALL SELECT w.value, {rest} {source}{',' if source else 'FROM'} json_each({array}) AS w "
        f"WHERE {live} AND w.value <> '' "
        f"UNION ALL SELECT lower({row}.external_ref), {rest} {source} "
        f"WHERE {live} AND coalesce({row}.external_ref, '') <> ''"
    )


def _triggers(words) -> dict[str, str]:  # noqa: ANN001
    return {
        "trg_person_search_word_insert": (
            f"AFTER INSERT ON person BEGIN INSERT OR IGNORE INTO person_search_word ({COLUMNS}) {words('NEW')}; END"
        ),
        "trg_person_search_word_update": (
            "AFTER UPDATE OF search_name, family_name, given_name, external_ref, establishment_id, kind, deleted_hlc "
            "ON person BEGIN DELETE FROM person_search_word WHERE person_id = OLD.id; "
            f"INSERT OR IGNORE INTO person_search_word ({COLUMNS}) {words('NEW')}; END"
        ),
        "trg_person_search_word_delete": (
            "AFTER DELETE ON person BEGIN DELETE FROM person_search_word WHERE person_id = OLD.id; END"
        ),
    }


def _rebuild(words) -> None:  # noqa: ANN001
    triggers = _triggers(words)
    for name in triggers:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DELETE FROM person_search_word")
    op.execute(f"INSERT OR IGNORE INTO person_search_word ({COLUMNS}) {words('p', 'FROM person AS p')}")
    for name, body in triggers.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def upgrade() -> None:
    _rebuild(_words)


def downgrade() -> None:
    spec = importlib.util.spec_from_file_location("srcdesk_migration_0003",
                                                  Path(__file__).with_name("0003_people_search_covering.py"))
    assert spec is not None and spec.loader is not None
    previous = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(previous)
    for name in previous.TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DELETE FROM person_search_word")
    op.execute(f"INSERT OR IGNORE INTO person_search_word ({COLUMNS}) {previous._words('p', 'FROM person AS p')}")
    for name, body in previous.TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")
