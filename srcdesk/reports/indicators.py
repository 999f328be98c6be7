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
  people holding a level at the period's end are the active sign-offs of that level up to then,
  each counted where it was signed off;
* certificates issued: those dated in the period that do not replace another (a reissue is a
  reprint of the same certificate); revoked: those whose revocation is dated in the period;
* RAT coverage counts a cohort at its own establishment, whenever its RAT session was held.

Early Release to Residential Rehabilitation referrals (:func:`referrals_by_stage`) count at the
referral's establishment (``Referral.establishment_id``: where it was made; while it is open it
follows the person on transfer, so an open referral counts where the person is, and one whose
person left custody for a placement counts where they left from). "Now" is today, whatever the
period: the referrals not closed, by the stage they are at (the last one reached and not stepped
back). "In the period": the stages reached (dated) inside it, whether the referral has moved on
since or not (a stage stepped back does not count), and the referrals withdrawn, declined or left
early with their closing date inside it. Small numbers are shown as they are: the dashboard is
internal (suppression is the Steering Group report's).

Values are ``int`` counts, ``float`` hours, or :class:`Ratio`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session as OrmSession

from ..models import REFERRAL_STAGES, REFERRAL_STATUSES, stats
from .indicator_list import INDICATOR_BY_CODE, INDICATORS, Indicator  # noqa: F401 - re-exported
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
class Figures:
    """Every headline indicator for one period and one establishment (or all)."""

    period: Period
    establishment_id: str | None
    values: dict[str, Value]  # INDICATORS code -> value
    sessions_by: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    # "programme" | "module" | "activity" -> [(name, sessions)], most first
    ladder: list[tuple[str, int, int]] = field(default_factory=list)  # (level name, people holding, sign-offs)
    hours_by_role: dict[str, float] = field(default_factory=dict)  # "staff" | "peer" | "third_sector" -> hours


#: A last bundle older than this (or none at all) marks an establishment's figures as possibly
#: incomplete, on the dashboard and in the Steering Group report alike.
STALE_DAYS = 14


def is_stale(days: int | None) -> bool:
    """Whether figures whose last bundle arrived ``days`` ago (None: never) may be incomplete."""
    return days is None or days > STALE_DAYS


@dataclass(frozen=True)
class Freshness:
    establishment_id: str
    name: str
    last_bundle_at: dt.datetime | None  # None: never received here
    days: int | None  # whole days since, None when never

    @property
    def stale(self) -> bool:
        return is_stale(self.days)


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
# Each _count_* counts from the summaries (srcdesk.models.stats) when they are up to date, else
# from the records, by the same rules; srcdesk check proves the two agree.

# A session held (not cancelled, not deleted) inside the period (:start, :end).
_HELD = f"{stats.HELD} AND s.date BETWEEN :start AND :end"
_COUNTED = stats.COUNTED
_MINUTES = stats.MINUTES
_est_on = stats.est_on
_cert_est = stats.cert_est
# The Recovery Awareness Training programme (its shipped code).
RAT_PROGRAMME_CODE = "RAT"
HOURS_ROLES = stats.HOURS_ROLES
ROLE_LABELS = {"staff": "Staff", "peer": "Peer (people in custody)", "third_sector": "Third sector"}


def _params(period: Period, establishment_id: str | None) -> dict:
    quarters = period.quarters()
    return {"start": period.start, "end": period.end, "est": establishment_id,
            "q0": quarters[0].start.isoformat(), "q1": quarters[-1].start.isoformat()}


def _summed(s: OrmSession) -> bool:
    """Whether to count from the summaries (they are up to date)."""
    return stats.ready(s.connection())


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


def _stat_where(kind: str, est: str | None, by: bool) -> str:
    return (f"kind = '{kind}' AND quarter BETWEEN :q0 AND :q1"
            f"{_where_est('establishment_id', est, by)}")


# Each _count_* returns, for the period and establishment (None: all), a tuple of numbers; with
# ``by``, a dict establishment id -> that tuple (establishments with nothing are missing).

def _count_sessions(s, period, est, by=False):  # noqa: ANN001, ANN202
    if _summed(s):
        sql = (f"SELECT establishment_id, sum(n) FROM stat_count WHERE {_stat_where('session', est, by)} "
               "GROUP BY establishment_id")
    else:
        sql = (f"SELECT s.establishment_id, count(*) FROM session s WHERE {_HELD}"
               f"{_where_est('s.establishment_id', est, by)} GROUP BY s.establishment_id")
    return _grouped(s, sql, _params(period, est), by)


def _count_attendance(s, period, est, by=False):  # noqa: ANN001, ANN202
    """(attendances, people, new people)."""
    p = _params(period, est)
    if _summed(s):
        where = f"quarter BETWEEN :q0 AND :q1{_where_est('establishment_id', est, by)}"
        group = "establishment_id" if by else "'all'"
        att = s.execute(text(
            f"SELECT {group}, sum(attended), count(DISTINCT person_id) FROM stat_attendance WHERE {where} "
            "GROUP BY 1"), p).all()
        new = s.execute(text(
            f"WITH here AS (SELECT DISTINCT {group} AS est, person_id FROM stat_attendance WHERE {where}) "
            "SELECT est, count(*) FROM here WHERE (SELECT min(x.first_date) FROM stat_attendance x "
            "WHERE x.person_id = here.person_id) >= :start GROUP BY est"), p).all()
    else:
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
    if _summed(s):
        sql = (f"SELECT establishment_id, sum(n) FROM stat_count WHERE {_stat_where('signoff', est, by)} "
               "GROUP BY establishment_id")
    else:
        at = _est_on("m.person_id", "m.achieved_on")
        sql = (f"SELECT {at} AS est, count(*) FROM milestone_achievement m WHERE m.deleted_hlc IS NULL "
               f"AND m.status = 'active' AND m.achieved_on BETWEEN :start AND :end"
               f"{_where_est(at, est, by)} GROUP BY est")
    return _grouped(s, sql, _params(period, est), by)


def _count_certificates(s, period, est, by=False):  # noqa: ANN001, ANN202
    """(issued, revoked)."""
    p = _params(period, est)
    if _summed(s):
        issued = _grouped(s, (f"SELECT establishment_id, sum(n) FROM stat_count WHERE "
                              f"{_stat_where('issued', est, by)} GROUP BY establishment_id"), p, by)
        revoked = _grouped(s, (f"SELECT establishment_id, sum(n) FROM stat_count WHERE "
                               f"{_stat_where('revoked', est, by)} GROUP BY establishment_id"), p, by)
    else:
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
    """role -> minutes (with ``by``: establishment id -> role -> minutes)."""
    if _summed(s):
        group = "establishment_id" if by else "'all'"
        rows = s.execute(text(
            f"SELECT {group}, key, sum(n) FROM stat_count WHERE {_stat_where('minutes', est, by)} "
            "GROUP BY 1, 2"), _params(period, est)).all()
    else:
        group = "s.establishment_id" if by else "'all'"
        rows = s.execute(text(
            f"SELECT {group}, {stats.ROLE_SQL} AS role, sum({_MINUTES}) FROM session s "
            "JOIN session_facilitator f ON f.session_id = s.id AND f.deleted_hlc IS NULL "
            f"JOIN person p ON p.id = f.person_id WHERE {_HELD}{_where_est('s.establishment_id', est, by)} "
            "GROUP BY 1, 2"), _params(period, est)).all()
    out: dict[str, dict[str, int]] = {}
    for where, role, minutes in rows:
        roles = out.setdefault(where, dict.fromkeys(ROLE_LABELS, 0))
        roles[role] += minutes or 0
    if by:
        return out
    return out.get("all", dict.fromkeys(ROLE_LABELS, 0))


def _hours(minutes: dict[str, int]) -> tuple[dict[str, float], float]:
    """(role -> hours, total hours), each rounded to 0.01."""
    return {r: round(m / 60, 2) for r, m in minutes.items()}, round(sum(minutes.values()) / 60, 2)


def _values(s: OrmSession, period: Period, est: str | None) -> tuple[dict[str, Value], dict[str, float]]:
    sessions, = _count_sessions(s, period, est)
    attendances, people, new_people = _count_attendance(s, period, est)
    signoffs, = _count_signoffs(s, period, est)
    issued, revoked = _count_certificates(s, period, est)
    had_rat, cohorts = _count_rat(s, period, est)
    hours, total_hours = _hours(_hours_by_kind(s, period, est))
    return {
        "sessions": sessions, "attendances": attendances, "people": people, "new_people": new_people,
        "signoffs": signoffs, "certificates_issued": issued, "certificates_revoked": revoked,
        "rat_coverage": Ratio(int(had_rat or 0), cohorts),
        "facilitator_hours": total_hours,
    }, hours


def _sessions_by(s: OrmSession, period: Period, est: str | None) -> dict[str, list[tuple[str, int]]]:
    p = _params(period, est)
    if _summed(s):
        c = f"(SELECT key, n FROM stat_count WHERE {_stat_where('session', est, False)}) c"
        queries = {
            "programme": (f"SELECT pr.name, sum(c.n) FROM {c} JOIN module m ON m.id = c.key "
                          "JOIN programme pr ON pr.id = m.programme_id GROUP BY pr.id"),
            "module": f"SELECT m.name, sum(c.n) FROM {c} JOIN module m ON m.id = c.key GROUP BY m.id",
            "activity": f"SELECT t.name, sum(c.n) FROM {c} JOIN activity_type t ON t.id = c.key GROUP BY t.id",
        }
    else:
        where = f"{_HELD}{_where_est('s.establishment_id', est, False)}"
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
    if _summed(s):
        est_where = _where_est("establishment_id", est, False)
        held = dict(s.execute(text(
            f"SELECT key, sum(n) FROM stat_count WHERE kind = 'signoff' AND quarter <= :q1{est_where} "
            "GROUP BY key"), p).all())
        signed = dict(s.execute(text(
            f"SELECT key, sum(n) FROM stat_count WHERE {_stat_where('signoff', est, False)} GROUP BY key"), p).all())
    else:
        at = _est_on("m.person_id", "m.achieved_on")
        held = dict(s.execute(text(
            "SELECT m.definition_id, count(*) FROM milestone_achievement m "
            "WHERE m.deleted_hlc IS NULL AND m.status = 'active' AND m.achieved_on <= :end"
            f"{_where_est(at, est, False)} GROUP BY m.definition_id"), p).all())
        signed = dict(s.execute(text(
            "SELECT m.definition_id, count(*) FROM milestone_achievement m WHERE m.deleted_hlc IS NULL "
            "AND m.status = 'active' AND m.achieved_on BETWEEN :start AND :end"
            f"{_where_est(at, est, False)} GROUP BY m.definition_id"), p).all())
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
            "facilitator_hours": _hours(hours.get(est, {}))[1],
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
    return _hours(_hours_by_kind(s, period, est))[1]


# Indicators that are a plain sum of one kind of summary count (facilitator hours: of minutes).
_SUMMED_KINDS = {"sessions": "session", "signoffs": "signoff", "certificates_issued": "issued",
                 "certificates_revoked": "revoked", "facilitator_hours": "minutes"}


def trend(s: OrmSession, code: str, quarters: list[Period],
          establishment_id: str | None = None) -> list[Value]:
    """One indicator for each of ``quarters`` (the trend line)."""
    if (code in _SUMMED_KINDS or code == "attendances") and quarters \
            and all(q.kind == "quarter" for q in quarters) and _summed(s):
        keys = {f"q{i}": q.start.isoformat() for i, q in enumerate(quarters)}
        among = ", ".join(f":{k}" for k in keys)
        est = _where_est("establishment_id", establishment_id, False)
        if code == "attendances":
            sql = f"SELECT quarter, sum(attended) FROM stat_attendance WHERE quarter IN ({among}){est} GROUP BY quarter"
        else:
            sql = (f"SELECT quarter, sum(n) FROM stat_count WHERE kind = '{_SUMMED_KINDS[code]}' "
                   f"AND quarter IN ({among}){est} GROUP BY quarter")
        got = dict(s.execute(text(sql), {**keys, "est": establishment_id}).all())
        if code == "facilitator_hours":
            return [round((got.get(q.start.isoformat()) or 0) / 60, 2) for q in quarters]
        return [int(got.get(q.start.isoformat()) or 0) for q in quarters]
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


def _behind(s: OrmSession, kind: str, columns: tuple[str, ...], sql: str, count_sql: str | None, params: dict,
            limit: int, dates: tuple[int, ...] = (0,)) -> Behind:
    """``sql``: the id, then the columns' values; ``count_sql`` None: ``sql`` ends with the total
    (``count(*) OVER ()``), so what both would read is read once."""
    rows = s.execute(text(sql + " LIMIT :limit"), {**params, "limit": limit}).all()
    if count_sql is None:
        total = rows[0][-1] if rows else 0
        rows = [r[:-1] for r in rows]
    else:
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
            (f"SELECT coalesce(sum(attended), 0) FROM stat_attendance WHERE quarter BETWEEN :q0 AND :q1"
             f"{_where_est('establishment_id', est, False)}") if _summed(s) else
            f"SELECT count(*) FROM session s JOIN attendance a ON a.session_id = s.id WHERE {held} AND {_COUNTED}",
            p, limit)
    if code in ("people", "new_people"):
        if _summed(s):
            here = ("WITH here AS (SELECT person_id, max(last_date) AS last, sum(attended) AS n FROM stat_attendance "
                    f"WHERE quarter BETWEEN :q0 AND :q1{_where_est('establishment_id', est, False)} "
                    "GROUP BY person_id) ")
            new = ("WHERE (SELECT min(x.first_date) FROM stat_attendance x WHERE x.person_id = here.person_id) "
                   ">= :start") if code == "new_people" else ""
        else:
            here = (f"WITH here AS (SELECT a.person_id, max(s.date) AS last, count(*) AS n FROM session s "
                    f"JOIN attendance a ON a.session_id = s.id WHERE {held} AND {_COUNTED} GROUP BY a.person_id) ")
            new = ("WHERE NOT EXISTS (SELECT 1 FROM attendance a JOIN session s ON s.id = a.session_id "
                   f"WHERE a.person_id = here.person_id AND {_COUNTED} AND s.deleted_hlc IS NULL "
                   "AND s.cancelled = 0 AND s.date < :start)") if code == "new_people" else ""
        return _behind(s, "person", ("Name", "Attendances", "Last attended"), (
            f"{here}SELECT person_id, {_PERSON_NAME.format('person_id')}, n, last, total FROM ("
            f"SELECT here.person_id, here.n, here.last, count(*) OVER () AS total FROM here {new} "
            "ORDER BY here.last DESC, here.person_id LIMIT :limit)"), None, p, limit, dates=(2,))
    if code == "signoffs" and _summed(s):
        where = f"x.achieved_on BETWEEN :start AND :end{_where_est('x.establishment_id', est, False)}"
        return _behind(s, "achievement", ("Date", "Person", "Level", "Establishment"), (
            f"SELECT x.achievement_id, x.achieved_on, {_PERSON_NAME.format('m.person_id')}, "
            "(SELECT d.name FROM milestone_definition d WHERE d.id = m.definition_id), "
            f"{_EST_NAME.format('x.establishment_id')} FROM stat_achievement x "
            f"JOIN milestone_achievement m ON m.id = x.achievement_id WHERE {where} "
            "ORDER BY x.achieved_on DESC, x.achievement_id DESC"),
            f"SELECT count(*) FROM stat_achievement x WHERE {where}", p, limit)
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


