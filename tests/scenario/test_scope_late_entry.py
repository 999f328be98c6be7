"""Rows that enter an establishment's scope late still reach it, in the office's next normal bundle.

The office sends an establishment PC the changes logged since its last bundle, and remembers which
people that PC's scope held (``sync_sent_scope``). Anything that enters the scope afterwards, by
whatever path, must arrive with its whole history, without ``--full``: each path is a test here,
and a property drives random office-side changes in and out of scope and checks that a normal
bundle leaves the establishment holding what a ``--full`` one would. Weekly bundles stay small.

The world (the office, Perth, Barlinnie; keys and enrolment) and the comparison of what an
establishment holds with what the office holds of its scope are the convergence proof's
(``test_convergence.py``); every test starts with the accounts exchanged.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from srcdesk.models import Module, Programme, Session
from srcdesk.services import attendance, catalogue, certificates, community, ladder, people, sessions, sync
from srcdesk.services.base import Context
from srcdesk.services.check import run_check
from srcdesk.sync.scope import HERE, PERSON, build_scope, drop_scope, remembered

_HERE = Path(__file__).with_name("test_convergence.py")
_spec = importlib.util.spec_from_file_location("srcdesk_scope_late_entry_convergence", _HERE)
convergence = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = convergence
_spec.loader.exec_module(convergence)

template = convergence.template  # the module's world of keys and enrolments (a fixture)
OFFICE, TODAY = convergence.OFFICE, convergence.TODAY
entitled, raw, send = convergence.entitled, convergence.raw, convergence.send
EARLIER = TODAY - dt.timedelta(days=20)


class Post:
    """Bundles carried at once, in numbered folders."""

    def __init__(self, world: dict[str, Context], folder: Path) -> None:
        self.world, self.folder, self.n = world, folder, 0

    def __call__(self, source: str, target: str) -> sync.ImportResult:
        self.n += 1
        return send(self.world[source], self.world[target], self.folder / str(self.n))

    def export(self, source: str, *, full: bool = False) -> sync.ExportResult:
        """A bundle from ``source`` (for the office, or from the office for Barlinnie), not delivered."""
        self.n += 1
        folder = self.folder / str(self.n)
        folder.mkdir(parents=True)
        to = self.world["BAR"].installation.id if source == OFFICE else None
        [result] = sync.export_bundles(self.world[source], folder, for_installation=to, full=full)
        return result


@contextmanager
def synced(template: Any, where: Path) -> Iterator[tuple[dict[str, Context], Post]]:
    """The world with every PC's accounts at the office and back: what each holds is then
    comparable with what the office holds of its scope."""
    with convergence.copied_world(template, where) as world:
        post = Post(world, where / "stick")
        for code in ("PER", "BAR"):
            post(code, OFFICE)
        for code in ("PER", "BAR"):
            post(OFFICE, code)
        yield world, post


@pytest.fixture
def world(template: Any, tmp_path: Path) -> Iterator[tuple[dict[str, Context], Post]]:
    with synced(template, tmp_path) as made:
        yield made


def holds_its_scope(world: dict[str, Context], code: str, *, exactly: bool = True) -> None:
    """The establishment holds exactly what the office holds of its scope, nothing waits for a
    record that never comes, and ``srcdesk check`` finds nothing wrong.

    Not ``exactly``: what the office holds of its scope is there, the same (and the queue about it),
    but the establishment may also hold rows that *left* its scope, as they were when they left
    (a session moved to another establishment stays at its old one as it was; so would it after
    ``--full``)."""
    site = world[code]
    est = site.installation.establishment_id
    scope_o, rows_o, conflicts_o = entitled(world[OFFICE], est)
    if exactly:
        _, rows_s, conflicts_s = entitled(site, est)
    else:
        with raw(site) as db:
            rows_s = {table: sorted(db.execute(
                f"SELECT {', '.join(convergence.synced_columns(table))} FROM {table} WHERE id IN "
                f"({', '.join('?' * len(ids))})", ids).fetchall(), key=repr)
                for table in rows_o if (ids := [r for t, r in scope_o if t == table])}
            conflicts_s = sorted((row for row in db.execute(
                "SELECT table_name, row_id, field, winner_hlc, winner_origin, winner_user, winner_value, loser_hlc, "
                "loser_origin, loser_user, loser_value FROM sync_conflict").fetchall() if row[:2] in scope_o), key=repr)
    for table in rows_o:
        assert rows_s.get(table, []) == rows_o[table], (
            code, table, sorted(set(rows_s.get(table, [])) ^ set(rows_o[table]))[:6])
    assert conflicts_s == conflicts_o
    with raw(site) as db:
        assert db.execute("SELECT table_name, row_id, reason FROM sync_waiting").fetchall() == []
    assert run_check(site.db).ok


def held(ctx: Context, table: str, row_id: str) -> bool:
    with raw(ctx) as db:
        return db.execute(f"SELECT count(*) FROM {table} WHERE id = ?", (row_id,)).fetchone()[0] == 1


def register(ctx: Context, session_id: str, *person_ids: str) -> None:
    attendance.save_register(ctx, session_id, [attendance.RegisterEntry(p) for p in person_ids])


def session_at(ctx: Context, day: dt.date = TODAY, **fields: Any) -> Any:
    return sessions.save_session(ctx, date=day, start_time="10:00", end_time="11:00", activity_type_id="act-cafe",
                                 **fields).session


def with_history(per: Context, given: str) -> tuple[Any, Any, Any]:
    """A Perth person with a history at Perth: a session they attended, a milestone with that
    session as evidence, its certificate, and a referral. Returns (person, session, milestone)."""
    p = people.create_person(per, given_name=given, family_name="Perth")
    s = session_at(per, EARLIER)
    register(per, s.id, p.id)
    milestone = ladder.sign_off(per, p.id, "ms-attender", achieved_on=EARLIER, evidence_session_ids=[s.id])
    certificates.issue(per, person_id=p.id, kind="milestone", achievement_id=milestone.id, issued_on=EARLIER)
    community.create_referral(per, person_id=p.id, referred_on=EARLIER)
    return p, s, milestone


def history_of(ctx: Context, person_id: str) -> dict[str, int]:
    with raw(ctx) as db:
        return {table: db.execute(f"SELECT count(*) FROM {table} WHERE person_id = ?", (person_id,)).fetchone()[0]
                for table in ("milestone_achievement", "certificate", "referral")}


# -- each path into the scope -----------------------------------------------------------------


def test_someone_never_held_put_on_one_of_its_registers_arrives_with_their_history(world) -> None:  # noqa: ANN001
    world, post = world
    office, per, bar = world[OFFICE], world["PER"], world["BAR"]
    x, evidence_session, _ = with_history(per, "Visitor")
    b = session_at(bar)
    post("PER", OFFICE)
    post("BAR", OFFICE)
    post(OFFICE, "BAR")
    assert not held(bar, "person", x.id)

    attendance.add_to_register(office, b.id, attendance.RegisterEntry(x.id))  # the office corrects the register
    post(OFFICE, "BAR")

    assert held(bar, "person", x.id)
    assert history_of(bar, x.id) == {"milestone_achievement": 1, "certificate": 1, "referral": 1}
    assert held(bar, "session", evidence_session.id)  # the session of their milestone's evidence
    with raw(bar) as db:  # but not the rest of Perth: their line there is not Barlinnie's
        assert db.execute("SELECT count(*) FROM attendance WHERE session_id = ?", (evidence_session.id,)).fetchone()[0] == 0
    holds_its_scope(world, "BAR")


def test_someone_now_here_on_an_older_register_elsewhere_brings_that_session_and_line(world) -> None:  # noqa: ANN001
    """What the convergence proof once marked as a strict xfail (now passing), with Barlinnie's accounts at the office."""
    world, post = world
    office, per, bar = world[OFFICE], world["PER"], world["BAR"]
    p = people.create_person(per, given_name="Jo", family_name="Moves")
    q = people.create_person(per, given_name="Al", family_name="Stays")
    s = session_at(per, EARLIER)
    register(per, s.id, q.id)
    post("PER", OFFICE)
    post(OFFICE, "BAR")
    people.transfer_person(office, p.id, bar.installation.establishment_id, on=TODAY)
    post(OFFICE, "BAR")
    post(OFFICE, "PER")
    register(per, s.id, q.id, p.id)  # Perth completes an older register
    post("PER", OFFICE)
    post(OFFICE, "BAR")

    assert held(bar, "session", s.id)
    with raw(bar) as db:
        assert db.execute("SELECT person_id FROM attendance WHERE session_id = ?", (s.id,)).fetchall() == [(p.id,)]
    assert not held(bar, "person", q.id)
    holds_its_scope(world, "BAR")


