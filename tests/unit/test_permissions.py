"""One table of actions (services/permissions.py), enforced by every service that checks a
permission, for every role; the role is re-read from the database at each write; reads of
personal data need someone signed in; everyone changes their own password with the current one.

The walk finds the services by reading their source: a new service calling ``ctx.write`` or
``ctx.require`` that is not in :data:`CALLS` fails :func:`test_every_checked_service_is_walked`.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import itertools
import pkgutil
import re
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

import srcdesk.services as services_pkg
from srcdesk.errors import NotFound, PermissionDenied, SrcdeskError, ValidationError
from srcdesk.models import Installation, Programme
from srcdesk.reports.periods import plan_year
from srcdesk.services import (
    attendance,
    backup,
    catalogue,
    certificate_design,
    certificate_verify,
    certificates,
    clock,
    community,
    conflicts,
    dashboard,
    demo,
    estate,
    exports,
    ladder,
    liberation,
    people,
    plans,
    referrals,
    sessions,
    setup,
    steering,
    trust,
    users,
)
from srcdesk.services.base import Context
from srcdesk.services.permissions import ACTIONS, NOT_OFFERED_YET, ROLE_RANK, describe_role, role_allows
from srcdesk.services.sync import export, history, importing, verify
from srcdesk.services.users import add_user, authenticate

from ..conftest import PASSWORD

ROLES = (None, "recorder", "coordinator", "administrator")
_names = itertools.count(1)
DAY = "2026-01-05"


def _checked_services() -> dict[str, set[str]]:
    """Every function in srcdesk.services whose own source calls ``ctx.write(...)`` or
    ``ctx.require(...)``, with the action names it passes."""
    found: dict[str, set[str]] = {}
    for info in pkgutil.walk_packages(services_pkg.__path__, services_pkg.__name__ + "."):
        module = importlib.import_module(info.name)
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__:
                continue
            actions: set[str] = set()
            for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(fn)))):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr in ("write", "require") and isinstance(node.func.value, ast.Name)
                        and node.func.value.id == "ctx" and node.args):
                    actions |= {c.value for c in ast.walk(node.args[0])
                                if isinstance(c, ast.Constant) and isinstance(c.value, str)}
                    assert actions, f"{module.__name__}.{name} names its action without a literal"
            if actions:
                found[f"{module.__name__.removeprefix('srcdesk.services.')}.{name}"] = actions
    return found


# qualified name -> (the action whose role decides, a call with harmless arguments). For an allowed
# role the call may still refuse for another reason (no such record, a missing field): anything but
# PermissionDenied. For a refused role it must be PermissionDenied, and nothing is written.
Call = Callable[[Context, Path], Any]
CALLS: dict[str, tuple[str, Call]] = {
    "attendance.add_to_register": ("register.take", lambda c, t: attendance.add_to_register(
        c, "nope", attendance.RegisterEntry("nope"))),
    "attendance.save_register": ("register.take", lambda c, t: attendance.save_register(c, "nope", [])),
    "backup.backup_now": ("backup.local", lambda c, t: backup.backup_now(c)),
    "backup.backup_to": ("backup.elsewhere", lambda c, t: backup.backup_to(c, t)),
    "catalogue.create": ("catalogue.edit", lambda c, t: catalogue.create(c, Programme, name="")),
    "catalogue.delete": ("catalogue.edit", lambda c, t: catalogue.delete(c, Programme, "nope", "r")),
    "catalogue.set_retired": ("catalogue.edit", lambda c, t: catalogue.set_retired(c, Programme, "nope")),
    "catalogue.update": ("catalogue.edit", lambda c, t: catalogue.update(c, Programme, "nope", name="x")),
    "dashboard.behind": ("report.read", lambda c, t: dashboard.behind(c, plan_year(2025), "people", "est-per")),
    "dashboard.by_establishment": ("report.read", lambda c, t: dashboard.by_establishment(c, plan_year(2025))),
    "dashboard.establishments": ("report.read", lambda c, t: dashboard.establishments(c)),
    "dashboard.figures": ("report.read", lambda c, t: dashboard.figures(c, plan_year(2025), "est-per")),
    "dashboard.focus": ("report.read", lambda c, t: dashboard.focus(c, plan_year(2025))),
    "dashboard.freshness": ("report.read", lambda c, t: dashboard.freshness(c)),
    "dashboard.targets": ("report.read", lambda c, t: dashboard.targets(c, plan_year(2025), "est-per")),
    "dashboard.trend": ("report.read", lambda c, t: dashboard.trend(c, "sessions", [plan_year(2025)], "est-per")),
    "certificate_design.set_design": ("certificate.design", lambda c, t: certificate_design.set_design(c, footer="x")),
    "certificates.issue": ("certificate.issue", lambda c, t: certificates.issue(c, person_id="nope", kind="x")),
    "certificates.revoke": ("certificate.revoke", lambda c, t: certificates.revoke(c, "nope", "r")),
    "certificates.reissue": ("certificate.revoke", lambda c, t: certificates.reissue(c, "nope", "r")),
    "certificates.issue_batch": ("certificate.issue", lambda c, t: certificates.issue_batch(c, [certificates.IssueRequest("nope", "programme")])),
    "certificate_verify.verify": ("certificate.verify", lambda c, t: certificate_verify.verify(c, "SRC1:nope")),
    "clock.repair_clock": ("clock.repair", lambda c, t: clock.repair_clock(c)),
    "community.create_initiative": ("initiative.record", lambda c, t: community.create_initiative(
        c, kind="x", name="")),
    "community.create_organisation": ("organisation.edit", lambda c, t: community.create_organisation(c, name="")),
    "community.delete_initiative": ("initiative.delete", lambda c, t: community.delete_initiative(c, "nope", "r")),
    "community.link_organisation": ("organisation.edit", lambda c, t: community.link_organisation(c, "n", "n")),
    "community.record_review": ("initiative.edit", lambda c, t: community.record_review(c, "nope", DAY, None)),
    "community.retire_organisation": ("organisation.edit", lambda c, t: community.retire_organisation(c, "n")),
    "community.unlink_organisation": ("organisation.edit", lambda c, t: community.unlink_organisation(
        c, "n", "n", "r")),
    "community.update_initiative": ("initiative.edit", lambda c, t: community.update_initiative(c, "n", name="x")),
    "community.update_organisation": ("organisation.edit", lambda c, t: community.update_organisation(
        c, "n", name="x")),
    "referrals.advance": ("referral.record", lambda c, t: referrals.advance(c, "nope", "consented", DAY)),
    "referrals.close": ("referral.edit", lambda c, t: referrals.close(c, "nope", "withdrawn", DAY, "r")),
    "referrals.create_referral": ("referral.record", lambda c, t: referrals.create_referral(
        c, person_id="nope", referred_on=DAY)),
    "referrals.step_back": ("referral.edit", lambda c, t: referrals.step_back(c, "nope", "identified", "r")),
    "dashboard.referrals_by_stage": ("report.read", lambda c, t: dashboard.referrals_by_stage(
        c, plan_year(2025), "est-per")),
    "conflicts.list_conflicts": ("sync.read", lambda c, t: conflicts.list_conflicts(c)),
    "conflicts.resolve_conflict": ("conflict.resolve", lambda c, t: conflicts.resolve_conflict(c, 999, "keep")),
    "demo.generate_demo": ("demo.fill", lambda c, t: demo.generate_demo(c, scale="no such scale")),
    "estate.create_establishment": ("establishment.edit", lambda c, t: estate.create_establishment(
        c, code="", name="")),
    "estate.update_establishment": ("establishment.edit", lambda c, t: estate.update_establishment(
        c, "nope", name="x")),
    "liberation.make_record": ("liberation.record", lambda c, t: liberation.make_record(
        c, "nope", area="Fife", own_words="", consent_on=DAY)),
    "liberation.reprint": ("liberation.record", lambda c, t: liberation.reprint(c, "nope")),
    "ladder.sign_off": ("milestone.signoff", lambda c, t: ladder.sign_off(c, "nope", "nope", achieved_on=DAY)),
    "ladder.supersede": ("milestone.correct", lambda c, t: ladder.supersede(c, "nope", "r", achieved_on=DAY)),
    "ladder.withdraw": ("milestone.correct", lambda c, t: ladder.withdraw(c, "nope", "r")),
    "people.create_person": ("person.add", lambda c, t: people.create_person(c, given_name="", family_name="")),
    "people.delete_person": ("person.delete", lambda c, t: people.delete_person(c, "nope", "r")),
    "people.transfer_person": ("person.transfer", lambda c, t: people.transfer_person(c, "nope", None, on=DAY)),
    "people.update_person": ("person.edit", lambda c, t: people.update_person(c, "nope", notes="x")),
    "plans.add_target": ("plan.edit", lambda c, t: plans.add_target(c, "nope", code="", description="")),
    "plans.create_plan_year": ("plan.edit", lambda c, t: plans.create_plan_year(c, "")),
    "plans.remove_target": ("plan.edit", lambda c, t: plans.remove_target(c, "nope", "r")),
    "plans.set_focus": ("plan.edit", lambda c, t: plans.set_focus(c, "nope", [])),
    "plans.update_plan_year": ("plan.edit", lambda c, t: plans.update_plan_year(c, "nope", name="x")),
    "plans.update_target": ("plan.edit", lambda c, t: plans.update_target(c, "nope", description="x")),
    "sessions.cancel_session": ("session.cancel", lambda c, t: sessions.cancel_session(c, "nope", "r")),
    "sessions.create_recruit_cohort": ("cohort.record", lambda c, t: sessions.create_recruit_cohort(
        c, name="", starts_on=DAY)),
    "sessions.create_session": ("session.record", lambda c, t: sessions.create_session(
        c, date=DAY, start_time="10:00", end_time="09:00")),
    "sessions.delete_session": ("session.delete", lambda c, t: sessions.delete_session(c, "nope", "r")),
    "sessions.repeat_weekly": ("session.record", lambda c, t: sessions.repeat_weekly(c, "nope", DAY)),
    "sessions.save_session": ("session.record", lambda c, t: sessions.save_session(
        c, None, date=DAY, start_time="10:00", end_time="09:00")),
    "sessions.update_recruit_cohort": ("cohort.edit", lambda c, t: sessions.update_recruit_cohort(
        c, "nope", name="x")),
    "sessions.update_session": ("session.edit", lambda c, t: sessions.update_session(c, "nope", title="x")),
    # An establishment's PC reports on itself only: "nope" is refused for where, before any file is made.
    "steering.write_report": ("report.steering", lambda c, t: steering.write_report(
        c, plan_year(2025), t / "steering.pdf", establishment_id="nope")),
    "exports.export": ("export.personal", lambda c, t: exports.export(c, "people", t / f"p{next(_names)}.csv",
                                                                     file_format="csv")),
    "exports.export_log": ("export.figures", lambda c, t: exports.export_log(c)),
    "sync.export.export_bundles": ("sync.bundles", lambda c, t: export.export_bundles(c, t)),
    "sync.history.bundle_history": ("sync.read", lambda c, t: history.bundle_history(c)),
    "sync.importing.import_bundles": ("sync.bundles", lambda c, t: importing.import_bundles(c, [t / "no.bundle"])),
    "sync.verify.verify_bundle": ("sync.bundles", lambda c, t: verify.verify_bundle(c, t / "no.bundle")),
    "trust.enrol": ("trust.edit", lambda c, t: trust.enrol(c, b"not a card", "x")),
    "trust.export_card": ("trust.edit", lambda c, t: trust.export_card(c, t / f"card{next(_names)}.card")),
    "trust.my_identity": ("trust.read", lambda c, t: trust.my_identity(c)),
    "trust.revoke": ("trust.edit", lambda c, t: trust.revoke(c, "nope", "r")),
    "trust.trusted_installations": ("trust.read", lambda c, t: trust.trusted_installations(c)),
    "users.add_user": ("user.add", lambda c, t: users.add_user(c, f"walk{next(_names)}", "W", "recorder", PASSWORD)),
    "users.change_own_password": ("password.own", lambda c, t: users.change_own_password(c, "wrong one", "new pass 1")),
    "users.list_users": ("user.list", lambda c, t: users.list_users(c)),
    "users.set_active": ("user.disable", lambda c, t: users.set_active(c, "nobody", False)),
    "users.set_password": ("user.password", lambda c, t: users.set_password(c, "nobody", "new pass 1")),
    "users.set_role": ("user.role", lambda c, t: users.set_role(c, "nobody", "recorder")),
    # Checks only when there is something to create: walked on an installation without keys below.
    "setup.ensure_identity": ("keys.create", lambda c, t: setup.ensure_identity(c)),
}
ONLY_WITH_SOMETHING_TO_DO = {"setup.ensure_identity"}


@pytest.fixture(scope="module")
def as_role(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str | None, Context]]:
    """One installation, a Context for each role (and for nobody)."""
    ann = setup.init_installation(tmp_path_factory.mktemp("walk") / "data", establishment="PER", office=False,
                                  admin_username="ann", admin_name="Ann", admin_password=PASSWORD)
    contexts: dict[str | None, Context] = {None: ann.signed_in(None), "administrator": ann}
    for role in ("recorder", "coordinator"):
        contexts[role] = ann.signed_in(add_user(ann, role[:4], role.title(), role, PASSWORD))
    yield contexts
    ann.db.close()


def _for_the_role(refused: PermissionDenied) -> bool:
    """A refusal because of who is signed in (rather than of which installation this is)."""
    text = str(refused)
    return text.startswith(("Only a", "Sign in to", "Your account has been disabled"))


def test_every_checked_service_is_walked() -> None:
    found = _checked_services()
    assert set(found) == set(CALLS), (
        "add each new service that checks a permission to CALLS (and its action to ACTIONS)")
    for name, (action, _call) in CALLS.items():
        assert action in ACTIONS and action in found[name], name
    assert set().union(*found.values()) <= set(ACTIONS)


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "nobody")
@pytest.mark.parametrize("name", sorted(set(CALLS) - ONLY_WITH_SOMETHING_TO_DO))
def test_each_service_allows_exactly_the_roles_in_the_table(as_role, tmp_path, name: str, role: str | None) -> None:  # noqa: ANN001
    action, call = CALLS[name]
    ctx = as_role[role]
    if role_allows(role, action):
        try:
            call(ctx, tmp_path)
        except PermissionDenied as refused:
            # Refused for where it is done (the workplan is kept at the office), not for who does it.
            assert not _for_the_role(refused), f"{name} refused {role}, which ACTIONS[{action!r}] allows"
        except SrcdeskError:
            pass  # allowed, and refused for another reason (the arguments point at nothing)
    else:
        with pytest.raises(PermissionDenied) as refused:
            call(ctx, tmp_path)
        needed = ACTIONS[action].role
        assert (f"Only a{'n' if needed[0] == 'a' else ''} {needed} can" in str(refused.value)
                if role else str(refused.value).startswith("Sign in to"))


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "nobody")
def test_keys_are_created_only_by_an_administrator(ctx, role: str | None) -> None:  # noqa: ANN001
    with ctx.db.session(ctx.actor) as s:  # an installation made before keys existed
        s.execute(update(Installation).where(Installation.is_self.is_(True)).values(signing_key=None))
    as_role = ctx if role == "administrator" else ctx.signed_in(
        None if role is None else add_user(ctx, "someone", "Someone", role, PASSWORD))
    if role == "administrator":
        setup.ensure_identity(as_role)
        with ctx.read() as s:
            assert s.query(Installation).filter_by(is_self=True).one().signing_key
    else:
        with pytest.raises(PermissionDenied):
            setup.ensure_identity(as_role)


# -- the role is re-read at each write ----------------------------------------------------------


def test_a_demoted_coordinators_next_write_is_refused(ctx, coordinator) -> None:  # noqa: ANN001
    jo = people.create_person(coordinator, given_name="Jo", family_name="Bloggs")
    users.set_role(ctx, "colin", "recorder")
    assert coordinator.user.role == "coordinator" and coordinator.can("person.delete")  # as at sign-in
    with pytest.raises(PermissionDenied, match="Only a coordinator can delete people; you are signed in as a recorder"):
        people.delete_person(coordinator, jo.id, "duplicate")
    assert people.get_person(ctx, jo.id).id == jo.id  # still there
    people.update_person(coordinator, jo.id, notes="a recorder may still edit")
    users.set_role(ctx, "colin", "coordinator")
    people.delete_person(coordinator, jo.id, "duplicate")  # promoted again: at once


def test_a_promoted_recorders_next_write_is_allowed(ctx, recorder) -> None:  # noqa: ANN001
    jo = people.create_person(recorder, given_name="Jo", family_name="Bloggs")
    with pytest.raises(PermissionDenied, match="Only a coordinator can delete people"):
        people.delete_person(recorder, jo.id, "duplicate")
    users.set_role(ctx, "rita", "coordinator")
    assert not recorder.can("person.delete")  # the screens offer what the role was at sign-in
    people.delete_person(recorder, jo.id, "duplicate")  # the services go by the role now
    with pytest.raises(NotFound):
        people.get_person(ctx, jo.id)


def test_a_disabled_users_next_write_and_read_are_refused(ctx, recorder) -> None:  # noqa: ANN001
    jo = people.create_person(recorder, given_name="Jo", family_name="Bloggs")
    users.set_active(ctx, "rita", False)
    with pytest.raises(PermissionDenied, match="disabled"):
        people.update_person(recorder, jo.id, notes="after being disabled")
    with pytest.raises(PermissionDenied, match="disabled"):
        people.get_person(recorder, jo.id)
    assert people.get_person(ctx, jo.id).notes != "after being disabled"


def test_a_refused_write_leaves_nothing_behind(ctx, recorder) -> None:  # noqa: ANN001
    users.set_active(ctx, "rita", False)
    before = len(people.search_people(ctx, "").items)
    with pytest.raises(PermissionDenied):
        people.create_person(recorder, given_name="Jo", family_name="Bloggs")
    assert len(people.search_people(ctx, "").items) == before


def test_a_context_is_frozen_per_sign_in(ctx) -> None:  # noqa: ANN001
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.user = None  # type: ignore[misc]
    out = ctx.signed_in(None)
    assert out is not ctx and out.user is None and ctx.user is not None and out.db is ctx.db


# -- reads of personal data ------------------------------------------------------------------


def _or_not_found(read: Callable[..., Any], *args: Any) -> Any:
    try:
        return read(*args)
    except NotFound:
        return None


@pytest.mark.parametrize("read", [
    lambda c, jo: people.search_people(c, "Jo"),
    lambda c, jo: people.get_person(c, jo.id),
    lambda c, jo: people.attendance_history(c, jo.id),
    lambda c, jo: sessions.list_sessions(c),
    lambda c, jo: ladder.progress(c, jo.id),
    lambda c, jo: _or_not_found(attendance.register, c, "no such session"),
], ids=["search", "person", "attendance", "sessions", "volunteer progress", "register"])
def test_reads_of_personal_data_need_someone_signed_in(ctx, read) -> None:  # noqa: ANN001
    jo = people.create_person(ctx, given_name="Jo", family_name="Bloggs")
    read(ctx, jo)
    with pytest.raises(PermissionDenied, match="Sign in"):
        read(ctx.signed_in(None), jo)


# -- your own password -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["recorder", "coordinator", "administrator"])
def test_everyone_changes_their_own_password_with_the_current_one(ctx, role: str) -> None:  # noqa: ANN001
    me = ctx if role == "administrator" else ctx.signed_in(add_user(ctx, "me", "Me", role, PASSWORD))
    with pytest.raises(ValidationError, match="not your current password") as wrong:
        users.change_own_password(me, "not my password", "brand new pass")
    assert wrong.value.field == "current_password"
    authenticate(ctx.db, me.user.username, PASSWORD)  # nothing changed
    with pytest.raises(ValidationError, match="current one"):
        users.set_password(me, me.user.username, "brand new pass")  # your own: only with the current one
    users.set_password(me, me.user.username, "brand new pass", current_password=PASSWORD)
    assert authenticate(ctx.db, me.user.username, "brand new pass").id == me.user.id


def test_only_an_administrator_sets_another_users_password(ctx, recorder) -> None:  # noqa: ANN001
    with pytest.raises(PermissionDenied, match="Only an administrator can reset other users' passwords"):
        users.set_password(recorder, "ann", "taken over!")
    users.set_password(ctx, "rita", "reset by ann")
    assert authenticate(ctx.db, "rita", "reset by ann")


# -- the role descriptions come from the table -------------------------------------------------


def test_role_descriptions_promise_exactly_the_table() -> None:
    for role in ROLE_RANK:
        text = describe_role(role)
        for name, act in ACTIONS.items():
            promised = re.search(rf"(?:can |also |; |and ){re.escape(act.doing)}(?:;|$)", text) is not None
            offered = name != "demo.fill" and name not in NOT_OFFERED_YET
            assert promised == (act.role == role and offered), (role, name)
    assert describe_role("coordinator").startswith("can do everything a recorder can, and also ")
    assert describe_role("administrator").startswith("can do everything a coordinator can, and also ")


def test_no_role_promises_work_no_screen_or_command_offers() -> None:
    """Issue 10, first week 15: establishments have a service (enforced above) but no screen or
    command yet, so no role promises it. (Certificates have both since issue 11; the workplan since
    issue 12; initiatives, community organisations, referrals and liberation records since issue
    13: the Pathways page, Today's liberations and `srcdesk initiatives|organisations|referrals|
    liberation`.)"""
    from srcdesk.cli import _parser

    words = " ".join(describe_role(role) for role in ROLE_RANK)
    assert "edit establishments" not in words
    assert NOT_OFFERED_YET == {"establishment.edit"}
    commands = set(_parser()._subparsers._group_actions[0].choices)  # noqa: SLF001
    assert {"initiatives", "organisations", "referrals", "liberation"} <= commands
    assert not commands & {"establishments", "estate"}, \
        "a command now offers the estate: take establishment.edit out of NOT_OFFERED_YET"
    for role, offered in (("recorder", ("record initiatives", "record Early Release")),
                          ("coordinator", ("delete initiatives", "liberation records", "community organisations"))):
        for phrase in offered:
            assert phrase in describe_role(role), (role, phrase)


def test_the_readme_lists_the_roles_as_the_table_describes_them() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- roles: generated from srcdesk/services/permissions.py -->\n")
    end = readme.index("<!-- end of roles -->", start)
    listed = readme[start:end].split("\n", 1)[1].strip()
    expected = "\n".join(f"- **{role}** {describe_role(role)}." for role in ROLE_RANK)
    assert listed == expected, f"README's roles should read:\n{expected}"


def test_cli_help_describes_the_roles_from_the_table(capsys) -> None:  # noqa: ANN001
    from srcdesk.cli import main

    with pytest.raises(SystemExit):
        main(["user", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    for role in ROLE_RANK:
        assert f"{role}: {describe_role(role)}." in shown


def test_bundle_authority_asks_the_same_role_as_the_table() -> None:
    """sync/authority.py judges incoming changes per table; where it names a role, it is the
    role the action on those records needs here."""
    from srcdesk.sync.authority import RULES

    # (community organisations and their links are kept at the office: no establishment's role changes them)
    action_of = {"activity_type": "catalogue.edit", "module": "catalogue.edit", "programme": "catalogue.edit",
                 "liberation_record": "liberation.record"}
    with_role = {table for table, rule in RULES.items() if rule.role}
    assert with_role == set(action_of), "map each table whose rule names a role to its action"
    for table, name in action_of.items():
        assert RULES[table].role == ACTIONS[name].role, table