# -- Early Release to Residential Rehabilitation referrals ---------------------------------------


@dataclass(frozen=True)
class ReferralStageCount:
    key: str  # a stage (REFERRAL_STAGES) or a way of closing ("withdrawn", "declined", "left_placement")
    label: str
    now: int | None  # referrals at this stage today (None: a closing, not a stage)
    in_period: int  # stages reached, or referrals closed this way, inside the period


@dataclass(frozen=True)
class ReferralCounts:
    period: Period
    establishment_id: str | None
    rows: list[ReferralStageCount]
    open_now: int  # not closed today (on the way to admission or in placement)
    in_placement_now: int


def referrals_by_stage(s: OrmSession, period: Period, establishment_id: str | None = None) -> ReferralCounts:
    """Referrals by stage: how many are at each stage now, and how many reached it in the period
    (the rules are in the module's docstring)."""
    order = list(REFERRAL_STAGES)
    est_sql = "" if establishment_id is None else " AND r.establishment_id = :est"
    params = {"start": period.start, "end": period.end, "est": establishment_id}
    current: dict[str, int] = {}
    status_of: dict[str, str] = {}
    reached = dict.fromkeys(order, 0)
    for rid, status, stage, on in s.execute(text(
            "SELECT r.id, r.status, st.stage, st.reached_on FROM referral r JOIN referral_stage st "
            "ON st.referral_id = r.id AND st.deleted_hlc IS NULL AND st.merged_into IS NULL "
            f"WHERE r.deleted_hlc IS NULL{est_sql}"), params):
        if stage not in REFERRAL_STAGES:
            continue
        day = on if isinstance(on, dt.date) else dt.date.fromisoformat(str(on)[:10])
        if period.start <= day <= period.end:
            reached[stage] += 1
        status_of[rid] = status
        current[rid] = max(current.get(rid, 0), order.index(stage))
    now = dict.fromkeys(order, 0)
    for rid, at in current.items():
        if status_of[rid] in ("open", "in_placement"):
            now[order[at]] += 1
    closed = dict(s.execute(text(
        "SELECT r.status, COUNT(*) FROM referral r WHERE r.deleted_hlc IS NULL "
        "AND r.status IN ('withdrawn', 'declined', 'left_placement') "
        f"AND r.closed_on BETWEEN :start AND :end{est_sql} GROUP BY r.status"), params).all())
    rows = [ReferralStageCount(st, REFERRAL_STAGES[st], now[st] if st != "completed" else None, reached[st])
            for st in order]
    rows += [ReferralStageCount(k, REFERRAL_STATUSES[k], None, int(closed.get(k, 0)))
             for k in ("withdrawn", "declined", "left_placement")]
    in_placement = sum(1 for rid in current if status_of[rid] == "in_placement")
    return ReferralCounts(period, establishment_id, rows, sum(now.values()), in_placement)
