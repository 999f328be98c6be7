"""Authority, not only authenticity (issue 9, item 1): what a validly signed bundle from an
establishment PC may create or change at the office.

The world: the SRC office, two PCs at HMP Perth (PER-1, PER-2) and one at HMP Barlinnie (BAR),
enrolled with each other. Barlinnie has sent the office a person on the register of one of its
sessions, with a referral; Perth (PER-1) a person on the register of one of its sessions, with
accounts for a coordinator and a recorder. Each case forges a Perth bundle of a few records with
Perth's real key and encryption to the office (so the bundle passes every check of its bytes and
only its content can be the reason for a refusal), imports it into a copy of the office and checks
that it is refused with its reason and that the database is exactly as it was
(:func:`srcdesk.services.check.database_digest`); and each rule has its control: the same kind of
record, entitled, is imported.
"""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from srcdesk.db import head_revision
from srcdesk.ids import new_id
from srcdesk.paths import database_path
from srcdesk.services import attendance, community, people, sessions, sync, trust
from srcdesk.services.base import Context
from srcdesk.services.check import database_digest, run_check
from srcdesk.services.setup import init_installation, open_installation
from srcdesk.services.users import add_user
from srcdesk.sync import authority as auth
from srcdesk.sync import bundle as fmt
from srcdesk.sync.changelog import CONTENT, canonical_json
from srcdesk.sync.errors import BundleRefused
from srcdesk.sync.hlc import pack
from srcdesk.sync.scope import build_scope, drop_scope

PASSWORD = "password123"
TODAY = dt.date.today()
YESTERDAY = (TODAY - dt.timedelta(days=1)).isoformat()
SITES = {"PER-1": "PER", "PER-2": "PER", "BAR": "BAR"}
_SEQS = itertools.count(100)  # forged bundles' numbers (a gap below them is allowed)
_TICKS = itertools.count(1)


# -- the world ----------------------------------------------------------------------------------


@dataclass
class World:
    root: Path
    office: Context
    sites: dict[str, Context]
    ids: dict[str, str]  # names of the records below -> their ids

    def __getitem__(self, name: str) -> Context:
        return self.office if name == "office" else self.sites[name]

    def user(self, name: str) -> str:
        return self.ids[f"user:{name}"]


