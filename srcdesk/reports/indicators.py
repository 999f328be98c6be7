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

Details the headline rules leave open, decided here once:

* a register entry counts whoever the person is now (a person deleted later still counts where
  their register entries stand; a session deleted takes its register with it);
* ladder and certificates count at the establishment the person was at on the day (their
  transfers; no transfer: where they are now); a certificate issued at an establishment counts
  there; sign-offs are the active achievements dated in the period (a superseded one was
  replaced by the corrected one, which counts on its own date; a withdrawn one never happened);
* certificates issued: those dated in the period that do not replace another (a reissue is a
  reprint of the same certificate); revoked: those whose revocation is dated in the period;
* RAT coverage counts a cohort at its own establishment, whenever its RAT session was held.

Values are ``int`` counts, ``float`` hours, or :class:`Ratio`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import text
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


@dataclass(frozen=True)
class Behind:
    """The records behind a number (a drill-down): sessions, people, sign-offs, certificates or
    cohorts, newest first, at most ``limit`` of them (``total`` says how many there are)."""

    kind: str  # "session" | "person" | "achievement" | "certificate" | "cohort"
    columns: tuple[str, ...]  # headings, e.g. ("Date", "Establishment", "Session", "Attended")
    rows: list[tuple]  # display values, one tuple per record, matching columns
    ids: list[str]  # the record ids, in the rows' order (the UI opens a session or a person by id)
    total: int


# -- the counting rules, as SQL ----------------------------------------------------------------

# A session held (not cancelled, not deleted) inside the period (:start, :end).
_HELD = "s.deleted_hlc IS NULL AND s.cancelled = 0 AND s.date BETWEEN :start AND :end"
# A live register entry whose status counts as attended.
_COUNTED = ("a.deleted_hlc IS NULL AND a.status_id IN "
            "(SELECT id FROM attendance_status WHERE counts_as_attended = 1)")
# The Recovery Awareness Training programme (its shipped code).
RAT_PROGRAMME_CODE = "RAT"
# Facilitator hours: a person's kind -> the role their hours count under.
HOURS_ROLES = {
    "sps_staff": "staff", "healthcare_staff": "staff", "src_staff": "staff",
    "prisoner": "peer",
    "third_sector_staff": "third_sector", "community_member": "third_sector",
}
ROLE_LABELS = {"staff": "Staff", "peer": "Peer (people in custody)", "third_sector": "Third sector"}
_MINUTES = ("((CAST(substr(s.end_time, 1, 2) AS INTEGER) * 60 + CAST(substr(s.end_time, 4, 2) AS INTEGER))"
            " - (CAST(substr(s.start_time, 1, 2) AS INTEGER) * 60 + CAST(substr(s.start_time, 4, 2) AS INTEGER)))")


def _est_on(person: str, day: str) -> str:
    """SQL: the establishment ``person`` (a column naming a person id) was at on ``day`` (a date
    column): the destination of their last transfer on or before it; before their first transfer,
    where that one moved them from; no transfers: where they are now."""
    live = f"t.person_id = {person} AND t.deleted_hlc IS NULL"
    return (f"(CASE WHEN EXISTS (SELECT 1 FROM person_transfer t WHERE {live} AND t.transferred_on <= {day}) "
            f"THEN (SELECT t.to_establishment_id FROM person_transfer t WHERE {live} AND t.transferred_on <= {day} "
            "ORDER BY t.transferred_on DESC, t.created_hlc DESC LIMIT 1) "
            f"WHEN EXISTS (SELECT 1 FROM person_transfer t WHERE {live}) "
            f"THEN (SELECT t.from_establishment_id FROM person_transfer t WHERE {live} "
            "ORDER BY t.transferred_on, t.created_hlc LIMIT 1) "
            f"ELSE (SELECT p.establishment_id FROM person p WHERE p.id = {person}) END)")


def _params(period: Period, establishment_id: str | None) -> dict:
    return {"start": period.start, "end": period.end, "est": establishment_id}


def _grouped(s: OrmSession, sql: str, params: dict, by: bool, columns: int = 1) -> dict | tuple:
    """Run ``sql`` whose first column is the establishment it counts at (ignored unless ``by``):
    ``by``: establishment id -> the other columns; else the other columns summed over all rows."""
    rows = s.execute(text(sql), params).all()
    if by:
        return {r[0]: tuple(r[1:]) for r in rows}
    totals = [0] * columns
    for r in rows:
        for i in range(columns):
            totals[i] += r[i + 1] or 0
    return tuple(totals)


