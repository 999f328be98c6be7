"""One plural helper for counts in sentences, and dates typed the British way (issue 10)."""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import pytest

from srcdesk.dates import DATE_EXAMPLE, DATE_HINT, date_wanted, numeric_date, parse_typed_date
from srcdesk.errors import ValidationError
from srcdesk.services.base import parse_date
from srcdesk.words import noun_for, plural

SRC = Path(__file__).resolve().parents[2] / "srcdesk"


@pytest.mark.parametrize(("count", "noun", "expected"), [
    (0, "session", "0 sessions"), (1, "session", "1 session"), (2, "session", "2 sessions"),
    (1, "transfer", "1 transfer"), (3, "transfer", "3 transfers"), (1, "minute", "1 minute"),
    (10, "minute", "10 minutes"), (1, "person", "1 person"), (2, "person", "2 people"),
    (2, "match", "2 matches"), (2, "activity", "2 activities"), (2, "day", "2 days"),
    (2, "person change", "2 person changes"), (2, "Person", "2 People"), (2, "bus", "2 buses"),
])
def test_plural(count: int, noun: str, expected: str) -> None:
    assert plural(count, noun) == expected


def test_plural_takes_a_given_plural_and_the_noun_alone() -> None:
    assert plural(2, "criterion", "criteria") == "2 criteria"
    assert plural(1, "criterion", "criteria") == "1 criterion"
    assert noun_for(1, "session") == "session" and noun_for(5, "session") == "sessions"
    assert noun_for(2, "this") == "these"


def test_no_count_meets_a_noun_by_hand() -> None:
    """Counts go through words.plural: no "1 sessions", "change(s)" or ``'s' if n != 1`` left."""
    by_hand = re.compile(r"\w\(s\)|\{'s' if \w+ != 1 else ''\}|\{'' if \w+ == 1 else 's'\}"
                         r"|\} (sessions|transfers|minutes) ")
    found = []
    for path in SRC.rglob("*.py"):
        if path.name == "words.py" or "pages/sync" in path.as_posix() or "sync_dialogs/preview" in path.as_posix():
            continue  # the Sync screens' import counts are being reworded with their own issue item
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr):
                text = ast.unparse(node)
                if by_hand.search(text):
                    found.append(f"{path.relative_to(SRC)}:{node.lineno}: {text[:80]}")
    assert not found, "\n".join(found)


@pytest.mark.parametrize("typed", ["31/03/2026", "31/3/2026", "31.3.26", "31-03-2026", " 31/03/2026 ",
                                   "2026-03-31", "2026-3-31"])
def test_british_and_iso_dates_are_read(typed: str) -> None:
    assert parse_typed_date(typed) == dt.date(2026, 3, 31)
    assert parse_date(typed, "Date", "date") == dt.date(2026, 3, 31)


@pytest.mark.parametrize("typed", ["31/02/2026", "3/31/2026", "next Tuesday", "2026/03/31", "31/03"])
def test_a_date_that_is_not_one_is_refused_in_the_words_of_the_placeholder(typed: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_date(typed, "Consent date", "consent_date")
    assert str(refused.value) == "Consent date must be a date like 31/03/2026."
    assert refused.value.field == "consent_date"
    assert DATE_EXAMPLE in DATE_HINT and DATE_EXAMPLE in date_wanted("Date")


def test_dates_are_shown_in_fields_as_they_are_typed() -> None:
    assert numeric_date(dt.date(2026, 3, 1)) == "01/03/2026"
    assert parse_typed_date(numeric_date(dt.date(2026, 3, 1))) == dt.date(2026, 3, 1)
    assert numeric_date(None) == ""


def test_no_other_date_example_in_the_app() -> None:
    """Placeholders and errors say a date one way: the ISO examples of old are gone."""
    stale = [f"{p.relative_to(SRC)}" for p in SRC.rglob("*.py")
             if re.search(r"date like \d{4}-|YYYY-MM-DD", p.read_text(encoding="utf-8"))]
    assert not stale