def test_a_milestone_whose_evidence_names_another_establishments_session_brings_that_session(world) -> None:  # noqa: ANN001
    """Someone at Perth who once came to a Barlinnie session is in Barlinnie's scope, but their
    Perth sessions are not, until one is the evidence of a milestone."""
    world, post = world
    office, per, bar = world[OFFICE], world["PER"], world["BAR"]
    x = people.create_person(per, given_name="Sam", family_name="Perth")
    s = session_at(per, EARLIER)
    register(per, s.id, x.id)
    b = session_at(bar)
    post("PER", OFFICE)
    post("BAR", OFFICE)
    attendance.add_to_register(office, b.id, attendance.RegisterEntry(x.id))
    post(OFFICE, "BAR")
    assert held(bar, "person", x.id) and not held(bar, "session", s.id)

    milestone = ladder.sign_off(per, x.id, "ms-attender", achieved_on=TODAY, evidence_session_ids=[s.id])
    post("PER", OFFICE)
    post(OFFICE, "BAR")

    assert held(bar, "milestone_achievement", milestone.id)
    assert held(bar, "session", s.id)
    holds_its_scope(world, "BAR")


def test_someone_transferred_back_to_where_they_were_brings_their_registers_from_meanwhile(world) -> None:  # noqa: ANN001
    world, post = world
    office, per, bar = world[OFFICE], world["PER"], world["BAR"]
    x = people.create_person(bar, given_name="Lee", family_name="Returns")
    b = session_at(bar, EARLIER)
    register(bar, b.id, x.id)
    post("BAR", OFFICE)
    people.transfer_person(office, x.id, per.installation.establishment_id, on=EARLIER + dt.timedelta(days=1))
    post(OFFICE, "BAR")
    post(OFFICE, "PER")
    s = session_at(per, EARLIER + dt.timedelta(days=5))
    register(per, s.id, x.id)
    people.update_person(per, x.id, notes="at Perth for a while")
    post("PER", OFFICE)
    post(OFFICE, "BAR")  # Barlinnie keeps them (transferred from it) and hears of the edit
    assert people.get_person(bar, x.id).notes == "at Perth for a while"
    assert not held(bar, "session", s.id)

    people.transfer_person(office, x.id, bar.installation.establishment_id, on=TODAY)
    post(OFFICE, "BAR")

    assert held(bar, "session", s.id)
    with raw(bar) as db:
        assert db.execute("SELECT person_id FROM attendance WHERE session_id = ?", (s.id,)).fetchall() == [(x.id,)]
    holds_its_scope(world, "BAR")