def _where_est(column: str, establishment_id: str | None, by: bool) -> str:
    return f" AND {column} = :est" if establishment_id is not None and not by else ""


# Each _count_* returns, for the period and establishment (None: all), a tuple of numbers; with
# ``by``, a dict establishment id -> that tuple (establishments with nothing are missing).

def _count_sessions(s, period, est, by=False):  # noqa: ANN001, ANN202
    sql = (f"SELECT s.establishment_id, count(*) FROM session s WHERE {_HELD}"
           f"{_where_est('s.establishment_id', est, by)} GROUP BY s.establishment_id")
    return _grouped(s, sql, _params(period, est), by)


def _count_attendance(s, period, est, by=False):  # noqa: ANN001, ANN202
    """(attendances, people, new people)."""
    p = _params(period, est)
    where = f"{_HELD}{_where_est('s.establishment_id', est, by)} AND {_COUNTED}"
    group = "s.establishment_id" if by else "'all'"
    att = s.execute(text(
        f"SELECT {group}, count(*), count(DISTINCT a.person_id) FROM session s "
        f"JOIN attendance a ON a.session_id = s.id WHERE {where} GROUP BY 1"), p).all()
    new = s.execute(text(
        f"WITH here AS (SELECT DISTINCT {group} AS est, a.person_id FROM session s "
        f"JOIN attendance a ON a.session_id = s.id WHERE {where}) "
        "SELECT est, count(*) FROM here WHERE NOT EXISTS (SELECT 1 FROM attendance a "
        "JOIN session s ON s.id = a.session_id WHERE a.person_id = here.person_id AND "
        f"{_COUNTED} AND s.deleted_hlc IS NULL AND s.cancelled = 0 AND s.date < :start) GROUP BY est"), p).all()
    news = dict(new)
    result = {r[0]: (r[1], r[2], news.get(r[0], 0)) for r in att}
    if by:
        return result
    return result.get("all", (0, 0, 0))


def _count_signoffs(s, period, est, by=False):  # noqa: ANN001, ANN202
    at = _est_on("m.person_id", "m.achieved_on")
    sql = (f"SELECT {at} AS est, count(*) FROM milestone_achievement m WHERE m.deleted_hlc IS NULL "
           f"AND m.status = 'active' AND m.achieved_on BETWEEN :start AND :end"
           f"{_where_est(at, est, by)} GROUP BY est")
    return _grouped(s, sql, _params(period, est), by)


def _cert_est(day: str) -> str:
    return f"coalesce(c.establishment_id, {_est_on('c.person_id', day)})"


def _count_certificates(s, period, est, by=False):  # noqa: ANN001, ANN202
    """(issued, revoked)."""
    p = _params(period, est)
    issued_at, revoked_at = _cert_est("c.issued_on"), _cert_est("c.status_changed_on")
    issued = _grouped(s, (
        f"SELECT {issued_at} AS est, count(*) FROM certificate c WHERE c.deleted_hlc IS NULL "
        f"AND c.supersedes_id IS NULL AND c.issued_on BETWEEN :start AND :end{_where_est(issued_at, est, by)} "
        "GROUP BY est"), p, by)
    revoked = _grouped(s, (
        f"SELECT {revoked_at} AS est, count(*) FROM certificate c WHERE c.deleted_hlc IS NULL "
        f"AND c.status = 'revoked' AND c.status_changed_on BETWEEN :start AND :end"
        f"{_where_est(revoked_at, est, by)} GROUP BY est"), p, by)
    if not by:
        return issued[0], revoked[0]
    return {e: (issued.get(e, (0,))[0], revoked.get(e, (0,))[0]) for e in set(issued) | set(revoked)}


_HAD_RAT = ("EXISTS (SELECT 1 FROM session s JOIN module m ON m.id = s.module_id "
            "WHERE s.recruit_cohort_id = rc.id AND s.deleted_hlc IS NULL AND s.cancelled = 0 "
            "AND m.programme_id IN (SELECT id FROM programme WHERE code = :rat AND deleted_hlc IS NULL))")


