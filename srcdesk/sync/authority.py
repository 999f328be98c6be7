"""Who may change what: the authority a bundle from an establishment PC is judged by.

A signature proves which PC made a bundle, not that the PC was entitled to make what it carries.
So the office judges every record a bundle from an establishment PC creates or changes, new
records exactly like edits, against one table of rules (:data:`RULES`, one line per table):

- **kept at the office** (the estate, the ladder, attendance codes, the workplan): an
  establishment changes none of them; they reach it in the office's bundles;
- **shared** (programmes, modules, activity types): every PC holds them, and an establishment's
  coordinators may add and change them; community organisations and which establishments they
  connect to are shared too, but kept at the office (shared reference data);
- **its own accounts**: user accounts made on that PC only (an account signs in only where it was
  made), never linked to a person (a linked person is in every establishment's scope, so the link
  would pull someone into every PC's data);
- **at an establishment** (sessions, initiatives, recruit cohorts): only its own establishment's (a recruit cohort may also be of none);
- **held**: people, and what is about people and sessions (registers, facilitators, transfers,
  milestones and their evidence, certificates, referrals and their stages, liberation records):
  only what the
  establishment holds, and every person or session such a record points at must be one it holds.

And for every change: it was made on that PC (``o``) by one of that PC's accounts (``u``, or null
for srcdesk itself), and a sign-off or certificate names one of that PC's accounts.

**What an establishment holds** (:class:`Holdings`) is what the office sends it (the scope of
:mod:`srcdesk.sync.scope`: its people, people transferred in or out, everyone on its registers,
its sessions and the sessions its people earned milestones with), plus the sessions its people
attended anywhere (so what it holds doesn't shrink under a bundle in the post when one of them
moves on), plus the people its PCs made (a PC never loses what it made), plus what the bundle
itself makes: a new person is held by the establishment that made it, a new session of its own
is held, and what points only at held records is held. It is worked out before the import's transaction, from what the office
holds, as sets of ids in memory (at decade scale a few thousand people and some ten thousand
sessions): judging a record costs a few set look-ups, never a query.

Bundles list records by table name, so a register line comes before the person and the session
it joins: what a record points at that is not held yet is noted and judged at the end of the
import (:meth:`EstablishmentAuthority.finish`), when everything the bundle makes is known. What it
points at that is not at the office at all (a later bundle imported before an earlier one) is
not refused: the record waits, and is judged when it is made (``RowEffect.retried``), against the
establishment whose PC made it.

The same rules serve an establishment PC itself: its services refuse at once what its bundle
could not carry (:func:`local_refusal`), and its merge moves references only in records the office
would accept from it (:func:`establishment_may_write`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import PermissionDenied
from ..models import SYNCABLE_TABLES, USER_ROLES
from .changelog import MAX_VARIABLES
from .errors import BundleRefused
from .merge import LABELS, RowEffect
from .scope import build_scope, drop_scope

# Who may change a table's records from an establishment PC.
OFFICE = "office"  # kept at the SRC office
SHARED = "shared"  # on every PC; an establishment's users with the rule's role may change them
ACCOUNTS = "accounts"  # an installation's own user accounts
AT = "establishment"  # records of one establishment (the rule's ``establishment`` column): its own
HELD = "held"  # people and what is about people and sessions: what it holds

# Kinds of held records (what a held record may point at), and the table each kind's ids are in.
KIND_TABLES = {"person": "person", "session": "session", "own_session": "session",
               "milestone_achievement": "milestone_achievement", "certificate": "certificate",
               "referral": "referral", "own_initiative": "initiative"}


@dataclass(frozen=True)
class Rule:
    kind: str
    what: str = ""  # OFFICE: what these records are, plural, in a sentence ("the ladder's levels")
    establishment: str | None = None  # AT: the column naming the establishment (must be its own)
    or_none: bool = False  # AT: or no establishment at all (a recruit cohort of no one establishment)
    # (column, kind): what the record points at must be held ("id": the record itself, when changed)
    held: tuple[tuple[str, str], ...] = ()
    own_session: str | None = None  # a column naming a session that must be the establishment's own
    signed_by: tuple[tuple[str, str], ...] = ()  # (column, words): an account of the PC that made it
    role: str | None = None  # the least role of whoever changes it
    unlinked: tuple[str, ...] = ()  # columns an establishment may not set (links into every scope)
    holds: str | None = None  # the kind a new record of this table is held as
    # Columns that never change once the record is made, by anyone (what a certificate prints:
    # a correction is a reissue, a record of its own).
    frozen: tuple[str, ...] = ()
    frozen_words: str = ""


_WORKPLAN = "the plan years, focus establishments and targets (the workplan)"
RULES: dict[str, Rule] = {
    "activity_type": Rule(SHARED, role="coordinator"),
    "app_user": Rule(ACCOUNTS, unlinked=("person_id",)),
    "attendance": Rule(HELD, held=(("session_id", "session"), ("person_id", "person"))),
    "attendance_role": Rule(OFFICE, what="the roles on a register"),
    "attendance_status": Rule(OFFICE, what="the attendance statuses"),
    "certificate_design": Rule(OFFICE, what="the certificates' logos, signatories and footer"),
    # Issued by an establishment's PC for its own establishment (none: at the office, or before
    # certificates named where); revoked or reissued only there or at the office.
    "certificate": Rule(HELD, held=(("person_id", "person"), ("achievement_id", "milestone_achievement"),
                                    ("supersedes_id", "certificate")), establishment="establishment_id", or_none=True,
                        signed_by=(("issued_by", "issued by"),), holds="certificate",
                        frozen=("serial", "person_id", "recipient_name", "kind", "title", "programme_id", "module_id",
                                "achievement_id", "issued_on", "issued_by", "supersedes_id", "establishment_id",
                                "award_code", "content", "code", "batch_id"),
                        frozen_words="what a certificate prints never changes: a correction is a reissue"),
    "community_organisation": Rule(OFFICE, what="the community organisations (LEROs and services)"),
    "establishment": Rule(OFFICE, what="the establishments (the estate)"),
    "initiative": Rule(AT, establishment="establishment_id", holds="own_initiative"),
    # Made for a person the establishment holds, by one of its PC's coordinators; what was printed
    # never changes (a new record is made instead); only the reprint count moves.
    "liberation_record": Rule(HELD, held=(("person_id", "person"),), establishment="establishment_id", or_none=True,
                              signed_by=(("made_by", "made by"),), role="coordinator",
                              frozen=("person_id", "establishment_id", "made_on", "made_by", "area", "consent_on",
                                      "own_words", "content"),
                              frozen_words="what a liberation record printed never changes: a new one is made"),
    "milestone_achievement": Rule(HELD, held=(("person_id", "person"), ("superseded_by_id", "milestone_achievement")),
                                  signed_by=(("signed_off_by", "signed off by"),), holds="milestone_achievement"),
    "milestone_definition": Rule(OFFICE, what="the ladder's levels"),
    "milestone_evidence": Rule(HELD, held=(("achievement_id", "milestone_achievement"), ("session_id", "session"))),
    "module": Rule(SHARED, role="coordinator"),
    "organisation_link": Rule(OFFICE, what="which community organisations connect to which establishments"),
    "person": Rule(HELD, held=(("id", "person"),), holds="person"),
    "person_transfer": Rule(HELD, held=(("person_id", "person"),)),
    "plan_focus": Rule(OFFICE, what=_WORKPLAN),
    "plan_target": Rule(OFFICE, what=_WORKPLAN),
    "plan_year": Rule(OFFICE, what=_WORKPLAN),
    "programme": Rule(SHARED, role="coordinator"),
    "recruit_cohort": Rule(AT, establishment="establishment_id", or_none=True),
    "referral": Rule(HELD, held=(("person_id", "person"),), holds="referral"),
    "referral_stage": Rule(HELD, held=(("referral_id", "referral"),), signed_by=(("recorded_by", "recorded by"),)),
    # A session may name an initiative of its own establishment only.
    "session": Rule(AT, establishment="establishment_id", holds="session", held=(("initiative_id", "own_initiative"),)),
    "session_facilitator": Rule(HELD, own_session="session_id", held=(("person_id", "person"),)),
}

if set(RULES) != SYNCABLE_TABLES:  # a new syncable table must say who may change it
    raise RuntimeError(f"sync authority does not cover: {sorted(SYNCABLE_TABLES ^ set(RULES))}")


def role_rank(role: str | None) -> int:
    """recorder 1, coordinator 2, administrator 3 (the order of :data:`USER_ROLES`); else 0."""
    return USER_ROLES.index(role) + 1 if role in USER_ROLES else 0


def _label(table: str) -> str:
    return LABELS.get(table, table.replace("_", " "))


def _elsewhere(rule: Rule, state: Mapping[str, Any], establishment_id: str | None) -> bool:
    """Whether a record of an AT table (as ``state``) is another establishment's."""
    value = state.get(rule.establishment or "")
    return value != establishment_id and not (value is None and rule.or_none)