def test_a_facilitator_from_elsewhere_arrives_with_their_history(world) -> None:  # noqa: ANN001
    world, post = world
    office, per, bar = world[OFFICE], world["PER"], world["BAR"]
    x, _, _ = with_history(per, "Trainer")
    b = session_at(bar)
    post("PER", OFFICE)
    post("BAR", OFFICE)
    post(OFFICE, "BAR")

    sessions.update_session(office, b.id, facilitator_ids=[x.id])
    post(OFFICE, "BAR")

    assert sessions.facilitators(bar, b.id) == [x.id]
    assert history_of(bar, x.id) == {"milestone_achievement": 1, "certificate": 1, "referral": 1}
    holds_its_scope(world, "BAR")


def test_a_session_moved_to_the_establishment_arrives_with_its_register_and_people(world) -> None:  # noqa: ANN001
    """A session recorded against the wrong establishment is corrected at the office (no screen
    does it: the office's own change, through the change capture)."""
    world, post = world
    office, per, bar = world[OFFICE], world["PER"], world["BAR"]
    x, _, _ = with_history(per, "Learner")
    y = people.create_person(per, given_name="Kim", family_name="Perth")
    z = people.create_person(per, given_name="Pat", family_name="Leads")
    s = session_at(per, EARLIER, facilitator_ids=[z.id])
    register(per, s.id, x.id, y.id)
    post("PER", OFFICE)
    post(OFFICE, "BAR")
    assert not held(bar, "session", s.id)

    with office.write("session.edit", "move a session") as orm:
        orm.get(Session, s.id).establishment_id = bar.installation.establishment_id
    post(OFFICE, "BAR")

    assert held(bar, "session", s.id)
    with raw(bar) as db:
        assert sorted(db.execute("SELECT person_id FROM attendance WHERE session_id = ?", (s.id,)).fetchall()) == \
            sorted([(x.id,), (y.id,)])
    assert sessions.facilitators(bar, s.id) == [z.id]
    assert history_of(bar, x.id) == {"milestone_achievement": 1, "certificate": 1, "referral": 1}
    holds_its_scope(world, "BAR")
    post(OFFICE, "PER")
    holds_its_scope(world, "PER")