def _count_rat(s, period, est, by=False):  # noqa: ANN001, ANN202
    """(cohorts starting that had RAT, cohorts starting)."""
    sql = (f"SELECT rc.establishment_id, sum({_HAD_RAT}), count(*) FROM recruit_cohort rc "
           f"WHERE rc.deleted_hlc IS NULL AND rc.starts_on BETWEEN :start AND :end"
           f"{_where_est('rc.establishment_id', est, by)} GROUP BY rc.establishment_id")
    return _grouped(s, sql, {**_params(period, est), "rat": RAT_PROGRAMME_CODE}, by, 2)


def _hours_by_kind(s, period, est, by=False):  # noqa: ANN001, ANN202
    """establishment id (or "all") -> role -> hours."""
    group = "s.establishment_id" if by else "'all'"
    rows = s.execute(text(
        f"SELECT {group}, p.kind, sum({_MINUTES}) FROM session s "
        "JOIN session_facilitator f ON f.session_id = s.id AND f.deleted_hlc IS NULL "
        f"JOIN person p ON p.id = f.person_id WHERE {_HELD}{_where_est('s.establishment_id', est, by)} "
        "GROUP BY 1, 2"), _params(period, est)).all()
    out: dict[str, dict[str, float]] = {}
    for where, kind, minutes in rows:
        roles = out.setdefault(where, {r: 0.0 for r in ROLE_LABELS})
        role = HOURS_ROLES.get(kind, "staff")
        roles[role] = round(roles[role] + (minutes or 0) / 60, 2)
    if by:
        return out
    return out.get("all", {r: 0.0 for r in ROLE_LABELS})


def _values(s: OrmSession, period: Period, est: str | None) -> tuple[dict[str, Value], dict[str, float]]:
    sessions, = _count_sessions(s, period, est)
    attendances, people, new_people = _count_attendance(s, period, est)
    signoffs, = _count_signoffs(s, period, est)
    issued, revoked = _count_certificates(s, period, est)
    had_rat, cohorts = _count_rat(s, period, est)
    hours = _hours_by_kind(s, period, est)
    return {
        "sessions": sessions, "attendances": attendances, "people": people, "new_people": new_people,
        "signoffs": signoffs, "certificates_issued": issued, "certificates_revoked": revoked,
        "rat_coverage": Ratio(int(had_rat or 0), cohorts),
        "facilitator_hours": round(sum(hours.values()), 2),
    }, hours


def _sessions_by(s: OrmSession, period: Period, est: str | None) -> dict[str, list[tuple[str, int]]]:
    where = f"{_HELD}{_where_est('s.establishment_id', est, False)}"
    p = _params(period, est)
    queries = {
        "programme": ("SELECT pr.name, count(*) FROM session s JOIN module m ON m.id = s.module_id "
                      f"JOIN programme pr ON pr.id = m.programme_id WHERE {where} GROUP BY pr.id"),
        "module": (f"SELECT m.name, count(*) FROM session s JOIN module m ON m.id = s.module_id WHERE {where} "
                   "GROUP BY m.id"),
        "activity": ("SELECT t.name, count(*) FROM session s JOIN activity_type t ON t.id = s.activity_type_id "
                     f"WHERE {where} GROUP BY t.id"),
    }
    return {k: sorted(((name, n) for name, n in s.execute(text(q), p).all()), key=lambda r: (-r[1], r[0]))
            for k, q in queries.items()}


def _ladder(s: OrmSession, period: Period, est: str | None) -> list[tuple[str, int, int]]:
    p = _params(period, est)
    held_at, signed_at = _est_on("m.person_id", ":end"), _est_on("m.person_id", "m.achieved_on")
    held = dict(s.execute(text(
        "SELECT m.definition_id, count(DISTINCT m.person_id) FROM milestone_achievement m "
        "WHERE m.deleted_hlc IS NULL AND m.status = 'active' AND m.achieved_on <= :end"
        f"{_where_est(held_at, est, False)} GROUP BY m.definition_id"), p).all())
    signed = dict(s.execute(text(
        "SELECT m.definition_id, count(*) FROM milestone_achievement m WHERE m.deleted_hlc IS NULL "
        "AND m.status = 'active' AND m.achieved_on BETWEEN :start AND :end"
        f"{_where_est(signed_at, est, False)} GROUP BY m.definition_id"), p).all())
    levels = s.execute(text(
        "SELECT id, name FROM milestone_definition WHERE deleted_hlc IS NULL ORDER BY level, name")).all()
    return [(name, held.get(i, 0), signed.get(i, 0)) for i, name in levels]