def _a(table: str) -> str:
    """'a register line', 'an initiative'."""
    label = _label(table)
    return f"{'an' if label[0] in 'aeiou' else 'a'} {label}"


# -- on an establishment PC ---------------------------------------------------------------------


def local_refusal(table: str, row: Mapping[str, Any] | None, *, office: bool, establishment_id: str | None,
                  role: str | None = None) -> str | None:
    """Why this installation may not change a record of ``table`` (``row``: the record as it is or
    will be), or None if it may: an establishment PC refuses at once what the office would refuse
    in its bundle. The office may change everything. What is held can't be judged here (this PC
    holds what it has), so only the rules a record's own content decides are applied."""
    if office:
        return None
    rule = RULES[table]
    if rule.kind == OFFICE:
        return (f"{rule.what[0].upper()}{rule.what[1:]} are kept at the SRC office: ask the PHR Officer to change "
                "them there, and the change reaches this PC with the office's next bundle.")
    if rule.role and role is not None and role_rank(role) < role_rank(rule.role):
        return f"Only a {rule.role} can change {_a(table)}."
    if rule.establishment and row is not None and _elsewhere(rule, row, establishment_id):
        return (f"This {_label(table)} belongs to another establishment: only that establishment or the SRC "
                "office can change it.")
    return None