def test_a_record_that_waited_at_the_office_reaches_the_establishment_once_it_is_made(world) -> None:  # noqa: ANN001
    """Perth's later bundle arrives first: the register line waits at the office for its session
    while a bundle goes to Barlinnie; when the session comes, the line is made at the office
    from changes logged before that bundle."""
    world, post = world
    office, per, bar = world[OFFICE], world["PER"], world["BAR"]
    x = people.create_person(per, given_name="Jo", family_name="Moves")
    post("PER", OFFICE)
    people.transfer_person(office, x.id, bar.installation.establishment_id, on=TODAY)
    post(OFFICE, "BAR")
    post(OFFICE, "PER")
    s = session_at(per, EARLIER)
    first = post.export("PER").path
    register(per, s.id, x.id)
    second = post.export("PER").path

    assert sync.import_bundle(office, second, backup=False).waiting == 1
    post(OFFICE, "BAR")  # the office's watermark for Barlinnie passes the waiting line
    sync.import_bundle(office, first, backup=False)
    post(OFFICE, "BAR")

    with raw(bar) as db:
        assert db.execute("SELECT person_id FROM attendance WHERE session_id = ?", (s.id,)).fetchall() == [(x.id,)]
    holds_its_scope(world, "BAR")


def test_a_shared_record_that_waited_at_the_office_for_its_programme_reaches_every_establishment(world) -> None:  # noqa: ANN001
    """Perth's coordinator adds a programme and then a module of it; the office imports the module
    first (it waits for its programme) and sends Barlinnie a bundle meanwhile. Nothing about the
    module changes when it is made at last: only the office's memory of what was waiting knows."""
    world, post = world
    office, per, bar = world[OFFICE], world["PER"], world["BAR"]
    programme = catalogue.create(per, Programme, code="PEER", name="Peer mentoring")
    first = post.export("PER").path
    module = catalogue.create(per, Module, programme_id=programme.id, code="PEER-1", name="Listening")
    second = post.export("PER").path

    assert sync.import_bundle(office, second, backup=False).waiting == 1
    post(OFFICE, "BAR")
    sync.import_bundle(office, first, backup=False)
    post(OFFICE, "BAR")

    assert held(bar, "module", module.id)
    holds_its_scope(world, "BAR")


def test_a_change_that_arrived_before_its_record_reaches_the_establishment_with_it(world) -> None:  # noqa: ANN001
    """Perth takes a register and then marks the line absent; the office imports the edit before
    the line, and sends Barlinnie a bundle in between."""
    world, post = world
    office, per, bar = world[OFFICE], world["PER"], world["BAR"]
    x = people.create_person(per, given_name="Jo", family_name="Moves")
    post("PER", OFFICE)
    people.transfer_person(office, x.id, bar.installation.establishment_id, on=TODAY)
    post(OFFICE, "BAR")
    post(OFFICE, "PER")
    s = session_at(per, EARLIER)
    register(per, s.id, x.id)
    first = post.export("PER").path
    attendance.save_register(per, s.id, [attendance.RegisterEntry(x.id, status="absent")])
    second = post.export("PER").path

    sync.import_bundle(office, second, backup=False)  # the edit waits in the log for its line
    post(OFFICE, "BAR")
    sync.import_bundle(office, first, backup=False)
    post(OFFICE, "BAR")

    assert [line.status for line in attendance.register(bar, s.id)] == ["absent"]
    holds_its_scope(world, "BAR")