def figures(s: OrmSession, period: Period, establishment_id: str | None = None) -> Figures:
    """Every headline indicator (and its breakdowns) for the period."""
    values, hours = _values(s, period, establishment_id)
    return Figures(period, establishment_id, values, _sessions_by(s, period, establishment_id),
                   _ladder(s, period, establishment_id), hours)


def live_establishments(s: OrmSession, period: Period | None = None) -> list[tuple[str, str, str]]:
    """(id, code, name) of the establishments open at some time in ``period`` (None: open now), by name."""
    if period is None:
        rows = s.execute(text("SELECT id, code, name FROM establishment WHERE deleted_hlc IS NULL "
                              "AND closed IS NULL ORDER BY name")).all()
    else:
        rows = s.execute(text(
            "SELECT id, code, name FROM establishment WHERE deleted_hlc IS NULL "
            "AND (opened IS NULL OR opened <= :end) AND (closed IS NULL OR closed >= :start) ORDER BY name"),
            _params(period, None)).all()
    return [tuple(r) for r in rows]


def by_establishment(s: OrmSession, period: Period) -> dict[str, dict[str, Value]]:
    """establishment id -> INDICATORS code -> value, for every live establishment."""
    sessions = _count_sessions(s, period, None, by=True)
    attendance = _count_attendance(s, period, None, by=True)
    signoffs = _count_signoffs(s, period, None, by=True)
    certs = _count_certificates(s, period, None, by=True)
    rat = _count_rat(s, period, None, by=True)
    hours = _hours_by_kind(s, period, None, by=True)
    out: dict[str, dict[str, Value]] = {}
    for est, _code, _name in live_establishments(s, period):
        att = attendance.get(est, (0, 0, 0))
        had_rat, cohorts = rat.get(est, (0, 0))
        issued, revoked = certs.get(est, (0, 0))
        out[est] = {
            "sessions": sessions.get(est, (0,))[0], "attendances": att[0], "people": att[1],
            "new_people": att[2], "signoffs": signoffs.get(est, (0,))[0],
            "certificates_issued": issued, "certificates_revoked": revoked,
            "rat_coverage": Ratio(int(had_rat or 0), cohorts),
            "facilitator_hours": round(sum(hours.get(est, {}).values()), 2),
        }
    return out


def value(s: OrmSession, code: str, period: Period, establishment_id: str | None = None) -> Value:
    """One indicator for one period (what :func:`trend` and a workplan target's progress read)."""
    est = establishment_id
    if code not in INDICATOR_BY_CODE:
        raise ValueError(f"{code!r} is not an indicator")
    if code == "sessions":
        return _count_sessions(s, period, est)[0]
    if code in ("attendances", "people", "new_people"):
        return _count_attendance(s, period, est)[("attendances", "people", "new_people").index(code)]
    if code == "signoffs":
        return _count_signoffs(s, period, est)[0]
    if code in ("certificates_issued", "certificates_revoked"):
        return _count_certificates(s, period, est)[code == "certificates_revoked"]
    if code == "rat_coverage":
        had_rat, cohorts = _count_rat(s, period, est)
        return Ratio(int(had_rat or 0), cohorts)
    return round(sum(_hours_by_kind(s, period, est).values()), 2)


def trend(s: OrmSession, code: str, quarters: list[Period],
          establishment_id: str | None = None) -> list[Value]:
    """One indicator for each of ``quarters`` (the trend line)."""
    return [value(s, code, q, establishment_id) for q in quarters]


def _parse_time(raw: object) -> dt.datetime | None:
    if raw is None or isinstance(raw, dt.datetime):
        return raw
    return dt.datetime.fromisoformat(str(raw))


