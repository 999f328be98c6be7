"""Who may do what: ONE table of actions, the least role each needs, and what it is in words.

Services ask for an action (``ctx.write("person.delete")``, ``ctx.require("user.list")``), the UI
asks ``ctx.can("person.delete")`` before offering it, and the role descriptions shown on the
Users page, in the set-up dialog and in ``srcdesk user --help`` are made from this table by
:func:`describe_role`, so a role never promises what the services refuse (or the reverse).

Each entry's ``doing`` completes "Only a coordinator can …" and "a coordinator can …".
"""

from __future__ import annotations

from dataclasses import dataclass

ROLE_RANK = {"recorder": 1, "coordinator": 2, "administrator": 3}
ROLES = tuple(ROLE_RANK)  # least first


@dataclass(frozen=True)
class Action:
    role: str  # the least role that may do it
    doing: str  # "delete people": completes "Only a coordinator can …"


ACTIONS: dict[str, Action] = {
    # people
    "person.read": Action("recorder", "see people's records"),
    "person.add": Action("recorder", "register people"),
    "person.edit": Action("recorder", "edit people"),
    "person.transfer": Action("recorder", "transfer people between establishments"),
    "person.delete": Action("coordinator", "delete people"),
    # sessions and registers
    "session.record": Action("recorder", "record sessions"),
    "session.edit": Action("recorder", "edit sessions"),
    "session.cancel": Action("recorder", "cancel sessions"),
    "session.delete": Action("coordinator", "delete sessions"),
    "cohort.record": Action("recorder", "record recruit cohorts"),
    "cohort.edit": Action("recorder", "edit recruit cohorts"),
    "register.take": Action("recorder", "take registers"),
    # community
    "initiative.record": Action("recorder", "record initiatives"),
    "initiative.edit": Action("recorder", "edit initiatives"),
    "initiative.delete": Action("coordinator", "delete initiatives"),
    "referral.record": Action("recorder", "record Early Release to Residential Rehabilitation referrals and "
                                          "their stages"),
    "referral.edit": Action("recorder", "withdraw, decline or step back referrals (with a reason)"),
    "organisation.edit": Action("coordinator", "add, edit and retire community organisations and connect "
                                               "them to establishments (at the SRC office)"),
    "liberation.record": Action("coordinator", "produce and reprint liberation records"),
    # peer volunteers and certificates
    "milestone.signoff": Action("coordinator", "sign off peer-volunteer milestones"),
    "milestone.correct": Action("coordinator", "withdraw or correct milestones"),
    "certificate.issue": Action("coordinator", "issue certificates"),
    "certificate.revoke": Action("coordinator", "revoke or reissue certificates"),
    "certificate.design": Action("coordinator", "set the signatories, footer and logos printed on certificates "
                                                "(at the SRC office)"),
    "certificate.verify": Action("recorder", "check certificates' codes"),
    # programmes and plans
    "catalogue.edit": Action("coordinator", "add, edit, retire and delete programmes, modules, activity types, "
                                            "ladder levels and register codes"),
    "establishment.edit": Action("administrator", "add and edit establishments"),
    "plan.edit": Action("coordinator", "set plan years, focus establishments and targets"),
    # the national picture (issue 12)
    "report.read": Action("recorder", "see the dashboard's figures (their establishment's; at the SRC office, "
                                      "every establishment's)"),
    "report.steering": Action("coordinator", "produce the Steering Group report"),
    "export.figures": Action("recorder", "export figures and lists without names"),
    "export.personal": Action("coordinator", "export lists with people's names or other personal data"),
    # sync
    "sync.read": Action("recorder", "see sync conflicts and the bundle history"),
    "sync.bundles": Action("coordinator", "check, export and import bundles"),
    "conflict.resolve": Action("coordinator", "settle sync conflicts"),
    "trust.read": Action("recorder", "see this installation's keys and which installations it trusts"),
    "trust.edit": Action("administrator", "enrol and revoke other installations and export this one's "
                                          "enrolment card"),
    "keys.create": Action("administrator", "create this installation's keys"),
    # this PC and its data
    "backup.local": Action("recorder", "back up the data"),
    "backup.elsewhere": Action("administrator", "back up the data to a place outside the data folder"),
    "settings.change": Action("administrator", "change this PC's settings"),
    "clock.repair": Action("administrator", "repair srcdesk's clock"),
    "demo.fill": Action("administrator", "fill the database with demo data"),
    # accounts
    "password.own": Action("recorder", "change their own password"),
    "user.list": Action("administrator", "see the list of users"),
    "user.add": Action("administrator", "add users"),
    "user.role": Action("administrator", "change users' roles"),
    "user.disable": Action("administrator", "disable or enable users"),
    "user.password": Action("administrator", "reset other users' passwords"),
}

# Actions left out of the role descriptions: the demo is for trying srcdesk, not a duty; the others
# are enforced by services that no screen or command offers yet (adding and editing
# establishments), and a role must only promise what a person can
# find. Take an action out of this set in the change that gives it a screen or a command.
NOT_OFFERED_YET = frozenset({
    "establishment.edit",
})
_NOT_DESCRIBED = frozenset({"demo.fill"}) | NOT_OFFERED_YET


def action(name: str) -> Action:
    try:
        return ACTIONS[name]
    except KeyError:
        raise KeyError(f"{name!r} is not an action in srcdesk.services.permissions.ACTIONS") from None


def role_allows(role: str | None, name: str) -> bool:
    """Whether a user of ``role`` may do the action ``name`` (None: nobody is signed in)."""
    needed = action(name).role
    return role is not None and ROLE_RANK.get(role, 0) >= ROLE_RANK[needed]


def a_role(role: str) -> str:
    return f"{'an' if role[0] in 'aeiou' else 'a'} {role}"


def role_actions(role: str) -> list[Action]:
    """What ``role`` may do that the role below it may not, in the table's order."""
    return [a for name, a in ACTIONS.items() if a.role == role and name not in _NOT_DESCRIBED]


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{'; '.join(parts[:-1])}; and {parts[-1]}"


def describe_role(role: str) -> str:
    """What a user of ``role`` can do, made from :data:`ACTIONS` ("can see people's records; …";
    a higher role: "can do everything a recorder can, and also …"), to follow "A recorder ".
    No capital, no full stop."""
    doing = [a.doing for a in role_actions(role)]
    below = [r for r in ROLES if ROLE_RANK[r] < ROLE_RANK[role]]
    if not below:
        return f"can {_join(doing)}"
    return f"can do everything {a_role(below[-1])} can, and also {_join(doing)}"