def test_a_register_line_made_twice_and_merged_arrives_as_one_record(world) -> None:  # noqa: ANN001
    """The office and Perth both put someone on an older Perth register (one record after the
    merge, the other row a tombstone naming it); then the person moves to Barlinnie, which gets
    the session and the record with every change that makes it."""
    world, post = world
    office, per, bar = world[OFFICE], world["PER"], world["BAR"]
    x = people.create_person(per, given_name="Jo", family_name="Twice")
    s = session_at(per, EARLIER)
    post("PER", OFFICE)
    attendance.add_to_register(office, s.id, attendance.RegisterEntry(x.id, status="late"))
    register(per, s.id, x.id)
    post("PER", OFFICE)
    post(OFFICE, "PER")
    with raw(office) as db:
        lines = db.execute("SELECT id, merged_into FROM attendance WHERE session_id = ? ORDER BY id", (s.id,)).fetchall()
    assert len(lines) == 2 and lines[0][1] is None and lines[1][1] == lines[0][0]

    people.transfer_person(office, x.id, bar.installation.establishment_id, on=TODAY)
    post(OFFICE, "BAR")

    with raw(bar) as db:
        assert db.execute("SELECT id, merged_into FROM attendance WHERE session_id = ? ORDER BY id",
                          (s.id,)).fetchall() == lines
    holds_its_scope(world, "BAR")


# -- what the office remembers, and what it costs ---------------------------------------------


def test_a_weekly_bundle_resends_nothing_already_sent_and_nothing_the_establishment_made(world) -> None:  # noqa: ANN001
    world, post = world
    office, per, bar = world[OFFICE], world["PER"], world["BAR"]
    regulars = [people.create_person(bar, given_name=f"Reg{i}", family_name="Bar") for i in range(4)]
    for week in range(4):
        register(bar, session_at(bar, EARLIER + dt.timedelta(days=7 * week)).id, *(r.id for r in regulars))
    visitor, _, _ = with_history(per, "Visitor")
    post("PER", OFFICE)
    post("BAR", OFFICE)
    attendance.add_to_register(office, session_at(office, TODAY, establishment_id=bar.installation.establishment_id).id,
                               attendance.RegisterEntry(visitor.id))
    first = post(OFFICE, "BAR")
    assert first.new > 0  # the visitor and their history, the office's session and line

    register(bar, session_at(bar).id, *(r.id for r in regulars))  # a week at Barlinnie
    post("BAR", OFFICE)
    people.update_person(office, regulars[0].id, notes="seen by the PHR officer")
    week = post.export(OFFICE)
    assert week.changes == 1, week.counts  # the office's one edit: nothing resent, nothing echoed
    assert sync.import_bundle(bar, week.path, backup=False).updated == 1
    holds_its_scope(world, "BAR")


def scope_people(ctx: Context, establishment_id: str) -> set[tuple[str, str]]:
    connection = ctx.db.engine.raw_connection()
    try:
        db = connection.driver_connection
        build_scope(db, establishment_id)
        try:
            now = {r[0] for r in db.execute("SELECT id FROM temp.sync_person_now")}
            return {(HERE if p in now else PERSON, p) for (p,) in db.execute("SELECT id FROM temp.sync_person")}
        finally:
            drop_scope(db)
            db.commit()
    finally:
        connection.close()


def memory(ctx: Context, recipient_id: str) -> set[tuple[str, str]]:
    with raw(ctx) as db:
        return remembered(db, recipient_id)


def test_the_office_remembers_the_people_sent_with_the_bundle_or_not_at_all(world, monkeypatch) -> None:  # noqa: ANN001
    """What the office remembers is written with the bundle's record: an export that fails
    remembers nothing (the next bundle still carries what entered the scope), and ``--full``
    sets the memory afresh."""
    world, post = world
    office, per, bar = world[OFFICE], world["PER"], world["BAR"]
    est, bar_id = bar.installation.establishment_id, bar.installation.id
    assert memory(office, bar_id) == scope_people(office, est)
    x, _, _ = with_history(per, "Visitor")
    post("PER", OFFICE)
    attendance.add_to_register(office, session_at(office, TODAY, establishment_id=est).id,
                               attendance.RegisterEntry(x.id))
    before = memory(office, bar_id)
    assert (PERSON, x.id) not in before

    from srcdesk.services.sync import export as export_module

    real = export_module.remember

    def remember_then_fail(*args: Any) -> None:
        real(*args)
        raise OSError("the stick was pulled out")

    monkeypatch.setattr(export_module, "remember", remember_then_fail)
    (post.folder / "failed").mkdir()
    with pytest.raises(OSError):
        sync.export_bundles(office, post.folder / "failed", for_installation=bar_id)
    assert list((post.folder / "failed").iterdir()) == []
    assert memory(office, bar_id) == before
    monkeypatch.setattr(export_module, "remember", real)

    post(OFFICE, "BAR")
    assert history_of(bar, x.id) == {"milestone_achievement": 1, "certificate": 1, "referral": 1}
    assert memory(office, bar_id) == scope_people(office, est)
    holds_its_scope(world, "BAR")

    with raw(office) as db:  # a memory gone wrong (here: forgotten) is set afresh by --full
        db.execute("DELETE FROM sync_sent_scope WHERE recipient_id = ?", (bar_id,))
        db.commit()
    full = post.export(OFFICE, full=True)
    assert memory(office, bar_id) == scope_people(office, est)
    result = sync.import_bundle(bar, full.path, backup=False)
    assert (result.new, result.updated) == (0, 0)