def freshness(s: OrmSession, today: dt.date) -> list[Freshness]:
    """When each establishment's last bundle arrived here, oldest first."""
    rows = s.execute(text(
        "SELECT e.id, e.name, (SELECT max(b.recorded_at) FROM bundle_record b JOIN installation i "
        "ON i.id = b.origin_id WHERE b.direction = 'received' AND i.establishment_id = e.id) "
        "FROM establishment e WHERE e.deleted_hlc IS NULL AND (e.closed IS NULL OR e.closed > :today)"),
        {"today": today}).all()
    out = []
    for est, name, last in rows:
        at = _parse_time(last)
        out.append(Freshness(est, name, at, (today - at.date()).days if at is not None else None))
    out.sort(key=lambda f: (f.last_bundle_at is not None, f.last_bundle_at or dt.datetime.min, f.name))
    return out


# -- behind a number ---------------------------------------------------------------------------

_SESSION_NAME = ("coalesce(s.title, (SELECT m.name FROM module m WHERE m.id = s.module_id), "
                 "(SELECT t.name FROM activity_type t WHERE t.id = s.activity_type_id))")
_EST_NAME = "(SELECT e.name FROM establishment e WHERE e.id = {})"
_PERSON_NAME = "(SELECT p.given_name || ' ' || p.family_name FROM person p WHERE p.id = {})"


def _date(raw: object) -> dt.date | None:
    if raw is None or isinstance(raw, dt.date):
        return raw
    return dt.date.fromisoformat(str(raw)[:10])


def _behind(s: OrmSession, kind: str, columns: tuple[str, ...], sql: str, count_sql: str, params: dict,
            limit: int, dates: tuple[int, ...] = (0,)) -> Behind:
    rows = s.execute(text(sql + " LIMIT :limit"), {**params, "limit": limit}).all()
    total = s.execute(text(count_sql), params).scalar_one()
    out = []
    for r in rows:
        values = list(r[1:])
        for i in dates:
            values[i] = _date(values[i])
        out.append(tuple(values))
    return Behind(kind, columns, out, [r[0] for r in rows], total)