def establishment_may_write(establishment_id: str | None, role: str | None) -> Callable[[str, Mapping[str, Any]], bool]:
    """For :class:`srcdesk.sync.merge.Author`: which records an establishment PC's merge may point
    at the record that stays, so that its bundle is never refused for it. Accounts are never
    moved (an account is changed only where it was made, and the merge can't tell where)."""

    def may_write(table: str, row: Mapping[str, Any]) -> bool:
        if RULES[table].kind == ACCOUNTS:
            return False
        return local_refusal(table, row, office=False, establishment_id=establishment_id, role=role) is None

    return may_write


# -- at the office ------------------------------------------------------------------------------


def _fetch(dbapi: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    cur = dbapi.execute(sql, params)
    try:
        return cur.fetchall()
    finally:
        cur.close()


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), MAX_VARIABLES):
        yield ids[start:start + MAX_VARIABLES]


@dataclass
class Holdings:
    """What one establishment holds, as the office knows it: ids by kind (:data:`KIND_TABLES`)."""

    establishment_id: str
    name: str  # the establishment's name, for sentences
    installations: frozenset[str]  # its PCs
    ids: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in KIND_TABLES})


def load_holdings(dbapi: Any, establishment_id: str) -> Holdings:
    """What ``establishment_id`` holds, from what this installation holds: the office's scope for
    it (:func:`srcdesk.sync.scope.build_scope`, built and dropped on ``dbapi``) and the people its
    PCs made, with what is theirs. A few queries, whatever the number of records."""
    name = _fetch(dbapi, "SELECT name FROM establishment WHERE id = ?", (establishment_id,))
    installations = frozenset(r[0] for r in _fetch(
        dbapi, "SELECT id FROM installation WHERE establishment_id = ? AND role = 'establishment'",
        (establishment_id,)))
    h = Holdings(establishment_id, name[0][0] if name else establishment_id, installations)
    ids = h.ids
    build_scope(dbapi, establishment_id)
    try:
        ids["person"].update(r[0] for r in _fetch(dbapi, "SELECT id FROM temp.sync_person"))
        for table, row_id in _fetch(dbapi, "SELECT table_name, row_id FROM temp.sync_scope WHERE table_name IN "
                                           "('session', 'milestone_achievement', 'certificate', 'referral')"):
            ids[table].add(row_id)
        # The sessions its people attended anywhere, not only while they are there: what it holds
        # must not shrink under a bundle still in the post when one of them moves on (its PC
        # still holds those sessions, and may put its people on their registers).
        ids["session"].update(r[0] for r in _fetch(
            dbapi, "SELECT DISTINCT session_id FROM attendance WHERE person_id IN (SELECT id FROM temp.sync_person)"))
    finally:
        drop_scope(dbapi)
    ids["own_session"].update(r[0] for r in _fetch(dbapi, "SELECT id FROM session WHERE establishment_id = ?",
                                                   (establishment_id,)))
    ids["own_initiative"].update(r[0] for r in _fetch(dbapi, "SELECT id FROM initiative WHERE establishment_id = ?",
                                                      (establishment_id,)))
    if installations:
        # People its PCs made that are in nobody's scope of it any more (e.g. not at any
        # establishment): it still holds them, and what is theirs.
        marks = ", ".join("?" * len(installations))
        made = [r[0] for r in _fetch(dbapi, f"SELECT id FROM person WHERE origin_id IN ({marks})", list(installations))
                if r[0] not in ids["person"]]
        ids["person"].update(made)
        for part in _chunks(made):
            people = ", ".join("?" * len(part))
            for table in ("milestone_achievement", "certificate", "referral"):
                ids[table].update(r[0] for r in _fetch(
                    dbapi, f"SELECT id FROM {table} WHERE person_id IN ({people})", list(part)))
            ids["session"].update(r[0] for r in _fetch(
                dbapi, "SELECT v.session_id FROM milestone_evidence v JOIN milestone_achievement a "
                       f"ON a.id = v.achievement_id WHERE a.person_id IN ({people}) "
                       f"UNION SELECT session_id FROM attendance WHERE person_id IN ({people})", list(part) * 2))
    return h