# -- the property -----------------------------------------------------------------------------


class Office:
    """Random office-side changes that move rows in and out of Barlinnie's scope (and Perth's),
    Perth's bundles arriving in any order, and ordinary bundles to Barlinnie in between."""

    def __init__(self, world: dict[str, Context], post: Post, draw: Any) -> None:
        self.world, self.post, self.draw = world, post, draw
        self.office = world[OFFICE]
        self.parcels: list[Path] = []
        self.est = {code: world[code].installation.establishment_id for code in ("PER", "BAR")}

    def ids(self, sql: str, *params: Any) -> list[str]:
        with raw(self.office) as db:
            return [r[0] for r in db.execute(sql, params).fetchall()]

    def pick(self, sql: str, *params: Any) -> str | None:
        found = self.ids(sql + " ORDER BY 1", *params)
        return self.draw(st.sampled_from(found)) if found else None

    def person(self) -> str | None:
        return self.pick("SELECT id FROM person WHERE deleted_hlc IS NULL")

    def session(self) -> str | None:
        return self.pick("SELECT id FROM session WHERE deleted_hlc IS NULL AND cancelled = 0")

    def step_transfer(self) -> None:
        p = self.person()
        if p is None:
            return
        now = self.ids("SELECT establishment_id FROM person WHERE id = ?", p)[0]
        to = self.draw(st.sampled_from([e for e in (self.est["PER"], self.est["BAR"], None) if e != now]))
        people.transfer_person(self.office, p, to, on=TODAY)
        note(f"transfer {p[-6:]} to {to}")

    def step_register(self) -> None:
        s, p = self.session(), self.person()
        if s and p and not self.ids("SELECT id FROM attendance WHERE session_id = ? AND person_id = ? "
                                    "AND deleted_hlc IS NULL", s, p):
            attendance.add_to_register(self.office, s, attendance.RegisterEntry(p))
            note(f"register {p[-6:]} on {s[-6:]}")

    def step_unregister(self) -> None:
        s = self.pick("SELECT DISTINCT session_id FROM attendance WHERE deleted_hlc IS NULL")
        if s:
            on = self.ids("SELECT person_id FROM attendance WHERE session_id = ? AND deleted_hlc IS NULL "
                          "AND merged_into IS NULL ORDER BY person_id", s)
            register(self.office, s, *on[1:])
            note(f"take {on[0][-6:]} off {s[-6:]}")

    def step_facilitate(self) -> None:
        s, p = self.session(), self.person()
        if s and p:
            sessions.update_session(self.office, s, facilitator_ids=[p])
            note(f"{p[-6:]} facilitates {s[-6:]}")

    def step_move_session(self) -> None:
        s = self.session()
        if s:
            to = self.draw(st.sampled_from(sorted(self.est.values())))
            with self.office.write("session.edit", "move a session") as orm:
                orm.get(Session, s).establishment_id = to
            note(f"move {s[-6:]} to {to}")

    def step_milestone(self) -> None:
        p = self.pick("SELECT a.person_id FROM attendance a JOIN person p ON p.id = a.person_id WHERE "
                      "a.deleted_hlc IS NULL AND p.deleted_hlc IS NULL AND a.person_id NOT IN "
                      "(SELECT person_id FROM milestone_achievement)")
        if p:
            evidence = self.ids("SELECT session_id FROM attendance WHERE person_id = ? AND deleted_hlc IS NULL "
                                "ORDER BY session_id", p)[:1]
            ladder.sign_off(self.office, p, "ms-attender", achieved_on=TODAY, evidence_session_ids=evidence)
            note(f"milestone for {p[-6:]} with {evidence[0][-6:]}")

    def step_edit(self) -> None:
        p = self.person()
        if p:
            people.update_person(self.office, p, notes=f"note {self.draw(st.integers(0, 99))}")

    def step_perth_works(self) -> None:
        """Perth records an older session for people it holds; its bundle waits in the post."""
        per = self.world["PER"]
        with raw(per) as db:
            here = [r[0] for r in db.execute("SELECT id FROM person WHERE deleted_hlc IS NULL ORDER BY id")]
        who = self.draw(st.lists(st.sampled_from(here), unique=True, max_size=3)) if here else []
        s = session_at(per, TODAY - dt.timedelta(days=self.draw(st.integers(1, 30))))
        register(per, s.id, *who)
        self.parcels.append(self.post.export("PER").path)
        note(f"Perth: session {s.id[-6:]} with {[p[-6:] for p in who]}")

    def step_perth_catalogue(self) -> None:
        """Perth's coordinator adds a programme, then a module of it: two bundles in the post."""
        per = self.world["PER"]
        code = f"P{len(self.parcels)}{self.draw(st.integers(0, 9999))}"
        programme = catalogue.create(per, Programme, code=code, name="A programme")
        self.parcels.append(self.post.export("PER").path)
        catalogue.create(per, Module, programme_id=programme.id, code=f"{code}-1", name="A module")
        self.parcels.append(self.post.export("PER").path)
        note(f"Perth: programme {code} and its module")

    def step_deliver_perth(self) -> None:
        if self.parcels:
            parcel = self.parcels.pop(self.draw(st.integers(0, len(self.parcels) - 1)))
            sync.import_bundle(self.office, parcel, backup=False)

    def step_round(self) -> None:
        """An ordinary bundle to Barlinnie (and, now and then, to Perth)."""
        self.post(OFFICE, "BAR")
        if self.draw(st.booleans()):
            self.post(OFFICE, "PER")

    STEPS = ("step_transfer", "step_transfer", "step_register", "step_register", "step_unregister",
             "step_facilitate", "step_move_session", "step_milestone", "step_edit", "step_perth_works",
             "step_perth_works", "step_perth_catalogue", "step_deliver_perth", "step_deliver_perth", "step_round",
             "step_round")