def _send(source: Context, target: Context, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    to = target.installation.id if source.installation.is_office else None
    [result] = sync.export_bundles(source, folder, for_installation=to)
    sync.import_bundle(target, result.path, backup=False)


@pytest.fixture(scope="module")
def w(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("authority")
    office = init_installation(root / "office", establishment=None, office=True, admin_username="phr",
                               admin_name="PHR Officer", admin_password=PASSWORD,
                               recovery_key_out=root / "recovery.key")
    office_card = trust.export_card(office, root / "office.card")
    sites = {}
    for name, code in SITES.items():
        site = init_installation(root / name.lower(), establishment=code, office=False, admin_username="admin",
                                 admin_name=f"{name} Admin", admin_password=PASSWORD)
        card = trust.export_card(site, root / f"{name.lower()}.card")
        trust.enrol(site, office_card.read_bytes(), trust.my_identity(office).fingerprint)
        trust.enrol(office, card.read_bytes(), trust.my_identity(site).fingerprint)
        sites[name] = site
    ids = {f"user:{name}": c.user.id for name, c in sites.items()} | {"user:office": office.user.id}
    bar, per = sites["BAR"], sites["PER-1"]
    ids["bar person"] = people.create_person(bar, given_name="Bea", family_name="Barr").id
    ids["bar session"] = sessions.create_session(bar, date=YESTERDAY, start_time="10:00", end_time="11:00",
                                                 activity_type_id="act-cafe").id
    attendance.save_register(bar, ids["bar session"], [attendance.RegisterEntry(ids["bar person"])])
    ids["bar referral"] = community.create_referral(bar, person_id=ids["bar person"], referred_on=YESTERDAY).id
    ids["bar initiative"] = community.create_initiative(bar, kind="recovery_cafe", name="Barlinnie café",
                                                        started_on=YESTERDAY).id
    ids["per person"] = people.create_person(per, given_name="Pat", family_name="Perth").id
    ids["per person 2"] = people.create_person(per, given_name="Pip", family_name="Perth").id
    ids["per session"] = sessions.create_session(per, date=YESTERDAY, start_time="10:00", end_time="11:00",
                                                 activity_type_id="act-cafe").id
    attendance.save_register(per, ids["per session"], [attendance.RegisterEntry(ids["per person"])])
    ids["user:coordinator"] = add_user(per, "colin", "Colin Coordinator", "coordinator", PASSWORD).id
    ids["user:recorder"] = add_user(per, "rita", "Rita Recorder", "recorder", PASSWORD).id
    for i, name in enumerate(("BAR", "PER-1", "PER-2")):
        _send(sites[name], office, root / "stick" / f"in-{i}")
    for i, name in enumerate(("PER-1", "PER-2")):
        _send(office, sites[name], root / "stick" / f"out-{i}")
    world = World(root, office, sites, ids)
    yield world
    for c in (office, *sites.values()):
        c.db.close()


@pytest.fixture
def office(w: World, tmp_path: Path) -> Iterator[Context]:
    """A copy of the office (database and keys): whatever a case does, the others see the world as built."""
    target = tmp_path / "office-copy"
    shutil.copytree(w.office.db.data_dir, target, ignore=shutil.ignore_patterns("*.sqlite3*", "backups"))
    w.office.db.backup_to(database_path(target))
    ctx = open_installation(target)
    ctx = ctx.signed_in(w.office.user)
    yield ctx
    ctx.db.close()


# -- forged bundles ------------------------------------------------------------------------------


def row(table: str, **values: Any) -> dict[str, Any]:
    """Every content column of ``table`` (an insert gives them all): None unless given."""
    unknown = set(values) - set(CONTENT[table])
    assert not unknown, unknown
    return {c: values.get(c) for c in CONTENT[table]}


def change(w: World, table: str, fields: dict[str, Any], *, row_id: str | None = None, op: str = "insert",
           by: str = "PER-1", user: str | None = "default") -> dict[str, Any]:
    """One record of data/changes.jsonl, made on ``by`` now (by its administrator by default)."""
    ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    return {"t": table, "r": row_id or new_id(), "h": pack(ms, next(_TICKS) % 60000), "o": w[by].installation.id,
            "u": w.user(by) if user == "default" else user, "p": op, "f": fields, "b": None}


def forge(w: World, records: list[dict[str, Any]], folder: Path, *, by: str = "PER-1") -> Path:
    """A bundle of ``records`` from ``by``, signed with its real key and encrypted to the office."""
    site = w[by]
    me = trust.local_identity(site)
    office = trust.my_identity(w.office)
    recipients = [{"installation_id": office.installation_id, "age_recipient": office.age_recipient,
                   "kind": "installation"},
                  {"installation_id": office.installation_id, "age_recipient": office.recovery_recipient,
                   "kind": "recovery"}]
    ordered = sorted(records, key=lambda r: (r["t"], r["r"], r["h"], r["o"]))
    lines = [(r["t"], fmt.change_line(r["t"], r["r"], r["h"], r["o"], r["u"], r["p"], canonical_json(r["f"]), None))
             for r in ordered]
    folder.mkdir(parents=True, exist_ok=True)
    inst = site.installation
    written = fmt.write_bundle(
        folder, name=f"PER-forged-{uuid.uuid4().hex[:8]}.srcbundle", key=me.signing_key,
        origin={"installation_id": inst.id, "role": inst.role, "establishment": inst.establishment_code,
                "name": inst.name},
        seq=next(_SEQS), bundle_id=new_id(), created=dt.datetime.now(dt.UTC).replace(tzinfo=None),
        schema=head_revision(), full=False, recipients=recipients, change_lines=lines, revocations=[])
    return written.path


def refused(office: Context, path: Path, match: str) -> None:
    before = database_digest(office.db)
    with pytest.raises(BundleRefused, match=match):
        sync.import_bundle(office, path, backup=False)
    assert database_digest(office.db) == before, "a refused bundle changed the database"


def accepted(office: Context, path: Path) -> sync.ImportResult:
    result = sync.import_bundle(office, path, backup=False)
    report = run_check(office.db)
    assert report.ok, report.problems
    return result


def line(w: World, session: str, person: str, **kw: Any) -> dict[str, Any]:
    return change(w, "attendance", row("attendance", session_id=w.ids.get(session, session),
                                       person_id=w.ids.get(person, person), status_id="status-present",
                                       role_id="role-participant"), **kw)


def new_person(w: World, *, at: str | None = "est-per", by: str = "PER-1") -> dict[str, Any]:
    return change(w, "person", row("person", given_name="New", family_name="Person", search_name="new person",
                                   kind="prisoner", establishment_id=at), by=by)


def new_session(w: World, *, at: str = "est-per", by: str = "PER-1") -> dict[str, Any]:
    return change(w, "session", row("session", establishment_id=at, date=YESTERDAY, start_time="14:00",
                                    end_time="15:00", activity_type_id="act-cafe", cancelled=False), by=by)


def achievement(w: World, person: str, *, signed_off_by: str | None = None) -> dict[str, Any]:
    return change(w, "milestone_achievement", row(
        "milestone_achievement", person_id=w.ids.get(person, person), definition_id="ms-attender",
        achieved_on=YESTERDAY, signed_off_by=signed_off_by or w.user("PER-1"), status="active"))


def certificate(w: World, person: str, *, issued_by: str | None = None, **refs: Any) -> dict[str, Any]:
    return change(w, "certificate", row(
        "certificate", serial=f"SRC-PER-{TODAY.year}-T-{next(_TICKS):06d}", person_id=w.ids.get(person, person),
        recipient_name="Someone", kind="programme", title="Recovery Awareness Training", programme_id="prog-rat",
        issued_on=YESTERDAY, issued_by=issued_by or w.user("PER-1"), status="valid", **refs))


def update(w: World, table: str, name: str, fields: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return change(w, table, fields, row_id=w.ids.get(name, name), op="update", **kw)


def delete(w: World, table: str, row_id: str, **kw: Any) -> dict[str, Any]:
    record = change(w, table, {"deleted_hlc": 0, "deleted_by": None, "deleted_reason": "Entered in error"},
                    row_id=row_id, op="delete", **kw)
    record["f"] |= {"deleted_hlc": record["h"], "deleted_by": record["u"]}
    return record


# -- people and what is about them ----------------------------------------------------------------

# (what, records to forge, why it is refused): each points at a person or session Perth does not hold.
POINTS_OUTSIDE = {
    "a register line for a person it does not hold": (
        lambda w: [line(w, "per session", "bar person")], "register line .* for a person that HMP Perth does not hold"),
    "a register line on a session it does not hold": (
        lambda w: [line(w, "bar session", "per person 2")],
        "register line .* for a session that HMP Perth does not hold"),
    "a facilitator it does not hold": (
        lambda w: [change(w, "session_facilitator", row("session_facilitator", session_id=w.ids["per session"],
                                                        person_id=w.ids["bar person"]))],
        "facilitator .* for a person that HMP Perth does not hold"),
    "a facilitator of another establishment's session": (
        lambda w: [change(w, "session_facilitator", row("session_facilitator", session_id=w.ids["bar session"],
                                                        person_id=w.ids["per person"]))],
        "facilitator .* on a session of another establishment"),
    "a milestone of a person it does not hold": (
        lambda w: [achievement(w, "bar person")], "milestone .* for a person that HMP Perth does not hold"),
    "milestone evidence from a session it does not hold": (
        lambda w: (lambda a: [a, change(w, "milestone_evidence", row(
            "milestone_evidence", achievement_id=a["r"], session_id=w.ids["bar session"]))])(
            achievement(w, "per person")),
        "milestone evidence .* for a session that HMP Perth does not hold"),
    "a certificate for a person it does not hold": (
        lambda w: [certificate(w, "bar person")], "certificate .* for a person that HMP Perth does not hold"),
    "a referral of a person it does not hold": (
        lambda w: [change(w, "referral", row("referral", person_id=w.ids["bar person"], establishment_id="est-per",
                                             status="open"))],
        "referral .* for a person that HMP Perth does not hold"),
    "a stage of another establishment's referral": (
        lambda w: [change(w, "referral_stage", row("referral_stage", referral_id=w.ids["bar referral"],
                                                   stage="assessed", reached_on=YESTERDAY))],
        "referral stage .* for a referral that HMP Perth does not hold"),
    "a transfer to itself of someone it does not hold": (
        lambda w: [change(w, "person_transfer", row(
            "person_transfer", person_id=w.ids["bar person"], from_establishment_id="est-bar",
            to_establishment_id="est-per", transferred_on=YESTERDAY))],
        "transfer .* for a person that HMP Perth does not hold"),
    "an edit moving someone it does not hold to itself": (
        lambda w: [update(w, "person", "bar person", {"establishment_id": "est-per"})],
        "changes a person .* that HMP Perth does not hold"),
    "an edit of someone it does not hold": (
        lambda w: [update(w, "person", "bar person", {"notes": "seen"})],
        "changes a person .* that HMP Perth does not hold"),
    "a register line and the edit it would unlock": (
        lambda w: [line(w, "per session", "bar person"), update(w, "person", "bar person", {"notes": "now ours"})],
        "HMP Perth does not hold"),
    "taking someone off another establishment's register": (
        lambda w: [delete(w, "attendance", _line_id(w, "bar session", "bar person"))],
        "changes a register line .* that HMP Perth does not hold"),
}


def _line_id(w: World, session: str, person: str) -> str:
    with w.office.db.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT id FROM attendance WHERE session_id = ? AND person_id = ?",
                                    (w.ids[session], w.ids[person])).scalar_one()


@pytest.mark.parametrize("case", sorted(POINTS_OUTSIDE))
def test_a_record_pointing_outside_what_it_holds_is_refused(w: World, office: Context, tmp_path: Path,
                                                             case: str) -> None:
    make, why = POINTS_OUTSIDE[case]
    refused(office, forge(w, make(w), tmp_path), f"The bundle from HMP Perth .*{why}.*; it was refused")


def test_records_about_what_it_holds_are_imported(w: World, office: Context, tmp_path: Path) -> None:
    """The controls of the refusals above: the same kinds of records, about Perth's own."""
    a = achievement(w, "per person")
    records = [
        line(w, "per session", "per person 2"),
        change(w, "session_facilitator", row("session_facilitator", session_id=w.ids["per session"],
                                             person_id=w.ids["per person 2"])),
        a, change(w, "milestone_evidence", row("milestone_evidence", achievement_id=a["r"],
                                               session_id=w.ids["per session"])),
        certificate(w, "per person", achievement_id=a["r"]),
        change(w, "referral", row("referral", person_id=w.ids["per person"], establishment_id="est-per",
                                  status="open")),
        update(w, "person", "per person", {"notes": "Comes every week"}),
        # A transfer out of someone it holds, and an edit of them after they moved on.
        change(w, "person_transfer", row("person_transfer", person_id=w.ids["per person 2"],
                                         from_establishment_id="est-per", to_establishment_id="est-bar",
                                         transferred_on=YESTERDAY)),
        update(w, "person", "per person 2", {"establishment_id": "est-bar"}),
    ]
    result = accepted(office, forge(w, records, tmp_path))
    assert (result.new, result.updated, result.held, result.waiting) == (7, 2, 0, 0), result.describe()
    records = [update(w, "person", "per person 2", {"notes": "Moved to Barlinnie", "liberation_date": None})]
    assert accepted(office, forge(w, records, tmp_path / "2")).updated == 1


def test_new_records_make_each_other_entitled(w: World, office: Context, tmp_path: Path) -> None:
    """A new person, a new session and the register line between them (which the bundle lists
    first, by table name), a milestone with its evidence and certificate, a referral and its
    stage, a transfer out: all in one bundle, all Perth's."""
    person, session = new_person(w), new_session(w)
    a = achievement(w, person["r"])
    referral = change(w, "referral", row("referral", person_id=person["r"], establishment_id="est-per",
                                         status="open"))
    records = [
        person, session, line(w, session["r"], person["r"]), line(w, session["r"], "per person"),
        change(w, "session_facilitator", row("session_facilitator", session_id=session["r"], person_id=person["r"])),
        a, change(w, "milestone_evidence", row("milestone_evidence", achievement_id=a["r"], session_id=session["r"])),
        certificate(w, person["r"], achievement_id=a["r"]), referral,
        change(w, "referral_stage", row("referral_stage", referral_id=referral["r"], stage="identified",
                                        reached_on=YESTERDAY)),
        change(w, "person_transfer", row("person_transfer", person_id=person["r"], from_establishment_id="est-per",
                                         to_establishment_id="est-bar", transferred_on=YESTERDAY)),
    ]
    result = accepted(office, forge(w, records, tmp_path))
    assert (result.new, result.held, result.waiting) == (len(records), 0, 0), result.describe()


# -- accounts and users -----------------------------------------------------------------------------


ACCOUNT_CASES = {
    "a new account linked to a person": (
        lambda w: [change(w, "app_user", row("app_user", username="linked", display_name="Linked", role="recorder",
                                             active=True, person_id=w.ids["per person"]))],
        "links a user account .* to a person; only the SRC office"),
    "an account linked to a person later": (
        lambda w: [update(w, "app_user", "user:recorder", {"person_id": w.ids["per person"]})],
        "links a user account"),
    "a change to another installation's account": (
        lambda w: [update(w, "app_user", "user:office", {"active": False}, user=None)],
        "changes another installation's user account"),
    "a change to the account of the other PC at the same establishment": (
        lambda w: [update(w, "app_user", "user:PER-2", {"display_name": "Not you"})],
        "changes another installation's user account"),
    "a change made by another establishment's user": (
        lambda w: [update(w, "person", "per person", {"notes": "x"}, user=w.user("BAR"))],
        "carries a change made by a user who is not one of its own accounts"),
    "a change made by the office's user": (
        lambda w: [new_person(w) | {"u": w.user("office")}],
        "carries a change made by a user who is not one of its own accounts"),
    "a milestone signed off by someone else's account": (
        lambda w: [achievement(w, "per person", signed_off_by=w.user("BAR"))],
        "milestone .* signed off by someone who is not one of its own user accounts"),
    "a certificate issued by someone else's account": (
        lambda w: [certificate(w, "per person", issued_by=w.user("office"))],
        "certificate .* issued by someone who is not one of its own user accounts"),
    "a second account with an existing username": (
        lambda w: [change(w, "app_user", row("app_user", username="colin", display_name="Colin Again",
                                             role="administrator", active=True))],
        "two user accounts called 'colin'"),
}


@pytest.mark.parametrize("case", sorted(ACCOUNT_CASES))
def test_accounts_and_who_made_a_change(w: World, office: Context, tmp_path: Path, case: str) -> None:
    make, why = ACCOUNT_CASES[case]
    refused(office, forge(w, make(w), tmp_path), why)


def test_its_own_accounts_and_srcdesk_itself_may_make_changes(w: World, office: Context, tmp_path: Path) -> None:
    """A change by one of its accounts, by srcdesk itself (no user: e.g. its first administrator's
    account), by a new account of the same bundle (listed after the change, by table name), or by
    an account not at the office at all (it comes in a bundle still in the post)."""
    account = change(w, "app_user", row("app_user", username="newbie", display_name="New Coordinator",
                                        role="coordinator", active=True))
    records = [
        update(w, "person", "per person", {"notes": "by the recorder"}, user=w.user("recorder")),
        new_person(w) | {"u": None},
        change(w, "activity_type", row("activity_type", code="yoga", name="Yoga", retired=False), user=account["r"]),
        account,
        update(w, "app_user", "user:recorder", {"display_name": "Rita R."}),
        new_person(w) | {"u": new_id()},
    ]
    result = accepted(office, forge(w, records, tmp_path))
    assert (result.new, result.updated) == (4, 2), result.describe()


# -- shared records -----------------------------------------------------------------------------------

OFFICE_TABLES = {
    "establishment": (lambda w: update(w, "establishment", "est-per", {"name": "HMP Perth (ours)"}), "the estate"),
    "a new establishment": (lambda w: change(w, "establishment", row("establishment", code="NEW", name="HMP New",
                                                                        kind="prison")), "the estate"),
    "milestone_definition": (lambda w: update(w, "milestone_definition", "ms-attender", {"name": "Comer"}),
                             "the ladder's levels"),
    "attendance_status": (lambda w: delete(w, "attendance_status", "status-excused"), "the attendance statuses"),
    "attendance_role": (lambda w: update(w, "attendance_role", "role-observer", {"retired": True}),
                        "the roles on a register"),
    "plan_year": (lambda w: change(w, "plan_year", row("plan_year", code="2040-41", name="Plan year 2040-41",
                                                       starts_on="2040-04-01", ends_on="2041-03-31")), "the workplan"),
    "plan_focus": (lambda w: change(w, "plan_focus", row("plan_focus", plan_year_id="py-2021",
                                                         establishment_id="est-per")), "the workplan"),
    "plan_target": (lambda w: update(w, "plan_target", "tgt-2021-mapping", {"target_value": 1}), "the workplan"),
    "a new target of its own": (lambda w: change(w, "plan_target", row(
        "plan_target", plan_year_id="py-2025", establishment_id="est-per", code="sessions",
        description="Sessions at Perth", target_value=10)), "the workplan"),
    "a target removed": (lambda w: delete(w, "plan_target", "tgt-2025-rat-every-cohort"), "the workplan"),
}


@pytest.mark.parametrize("case", sorted(OFFICE_TABLES))
def test_records_kept_at_the_office_are_refused(w: World, office: Context, tmp_path: Path, case: str) -> None:
    make, what = OFFICE_TABLES[case]
    refused(office, forge(w, [make(w)], tmp_path), f"{what}.* are kept at the SRC office; it was refused")


SHARED = {
    "programme": lambda w, **kw: change(w, "programme", row("programme", code="PX", name="Perth course",
                                                            kind="programme", retired=False), **kw),
    "module": lambda w, **kw: change(w, "module", row("module", programme_id="prog-rcdt", code="RCDT99",
                                                      name="Extra", sequence=99, retired=False), **kw),
    "activity_type": lambda w, **kw: update(w, "activity_type", "act-cafe", {"name": "Perth café"}, **kw),
}


def _an_organisation(w: World) -> str:
    if "organisation" not in w.ids:
        w.ids["organisation"] = community.create_organisation(w.office, name="Scottish Recovery Network",
                                                              area="Glasgow City").id
        community.link_organisation(w.office, w.ids["organisation"], "est-per")
    return w.ids["organisation"]


def _link_id(w: World) -> str:
    from sqlalchemy import select

    from srcdesk.models import OrganisationLink

    with w.office.read() as s:
        return s.execute(select(OrganisationLink.id).where(
            OrganisationLink.organisation_id == _an_organisation(w),
            OrganisationLink.establishment_id == "est-per")).scalar_one()


# Community organisations and their links are shared reference data kept at the office: even a
# coordinator of the establishment may not make or change them in its bundle (a link to its own
# establishment neither).
ORGANISATIONS = {
    "a new organisation": lambda w, c: change(w, "community_organisation", row(
        "community_organisation", name="Tayside Recovery", kind="lero", area="Dundee City", retired=False), user=c),
    "an edit of an organisation": lambda w, c: update(w, "community_organisation", _an_organisation(w),
                                                      {"offers": "Everything"}, user=c),
    "an organisation retired": lambda w, c: update(w, "community_organisation", _an_organisation(w),
                                                   {"retired": True}, user=c),
    "an organisation deleted": lambda w, c: delete(w, "community_organisation", _an_organisation(w), user=c),
    "a link to its own establishment": lambda w, c: change(w, "organisation_link", row(
        "organisation_link", organisation_id=_an_organisation(w), establishment_id="est-per"), user=c),
    "a link of another establishment": lambda w, c: change(w, "organisation_link", row(
        "organisation_link", organisation_id=_an_organisation(w), establishment_id="est-bar"), user=c),
    "a link removed": lambda w, c: delete(w, "organisation_link", _link_id(w), user=c),
}


@pytest.mark.parametrize("case", sorted(ORGANISATIONS))
def test_community_organisations_and_their_links_are_kept_at_the_office(
        w: World, tmp_path: Path, case: str, request: pytest.FixtureRequest) -> None:
    _an_organisation(w)  # (made and linked at the office before the copy)
    office = request.getfixturevalue("office")
    record = ORGANISATIONS[case](w, w.user("coordinator"))
    what = ("the community organisations" if record["t"] == "community_organisation"
            else "which community organisations connect to which establishments")
    refused(office, forge(w, [record], tmp_path), f"{what}.* are kept at the SRC office; it was refused")


@pytest.mark.parametrize("table", sorted(SHARED))
def test_shared_records_need_a_coordinator(w: World, tmp_path: Path, table: str, request: pytest.FixtureRequest
                                           ) -> None:
    """Programmes, modules, activity types: its coordinators may change them, a recorder may not,
    nor a change naming no one."""
    make = SHARED[table]
    office = request.getfixturevalue("office")
    refused(office, forge(w, [make(w, user=w.user("recorder"))], tmp_path / "r"), "as a user who is not a coordinator")
    refused(office, forge(w, [make(w, user=None)], tmp_path / "n"), "without naming the coordinator who did")
    result = accepted(office, forge(w, [make(w, user=w.user("coordinator"))], tmp_path / "c"))
    assert result.new + result.updated == 1, result.describe()


def test_a_user_made_coordinator_in_the_bundle_may_change_shared_records(w: World, office: Context,
                                                                          tmp_path: Path) -> None:
    records = [update(w, "app_user", "user:recorder", {"role": "coordinator"}),
               SHARED["programme"](w, user=w.user("recorder"))]
    assert accepted(office, forge(w, records, tmp_path)).new == 1


# -- another establishment's records ----------------------------------------------------------------

ELSEWHERE = {
    "a session at another establishment": (lambda w: [new_session(w, at="est-bar")],
                                           "records a session .* at another establishment"),
    "an edit of another establishment's session": (
        lambda w: [update(w, "session", "bar session", {"notes": "x"})], "changes a session of another establishment"),
    "moving a session of its own to another establishment": (
        lambda w: [update(w, "session", "per session", {"establishment_id": "est-bar"})],
        "records a session .* at another establishment"),
    "an initiative at another establishment": (
        lambda w: [change(w, "initiative", row("initiative", establishment_id="est-bar", kind="recovery_cafe",
                                               name="Barlinnie café", status="running", run_by="sps"))],
        "records an? initiative .* at another establishment"),
    "a session naming another establishment's initiative": (
        lambda w: [{**(s := new_session(w)), "f": {**s["f"], "initiative_id": w.ids["bar initiative"]}}],
        "records a session .* naming an initiative of another establishment"),
    "moving a recruit cohort to another establishment": (
        lambda w: (lambda c: [c, update(w, "recruit_cohort", c["r"], {"establishment_id": "est-bar"})])(
            change(w, "recruit_cohort", row("recruit_cohort", name="Recruits", starts_on=YESTERDAY))),
        "records a recruit cohort .* at another establishment"),
    "a recruit cohort of another establishment": (
        lambda w: [change(w, "recruit_cohort", row("recruit_cohort", name="BAR recruits", establishment_id="est-bar",
                                                   starts_on=YESTERDAY))],
        "records a recruit cohort .* at another establishment"),
}


@pytest.mark.parametrize("case", sorted(ELSEWHERE))
def test_another_establishments_records_are_refused(w: World, tmp_path: Path, case: str,
                                                    request: pytest.FixtureRequest) -> None:
    make, why = ELSEWHERE[case]
    records = make(w)
    office = request.getfixturevalue("office")
    refused(office, forge(w, records, tmp_path), why)


def test_its_own_sessions_initiatives_and_cohorts_are_imported(w: World, office: Context, tmp_path: Path) -> None:
    cafe = change(w, "initiative", row("initiative", establishment_id="est-per", kind="recovery_cafe",
                                       name="Perth café", status="running", run_by="sps"))
    records = [new_session(w), update(w, "session", "per session", {"notes": "Good turnout",
                                                                    "initiative_id": cafe["r"]}),
               cafe,
               change(w, "recruit_cohort", row("recruit_cohort", name="PER recruits", establishment_id="est-per",
                                               starts_on=YESTERDAY)),
               # (a cohort of no one establishment, as sessions.create_recruit_cohort makes by default)
               change(w, "recruit_cohort", row("recruit_cohort", name="Recruits", starts_on=YESTERDAY))]
    result = accepted(office, forge(w, records, tmp_path))
    assert (result.new, result.updated) == (4, 1), result.describe()


def test_what_it_holds_does_not_shrink_when_its_people_move_on(w: World, office: Context, tmp_path: Path) -> None:
    """Perth holds a Barlinnie session one of its people attended; that person moves on while a
    Perth bundle putting another of its people on that register is in the post: the bundle is
    still Perth's to make (its PC still holds the session)."""
    attendance.add_to_register(office, w.ids["bar session"], attendance.RegisterEntry(w.ids["per person"]))
    people.transfer_person(office, w.ids["per person"], "est-bar", on=TODAY)
    assert accepted(office, forge(w, [line(w, "bar session", "per person 2")], tmp_path)).new == 1


# -- two PCs at one establishment -------------------------------------------------------------------


def test_the_second_pc_at_an_establishment_holds_what_the_first_made(w: World, office: Context,
                                                                     tmp_path: Path) -> None:
    """PER-2 registers and edits a person PER-1 made, on a session of its own (signed by PER-2)."""
    session = new_session(w, by="PER-2")
    records = [session, line(w, session["r"], "per person", by="PER-2"),
               update(w, "person", "per person", {"notes": "Seen at PER-2"}, by="PER-2")]
    result = accepted(office, forge(w, records, tmp_path, by="PER-2"))
    assert (result.new, result.updated) == (2, 1), result.describe()
    refused(office, forge(w, [update(w, "person", "bar person", {"notes": "x"}, by="PER-2")], tmp_path / "2",
                          by="PER-2"), "HMP Perth does not hold")


# -- bundles out of order -------------------------------------------------------------------------------


def test_records_waiting_for_what_is_not_here_are_judged_when_made(w: World, office: Context, tmp_path: Path) -> None:
    """A later bundle imported first: its register line waits for the person an earlier bundle
    brings (not refused: the office can't tell yet), and is made when that bundle is imported."""
    person = new_person(w)
    later = forge(w, [line(w, "per session", person["r"])], tmp_path / "later")
    earlier = forge(w, [person], tmp_path / "earlier")
    assert accepted(office, later).waiting == 1
    result = accepted(office, earlier)
    assert (result.new, result.waiting, result.held) == (2, 0, 0), result.describe()


def test_a_record_waiting_for_another_establishments_person_is_held_when_it_arrives(
        w: World, office: Context, tmp_path: Path) -> None:
    """Perth's register line for a person of Barlinnie's not at the office yet waits; when
    Barlinnie's bundle brings the person, the line is judged against what Perth holds and held with
    the reason (Barlinnie's bundle itself is imported)."""
    stranger = new_person(w, at="est-bar", by="BAR")
    theirs = forge(w, [stranger], tmp_path / "bar", by="BAR")
    forged = line(w, "per session", stranger["r"])
    assert accepted(office, forge(w, [forged], tmp_path / "per")).waiting == 1
    assert accepted(office, theirs).new == 1
    with office.db.engine.connect() as conn:
        [(reason,)] = conn.exec_driver_sql("SELECT reason FROM sync_waiting WHERE table_name = 'attendance' "
                                           "AND row_id = ?", (forged["r"],)).fetchall()
        assert conn.exec_driver_sql("SELECT count(*) FROM attendance WHERE id = ?", (forged["r"],)).scalar_one() == 0
    assert "its PC records a register line" in reason and "HMP Perth does not hold" in reason, reason


# -- cost, and what an establishment holds -----------------------------------------------------------


def test_judging_a_bundle_costs_no_query_per_record(w: World, office: Context, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """What the establishment holds is read once, before the import; records are judged in
    memory. The authority's queries don't grow with the bundle."""
    queries: list[str] = []
    real = auth._fetch

    def counting(dbapi: Any, sql: str, params: Any = ()) -> list[tuple]:
        queries.append(sql)
        return real(dbapi, sql, params)

    monkeypatch.setattr(auth, "_fetch", counting)
    counts = []
    for n in (5, 60):
        queries.clear()
        records = []
        for _ in range(n):
            person, session = new_person(w), new_session(w)
            records += [person, session, line(w, session["r"], person["r"]), line(w, session["r"], "per person"),
                        update(w, "person", "per person 2", {"notes": f"note {next(_TICKS)}"})]
        accepted(office, forge(w, records, tmp_path / str(n)))
        counts.append(len(queries))
    assert counts[0] == counts[1] and counts[0] < 20, counts


def test_what_an_establishment_holds_includes_what_the_office_sends_it(w: World) -> None:
    with w.office.db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        h = auth.load_holdings(raw, "est-per")
        build_scope(raw, "est-per")
        try:
            scoped = raw.execute("SELECT table_name, row_id FROM temp.sync_scope").fetchall()
        finally:
            drop_scope(raw)
    for table in ("person", "session", "milestone_achievement", "certificate", "referral"):
        assert {r for t, r in scoped if t == table} <= h.ids[table], table
    assert w.ids["per person"] in h.ids["person"] and w.ids["bar person"] not in h.ids["person"]
    assert w.ids["per session"] in h.ids["own_session"] and w.ids["bar session"] not in h.ids["session"]
    assert h.installations == {w["PER-1"].installation.id, w["PER-2"].installation.id}


# -- the rules, on an establishment PC -----------------------------------------------------------------


def test_an_establishment_moves_references_only_in_records_the_office_accepts_from_it() -> None:
    may = auth.establishment_may_write("est-per", "coordinator")
    assert may("session", {"establishment_id": "est-per"}) and not may("session", {"establishment_id": "est-bar"})
    assert may("certificate", {"person_id": "x"}) and may("module", {"programme_id": "p"})
    assert not may("plan_target", {"programme_id": "p"}) and may("milestone_achievement", {"person_id": "x"})
    assert not may("app_user", {"person_id": None})
    assert not auth.establishment_may_write("est-per", "recorder")("module", {"programme_id": "p"})


def test_every_table_has_a_rule() -> None:
    from srcdesk.models import SYNCABLE_TABLES

    assert set(auth.RULES) == SYNCABLE_TABLES
    kept = sorted(t for t, r in auth.RULES.items() if r.kind == auth.OFFICE)
    assert kept == ["attendance_role", "attendance_status", "certificate_design", "community_organisation",
                    "establishment", "milestone_definition", "organisation_link", "plan_focus", "plan_target",
                    "plan_year"]


# -- certificates: issued where, and what they print --------------------------------------------


def _office_certificate(w: World, office: Context, person: str, establishment_id: str | None) -> str:
    """A certificate at the office about ``person`` as if issued at ``establishment_id``."""
    from srcdesk.models import Certificate

    cid = new_id()
    with office.write("certificate.issue") as s:
        s.add(Certificate(id=cid, serial=f"SRC-X-{next(_TICKS):06d}", person_id=w.ids[person], recipient_name="Pat",
                          kind="programme", title="Recovery Awareness Training", programme_id="prog-rat",
                          issued_on=TODAY, issued_by=office.user.id, status="valid", establishment_id=establishment_id,
                          content='{"frozen":true}', code="SRC1:X"))
    return cid


def test_a_certificate_issued_as_another_establishment_is_refused(w: World, office: Context, tmp_path: Path) -> None:
    refused(office, forge(w, [certificate(w, "per person", establishment_id="est-bar")], tmp_path),
            "records a certificate .* at another establishment")
    accepted(office, forge(w, [certificate(w, "per person", establishment_id="est-per")], tmp_path / "own"))


@pytest.mark.parametrize("column", ["content", "code", "recipient_name", "serial", "issued_on"])
def test_what_a_certificate_prints_never_changes(w: World, office: Context, tmp_path: Path, column: str) -> None:
    cid = _office_certificate(w, office, "per person", "est-per")
    value = "2020-01-01" if column == "issued_on" else "changed"
    refused(office, forge(w, [update(w, "certificate", cid, {column: value})], tmp_path),
            f"changes a certificate .*{column}.*a correction is a reissue")
    # Its control: revoking it (status, reason, when, by whom) is Perth's to do.
    accepted(office, forge(w, [update(w, "certificate", cid, {
        "status": "revoked", "status_reason": "Issued in error", "status_changed_on": TODAY.isoformat(),
        "status_changed_by": w.user("PER-1")})], tmp_path / "revoke"))


def test_another_establishments_certificate_is_not_revoked_from_here(w: World, office: Context,
                                                                      tmp_path: Path) -> None:
    cid = _office_certificate(w, office, "per person", "est-bar")  # issued at Barlinnie before Pat moved
    refused(office, forge(w, [update(w, "certificate", cid, {"status": "revoked", "status_reason": "No"})], tmp_path),
            "changes a certificate of another establishment")