@dataclass
class Accounts:
    """One installation's user accounts, as the office knows them and as the bundle leaves them."""

    names: dict[str, str]  # account id -> username
    ranks: dict[str, int]  # account id -> the highest role it had, before or in the bundle

    @classmethod
    def load(cls, dbapi: Any, installation_id: str) -> Accounts:
        rows = _fetch(dbapi, "SELECT id, username, role FROM app_user WHERE origin_id = ?", (installation_id,))
        return cls({r[0]: r[1] for r in rows}, {r[0]: role_rank(r[2]) for r in rows})


class EstablishmentAuthority:
    """The :class:`srcdesk.sync.merge.Authority` for a bundle from an establishment PC, at the office.

    Made with :meth:`prepare` before the import's transaction (a read of what the office holds),
    then :meth:`bind` to the transaction's connection (for the few look-ups made at the end).
    """

    def __init__(self, *, origin_id: str, origin_name: str, holdings: Holdings, accounts: Accounts) -> None:
        self.origin_id = origin_id
        self.origin_name = origin_name
        self.holdings = holdings
        self.accounts = accounts
        self.db: Any = None
        # Judged at the end: {(kind, id): (table, row id, column)} for what a record points at
        # that is not held yet; {user: (table, row id)} for users (and signers) not known yet;
        # [(user, role, table, row id)] for roles.
        self._pending: dict[tuple[str, str], tuple[str, str, str]] = {}
        self._pending_users: dict[str, tuple[str, str, str]] = {}
        self._pending_roles: list[tuple[str, str, str, str]] = []
        self._other: dict[str, Holdings | None] = {}  # other establishments, for retried records
        self._other_accounts: dict[str, Accounts] = {origin_id: accounts}
        self._installations: dict[str, tuple[str, str | None, str]] | None = None

    @classmethod
    def prepare(cls, dbapi: Any, *, origin_id: str, origin_name: str, establishment_id: str) -> EstablishmentAuthority:
        """Work out what the origin's establishment holds and who its accounts are (``dbapi``: a
        connection reading what the office holds, before the import's transaction)."""
        return cls(origin_id=origin_id, origin_name=origin_name, holdings=load_holdings(dbapi, establishment_id),
                   accounts=Accounts.load(dbapi, origin_id))

    def bind(self, dbapi: Any) -> EstablishmentAuthority:
        self.db = dbapi
        return self

    # -- the Authority protocol -------------------------------------------------------------------

    def check(self, effect: RowEffect) -> None:
        if effect.retried:
            self._check_retried(effect)
            return
        changes = effect.changes
        if not changes:
            return  # changed only by what this installation did itself (a merge, a moved reference)
        origin = self.origin_id
        table = effect.table
        names = self.accounts.names
        for c in changes:
            if c.origin != origin:
                raise self._refused("carries changes it says another installation made")
            if c.user is not None and c.user not in names:
                self._pending_users.setdefault(c.user, (table, effect.row_id, ""))
        if effect.after is None:
            return  # its creation has not arrived: its changes wait, and are judged with it
        self._judge(RULES[table], effect, self.holdings, self.accounts, origin, final=False)

    def finish(self) -> None:
        """Judge what could not be judged record by record: users, roles and references to
        records the bundle makes further on."""
        names, ranks = self.accounts.names, self.accounts.ranks
        strangers = [u for u in self._pending_users if u not in names]
        # An account not at the office at all comes in a bundle of the PC's not imported yet (a
        # record signed by it waits for it, and is judged when it is made); one that is here is
        # another installation's.
        others = self._existing("app_user", strangers) if strangers else set()
        for user in strangers:
            if user in others:
                table, row_id, words = self._pending_users[user]
                if words:
                    raise self._refused(f"records {_a(table)} ({row_id}) {words} someone who is not "
                                        "one of its own user accounts")
                raise self._refused(f"carries a change made by a user who is not one of its own accounts ({user}), "
                                    f"to {_a(table)} ({row_id})")
        for user, role, table, row_id in self._pending_roles:
            if user in ranks and ranks[user] < role_rank(role):  # (an account not here yet can't be judged)
                raise self._refused(f"changes {_a(table)} ({row_id}) as a user who is not a {role}")
        seen: dict[str, str] = {}
        for account, username in sorted(names.items()):
            if username in seen:
                raise self._refused(f"holds two user accounts called '{username}'; srcdesk never makes two "
                                    "accounts with one username, so the bundle is not genuine")
            seen[username] = account
        missing: dict[str, list[str]] = defaultdict(list)
        ids = self.holdings.ids
        for (kind, ref), _where in self._pending.items():
            if ref not in ids[kind]:
                missing[kind].append(ref)
        for kind, refs in sorted(missing.items()):
            here = self._existing(KIND_TABLES[kind], refs)
            for ref in refs:
                if ref in here:  # at the office, and not the establishment's
                    table, row_id, column = self._pending[(kind, ref)]
                    raise self._refused(self._points_outside(table, row_id, column, kind, ref, self.holdings))
            # Not at the office at all: the records wait for them, and are judged when they are made.

    # -- judging one record ---------------------------------------------------------------------------

    def _judge(self, rule: Rule, effect: RowEffect, h: Holdings, accounts: Accounts, origin: str, *,
               final: bool) -> None:
        """Raise BundleRefused if ``origin`` (a PC of ``h``'s establishment) may not make the change.
        ``final``: decide everything now (a retried record) instead of noting what can't be yet."""
        table, row_id, before, after = effect.table, effect.row_id, effect.before, effect.after
        kind = rule.kind
        if kind == OFFICE:
            raise self._refused(f"changes {_a(table)} ({row_id}); {rule.what} are kept at the SRC office",
                                final)
        if rule.role:
            for c in effect.changes:
                if c.user is None:
                    raise self._refused(f"changes {_a(table)} ({row_id}) without naming the "
                                        f"{rule.role} who did", final)
                self._pending_roles.append((c.user, rule.role, table, row_id))
        if kind == ACCOUNTS and effect.origin is not None and effect.origin != origin:
            raise self._refused(f"changes another installation's user account ({row_id})", final)
        ids = h.ids
        if before is not None and after is not None:
            changed = [c for c in rule.frozen if after.get(c) != before.get(c)]
            if changed:
                raise self._refused(f"changes {_a(table)} ({row_id}): {', '.join(changed)}; {rule.frozen_words}",
                                    final)
        if before is not None:
            if rule.establishment and _elsewhere(rule, before, h.establishment_id):
                raise self._refused(f"changes {_a(table)} of another establishment ({row_id})", final)
            if rule.own_session and before.get(rule.own_session) not in ids["own_session"]:
                raise self._refused(f"changes {_a(table)} ({row_id}) of another establishment's "
                                    "session", final)
            for column, held in rule.held:
                ref = row_id if column == "id" else before.get(column)
                if ref is not None and ref not in ids[held]:
                    raise self._refused(f"changes {_a(table)} ({row_id}) that {h.name} does not hold",
                                        final)
        if after is None:
            return
        if rule.establishment and _elsewhere(rule, after, h.establishment_id):
            raise self._refused(f"records {_a(table)} ({row_id}) at another establishment", final)
        if rule.own_session:
            ref = after.get(rule.own_session)
            if ref is not None and (before is None or ref != before.get(rule.own_session)):
                self._need(h, "own_session", ref, table, row_id, rule.own_session, final)
        for column, held in rule.held:
            if column == "id":
                continue
            ref = after.get(column)
            if ref is not None and (before is None or ref != before.get(column)):
                self._need(h, held, ref, table, row_id, column, final)
        for column, words in rule.signed_by:
            signer = after.get(column)
            if signer is not None and (before is None or signer != before.get(column)) and signer not in accounts.names:
                if not final:
                    self._pending_users.setdefault(signer, (table, row_id, words))
                elif self._existing("app_user", [signer]):
                    raise self._refused(f"records {_a(table)} ({row_id}) {words} someone who is not "
                                        "one of its own user accounts", final)
                else:
                    raise BundleRefused(f"it refers to a user account this PC doesn't have yet ({signer})")
        for column in rule.unlinked:
            if after.get(column) is not None and (before is None or after.get(column) != before.get(column)):
                raise self._refused(f"links a user account ({row_id}) to a person; only the SRC office "
                                    "links accounts to people (a linked person is sent to every establishment)", final)
        if kind == ACCOUNTS:
            accounts.names[row_id] = after.get("username")
            rank = max([role_rank(after.get("role")), *(role_rank(c.fields.get("role")) for c in effect.changes)])
            accounts.ranks[row_id] = max(accounts.ranks.get(row_id, 0), rank)
        if before is None and rule.holds:
            ids[rule.holds].add(row_id)
            if rule.holds == "session":
                ids["own_session"].add(row_id)  # (it was judged to be at the establishment above)

    def _need(self, h: Holdings, kind: str, ref: str, table: str, row_id: str, column: str, final: bool) -> None:
        """``ref`` must be held (of ``kind``): now, or (not ``final``) by the end of the bundle."""
        if ref in h.ids[kind]:
            return
        if not final:
            self._pending.setdefault((kind, ref), (table, row_id, column))
            return
        if self._existing(KIND_TABLES[kind], [ref]):
            raise self._refused(self._points_outside(table, row_id, column, kind, ref, h), final)
        raise BundleRefused(f"it refers to {_a(KIND_TABLES[kind])} this PC doesn't have yet ({ref})")

    def _points_outside(self, table: str, row_id: str, column: str, kind: str, ref: str, h: Holdings) -> str:
        if kind == "own_session":
            return (f"records {_a(table)} ({row_id}) on a session of another establishment "
                    f"({ref})")
        if kind == "own_initiative":
            return f"records {_a(table)} ({row_id}) naming an initiative of another establishment ({ref})"
        what = _label(KIND_TABLES[kind])
        return (f"records {_a(table)} ({row_id}) for a {what} that {h.name} does not hold "
                f"({column} {ref})")

    def _existing(self, table: str, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        unique = list(dict.fromkeys(ids))
        for part in _chunks(unique):
            found.update(r[0] for r in _fetch(
                self.db, f"SELECT id FROM {table} WHERE id IN ({', '.join('?' * len(part))})", list(part)))
        return found

    def _refused(self, what: str, final: bool = False) -> BundleRefused:
        if final:  # the reason a record made from an earlier bundle's changes is held instead
            return BundleRefused(f"the office does not accept it: its PC {what}")
        return BundleRefused(f"The bundle from {self.origin_name} {what}; it was refused.")

    # -- records made from an earlier bundle's changes --------------------------------------------------

    def _check_retried(self, effect: RowEffect) -> None:
        """A record made now from changes an earlier import left waiting, judged against the
        establishment whose PC made the record (its creating origin: the changes that waited came
        from that PC, or from another PC of the same establishment, as a rule)."""
        origin = effect.origin
        if origin is None or effect.after is None:
            return
        if origin in self.holdings.installations:
            h: Holdings | None = self.holdings
        else:
            h = self._holdings_of(origin)
        if h is None:
            return  # made by the office itself (or shipped with srcdesk): not an establishment's to judge
        accounts = self._other_accounts.get(origin)
        if accounts is None:
            accounts = self._other_accounts[origin] = Accounts.load(self.db, origin)
        self._judge(RULES[effect.table], effect, h, accounts, origin, final=True)

    def _holdings_of(self, installation_id: str) -> Holdings | None:
        if self._installations is None:
            self._installations = {r[0]: (r[1], r[2], r[3]) for r in _fetch(
                self.db, "SELECT id, role, establishment_id, name FROM installation")}
        role, establishment_id, _name = self._installations.get(installation_id, ("", None, ""))
        if role != "establishment" or establishment_id is None:
            return None
        if establishment_id == self.holdings.establishment_id:
            return self.holdings
        if establishment_id not in self._other:
            # Rare (a record of another establishment waited for something this bundle brought):
            # worked out now, in the transaction.
            self._other[establishment_id] = load_holdings(self.db, establishment_id)
        return self._other[establishment_id]


def refuse_here(ctx: Any, table: str, row: Mapping[str, Any] | None = None) -> None:
    """For the services (``ctx``: their Context, read for its installation): raise PermissionDenied
    with :func:`local_refusal`'s sentence if this installation may not change the record."""
    inst = ctx.installation
    why = local_refusal(table, row, office=inst.is_office, establishment_id=inst.establishment_id)
    if why is not None:
        raise PermissionDenied(why)
