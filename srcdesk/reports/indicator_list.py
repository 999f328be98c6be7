"""The headline indicators' names and what each counts: plain data, so that what only needs the
list (the command line's help, the workplan's target codes) does not load the database code.
The counting is :mod:`srcdesk.reports.indicators`, which re-exports these."""

from __future__ import annotations

from dataclasses import dataclass


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
