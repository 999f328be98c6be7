"""Counts in sentences: "1 session", "2 sessions", "1 person", "3 people"."""

from __future__ import annotations

# Nouns whose plural is not the noun with an "s" (or "es") added.
IRREGULAR = {
    "person": "people",
    "child": "children",
    "man": "men",
    "woman": "women",
    "was": "were",
    "is": "are",
    "has": "have",
    "this": "these",
    "it": "they",
}


def plural_of(noun: str) -> str:
    """``session`` -> ``sessions``, ``person`` -> ``people``, ``match`` -> ``matches``,
    ``activity`` -> ``activities``. The last word of a phrase takes the plural."""
    head, _, last = noun.rpartition(" ")
    lower = last.lower()
    if lower in IRREGULAR:
        word = IRREGULAR[lower]
        word = word.capitalize() if last[:1].isupper() else word
    elif lower.endswith(("s", "sh", "ch", "x", "z")):
        word = last + "es"
    elif lower.endswith("y") and len(lower) > 1 and lower[-2] not in "aeiou":
        word = last[:-1] + "ies"
    else:
        word = last + "s"
    return f"{head} {word}" if head else word


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``plural(1, "session")`` -> "1 session", ``plural(2, "session")`` -> "2 sessions",
    ``plural(3, "person")`` -> "3 people"; ``many`` gives the plural where the rule can't.
    Counts of a thousand or more are grouped: "1,204 sessions"."""
    return f"{count:,} {noun_for(count, noun, many)}"


def noun_for(count: int, noun: str, many: str | None = None) -> str:
    """The noun alone, singular for exactly one: ``noun_for(n, "minute")``."""
    return noun if count == 1 else (many or plural_of(noun))
