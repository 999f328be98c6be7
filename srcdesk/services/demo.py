"""Demo data: a realistic, deterministic record of recovery development at three scales.

``generate_demo`` fills a *new* installation (no people, no sessions yet) with what years of
use would leave behind: weekly recovery cafés, recovery community and mutual-aid meetings,
Recovery Community Development Training delivered module by module to cohorts, Recovery
Awareness Training for every cohort of SPS recruits, Training 4 Trainers and Recovery
Development Award groups, National Recovery Network events and Steering Group meetings;
staff facilitators; registers with varied statuses and roles; people climbing the
peer-volunteer ladder (signed-off achievements with the sessions that evidence them);
certificates, transfers, liberations, initiatives, LEROs and referrals; at the office, the
workplan of each plan year it spans (3-5 focus establishments, targets near what was done).

The same seed and end date give the same content (ids are fresh uuid7s, everything else
repeats). Dates run up to the day the demo is made, so its Today page has this week's sessions;
pass ``end=`` (``srcdesk demo --end-date``) for data that repeats whatever the date, as the
tests and benchmarks do with :data:`DEMO_END`.

Speed matters (the decade scale is about 1.9 million rows): everything is simulated in
plain Python with one ``random.Random``, written chunk by chunk (one establishment-year at a
time) through :func:`srcdesk.sync.capture.bulk_insert`, parents before children so SQLite's
deferred foreign-key counter stays at zero, all in one transaction.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from ..errors import ValidationError
from ..ids import new_id
from ..models import (
    Attendance,
    Certificate,
    CommunityOrganisation,
    Establishment,
    Initiative,
    MilestoneAchievement,
    MilestoneDefinition,
    MilestoneEvidence,
    Module,
    OrganisationLink,
    Person,
    PersonTransfer,
    PlanFocus,
    PlanTarget,
    PlanYear,
    Programme,
    RecruitCohort,
    Referral,
    ReferralStage,
    Session,
    SessionFacilitator,
    stats,
)
from ..reports.certificate_content import CertificateContent, Signatory
from ..sync import certcode
from ..sync.capture import bulk_insert
from .base import Context
from .certificates import LEVEL_DETAIL, OFFICE_PLACE, STATEMENTS, installation_tag
from .trust import local_identity

ProgressFn = Callable[[int, int, str], None]

#: A fixed end for data that repeats whatever the date (tests, benchmarks); the scales' start
#: dates below are for this end, and move with the end asked for.
DEMO_END = dt.date(2026, 10, 31)
#: Page cache (KiB) for the bulk run's connection; restored afterwards. Random inserts into
#: the attendance and change-log indexes thrash SQLite's default 2 MiB cache.
BULK_CACHE_KIB = 65_536
PROGRESS_LABEL = "Generating demo data"

# Insert order within a chunk: parents before children (see the module docstring).
INSERT_ORDER: tuple[type, ...] = (
    CommunityOrganisation,
    OrganisationLink,
    Person,
    Initiative,
    RecruitCohort,
    Session,
    SessionFacilitator,
    Attendance,
    MilestoneAchievement,
    MilestoneEvidence,
    Certificate,
    PersonTransfer,
    Referral,
    ReferralStage,
)

# -- stable reference ids ----------------------------------------------------------------------

PRESENT, LATE, LEFT_EARLY, EXCUSED, ABSENT = (
    "status-present", "status-late", "status-left-early", "status-excused", "status-absent",
)
PARTICIPANT, HELPER, CO_FAC, LEAD, TRAINER, OBSERVER = (
    "role-participant", "role-helper", "role-co-facilitator", "role-lead-facilitator",
    "role-trainer", "role-observer",
)
LADDER = (None, "ms-attender", "ms-regular", "ms-peer-helper", "ms-co-facilitator",
          "ms-session-lead", "ms-peer-trainer")
# The role a person practises while working towards a rung, and how many sessions it takes.
ROLE_FOR = (PARTICIPANT, PARTICIPANT, PARTICIPANT, HELPER, CO_FAC, LEAD, TRAINER)
ROLE_NEED = (0, 1, 6, 4, 4, 4, 2)
REGULAR_WITHIN_DAYS = 84
NOT_ATTENDED = frozenset({EXCUSED, ABSENT})

STATUSES = (PRESENT, LATE, LEFT_EARLY, EXCUSED, ABSENT)
DROP_IN_WEIGHTS = (88, 95, 100, 100, 100)  # cumulative: nobody is "absent" from a drop-in café
COURSE_WEIGHTS = (83, 88, 91, 96, 100)
MEETING_WEIGHTS = (90, 93, 95, 99, 100)

ACT_CAFE, ACT_COMMUNITY, ACT_MUTUAL, ACT_NRN, ACT_STEERING = (
    "act-cafe", "act-community", "act-mutual-aid", "act-nrn", "act-steering",
)
PROG_RCDT, PROG_RAT, PROG_T4T, PROG_RDA = "prog-rcdt", "prog-rat", "prog-t4t", "prog-rda"
MOD_RAT = "mod-rat-01"

# -- words ----------------------------------------------------------------------------------

SCOTTISH_SURNAMES = (
    "Smith", "Brown", "Wilson", "Campbell", "Stewart", "Thomson", "Robertson", "Anderson",
    "MacDonald", "Scott", "Reid", "Murray", "Taylor", "Clark", "Ross", "Watson", "Morrison",
    "Paterson", "Young", "Mitchell", "Walker", "Fraser", "Miller", "McDonald", "Gray",
    "Henderson", "Hamilton", "Johnston", "Duncan", "Graham", "Ferguson", "Kerr", "Davidson",
    "Bell", "Cameron", "Kelly", "Martin", "Hunter", "Allan", "Grant", "Mackenzie", "Simpson",
    "McLean", "Black", "Wallace", "Sinclair", "McKenzie", "Gibson", "Russell", "Docherty",
    "McGregor", "Lindsay", "Burns", "Crawford", "Munro", "Boyle", "McLaughlin", "Quinn",
)
SCOTTISH_MALE = ("Callum", "Kyle", "Ryan", "Jamie", "Craig", "Scott", "Stuart", "Euan", "Fraser",
                 "Ross", "Gary", "Darren", "Iain", "Alasdair", "Calum", "Lewis", "Kieran", "Greig")
SCOTTISH_FEMALE = ("Kirsty", "Shona", "Morag", "Eilidh", "Catriona", "Ailsa", "Fiona", "Lorna",
                   "Isla", "Mhairi", "Kayleigh", "Shannon", "Nicola", "Gillian", "Heather")

LOCATIONS = ("Learning Centre", "Chaplaincy", "Hall A", "Hall B", "Hall C", "Visits room",
             "Library", "Gym hall", "Recovery hub", "Health centre", "Activities room",
             "Family centre", "Training room")
CAFE_TIMES = (("14:00", "16:00"), ("18:00", "19:30"), ("10:00", "11:30"), ("13:30", "15:30"))
CAFE_TITLES = ("Recovery café", "Hall recovery café", "Evening recovery café", "Weekend café")
COMMUNITY_TIMES = (("10:00", "11:30"), ("13:30", "15:00"), ("09:30", "11:00"))
MUTUAL_TIMES = (("18:00", "19:30"), ("13:30", "14:30"), ("18:30", "19:30"))
MUTUAL_TITLES = ("AA meeting", "NA meeting", "SMART Recovery", "CA meeting", "Mutual aid (open)",
                 "Cocaine Anonymous", "SMART Recovery (women)")
COURSE_TIMES = (("09:30", "11:30"), ("13:30", "15:30"), ("09:00", "12:00"))
CANCEL_REASONS = ("Regime restricted", "Staff shortage", "Establishment lockdown",
                  "Room unavailable", "Facilitator unwell", "Public holiday")
SESSION_NOTES = ("Good turnout; new faces from the induction hall.",
                 "Guest speaker from a local LERO shared their recovery story.",
                 "Short session: regime change at lunchtime.",
                 "Peer volunteers ran the tea bar and welcomed newcomers.",
                 "Discussed relapse prevention and staying connected after liberation.",
                 "Family members joined by video link for the last half hour.",
                 "Quiet session; several regulars at work parties.")
NRN_THEMES = ("Recovery is possible", "Lived experience leadership", "Families in recovery",
              "Connecting with community recovery", "Celebrating recovery", "Peer support in custody")
TRANSFER_REASONS = ("Sentence management", "Closer to family", "Population management",
                    "Progression to open conditions", "Court appearances", "Access to programmes")
CONSENT_SCOPES = ("Attendance, milestones and certificates",) * 9 + ("Attendance only",)
REVIEW_NOTES = ("Well attended; peer volunteers now lead two sessions a week.",
                "Needs a regular room; moved twice this quarter.",
                "Links with the local LERO strengthened; hand-overs working well.",
                "Staffing gaps paused sessions for a month; now back on track.",
                "Strong peer involvement; considering a second weekly session.",
                "Healthcare and SPS staff co-facilitating since the last review.")
# Council areas (models.LOCAL_AUTHORITIES) and the establishments their organisations connect to.
AREAS: dict[str, tuple[str, ...]] = {
    "Glasgow City": ("BAR", "LOW", "LIL"),
    "City of Edinburgh": ("EDI",),
    "West Lothian": ("ADD",),
    "Dundee City": ("BEL", "CAS", "PER"),
    "Perth and Kinross": ("PER", "CAS"),
    "Falkirk": ("POL", "GLE"),
    "Stirling": ("STI", "CVA", "GLE"),
    "East Ayrshire": ("KIL",),
    "Inverclyde": ("GRE",),
    "North Lanarkshire": ("SHO", "LOW"),
    "Aberdeen City": ("GRA",),
    "Aberdeenshire": ("GRA",),
    "Highland": ("INV",),
    "Dumfries and Galloway": ("DUM",),
    "Fife": ("GLE", "PER"),
}
# (name pattern, kind): {place} is the area's place name (Glasgow for Glasgow City).
LERO_PATTERNS = (("{place} Recovery Network", "lero"), ("Recovery Café {place}", "lero"),
                 ("{place} Lived Experience Recovery Organisation", "lero"),
                 ("{place} Recovery Community", "recovery_community"))
SERVICE_PATTERNS = ("{place} Residential Rehabilitation Service", "{place} Recovery Support Service")
LERO_OFFERS = ("Peer support", "Recovery café", "Family support", "Mutual-aid meetings (SMART, AA, NA)",
               "Meet at the gate on liberation", "Recovery walks and activities", "Volunteering and training",
               "Drop-in hub, weekdays", "Naloxone training", "Help with housing and benefits (with partners)",
               "Peer mentoring after liberation", "Women's recovery group")
SERVICE_OFFERS = {
    "Residential": ("Residential rehabilitation (Early Release Protocol placements)", "Assessment",
                    "Aftercare and throughcare", "Family support"),
    "Support": ("Throughcare support", "Housing support", "Harm reduction", "Employability",
                "Linking to the local LERO"),
}
PHONE_CODES = {"Glasgow City": "0141", "City of Edinburgh": "0131", "West Lothian": "01506", "Dundee City": "01382",
               "Perth and Kinross": "01738", "Falkirk": "01324", "Stirling": "01786", "East Ayrshire": "01563",
               "Inverclyde": "01475", "North Lanarkshire": "01698", "Aberdeen City": "01224",
               "Aberdeenshire": "01779", "Highland": "01463", "Dumfries and Galloway": "01387", "Fife": "01592"}
# Who runs each kind of initiative, and words for their reviews' due dates.
RUNNERS = {"recovery_cafe": ("sps", "third_sector", "peers"), "recovery_community": ("sps", "healthcare"),
           "mutual_aid": ("third_sector", "peers"), "recovery_pathway": ("healthcare", "sps"),
           "peer_support": ("peers",)}
REVIEW_EVERY_DAYS = 182
WEEKDAY_NAMES = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")
DECLINE_REASONS = ("Assessment found residential rehabilitation not right at this time.",
                   "Funding not agreed by the local authority.",
                   "No placement available before the liberation date.")
WITHDRAW_REASONS = ("Decided not to go ahead before placement.", "Chose community recovery support instead.",
                    "Transferred; the referral is to start again there.")
STAGE_NOTES = {"consented": "Agreed to the referral and to information being shared with the service.",
               "assessed": "Assessed by the service's in-reach worker.",
               "funding_agreed": "Funding agreed by the local authority.",
               "release_approved": "Early release approved.",
               "admitted": "Met at the gate and taken to the placement.",
               "week_4": "Settled; attending groups.", "week_12": "Doing well; planning move-on."}
LEFT_REASONS = ("Left the placement early; linked with the local LERO instead.",
                "Left the placement after a relapse; the service keeps in touch.")


PLACES = {"Perth and Kinross": "Perth", "Dumfries and Galloway": "Dumfries", "East Ayrshire": "Kilmarnock",
          "North Lanarkshire": "Lanarkshire"}


def place_of(area: str) -> str:
    """The place an area is known by: Glasgow for Glasgow City, Edinburgh for City of Edinburgh."""
    return PLACES.get(area) or area.removeprefix("City of ").removesuffix(" City")


# Share of women among people in custody, by establishment code (others: men only).
WOMEN_SHARE = {"STI": 1.0, "CVA": 1.0, "BEL": 1.0, "LIL": 1.0, "GRA": 0.12, "EDI": 0.1,
               "GRE": 0.1, "POL": 0.15, "INV": 0.08, "DUM": 0.0}


# -- scales ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Profile:
    cafes: tuple[int, int]
    community: tuple[int, int]
    mutual: tuple[int, int]
    # Development training groups: (weekdays, times) per parallel group, weeks' rest between groups.
    rcdt_tracks: tuple[tuple[tuple[int, ...], tuple[str, str]], ...]
    rcdt_rest_weeks: int
    arrivals_per_week: float
    initial_people: int
    recruit_cohorts_per_year: float
    t4t_per_year: float
    rda_per_year: float
    nrn_per_year: float
    transfer_share: float  # of people leaving before the demo ends
    referral_share: float  # of liberations
    initial_stay_days: int  # the people already coming when the demo starts leave within this
    staff: dict[str, tuple[int, int]]


FULL = _Profile(
    cafes=(7, 10), community=(3, 4), mutual=(6, 9), rcdt_tracks=(((1,), COURSE_TIMES[0]),),
    rcdt_rest_weeks=2, arrivals_per_week=6.5,
    initial_people=110, recruit_cohorts_per_year=5.0, t4t_per_year=1.5, rda_per_year=0.5,
    nrn_per_year=2.0, transfer_share=0.13, referral_share=0.012, initial_stay_days=420,
    staff={"sps_staff": (4, 7), "healthcare_staff": (2, 3), "third_sector_staff": (2, 4)},
)
LIGHT = _Profile(
    cafes=(1, 1), community=(1, 1), mutual=(1, 1), rcdt_tracks=(((1, 3), COURSE_TIMES[0]),),
    rcdt_rest_weeks=0, arrivals_per_week=1.5,
    initial_people=25, recruit_cohorts_per_year=6.0, t4t_per_year=0.0, rda_per_year=0.0,
    nrn_per_year=6.0, transfer_share=0.3, referral_share=0.4, initial_stay_days=150,
    staff={"sps_staff": (2, 2), "healthcare_staff": (1, 1), "third_sector_staff": (1, 1)},
)


@dataclass(frozen=True)
class _Scale:
    start: dt.date  # when the data ends on DEMO_END
    chunks: int  # per establishment
    every_establishment: bool  # on the office: all open prisons, else one
    profile: _Profile

    def start_for(self, end: dt.date) -> dt.date:
        return end - (DEMO_END - self.start)


SCALES: dict[str, _Scale] = {
    "small": _Scale(dt.date(2026, 9, 1), 1, False, LIGHT),
    "national": _Scale(dt.date(2025, 11, 1), 1, True, FULL),
    "decade": _Scale(dt.date(2016, 11, 1), 10, True, FULL),
}


@dataclass
class DemoSummary:
    scale: str
    seed: int
    start: dt.date
    end: dt.date
    establishments: int
    counts: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def describe(self) -> str:
        c = self.counts
        where = "1 establishment" if self.establishments == 1 else f"{self.establishments} establishments"
        return (
            f"Demo data ({self.scale}, seed {self.seed}): {where}, {self.start:%d %b %Y} to {self.end:%d %b %Y}.\n"
            f"{c.get('person', 0):,} people, {c.get('session', 0):,} sessions, "
            f"{c.get('attendance', 0):,} attendance records, {c.get('milestone_achievement', 0):,} milestones, "
            f"{c.get('certificate', 0):,} certificates; {self.total:,} records in {self.elapsed:.1f} s."
        )


# -- the simulation -------------------------------------------------------------------------


class _P:
    """A person being simulated (ladder state kept only for people in custody)."""

    __slots__ = ("id", "name", "w", "cap", "level", "role_n", "hist", "leave",
                 "next_leave", "rcdt", "t4t", "rda", "kind")

    def __init__(self, pid: str, name: str, kind: str, w: int = 1, cap: int = 0, leave: int = 1 << 30) -> None:
        self.id = pid
        self.name = name
        self.kind = kind
        self.w = w
        self.cap = cap
        self.level = 0
        self.role_n = 0
        self.hist: list = []
        self.leave = leave
        self.next_leave = 0
        self.rcdt = False
        self.t4t = False
        self.rda = False

    def moved(self) -> _P:
        """The same person starting their stay at the establishment they were transferred to.

        A fresh object, so the establishment they left keeps its own view of them.
        """
        q = _P(self.id, self.name, self.kind, self.w, self.cap, self.next_leave)
        q.level, q.role_n, q.hist = self.level, self.role_n, list(self.hist)
        q.rcdt, q.t4t, q.rda = self.rcdt, self.t4t, self.rda
        return q


class _Course:
    """A cohort working through a programme's modules in sequence."""

    __slots__ = ("programme", "modules", "members", "attended", "next", "weekdays", "times",
                 "location", "title", "series", "track")

    def __init__(self, programme: str, modules: list[str], members: list[_P], weekdays: tuple[int, ...],
                 times: tuple[str, str], location: str, title: str, track: int | None) -> None:
        self.programme = programme
        self.modules = modules
        self.members = members
        self.attended = dict.fromkeys(members, 0)
        self.next = 0
        self.weekdays = weekdays
        self.times = times
        self.location = location
        self.title = title
        self.series = new_id()
        self.track = track  # index of the development-training track, None for other courses


