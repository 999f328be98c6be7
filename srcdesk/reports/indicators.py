"""The national picture's indicators: pure functions over the database (no Qt, no permissions).

Each function takes an open SQLAlchemy ``Session`` and a :class:`~srcdesk.reports.periods.Period`;
``establishment_id=None`` means every establishment (the office's national figure). Who may see
what (an establishment sees its own) is decided by :mod:`srcdesk.services.dashboard`, which wraps
these for the screens and the commands.

Counting rules (one place; the Steering Group report, the dashboard, the exports and the workplan's
progress all use these):

* a session counts in its period if it was held (not cancelled, not deleted) on a day inside it, and
  at the establishment where it was held (a person who transferred counts where they attended);
* an attendance counts if its status ``counts_as_attended``;
* distinct people: people with at least one counted attendance in the period; new people: of those,
  the ones whose first ever counted attendance is inside the period;
* ladder: people holding each level (active achievement on or before the period's end), sign-offs
  dated inside the period; certificates issued / revoked with their dates inside the period;
* RAT coverage: recruit cohorts starting inside the period with at least one held session of the
  Recovery Awareness Training programme linked to them ÷ recruit cohorts starting inside the period;
* facilitator hours: a held session's length for each facilitator, by the facilitator's kind
  (staff: SPS, healthcare and SRC staff; peer: people in custody; third sector: third-sector staff
  and community/LERO members);
* freshness: when each establishment's last bundle arrived at this installation.

Values are ``int`` counts, ``float`` hours, or :class:`Ratio`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session as OrmSession

from .periods import Period


@dataclass(frozen=True)
class Ratio:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


Value = int | float | Ratio


@dataclass(frozen=True)
class Indicator:
    code: str  # what a workplan target names (plan_target.code)
    label: str  # "Sessions held"
    description: str  # one sentence: what is counted
    unit: str  # "count" | "hours" | "ratio"
    about_people: bool  # a count of people (or their attendances): small numbers are suppressed


# The headline indicators, in the order tiles and tables show them.
INDICATORS: tuple[Indicator, ...] = (
    Indicator("sessions", "Sessions held", "Sessions held (not cancelled) in the period.", "count", False),
    Indicator("attendances", "Attendances", "Register entries whose status counts as attended.", "count", True),
    Indicator("people", "People taking part", "Different people with at least one attendance.", "count", True),
    Indicator("new_people", "New people", "People whose first ever attendance was in the period.", "count", True),
    Indicator("signoffs", "Ladder sign-offs", "Peer-volunteer milestones signed off in the period.", "count", True),
    Indicator("certificates_issued", "Certificates issued", "Certificates issued in the period.", "count", True),
    Indicator("certificates_revoked", "Certificates revoked", "Certificates revoked in the period.", "count", True),
    Indicator("rat_coverage", "RAT coverage", "Recruit cohorts starting in the period that had Recovery "
                                               "Awareness Training ÷ cohorts starting.", "ratio", False),
    Indicator("facilitator_hours", "Facilitator hours", "Hours of facilitation at held sessions.", "hours", False),
)
INDICATOR_BY_CODE = {i.code: i for i in INDICATORS}


@dataclass(frozen=True)
class Figures:
    """Every headline indicator for one period and one establishment (or all)."""

    period: Period
    establishment_id: str | None
    values: dict[str, Value]  # INDICATORS code -> value
    sessions_by: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    # "programme" | "module" | "activity" -> [(name, sessions)], most first
    ladder: list[tuple[str, int, int]] = field(default_factory=list)  # (level name, people holding, sign-offs)
    hours_by_role: dict[str, float] = field(default_factory=dict)  # "staff" | "peer" | "third_sector" -> hours


@dataclass(frozen=True)
class Freshness:
    establishment_id: str
    name: str
    last_bundle_at: dt.datetime | None  # None: never received here
    days: int | None  # whole days since, None when never


def figures(s: OrmSession, period: Period, establishment_id: str | None = None) -> Figures:
    """Every headline indicator (and its breakdowns) for the period."""
    raise NotImplementedError


def by_establishment(s: OrmSession, period: Period) -> dict[str, dict[str, Value]]:
    """establishment id -> INDICATORS code -> value, for every live establishment."""
    raise NotImplementedError


def trend(s: OrmSession, code: str, quarters: list[Period],
          establishment_id: str | None = None) -> list[Value]:
    """One indicator for each of ``quarters`` (the trend line)."""
    raise NotImplementedError


def freshness(s: OrmSession, today: dt.date) -> list[Freshness]:
    """When each establishment's last bundle arrived here, oldest first."""
    raise NotImplementedError


@dataclass(frozen=True)
class Behind:
    """The records behind a number (a drill-down): sessions, people, sign-offs, certificates or
    cohorts, newest first, at most ``limit`` of them (``total`` says how many there are)."""

    kind: str  # "session" | "person" | "achievement" | "certificate" | "cohort"
    columns: tuple[str, ...]  # headings, e.g. ("Date", "Establishment", "Session", "Attended")
    rows: list[tuple]  # display values, one tuple per record, matching columns
    ids: list[str]  # the record ids, in the rows' order (the UI opens a session or a person by id)
    total: int


def behind(s: OrmSession, period: Period, code: str, establishment_id: str | None = None,
           limit: int = 500) -> Behind:
    """What one indicator's number is made of (clicking a tile or a bar)."""
    raise NotImplementedError


def suppress(value: Value | None, *, about_people: bool = True) -> str:
    """A figure for anything that leaves SRC: counts of 1–9 people show as "<10" (Public Health
    Scotland's disclosure practice); 0 stays 0; hours and ratios of cohorts are not suppressed."""
    raise NotImplementedError