def behind(s: OrmSession, period: Period, code: str, establishment_id: str | None = None,
           limit: int = 500) -> Behind:
    """What one indicator's number is made of (clicking a tile or a bar)."""
    if code not in INDICATOR_BY_CODE:
        raise ValueError(f"{code!r} is not an indicator")
    est = establishment_id
    p = {**_params(period, est), "rat": RAT_PROGRAMME_CODE}
    held = f"{_HELD}{_where_est('s.establishment_id', est, False)}"
    if code == "sessions":
        return _behind(s, "session", ("Date", "Establishment", "Session", "Time"), (
            f"SELECT s.id, s.date, {_EST_NAME.format('s.establishment_id')}, {_SESSION_NAME}, "
            f"s.start_time || '–' || s.end_time FROM session s WHERE {held} "
            "ORDER BY s.date DESC, s.start_time DESC, s.id DESC"),
            f"SELECT count(*) FROM session s WHERE {held}", p, limit)
    if code == "attendances":
        return _behind(s, "session", ("Date", "Establishment", "Session", "Person", "Status"), (
            f"SELECT s.id, s.date, {_EST_NAME.format('s.establishment_id')}, {_SESSION_NAME}, "
            f"{_PERSON_NAME.format('a.person_id')}, (SELECT st.name FROM attendance_status st "
            "WHERE st.id = a.status_id) FROM session s JOIN attendance a ON a.session_id = s.id "
            f"WHERE {held} AND {_COUNTED} ORDER BY s.date DESC, s.start_time DESC, s.id DESC, a.person_id"),
            f"SELECT count(*) FROM session s JOIN attendance a ON a.session_id = s.id WHERE {held} AND {_COUNTED}",
            p, limit)
    if code in ("people", "new_people"):
        new = ("WHERE NOT EXISTS (SELECT 1 FROM attendance a JOIN session s ON s.id = a.session_id "
               f"WHERE a.person_id = here.person_id AND {_COUNTED} AND s.deleted_hlc IS NULL "
               "AND s.cancelled = 0 AND s.date < :start)") if code == "new_people" else ""
        here = (f"WITH here AS (SELECT a.person_id, max(s.date) AS last, count(*) AS n FROM session s "
                f"JOIN attendance a ON a.session_id = s.id WHERE {held} AND {_COUNTED} GROUP BY a.person_id) ")
        return _behind(s, "person", ("Name", "Attendances", "Last attended"), (
            f"{here}SELECT here.person_id, {_PERSON_NAME.format('here.person_id')}, here.n, here.last "
            f"FROM here {new} ORDER BY here.last DESC, here.person_id"),
            f"{here}SELECT count(*) FROM here {new}", p, limit, dates=(2,))
    if code == "signoffs":
        at = _est_on("m.person_id", "m.achieved_on")
        where = ("m.deleted_hlc IS NULL AND m.status = 'active' AND m.achieved_on BETWEEN :start AND :end"
                 f"{_where_est(at, est, False)}")
        return _behind(s, "achievement", ("Date", "Person", "Level", "Establishment"), (
            f"SELECT m.id, m.achieved_on, {_PERSON_NAME.format('m.person_id')}, "
            "(SELECT d.name FROM milestone_definition d WHERE d.id = m.definition_id), "
            f"{_EST_NAME.format(at)} FROM milestone_achievement m WHERE {where} "
            "ORDER BY m.achieved_on DESC, m.id DESC"),
            f"SELECT count(*) FROM milestone_achievement m WHERE {where}", p, limit)
    if code in ("certificates_issued", "certificates_revoked"):
        if code == "certificates_issued":
            day, at = "c.issued_on", _cert_est("c.issued_on")
            where = f"c.supersedes_id IS NULL AND c.issued_on BETWEEN :start AND :end{_where_est(at, est, False)}"
            heading = "Issued"
        else:
            day, at = "c.status_changed_on", _cert_est("c.status_changed_on")
            where = (f"c.status = 'revoked' AND c.status_changed_on BETWEEN :start AND :end"
                     f"{_where_est(at, est, False)}")
            heading = "Revoked"
        where = f"c.deleted_hlc IS NULL AND {where}"
        return _behind(s, "certificate", (heading, "Serial", "Recipient", "Certificate", "Status"), (
            f"SELECT c.id, {day}, c.serial, c.recipient_name, c.title, c.status FROM certificate c "
            f"WHERE {where} ORDER BY {day} DESC, c.id DESC"),
            f"SELECT count(*) FROM certificate c WHERE {where}", p, limit)
    if code == "rat_coverage":
        where = ("rc.deleted_hlc IS NULL AND rc.starts_on BETWEEN :start AND :end"
                 f"{_where_est('rc.establishment_id', est, False)}")
        return _behind(s, "cohort", ("Starts", "Cohort", "Establishment", "Had RAT"), (
            f"SELECT rc.id, rc.starts_on, rc.name, {_EST_NAME.format('rc.establishment_id')}, "
            f"CASE WHEN {_HAD_RAT} THEN 'Yes' ELSE 'No' END FROM recruit_cohort rc WHERE {where} "
            "ORDER BY rc.starts_on DESC, rc.id DESC"),
            f"SELECT count(*) FROM recruit_cohort rc WHERE {where}", p, limit)
    # facilitator_hours: the held sessions that had a facilitator, with their hours
    facilitated = f"{held} AND EXISTS (SELECT 1 FROM session_facilitator f WHERE f.session_id = s.id " \
                  "AND f.deleted_hlc IS NULL)"
    return _behind(s, "session", ("Date", "Establishment", "Session", "Facilitators", "Hours"), (
        "SELECT id, date, est, name, n, round(n * minutes / 60.0, 2) FROM ("
        f"SELECT s.id, s.date, s.start_time, {_EST_NAME.format('s.establishment_id')} AS est, "
        f"{_SESSION_NAME} AS name, {_MINUTES} AS minutes, (SELECT count(*) FROM session_facilitator f "
        f"WHERE f.session_id = s.id AND f.deleted_hlc IS NULL) AS n FROM session s WHERE {facilitated}) "
        "ORDER BY date DESC, start_time DESC, id DESC"),
        f"SELECT count(*) FROM session s WHERE {facilitated}", p, limit)


def suppress(value: Value | None, *, about_people: bool = True) -> str:
    """A figure for anything that leaves SRC: counts of 1–9 people show as "<10" (Public Health
    Scotland's disclosure practice); 0 stays 0; hours and ratios of cohorts are not suppressed."""
    if value is None:
        return "–"
    if isinstance(value, Ratio):
        if not value.denominator:
            return "–"
        return f"{value.numerator / value.denominator:.0%} ({value.numerator:,} of {value.denominator:,})"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if about_people and 1 <= value <= 9:
        return "<10"
    return f"{value:,}"