class _Slot:
    __slots__ = ("offset", "activity", "title", "times", "location", "size", "series", "facilitators", "initiative")

    def __init__(self, offset: int, activity: str, title: str, times: tuple[str, str], location: str,
                 size: float, facilitators: tuple[str, ...]) -> None:
        self.offset = offset
        self.activity = activity
        self.title = title
        self.times = times
        self.location = location
        self.size = size
        self.series = ""
        self.facilitators = facilitators
        self.initiative: str | None = None  # the initiative its sessions belong to


class _Demo:
    def __init__(self, ctx: Context, s: Any, spec: _Scale, seed: int, end: dt.date, signing_key: Any = None) -> None:
        self.ctx = ctx
        self.signing_key = signing_key  # certificates' codes are signed as the services sign them
        self.s = s
        self.spec = spec
        self.profile = spec.profile
        self.rng = rng = random.Random(seed)
        self.seed = seed
        self.admin = ctx.user.id  # type: ignore[union-attr]
        self.start = spec.start_for(end)
        self.end = end
        self.ndays = (self.end - self.start).days + 1
        start_ord = self.start.toordinal()
        self.iso = [dt.date.fromordinal(start_ord + i).isoformat() for i in range(self.ndays)]
        self.start_wd = self.start.weekday()
        self.out: dict[type, list[dict]] = {m: [] for m in INSERT_ORDER}
        self.counts: dict[str, int] = {m.__tablename__: 0 for m in INSERT_ORDER}
        self.serials: dict[tuple[str, int], int] = {}
        self.gens: dict[str, _Establishment] = {}
        self.pending_certificates: list[tuple[int, int, str, dict]] = []
        self.pending_incoming: list[tuple[str, int, _P, _Establishment]] = []
        self._names(seed)

        # Reference data, read rather than assumed, for names printed on certificates.
        self.programme_name = dict(s.execute(select(Programme.id, Programme.name)).all())
        self.programme_code = dict(s.execute(select(Programme.id, Programme.code)).all())
        self.level_code = dict(s.execute(select(MilestoneDefinition.name, MilestoneDefinition.code)).all())
        modules = s.execute(
            select(Module.programme_id, Module.id).where(Module.retired.is_(False)).order_by(Module.programme_id, Module.sequence)
        ).all()
        self.modules: dict[str, list[str]] = {}
        for prog, mod in modules:
            self.modules.setdefault(prog, []).append(mod)
        ests = s.execute(
            select(Establishment.id, Establishment.code, Establishment.name, Establishment.kind,
                   Establishment.opened, Establishment.closed, Establishment.replaced_by_id)
            .where(Establishment.deleted_hlc.is_(None))
            .order_by(Establishment.code)
        ).all()
        self.est_by_id = {e.id: e for e in ests}
        own = ctx.installation.establishment_id
        if own:
            scope = [self.est_by_id[own]]
        elif spec.every_establishment:
            scope = [e for e in ests if e.kind == "prison" and self._open_in_period(e)]
        else:
            scope = [self.est_by_id.get("est-per") or next(e for e in ests if e.kind == "prison" and not e.closed)]
        self.scope = scope
        self.scope_ids = {e.id for e in scope}
        # Where people can be transferred to: open prisons (in this demo or elsewhere).
        self.prisons = [e for e in ests if e.kind == "prison"]
        rng.shuffle(self.prisons)

    # -- helpers ------------------------------------------------------------------------------

    def _open_in_period(self, e: Any) -> bool:
        return (e.opened is None or e.opened <= self.end) and (e.closed is None or e.closed > self.start)

    def day_of(self, d: dt.date | None, default: int) -> int:
        return default if d is None else (d - self.start).days

    def date(self, day: int) -> str:
        if 0 <= day < self.ndays:
            return self.iso[day]
        return (self.start + dt.timedelta(days=day)).isoformat()

    def _names(self, seed: int) -> None:
        from faker import Faker

        fake = Faker("en_GB")
        fake.seed_instance(seed)
        male = list(dict.fromkeys([fake.first_name_male() for _ in range(600)])) + list(SCOTTISH_MALE) * 3
        female = list(dict.fromkeys([fake.first_name_female() for _ in range(600)])) + list(SCOTTISH_FEMALE) * 3
        family = list(dict.fromkeys([fake.last_name() for _ in range(1500)])) + list(SCOTTISH_SURNAMES) * 4
        self.given = (male, female)
        self.family = family

    def person(self, kind: str, est_id: str | None, *, women: float = 0.5, **extra: Any) -> tuple[str, str, str]:
        """Append a person row; returns (id, given, family)."""
        rng = self.rng
        given = rng.choice(self.given[rng.random() < women])
        family = rng.choice(self.family)
        pid = new_id()
        row = {
            "id": pid, "given_name": given, "family_name": family,
            "search_name": f"{given} {family}".lower(), "kind": kind, "establishment_id": est_id,
            "external_ref": None, "consent_date": None, "consent_scope": None, "liberation_date": None,
            "notes": None,
        }
        row.update(extra)
        self.out[Person].append(row)
        return pid, given, family

    def achieve(self, p: _P, level: int, day: int, evidence: list[str], code: str) -> None:
        aid = new_id()
        self.out[MilestoneAchievement].append({
            "id": aid, "person_id": p.id, "definition_id": LADDER[level], "achieved_on": self.iso[day],
            "signed_off_by": self.admin, "status": "active", "status_reason": None,
            "superseded_by_id": None, "notes": None,
        })
        ev = self.out[MilestoneEvidence]
        for sid in evidence:
            ev.append({"id": new_id(), "achievement_id": aid, "session_id": sid})
        p.level = level
        p.role_n = 0
        p.hist = []
        if level == 6:
            self.certificate(p, day + self.rng.randint(5, 25), "milestone", "Peer trainer", code,
                             achievement_id=aid)

    def certificate(self, p: _P, issued: int, kind: str, title: str, code: str, **refs: Any) -> None:
        """A certificate printed on day ``issued`` (none if that is after the demo ends).

        Serials are minted in date order per establishment and year when the chunk that
        reaches the issue date is written (see :meth:`flush`).
        """
        if issued >= self.ndays:
            return
        row = {
            "id": new_id(), "serial": None, "person_id": p.id,
            "recipient_name": p.name, "kind": kind, "title": title, "programme_id": None,
            "module_id": None, "achievement_id": None, "issued_on": self.iso[issued], "issued_by": self.admin,
            "status": "valid", "status_reason": None, "supersedes_id": None,
        }
        row.update(refs)
        self.pending_certificates.append((issued, len(self.pending_certificates), code, row))

    def _mint(self, code: str, before_day: int | None) -> None:
        pending = self.pending_certificates
        last = self.ndays if before_day is None else before_day
        ready = [c for c in pending if c[2] == code and c[0] < last]
        self.pending_certificates = [c for c in pending if not (c[2] == code and c[0] < last)]
        ready.sort(key=lambda c: (c[0], c[1]))
        rows = self.out[Certificate]
        for _day, _n, code, row in ready:
            year = int(row["issued_on"][:4])
            n = self.serials[(code, year)] = self.serials.get((code, year), 0) + 1
            # Minted as this PC mints them (its tag: services.certificates), so two sample
            # installations' serials never clash in one office.
            row["serial"] = f"SRC-{code}-{year}-{installation_tag(self.ctx.installation.id)}-{n:06d}"
            self._freeze(row, code)
            rows.append(row)

    def _freeze(self, row: dict, code: str) -> None:
        """The content printed and the signed code, as :func:`srcdesk.services.certificates.issue`
        freezes them (signed by this PC: sample data stands for the whole estate)."""
        est = next((e for e in self.est_by_id.values() if e.code == code), None)
        kind = row["kind"]
        award = self.programme_code.get(row["programme_id"] or "") or self.level_code.get(row["title"], "")
        day = dt.date.fromisoformat(row["issued_on"])
        signed = certcode.sign(self.signing_key, serial=row["serial"], award_code=award, issued_on=day,
                               establishment_code=code, name=row["recipient_name"]) if self.signing_key else ""
        content = CertificateContent(
            serial=row["serial"], name=row["recipient_name"], title=row["title"], kind=kind,
            statement=STATEMENTS[kind], detail=LEVEL_DETAIL if kind == "milestone" else "", issued_on=day,
            place=est.name if est else OFFICE_PLACE, establishment_code=code, award_code=award, code=signed,
            signatories=(Signatory(self.ctx.user.display_name, "Issued by"),))  # type: ignore[union-attr]
        row.update(establishment_id=est.id if est else None, award_code=award, content=content.to_json(),
                   code=signed or None, batch_id=None, status_changed_on=None, status_changed_by=None)

    def flush(self, code: str = "", before_day: int | None = 0) -> None:
        """Write what was generated.

        ``code``'s certificates issued before ``before_day`` (None: all) get their serials now;
        later ones wait for the chunk that reaches their date, so serials follow issue dates.
        """
        self._mint(code, before_day)
        s, actor = self.s, self.ctx.actor
        if not self.ctx.installation.is_office:
            # Community organisations are kept at the SRC office and reach an establishment in its
            # bundles (sync.authority): an establishment's demo makes none (its bundle would be
            # refused), and its referrals name no service. They are still drawn, so the rest of the
            # demo is the same at either kind of PC.
            self.out[CommunityOrganisation], self.out[OrganisationLink] = [], []
            for row in self.out[Referral]:
                row["organisation_id"] = None
        for model in INSERT_ORDER:
            rows = self.out[model]
            if rows:
                self.counts[model.__tablename__] += bulk_insert(s, model, rows, actor)
                self.out[model] = []

    # -- the whole run ------------------------------------------------------------------------

    def run(self, progress: ProgressFn | None) -> None:
        nweeks = (self.ndays + 6) // 7
        chunks = self.spec.chunks
        bounds = [round(i * nweeks / chunks) for i in range(chunks + 1)]
        total = 1 + chunks * len(self.scope)
        done = 0
        if progress:
            progress(done, total, PROGRESS_LABEL)
        self.national()
        for e in self.scope:
            self.gens[e.id] = _Establishment(self, e)
        for dest, day, p, src in self.pending_incoming:  # transfers decided before dest existed
            self.gens[dest].incoming.append((day, p, src))
        self.pending_incoming = []
        self.steering = self._steering_meetings()
        self.flush()
        done += 1
        if progress:
            progress(done, total, PROGRESS_LABEL)
        for c in range(chunks):
            for gen in self.gens.values():
                gen.chunk(bounds[c], bounds[c + 1])
                self.flush(gen.code, bounds[c + 1] * 7 if c + 1 < chunks else None)
                done += 1
                if progress:
                    progress(done, total, PROGRESS_LABEL)
        self.workplan()

    def workplan(self) -> None:
        """At the office: each plan year the demo spans gets 3-5 focus establishments, a national
        sessions target and one per focus establishment, set near what the demo's sessions come to
        over the whole year (some met, some behind), so the dashboard and the Steering Group report
        show progress. Its own random stream: the rest of the demo is the same with or without it."""
        prisons = [e for e in self.scope if e.kind == "prison"]
        if not self.ctx.installation.is_office or not prisons:
            return
        rng = random.Random(f"workplan-{self.seed}")
        s = self.s
        years = s.execute(select(PlanYear).where(PlanYear.starts_on <= self.end, PlanYear.ends_on >= self.start,
                                                 PlanYear.deleted_hlc.is_(None)).order_by(PlanYear.starts_on)).scalars()
        for year in years:
            first, last = max(year.starts_on, self.start), min(year.ends_on, self.end)
            share = ((last - first).days + 1) / ((year.ends_on - year.starts_on).days + 1)
            held = dict(s.execute(select(Session.establishment_id, func.count()).where(
                Session.date >= first, Session.date <= last, Session.cancelled.is_(False),
                Session.deleted_hlc.is_(None)).group_by(Session.establishment_id)).all())

            def near(done: int, share: float = share) -> int:  # a whole year's worth of ``done``, give or take
                whole = done / share * rng.uniform(0.9, 1.2)
                return max(10, int(round(whole, -1 if whole >= 100 else 0)))

            focus = rng.sample(prisons, min(len(prisons), rng.randint(3, 5)))
            for e in sorted(focus, key=lambda e: e.name):
                s.add(PlanFocus(plan_year_id=year.id, establishment_id=e.id))
            s.add(PlanTarget(plan_year_id=year.id, code="sessions", target_value=near(sum(held.values())),
                             description="Recovery sessions held across the establishments."))
            for e in focus:
                s.add(PlanTarget(plan_year_id=year.id, code="sessions", establishment_id=e.id,
                                 target_value=near(held.get(e.id, 0)),
                                 description=f"Focused support: recovery sessions at {e.name}."))
        s.flush()

    def national(self) -> None:
        """SRC staff, community organisations (LEROs, recovery communities, services) in real
        council areas with what they offer, connected to establishments, and their members."""
        rng = self.rng
        self.src_staff = [self._staff("src_staff", None) for _ in range(4 if len(self.scope) > 1 else 2)]
        codes = {e.code for e in self.scope}
        orgs: list[tuple[str, list[str]]] = []
        self.rehabs: list[str] = []  # residential rehabilitation services (referrals go to them)
        for area, area_codes in AREAS.items():
            linked = [c for c in area_codes if c in codes]
            if not linked:
                continue
            place = place_of(area)
            patterns = rng.sample(LERO_PATTERNS, rng.randint(1, 2))
            if not self.rehabs and not orgs:  # the first area has a residential service (for referrals)
                patterns.append((SERVICE_PATTERNS[0], "service"))
            elif rng.random() < 0.5:
                patterns.append((rng.choice(SERVICE_PATTERNS), "service"))
            for pattern, kind in patterns:
                name = pattern.format(place=place)
                if kind == "service":
                    offers = SERVICE_OFFERS["Residential" if "Residential" in pattern else "Support"]
                    offer = "; ".join(offers[: rng.randint(3, len(offers))])
                else:
                    offer = "; ".join(rng.sample(LERO_OFFERS, rng.randint(3, 5)))
                short = name.replace("Lived Experience Recovery Organisation", "LERO").replace(
                    "Residential Rehabilitation Service", "Rehab").replace("Support Service", "Support")
                slug = "".join(ch for ch in short.lower() if ch.isalnum())
                code = PHONE_CODES.get(area, "0300")
                local = (f"{rng.randint(200, 999)} {rng.randint(1000, 9999)}" if len(code) == 4
                         else f"{rng.randint(200_000, 999_999)}")
                oid = new_id()
                self.out[CommunityOrganisation].append({
                    "id": oid, "name": name, "kind": kind, "area": area, "offers": offer,
                    "contact": f"{code} {local}\nhello@{slug}.org.uk",
                    "notes": rng.choice((None, None, "Visits the recovery café monthly.",
                                         "Hand-over at the gate on liberation day can be arranged.",
                                         "Ask for the peer support coordinator.")),
                    "retired": False,
                })
                if "Residential" in pattern:
                    self.rehabs.append(oid)
                orgs.append((oid, linked))
        if not orgs and self.scope:  # an establishment outside every listed area
            oid = new_id()
            self.out[CommunityOrganisation].append({
                "id": oid, "name": "Local Recovery Community", "kind": "recovery_community", "area": None,
                "offers": "Peer support; recovery café", "contact": None, "notes": None, "retired": False,
            })
            orgs.append((oid, [self.scope[0].code]))
        if len(self.scope) > 1:  # one that closed its doors: retired, still named by old referrals
            self.out[CommunityOrganisation].append({
                "id": new_id(), "name": "Recovery Café Leith (old premises)", "kind": "lero",
                "area": "City of Edinburgh", "offers": "Recovery café", "contact": None,
                "notes": "Moved; see Edinburgh Recovery Network.", "retired": True,
            })
        code_to_id = {e.code: e.id for e in self.scope}
        self.orgs_by_est: dict[str, list[str]] = {}
        self.members_by_est: dict[str, list[_P]] = {}
        for oid, linked in orgs:
            members = [self._member() for _ in range(rng.randint(2, 4))]
            for code in dict.fromkeys(linked):
                est_id = code_to_id[code]
                self.out[OrganisationLink].append({"id": new_id(), "organisation_id": oid, "establishment_id": est_id})
                self.orgs_by_est.setdefault(est_id, []).append(oid)
                self.members_by_est.setdefault(est_id, []).extend(members)

    def _staff(self, kind: str, est_id: str | None) -> _P:
        pid, given, family = self.person(kind, est_id)
        return _P(pid, f"{given} {family}", kind)

    def _member(self) -> _P:
        pid, given, family = self.person("community_member", None, consent_date=self.iso[0],
                                         consent_scope="Attendance only")
        return _P(pid, f"{given} {family}", "community_member")

    def _steering_meetings(self) -> dict[str, list[int]]:
        """Quarterly Steering Group meetings, hosted in turn by the establishments."""
        rng = self.rng
        by_host: dict[str, list[int]] = {}
        gens = list(self.gens.values())
        for q in range(0, self.ndays, 91):
            day = q + rng.randint(14, 60)
            day += (1 - (self.start_wd + day)) % 7  # a Tuesday
            hosts = [g for g in gens if g.start_day <= day < g.end_day]
            if day >= self.ndays or not hosts:
                continue
            by_host.setdefault(rng.choice(hosts).id, []).append(day)
        return by_host