def _begin(world: dict[str, Context], post: Post) -> None:
    """Two people and a session with both on the register at each establishment."""
    for code in ("PER", "BAR"):
        site = world[code]
        two = [people.create_person(site, given_name=f"{code}{i}", family_name="Start").id for i in range(2)]
        register(site, session_at(site, EARLIER).id, *two)
        post(code, OFFICE)
    for code in ("PER", "BAR"):
        post(OFFICE, code)


# derandomize: CI runs the same examples every time (a failure reproduces). Locally, explore:
# SRCDESK_SCOPE_RANDOM=1 SRCDESK_SCOPE_EXAMPLES=300 pytest tests/scenario/test_scope_late_entry.py -k normal_bundle
@pytest.mark.timeout(900)
@settings(max_examples=int(os.environ.get("SRCDESK_SCOPE_EXAMPLES", "25")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
          derandomize="SRCDESK_SCOPE_RANDOM" not in os.environ)
@given(data=st.data())
def test_a_normal_bundle_leaves_the_establishment_holding_what_a_full_one_would(template: Any,
                                                                                data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory(prefix="scope-") as tmp, synced(template, Path(tmp)) as (world, post):
        _begin(world, post)
        office = Office(world, post, data.draw)
        for _ in range(data.draw(st.integers(5, 25), label="steps")):
            getattr(office, data.draw(st.sampled_from(Office.STEPS)))()
        for parcel in data.draw(st.permutations(office.parcels)):
            sync.import_bundle(world[OFFICE], parcel, backup=False)
        post("BAR", OFFICE)
        post(OFFICE, "BAR")  # a normal bundle: no --full anywhere
        holds_its_scope(world, "BAR", exactly=False)
        _, before, _ = entitled(world["BAR"], office.est["BAR"])
        full = sync.import_bundle(world["BAR"], post.export(OFFICE, full=True).path, backup=False)
        assert (full.new, full.updated, full.conflicts, full.waiting) == (0, 0, 0, 0), full.describe()
        _, after, _ = entitled(world["BAR"], office.est["BAR"])
        assert after == before