class _Establishment:
    """One establishment's recovery activity, simulated week by week."""

    def __init__(self, demo: _Demo, e: Any) -> None:
        self.demo = demo
        self.rng = rng = demo.rng
        self.id = e.id
        self.code = e.code
        self.e = e
        self.profile = p = demo.profile
        self.start_day = max(0, demo.day_of(e.opened, 0))
        self.end_day = min(demo.ndays, demo.day_of(e.closed, demo.ndays))
        successor = demo.est_by_id.get(e.replaced_by_id) if e.replaced_by_id else None
        self.successor = successor.id if successor is not None and e.closed else None
        self.women = WOMEN_SHARE.get(e.code, 0.0)
        self.short = e.name.replace("HMP & YOI ", "").replace("HMP ", "").split(" (")[0]
        self.locations = rng.sample(LOCATIONS, 6)
        self.active: list[_P] = []
        self.incoming: list[tuple[int, _P, _Establishment]] = []
        self.progress = 0  # the day up to which this establishment has been simulated
        self.courses: list[_Course] = []
        self.tracks: list[_Course | None] = [None] * len(p.rcdt_tracks)
        self.track_rest = [0] * len(p.rcdt_tracks)  # no new group before this week
        self.cohort_n = 0
        self.t4t_busy: set[_P] = set()
        self.staff: dict[str, list[_P]] = {k: [demo._staff(k, e.id) for _ in range(rng.randint(*n))]
                                           for k, n in p.staff.items()}
        self.slots = self._slots()
        self._initiatives()
        if self.start_day == 0:  # people already coming to recovery activities when the demo starts
            for _ in range(p.initial_people):
                self.prisoner(-rng.randint(1, 300), rng.randint(7, p.initial_stay_days))

    # -- set-up -------------------------------------------------------------------------------

    def _offset(self, weekday: int) -> int:
        return (weekday - self.demo.start_wd) % 7

    def _slots(self) -> list[_Slot]:
        rng, p = self.rng, self.profile
        slots = []
        for _ in range(rng.randint(*p.cafes)):
            slots.append(_Slot(self._offset(rng.randrange(7)), ACT_CAFE, rng.choice(CAFE_TITLES),
                               rng.choice(CAFE_TIMES), rng.choice(self.locations), 12.0,
                               ("sps_staff", "third_sector_staff")))
        for _ in range(rng.randint(*p.community)):
            slots.append(_Slot(self._offset(rng.randrange(5)), ACT_COMMUNITY, "Recovery community meeting",
                               rng.choice(COMMUNITY_TIMES), rng.choice(self.locations), 10.0,
                               ("sps_staff", "healthcare_staff")))
        for _ in range(rng.randint(*p.mutual)):
            slots.append(_Slot(self._offset(rng.randrange(7)), ACT_MUTUAL, rng.choice(MUTUAL_TITLES),
                               rng.choice(MUTUAL_TIMES), rng.choice(self.locations), 8.0,
                               ("third_sector_staff",)))
        slots.sort(key=lambda s: s.offset)
        return slots

    def _initiatives(self) -> None:
        """The establishment's recovery initiatives (the year-1 mapping and review): who runs
        them, when they meet, when they were last reviewed and when the next review is due (some
        overdue); the café, recovery community and mutual-aid sessions name theirs."""
        demo, rng = self.demo, self.rng
        first = self.start_day
        by_activity = {ACT_CAFE: "recovery_cafe", ACT_COMMUNITY: "recovery_community", ACT_MUTUAL: "mutual_aid"}
        kinds = [("recovery_cafe", f"{self.short} Recovery Café"),
                 ("recovery_community", f"{self.short} Recovery Community"),
                 ("mutual_aid", f"{self.short} mutual-aid groups")]
        if rng.random() < 0.6:
            kinds.append(("recovery_pathway", f"{self.short} recovery pathway"))
        if rng.random() < 0.5:
            kinds.append(("peer_support", f"{self.short} peer mentoring"))
        last = min(self.end_day, demo.ndays)
        for kind, name in kinds:
            started = first - rng.randint(0, 700) if first == 0 else first + rng.randint(0, 20)
            status = "running" if kind in by_activity.values() else rng.choice(
                ("running", "running", "planned", "paused"))
            if self.e.closed and self.end_day < demo.ndays:
                status = "ended"
            slots = [sl for sl in self.slots if by_activity.get(sl.activity) == kind]
            pattern = ", ".join(dict.fromkeys(
                f"{WEEKDAY_NAMES[(demo.start_wd + sl.offset) % 7]} {sl.times[0]}" for sl in slots))
            if not pattern and status != "planned":
                pattern = rng.choice(("Weekly, by referral", "Monthly, first Wednesday", "As people are identified"))
            reviewed = max(last - rng.randint(10, 270), started + 1) if status != "planned" else None
            iid = new_id()
            for sl in slots:
                sl.initiative = iid
            demo.out[Initiative].append({
                "id": iid, "establishment_id": self.id, "kind": kind, "name": name, "status": status,
                "run_by": rng.choice(RUNNERS[kind]), "meeting_pattern": pattern or None,
                "started_on": demo.date(started) if status != "planned" else None,
                "ended_on": demo.date(self.end_day) if status == "ended" else None,
                "last_reviewed_on": demo.date(reviewed) if reviewed is not None else None,
                "review_due_on": (demo.date(reviewed + REVIEW_EVERY_DAYS) if reviewed is not None and status != "ended"
                                  else demo.date(last + rng.randint(14, 90)) if status == "planned" else None),
                "review_notes": rng.choice(REVIEW_NOTES) if reviewed is not None else None,
            })

    # -- people -------------------------------------------------------------------------------

    def _stay(self) -> int:
        r = self.rng.random()
        if r < 0.55:
            return self.rng.randint(30, 90)
        if r < 0.9:
            return self.rng.randint(90, 240)
        return self.rng.randint(240, 900)

    def prisoner(self, arrival: int, leave: int | None = None) -> None:
        """A person in custody who comes to recovery activities from ``arrival``.

        Their whole story is decided now (transfer, liberation, referral), so the person row
        is written once in its final state together with any transfer row.
        """
        demo, rng = self.demo, self.rng
        if leave is None:
            leave = arrival + self._stay()
        r = rng.random()
        w = 1 if r < 0.45 else 2 if r < 0.75 else 4 if r < 0.95 else 8
        r = rng.random()
        if w == 1:
            cap = 1 if r < 0.9 else 2
        elif w == 2:
            cap = 1 if r < 0.3 else 2 if r < 0.85 else 3
        elif w == 4:
            cap = 2 if r < 0.35 else 3 if r < 0.7 else 4 if r < 0.9 else 5
        else:
            cap = 3 if r < 0.2 else 4 if r < 0.5 else 5 if r < 0.75 else 6
        final_est = self.id
        liberation: int | None = None
        transfer: tuple[str, int, str] | None = None
        next_leave = 0
        if self.successor and arrival < self.end_day < leave:
            transfer = (self.successor, self.end_day, f"{self.e.name} closed")
            next_leave = leave
        elif leave < demo.ndays:
            r = rng.random()
            if r < self.profile.transfer_share:
                dest = self._transfer_destination(leave)
                if dest is not None:
                    transfer = (dest, leave, rng.choice(TRANSFER_REASONS) if dest != "est-cas"
                                else "Progression to open conditions")
                    next_leave = leave + self._stay()
                    if next_leave < demo.ndays and rng.random() < 0.85:
                        liberation = next_leave
            elif r < 0.88 + self.profile.transfer_share - 0.13:
                liberation = leave
        else:  # still here when the data ends
            r = rng.random()
            if r < 0.1:  # liberated in the next 8 weeks (Today's list of liberations coming up)
                liberation = demo.ndays - 1 + rng.randint(1, 56)
            elif r < 0.4:
                liberation = leave + rng.randint(0, 400)
        if transfer is not None:
            final_est = transfer[0]
        consent = min(arrival, demo.ndays - 1)  # asked at their first recovery contact
        pid, given, family = demo.person(
            "prisoner", final_est, women=self.women,
            external_ref=f"{rng.randrange(10_000_000, 99_999_999)}",
            consent_date=demo.date(consent),
            consent_scope=rng.choice(CONSENT_SCOPES),
            liberation_date=demo.date(liberation) if liberation is not None else None,
        )
        p = _P(pid, f"{given} {family}", "prisoner", w, cap, leave)
        if transfer is not None:
            dest, day, reason = transfer
            demo.out[PersonTransfer].append({
                "id": new_id(), "person_id": pid, "from_establishment_id": self.id,
                "to_establishment_id": dest, "transferred_on": demo.date(day), "reason": reason,
            })
            p.next_leave = next_leave
            gen = demo.gens.get(dest)
            if gen is not None:
                gen.incoming.append((day, p, self))
            elif dest in demo.scope_ids:
                demo.pending_incoming.append((dest, day, p, self))
        # (more of those still here: referrals open at every stage when the data ends)
        if liberation is not None and rng.random() < self.profile.referral_share * (
                5 if liberation >= demo.ndays else 1):
            self.referral(pid, liberation, final_est)
        self.active.append(p)

    def _transfer_destination(self, day: int) -> str | None:
        demo, rng = self.demo, self.rng
        if rng.random() < 0.15:
            candidates = [e for e in demo.prisons if e.code == "CAS"]
        else:
            candidates = demo.prisons
        for e in rng.sample(candidates, min(4, len(candidates))):
            if e.id == self.id or (e.closed and demo.day_of(e.closed, 0) <= day):
                continue
            if e.opened and demo.day_of(e.opened, 0) > day:
                continue
            if WOMEN_SHARE.get(e.code, 0.0) >= 1.0 and self.women < 1.0:
                continue
            if self.women >= 1.0 and WOMEN_SHARE.get(e.code, 0.0) == 0.0:
                continue
            return e.id
        return None

    def referral(self, pid: str, liberation: int, est_id: str) -> None:
        """Early Release to Residential Rehabilitation Protocol: the stages up to liberation, then
        the follow-up (still in placement at 4 and 12 weeks, completed); some withdrawn or declined
        on the way, some leaving the placement early, each closed with a date and a reason. Those
        whose stages run past the demo's end are still open at the stage reached."""
        demo, rng = self.demo, self.rng
        day = liberation - rng.randint(100, 150)
        stages = [("identified", day)]
        for stage, gap in (("consented", (1, 10)), ("assessed", (15, 35)), ("funding_agreed", (5, 20)),
                           ("placement_offered", (7, 25)), ("release_approved", (3, 14))):
            day += rng.randint(*gap)
            stages.append((stage, min(day, liberation - 1)))
        stages += [("admitted", liberation), ("week_4", liberation + 28), ("week_12", liberation + 84),
                   ("completed", liberation + rng.randint(120, 200))]
        r = rng.random()
        outcome: str | None = None
        if r < 0.15:
            outcome, stages = "withdrawn", stages[: rng.randint(1, 4)]
        elif r < 0.27:  # after the assessment, or funding refused
            outcome, stages = "declined", stages[: rng.randint(3, 4)]
        elif r < 0.37:  # admitted, then left before 12 weeks
            outcome, stages = "left_placement", stages[: rng.randint(7, 8)]
        stages = [(st, d) for st, d in stages if d < demo.ndays]
        if not stages:
            return
        closed_on: int | None = None
        reason: str | None = None
        if outcome is not None:
            closed_on = stages[-1][1] + (rng.randint(5, 25) if outcome == "left_placement" else rng.randint(1, 10))
            if closed_on >= demo.ndays or (outcome == "left_placement" and stages[-1][0] not in ("admitted", "week_4")):
                outcome, closed_on = None, None  # not happened yet when the data ends
            else:
                reason = rng.choice({"withdrawn": WITHDRAW_REASONS, "declined": DECLINE_REASONS,
                                     "left_placement": LEFT_REASONS}[outcome])
        last = stages[-1][0]
        if outcome is not None:
            status = outcome
        elif last == "completed":
            status, closed_on, reason = "completed", stages[-1][1], "Completed the placement."
        elif last in ("admitted", "week_4", "week_12"):
            status = "in_placement"
        else:
            status = "open"
        rid = new_id()
        demo.out[Referral].append({
            "id": rid, "person_id": pid, "establishment_id": est_id,
            "organisation_id": rng.choice(demo.rehabs) if demo.rehabs else None, "status": status,
            "closed_on": demo.date(closed_on) if closed_on is not None else None, "close_reason": reason,
            "notes": None,
        })
        rows = demo.out[ReferralStage]
        for stage, d in stages:
            note = STAGE_NOTES.get(stage) if rng.random() < 0.3 else None
            rows.append({"id": new_id(), "referral_id": rid, "stage": stage, "reached_on": demo.date(d),
                         "recorded_by": demo.admin, "note": note})

    def week_people(self, d0: int) -> None:
        """Who can come this week: nobody in the week they leave, transfers from the week after."""
        rng, p = self.rng, self.profile
        self.active = [x for x in self.active if x.leave >= d0 + 7]
        if self.incoming:
            keep = []
            for day, x, src in self.incoming:
                # Arrive once the week they left is over there (simulated in full, ladder and all).
                if day <= d0 and src.progress > day:
                    if x.next_leave >= d0 + 7:
                        self.active.append(x.moved())
                else:
                    keep.append((day, x, src))
            self.incoming = keep
        rate = p.arrivals_per_week
        n = int(rate) + (rng.random() < rate - int(rate)) + rng.randint(-2, 2)
        for _ in range(max(0, n)):
            self.prisoner(d0)

    def _tickets(self) -> list[_P]:
        tickets = []
        for x in self.active:
            tickets.extend((x,) * x.w)
        return tickets

    # -- a chunk of weeks ---------------------------------------------------------------------

    def chunk(self, w0: int, w1: int) -> None:
        demo, rng, p = self.demo, self.rng, self.profile
        first = max(w0, self.start_day // 7)
        last = min(w1, (self.end_day + 6) // 7)
        if first >= last:
            return
        weeks = last - first
        # Staff turnover once a year, new series for the weekly slots.
        if w0 > 0:
            for kind, pool in self.staff.items():
                for i, _x in enumerate(pool):
                    if rng.random() < 0.12:
                        pool[i] = demo._staff(kind, self.id)
        for slot in self.slots:
            slot.series = new_id()
        events: dict[int, list[tuple[str, int]]] = {}

        def schedule(kind: str, per_year: float, weekday: int | None) -> None:
            expected = per_year * weeks / 52
            n = int(expected) + (rng.random() < expected - int(expected))
            for _ in range(n):
                w = rng.randrange(first, last)
                wd = rng.randrange(5) if weekday is None else weekday
                events.setdefault(w, []).append((kind, w * 7 + self._offset(wd)))

        schedule("rat", p.recruit_cohorts_per_year, None)
        schedule("t4t", p.t4t_per_year, 0)
        schedule("rda", p.rda_per_year, 0)
        schedule("nrn", p.nrn_per_year, 3)
        for day in demo.steering.get(self.id, []):
            if first * 7 <= day < last * 7:
                events.setdefault(day // 7, []).append(("steering", day))
        for w in range(first, last):
            d0 = w * 7
            self.week_people(d0)
            tickets = self._tickets()
            # The week's agenda runs in date order, so the ladder sees attendance as it happened.
            agenda: list[tuple[int, int, Callable[..., None], tuple]] = []
            add = self._agenda_adder(agenda)
            for slot in self.slots:
                if rng.random() > 0.04:
                    add(d0 + slot.offset, self.drop_in, slot, d0 + slot.offset, tickets)
            for i, (weekdays, times) in enumerate(p.rcdt_tracks):
                if self.tracks[i] is None and w >= self.track_rest[i]:
                    self.tracks[i] = self.form_course(PROG_RCDT, weekdays, times, d0, tickets, i)
            for kind, day in events.get(w, ()):
                if kind == "rat":
                    add(day, self.recruit_training, day)
                elif kind == "nrn":
                    add(day, self.nrn_event, day)
                elif kind == "steering":
                    add(day, self.steering_meeting, day)
                else:
                    course = self.form_course(
                        PROG_T4T if kind == "t4t" else PROG_RDA, (4,) if kind == "t4t" else (2,),
                        COURSE_TIMES[2] if kind == "t4t" else ("13:30", "16:00"), d0, tickets, None)
                    if course is not None:
                        self.courses.append(course)
            for course in [c for c in self.tracks if c is not None] + self.courses:
                for off in course.weekdays:
                    add(d0 + off, self.course_session, course, d0 + off)
            agenda.sort(key=lambda a: (a[0], a[1]))
            for _day, _n, fn, args in agenda:
                fn(*args)
            self.progress = d0 + 7

    def _agenda_adder(self, agenda: list) -> Callable[..., None]:
        def add(day: int, fn: Callable[..., None], *args: Any) -> None:
            if self.start_day <= day < self.end_day:
                agenda.append((day, len(agenda), fn, args))

        return add

    # -- sessions -----------------------------------------------------------------------------

    def session(self, day: int, times: tuple[str, str], location: str, *, activity: str | None = None,
                module: str | None = None, title: str | None = None, series: str | None = None,
                cohort: str | None = None, facilitators: tuple[str, ...] = ("sps_staff",),
                cancellable: bool = True, initiative: str | None = None) -> str | None:
        """Append a session and its staff facilitators; None if it was cancelled."""
        demo, rng = self.demo, self.rng
        sid = new_id()
        cancelled = cancellable and rng.random() < 0.02
        demo.out[Session].append({
            "id": sid, "establishment_id": self.id, "date": demo.iso[day], "start_time": times[0],
            "end_time": times[1], "module_id": module, "activity_type_id": activity,
            "recruit_cohort_id": cohort, "title": title, "location": location,
            "notes": rng.choice(SESSION_NOTES) if rng.random() < 0.05 else None,
            "series_id": series, "cancelled": cancelled, "initiative_id": initiative,
            "cancelled_reason": rng.choice(CANCEL_REASONS) if cancelled else None,
        })
        pool: list[_P] = []
        for kind in facilitators:
            pool.extend(self.staff[kind] if kind != "src_staff" else demo.src_staff)
        if pool:
            rows = demo.out[SessionFacilitator]
            for x in rng.sample(pool, 2 if len(pool) > 1 and rng.random() < 0.3 else 1):
                rows.append({"id": new_id(), "session_id": sid, "person_id": x.id})
        return None if cancelled else sid

    def register(self, sid: str, day: int, people: list[_P], weights: tuple[int, ...],
                 role_p: float, trainer_ok: bool = False) -> None:
        """Attendance rows for ``people``; the ladder moves as they attend and take on roles."""
        demo, code = self.demo, self.code
        append = demo.out[Attendance].append
        random_ = self.rng.random
        make_id = new_id
        statuses = self.rng.choices(STATUSES, cum_weights=weights, k=len(people))
        lead_free = True
        for p, status in zip(people, statuses, strict=True):
            role = PARTICIPANT
            cap = p.cap
            if cap:
                level = p.level
                if level >= 2:
                    if cap > 2 and role_p and random_() < role_p:
                        target = level + 1 if level < cap else level
                        role = ROLE_FOR[target]
                        if role == TRAINER and not (trainer_ok and p.t4t):
                            role = LEAD
                        if role == LEAD:
                            if lead_free:
                                lead_free = False
                            else:
                                role = CO_FAC
                        if target > level and role == ROLE_FOR[target] and status not in NOT_ATTENDED:
                            p.role_n += 1
                            p.hist.append(sid)
                            if p.role_n >= ROLE_NEED[target]:
                                demo.achieve(p, target, day, p.hist[-ROLE_NEED[target]:], code)
                elif status not in NOT_ATTENDED:
                    if level == 0:
                        demo.achieve(p, 1, day, [sid], code)
                    elif cap >= 2:
                        h = p.hist
                        h.append((day, sid))
                        if len(h) >= 6:
                            if day - h[-6][0] < REGULAR_WITHIN_DAYS:  # as the ladder counts it
                                demo.achieve(p, 2, day, [x[1] for x in h[-6:]], code)
                            else:
                                del h[:-5]
            append({"id": make_id(), "session_id": sid, "person_id": p.id, "status_id": status, "role_id": role})

    def pick(self, tickets: list[_P], k: int) -> list[_P]:
        """About ``k`` different people, the keener ones more likely (they hold more tickets)."""
        if k <= 0 or not tickets:
            return []
        return list(dict.fromkeys(self.rng.choices(tickets, k=k * 2 + 2)))[:k]

    def drop_in(self, slot: _Slot, day: int, tickets: list[_P]) -> None:
        rng = self.rng
        sid = self.session(day, slot.times, slot.location, activity=slot.activity, title=slot.title,
                           series=slot.series, facilitators=slot.facilitators, initiative=slot.initiative)
        if sid is None:
            return
        people = self.pick(tickets, int(rng.gauss(slot.size, 3)))
        self.register(sid, day, people, DROP_IN_WEIGHTS if slot.activity == ACT_CAFE else MEETING_WEIGHTS, 0.4)
        if slot.activity == ACT_CAFE and rng.random() < 0.12:
            members = self.demo.members_by_est.get(self.id)
            if members:
                x = rng.choice(members)
                self.demo.out[Attendance].append({"id": new_id(), "session_id": sid, "person_id": x.id,
                                                  "status_id": PRESENT, "role_id": HELPER})

    def form_course(self, programme: str, weekdays: tuple[int, ...], times: tuple[str, str], d0: int,
                    tickets: list[_P], track: int | None) -> _Course | None:
        rng = self.rng
        modules = self.demo.modules.get(programme)
        if not modules:
            return None
        weeks_needed = (len(modules) + len(weekdays) - 1) // len(weekdays) + 1
        horizon = d0 + 7 * weeks_needed
        if programme == PROG_RCDT:
            pool = [x for x in dict.fromkeys(tickets) if not x.rcdt and x.leave > horizon]
            k = rng.randint(8, 12)
            title = "RCDT group"
        elif programme == PROG_T4T:
            pool = [x for x in self.active
                    if x.level >= 4 and not x.t4t and x not in self.t4t_busy and x.leave > horizon]
            k = rng.randint(3, 6)
            title = "Training 4 Trainers"
        else:
            pool = [x for x in self.active if x.level >= 3 and not x.rda and x.leave > horizon]
            k = rng.randint(4, 8)
            title = "Recovery Development Award group"
        if programme != PROG_RCDT and len(pool) < 2:
            return None
        if len(pool) < 4 and programme == PROG_RCDT:
            return None
        members = rng.sample(pool, min(k, len(pool)))
        for x in members:
            if programme == PROG_RCDT:
                x.rcdt = True
            elif programme == PROG_T4T:
                self.t4t_busy.add(x)  # t4t is set on completion
            else:
                x.rda = True
        self.cohort_n += 1
        weekdays_off = tuple(self._offset(wd) for wd in weekdays)
        return _Course(programme, modules, members, weekdays_off, times, rng.choice(self.locations),
                       f"{self.code} {title} {self.cohort_n}", track)

    def course_session(self, course: _Course, day: int) -> None:
        """The group's next module; the group finishes (certificates) after the last one."""
        demo, rng = self.demo, self.rng
        if course.next >= len(course.modules):
            return
        sid = self.session(day, course.times, course.location, module=course.modules[course.next],
                           title=course.title, series=course.series,
                           facilitators=("src_staff", "sps_staff"), cancellable=False)
        assert sid is not None
        course.next += 1
        members = [x for x in course.members if x.leave > day]
        before = len(demo.out[Attendance])
        self.register(sid, day, members, COURSE_WEIGHTS, 0.0)
        att = course.attended
        for row, x in zip(demo.out[Attendance][before:], members, strict=True):
            if row["status_id"] not in NOT_ATTENDED:
                att[x] += 1
        if course.programme == PROG_RCDT:
            peers = [x for x in self.active if x.level >= 3 and x not in att]
            if peers:
                self.register(sid, day, rng.sample(peers, min(len(peers), rng.randint(1, 2))),
                              MEETING_WEIGHTS, 1.0, trainer_ok=True)
        if course.next == len(course.modules) or day + 7 >= self.end_day:
            self.finish_course(course, day, completed=course.next == len(course.modules))

    def finish_course(self, course: _Course, day: int, *, completed: bool) -> None:
        demo = self.demo
        if course.track is None:
            self.courses.remove(course)
        else:
            self.tracks[course.track] = None
            self.track_rest[course.track] = day // 7 + 1 + self.profile.rcdt_rest_weeks
        course.next = len(course.modules)
        need = len(course.modules) - (1 if course.programme == PROG_RCDT else 0)  # one catch-up allowed
        name = demo.programme_name.get(course.programme, course.programme)
        issued = day + self.rng.randint(7, 28)  # printed as a batch for the group
        for x, n in course.attended.items():
            self.t4t_busy.discard(x)
            if completed and n >= need:
                if course.programme == PROG_T4T:
                    x.t4t = True
                demo.certificate(x, issued, "award" if course.programme == PROG_RDA else "programme",
                                 name, self.code, programme_id=course.programme)

    def recruit_training(self, day: int) -> None:
        """Recovery Awareness Training for a cohort of new SPS recruits."""
        demo, rng = self.demo, self.rng
        size = rng.randint(8, 18)
        cid = new_id()
        demo.out[RecruitCohort].append({
            "id": cid, "name": f"{self.code} recruits {dt.date.fromisoformat(demo.iso[day]):%B %Y}",
            "establishment_id": self.id, "starts_on": demo.iso[max(self.start_day, day - rng.randint(0, 4))],
            "size": size,
        })
        recruits = []
        for _ in range(size):
            pid, given, family = demo.person("sps_staff", self.id)
            recruits.append(_P(pid, f"{given} {family}", "sps_staff"))
        peers = [x for x in self.active if x.level >= 4]
        parts = [("09:00", "16:30")] if rng.random() < 0.7 else [("09:00", "12:30"), ("13:30", "16:30")]
        for times in parts:  # a full day, or morning and afternoon
            sid = self.session(day, times, "Training room", module=MOD_RAT, cohort=cid,
                               title="Recovery Awareness Training", facilitators=("src_staff",), cancellable=False)
            assert sid is not None
            self.register(sid, day, recruits, MEETING_WEIGHTS, 0.0)
            if peers:  # lived experience in the room
                self.register(sid, day, [rng.choice(peers)], MEETING_WEIGHTS, 1.0, trainer_ok=True)

    def nrn_event(self, day: int) -> None:
        demo, rng = self.demo, self.rng
        sid = self.session(day, ("10:00", "15:00"), "Visits hall", activity=ACT_NRN,
                           title=f"National Recovery Network: {rng.choice(NRN_THEMES)}",
                           facilitators=("src_staff", "sps_staff"), cancellable=False)
        peers = [x for x in self.active if x.level >= 2]
        self.register(sid, day, rng.sample(peers, min(len(peers), rng.randint(6, 14))), MEETING_WEIGHTS, 0.7)
        members = list(dict.fromkeys(demo.members_by_est.get(self.id, [])))
        rows = demo.out[Attendance]
        for x in rng.sample(members, min(len(members), rng.randint(2, 4))):
            rows.append({"id": new_id(), "session_id": sid, "person_id": x.id, "status_id": PRESENT,
                         "role_id": OBSERVER if rng.random() < 0.5 else PARTICIPANT})

    def steering_meeting(self, day: int) -> None:
        demo, rng = self.demo, self.rng
        sid = self.session(day, ("10:30", "12:30"), "Training room", activity=ACT_STEERING,
                           title="Recovery Strategy Steering Group", facilitators=("src_staff",),
                           cancellable=False)
        staff = list(demo.src_staff) + rng.sample(self.staff["sps_staff"], min(2, len(self.staff["sps_staff"])))
        staff += self.staff["healthcare_staff"][:1]
        peers = [x for x in self.active if x.level >= 4]
        people = staff + rng.sample(peers, min(len(peers), 2))
        self.register(sid, day, people, MEETING_WEIGHTS, 0.0)


# -- entry point ----------------------------------------------------------------------------


def generate_demo(ctx: Context, *, scale: str, seed: int = 1, end: dt.date | None = None,
                  progress: ProgressFn | None = None) -> DemoSummary:
    """Fill a new, empty installation with realistic demo data (one transaction), ending on ``end``
    (today if not given: the data is "now", so Today shows this week's sessions)."""
    ctx.require("demo.fill")
    spec = SCALES.get(scale)
    if spec is None:
        raise ValidationError(f"Unknown demo scale '{scale}'; choose one of: {', '.join(SCALES)}.", "scale")
    end = end or dt.date.today()
    if end > dt.date.today():
        raise ValidationError("Demo data can't end in the future; choose today or an earlier day.", "end")
    started = time.perf_counter()
    signing_key = local_identity(ctx).signing_key
    with ctx.db.session(ctx.actor) as s:
        people = s.execute(select(func.count()).select_from(Person)).scalar_one()
        sessions = s.execute(select(func.count()).select_from(Session)).scalar_one()
        if people or sessions:
            raise ValidationError(
                "This installation already has people or sessions recorded; demo data only goes into a "
                "new, separate data folder, so set one up for it first."
            )
        dbapi = s.connection().connection.driver_connection
        old_cache = dbapi.execute("PRAGMA cache_size").fetchone()[0]
        dbapi.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
        try:
            demo = _Demo(ctx, s, spec, seed, end, signing_key)
            with stats.suspended(dbapi):  # the dashboard's summaries: rebuilt once at the end
                demo.run(progress)
        finally:
            dbapi.execute(f"PRAGMA cache_size = {int(old_cache)}")
    return DemoSummary(
        scale=scale, seed=seed, start=demo.start, end=demo.end, establishments=len(demo.scope),
        counts=dict(demo.counts), elapsed=time.perf_counter() - started,
    )
