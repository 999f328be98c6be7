"""Proof of convergence: random edits everywhere, bundles duplicated, reordered and delayed.

The SRC office, two PCs at HMP Perth (one with its clock six hours fast), Barlinnie and Edinburgh
make random changes (people created, edited, deleted, transferred; sessions and registers, people
put on older registers after they moved on; the same person put on one register in two places; the
same programme code made in two places; conflicts settled, deleted people restored), including
concurrent edits of one field and edits racing a delete. Bundles are exported at random moments and delivered to their recipient as a random
selection in a random order, some twice, some late. After everything has been delivered and a
few rounds of ordinary exchange, every establishment holds exactly what the office holds of the
data it is entitled to, and every value that lost to a concurrent edit is in the conflict queue
of every installation that holds the record.

One template world (keys, enrolment) is built per module; each example works on copies of its
data folders.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from srcdesk.db import system_wall_ms
from srcdesk.errors import NotFound, PermissionDenied, ValidationError
from srcdesk.models import SYNCABLE_MODELS, Programme
from srcdesk.services import attendance, catalogue, certificates, conflicts, people, sessions, sync, trust
from srcdesk.services.base import Context, UserInfo
from srcdesk.services.check import run_check
from srcdesk.services.setup import init_installation, open_installation
from srcdesk.services.users import authenticate
from srcdesk.sync.changelog import content_columns
from srcdesk.sync.fold import DELETED_FIELD
from srcdesk.sync.scope import build_scope, drop_scope

PASSWORD = "password123"
# The establishment PCs by name, and the establishment each is at: two PCs at Perth.
CODE = {"PER": "PER", "PER2": "PER", "BAR": "BAR", "EDI": "EDI"}
SITES = tuple(CODE)
OFFICE = "office"
SKEWED = "PER2"  # its clock runs ahead (well within the day the importers allow)
SKEW_MS = 6 * 3600 * 1000
EDITABLE = ("notes", "consent_scope", "liberation_date")
TODAY = dt.date.today()
MAX_PEOPLE = 6
RESTORED = "*restored*"  # a Made that brought a deleted person back (settling an edit that raced the delete)
MODELS = {m.__tablename__: m for m in SYNCABLE_MODELS}


# -- the template world ---------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    folders: dict[str, Path]  # installation name -> closed data folder
    users: dict[str, UserInfo]  # its administrator


def _username(name: str) -> str:
    return "phr" if name == OFFICE else f"{name.lower()}admin"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    root = tmp_path_factory.mktemp("template")
    office = init_installation(root / OFFICE, establishment=None, office=True, admin_username="phr",
                               admin_name="PHR Officer", admin_password=PASSWORD,
                               recovery_key_out=root / "recovery.key")
    made: dict[str, Context] = {OFFICE: office}
    office_card = trust.export_card(office, root / "office.card")
    office_fp = trust.my_identity(office).fingerprint
    for code in SITES:
        site = init_installation(root / code.lower(), establishment=CODE[code], office=False,
                                 admin_username=_username(code), admin_name=f"{code} Admin", admin_password=PASSWORD)
        card = trust.export_card(site, root / f"{code.lower()}.card")
        trust.enrol(site, office_card.read_bytes(), office_fp)
        trust.enrol(office, card.read_bytes(), trust.my_identity(site).fingerprint)
        made[code] = site
    users = {}
    for name, c in made.items():
        users[name] = authenticate(c.db, _username(name), PASSWORD)
        c.db.close()  # closed: the copies are consistent files (no write-ahead log left over)
    return Template({name: c.db.data_dir for name, c in made.items()}, users)


@contextmanager
def copied_world(template: Template, where: Path) -> Iterator[dict[str, Context]]:
    """Copies of the template's data folders, opened, their administrators signed in."""
    ctxs: dict[str, Context] = {}
    try:
        for name, folder in template.folders.items():
            shutil.copytree(folder, where / name)
            opened = open_installation(where / name)
            if name == SKEWED:  # its PC's clock is fast: every change it makes is stamped ahead
                opened.db.wall_ms = lambda: system_wall_ms() + SKEW_MS
            ctxs[name] = Context(opened.db, opened.installation, template.users[name])
        yield ctxs
    finally:
        for c in ctxs.values():
            c.db.close()


@contextmanager
def raw(ctx: Context) -> Iterator[Any]:
    with ctx.db.engine.connect() as conn:
        yield conn.connection.driver_connection


def send(source: Context, target: Context, folder: Path) -> sync.ImportResult:
    """Export from ``source`` for ``target`` and import it there (in order, no loss)."""
    folder.mkdir(parents=True, exist_ok=True)
    to = target.installation.id if source.installation.is_office else None
    [result] = sync.export_bundles(source, folder, for_installation=to)
    return sync.import_bundle(target, result.path, backup=False)


# -- what an installation is entitled to, and what it holds of it -------------------------


def synced_columns(table: str) -> list[str]:
    """Every column that travels: all of them but the ones kept on each PC (password hashes)."""
    model = MODELS[table]
    return ["id", "origin_id", "created_hlc", "created_by", "updated_hlc", "updated_by", *content_columns(model)]


def entitled(ctx: Context, establishment_id: str) -> tuple[set[tuple[str, str]], dict[str, list[tuple]],
                                                          list[tuple]]:
    """(the rows in the establishment's scope as this database sees it, those rows' synced columns
    per table, the conflicts held about them)."""
    connection = ctx.db.engine.raw_connection()
    try:
        dbapi = connection.driver_connection
        build_scope(dbapi, establishment_id)
        try:
            scope = set(dbapi.execute("SELECT table_name, row_id FROM temp.sync_scope").fetchall())
            rows = {}
            for table in sorted({t for t, _ in scope}):
                cols = synced_columns(table)
                rows[table] = sorted(dbapi.execute(
                    f"SELECT {', '.join(cols)} FROM {table} WHERE id IN "
                    "(SELECT row_id FROM temp.sync_scope WHERE table_name = ?)", (table,)).fetchall(), key=repr)
            held = sorted(dbapi.execute(
                "SELECT c.table_name, c.row_id, c.field, c.winner_hlc, c.winner_origin, c.winner_user, c.winner_value, "
                "c.loser_hlc, c.loser_origin, c.loser_user, c.loser_value FROM sync_conflict c "
                "JOIN temp.sync_scope s ON s.table_name = c.table_name AND s.row_id = c.row_id").fetchall(), key=repr)
        finally:
            drop_scope(dbapi)
            dbapi.commit()
    finally:
        connection.close()
    return scope, rows, held


def digest(rows: dict[str, list[tuple]]) -> str:
    h = hashlib.sha256()
    for table in sorted(rows):
        h.update(table.encode())
        for row in rows[table]:
            h.update(repr(row).encode())
    return h.hexdigest()


# -- the simulation -------------------------------------------------------------------------


@dataclass(frozen=True)
class Made:
    """An edit (or a delete) made on one installation, and what that installation had seen."""

    where: str
    person_id: str
    field: str  # a person column, or DELETED_FIELD for a delete
    value: Any  # as it travels (dates as ISO text)
    version: tuple[int, str]
    seen: frozenset[tuple[int, str]]  # versions of the person this installation held before


@dataclass
class Parcel:
    path: Path
    delivered: int = 0


@dataclass
class Simulation:
    ctx: dict[str, Context]
    draw: Any  # hypothesis data.draw
    folder: Path
    people: list[str] = field(default_factory=list)
    sessions: dict[str, list[str]] = field(default_factory=lambda: {code: [] for code in SITES})
    queue: dict[str, list[Parcel]] = field(default_factory=lambda: {name: [] for name in (OFFICE, *SITES)})
    made: list[Made] = field(default_factory=list)
    certificates: list[str] = field(default_factory=list)
    counter: int = 0

    # -- reading an installation -----------------------------------------------------

    def versions(self, where: str, person_id: str) -> frozenset[tuple[int, str]]:
        with raw(self.ctx[where]) as db:
            return frozenset(db.execute("SELECT hlc, origin_id FROM change_log WHERE table_name = 'person' "
                                        "AND row_id = ?", (person_id,)).fetchall())

    def last_version(self, where: str, person_id: str) -> tuple[int, str]:
        with raw(self.ctx[where]) as db:
            return tuple(db.execute(
                "SELECT hlc, origin_id FROM change_log WHERE table_name = 'person' AND row_id = ? AND origin_id = ? "
                "ORDER BY seq DESC LIMIT 1", (person_id, self.ctx[where].installation.id)).fetchone())

    def live(self, where: str) -> list[str]:
        """People this installation holds and has not deleted, in creation order."""
        with raw(self.ctx[where]) as db:
            here = {r[0] for r in db.execute("SELECT id FROM person WHERE deleted_hlc IS NULL")}
        return [p for p in self.people if p in here]

    def holders(self, person_id: str) -> list[str]:
        return [name for name in (OFFICE, *SITES) if person_id in self.live(name)]

    # -- steps -------------------------------------------------------------------------

    def value(self, column: str) -> Any:
        self.counter += 1
        if column == "liberation_date":
            return (dt.date(2027, 1, 1) + dt.timedelta(days=self.counter)).isoformat()
        return f"{column} {self.counter}"

    def pick_person(self, holders: int = 1) -> tuple[str, list[str]] | None:
        candidates = [(p, h) for p in self.people if len(h := self.holders(p)) >= holders]
        if not candidates:
            return None
        return self.draw(st.sampled_from(candidates))

    def edit(self, where: str, person_id: str, column: str) -> None:
        value = self.value(column)
        seen = self.versions(where, person_id)
        people.update_person(self.ctx[where], person_id, **{column: value})
        self.made.append(Made(where, person_id, column, value, self.last_version(where, person_id), seen))
        note(f"{where}: {person_id[-6:]}.{column} = {value!r}")

    def delete(self, where: str, person_id: str) -> None:
        seen = self.versions(where, person_id)
        people.delete_person(self.ctx[where], person_id, "registered in error")
        self.made.append(Made(where, person_id, DELETED_FIELD, None, self.last_version(where, person_id), seen))
        note(f"{where}: delete {person_id[-6:]}")

    def start(self) -> None:
        """Two people at each establishment, known everywhere they belong."""
        for code in SITES:
            for _ in range(2):
                self.counter += 1
                p = people.create_person(self.ctx[code], given_name=f"Person{self.counter}", family_name=code.title())
                self.people.append(p.id)
            self.deliver(OFFICE, self.export(code, OFFICE))
        for code in SITES:
            self.deliver(code, self.export(OFFICE, code))

    def step_create(self) -> None:
        if len(self.people) >= MAX_PEOPLE:
            self.step_edit()
            return
        code = self.draw(st.sampled_from(SITES))
        self.counter += 1
        p = people.create_person(self.ctx[code], given_name=f"Person{self.counter}", family_name=code.title())
        self.people.append(p.id)
        note(f"{code}: create {p.id[-6:]}")

    def step_edit(self) -> None:
        picked = self.pick_person()
        if picked:
            person_id, holders = picked
            self.edit(self.draw(st.sampled_from(holders)), person_id, self.draw(st.sampled_from(EDITABLE)))

    def step_concurrent_edits(self) -> None:
        """Two installations edit the same field of one person before either hears of the other."""
        picked = self.pick_person(holders=2)
        if picked:
            person_id, holders = picked
            a, b = self.draw(st.permutations(holders))[:2]
            column = self.draw(st.sampled_from(EDITABLE))
            self.edit(a, person_id, column)
            self.edit(b, person_id, column)

    def step_delete_racing_edit(self) -> None:
        picked = self.pick_person(holders=2)
        if picked:
            person_id, holders = picked
            a, b = self.draw(st.permutations(holders))[:2]
            column = self.draw(st.sampled_from(EDITABLE))
            if self.draw(st.booleans()):
                self.delete(a, person_id)
                self.edit(b, person_id, column)
            else:
                self.edit(b, person_id, column)
                self.delete(a, person_id)

    def step_delete(self) -> None:
        picked = self.pick_person()
        if picked:
            person_id, holders = picked
            self.delete(self.draw(st.sampled_from(holders)), person_id)

    def step_transfer(self) -> None:
        office = self.ctx[OFFICE]
        sites = {self.ctx[code].installation.establishment_id: CODE[code] for code in SITES}
        with raw(office) as db:
            at = dict(db.execute("SELECT id, establishment_id FROM person WHERE deleted_hlc IS NULL").fetchall())
        movable = [p for p in self.people if at.get(p) in sites]
        if not movable:
            return
        person_id = self.draw(st.sampled_from(movable))
        ids = {code: est for est, code in sites.items()}
        to = self.draw(st.sampled_from(sorted(c for c in ids if c != sites[at[person_id]])))
        people.transfer_person(office, person_id, ids[to], on=TODAY, reason="moved")
        note(f"office: transfer {person_id[-6:]} {sites[at[person_id]]} -> {to}")

    def step_session(self) -> None:
        code = self.draw(st.sampled_from(SITES))
        here = self.live(code)
        who = self.draw(st.lists(st.sampled_from(here), unique=True, max_size=4)) if here else []
        day = TODAY - dt.timedelta(days=self.draw(st.integers(0, 30)))
        out = sessions.save_session(self.ctx[code], date=day, start_time="10:00", end_time="11:30",
                                    activity_type_id="act-cafe")
        attendance.save_register(self.ctx[code], out.session.id, [attendance.RegisterEntry(p) for p in who])
        self.sessions[code].append(out.session.id)
        note(f"{code}: session {out.session.id[-6:]} with {[p[-6:] for p in who]}")

    def step_register(self) -> None:
        code = self.draw(st.sampled_from([c for c in SITES if self.sessions[c]] or [None]))
        if code is None:
            return
        session_id = self.draw(st.sampled_from(self.sessions[code]))
        here = self.live(code)
        who = self.draw(st.lists(st.sampled_from(here), unique=True, max_size=4)) if here else []
        status = self.draw(st.sampled_from(("present", "absent")))
        attendance.save_register(self.ctx[code], session_id,
                                 [attendance.RegisterEntry(p, status=status) for p in who])
        note(f"{code}: register {session_id[-6:]} = {[p[-6:] for p in who]} {status}")

    def holding(self, table: str, row_id: str) -> list[str]:
        """Installations holding a live row."""
        out = []
        for name in (OFFICE, *SITES):
            with raw(self.ctx[name]) as db:
                if db.execute(f"SELECT 1 FROM {table} WHERE id = ? AND deleted_hlc IS NULL", (row_id,)).fetchone():
                    out.append(name)
        return out

    def step_same_line(self) -> None:
        """Two installations that both hold a session put the same person on its register before
        either hears of the other (the same natural key made twice: one line after the merge)."""
        options = []
        for code in SITES:
            for session_id in self.sessions[code]:
                where = self.holding("session", session_id)
                for p in self.people:
                    both = [w for w in where if p in self.live(w)]
                    if len(both) >= 2:
                        options.append((session_id, p, both))
        if not options:
            return
        session_id, person_id, both = self.draw(st.sampled_from(options))
        a, b = self.draw(st.permutations(both))[:2]
        for where, status in ((a, "present"), (b, self.draw(st.sampled_from(("present", "late", "absent"))))):
            try:
                attendance.add_to_register(self.ctx[where], session_id, attendance.RegisterEntry(person_id, status=status))
            except (ValidationError, PermissionDenied, NotFound):
                continue  # already on the register there, or not this PC's to change
            note(f"{where}: {person_id[-6:]} on register {session_id[-6:]} ({status})")

    def step_programme(self) -> None:
        """Two installations add a programme with the same code (one programme after the merge)."""
        code = self.draw(st.sampled_from(("NEW1", "NEW2")))
        a, b = self.draw(st.permutations((OFFICE, *SITES)))[:2]
        for where in (a, b):
            try:
                catalogue.create(self.ctx[where], Programme, code=code, name=f"{code} as {where} named it")
            except (ValidationError, PermissionDenied):
                continue  # that code is already there
            note(f"{where}: programme {code}")

    def step_certificate(self) -> None:
        """A PC that holds someone issues them a certificate (a module's: frozen content, a code
        signed by its key)."""
        picked = self.pick_person()
        if picked is None:
            return
        person_id, holders = picked
        where = self.draw(st.sampled_from(holders))
        cert = certificates.issue(self.ctx[where], person_id=person_id, kind="module", module_id="mod-rcdt-01")
        self.certificates.append(cert.id)
        note(f"{where}: certificate {cert.serial} for {person_id[-6:]}")

    def step_certificate_status(self) -> None:
        """Two PCs that may change a certificate revoke or reissue it, perhaps at the same time
        (the loser of the race goes to the conflict queue; both records stay)."""
        options = []
        for cid in self.certificates:
            for where in (OFFICE, *SITES):
                with raw(self.ctx[where]) as db:
                    row = db.execute("SELECT establishment_id, status FROM certificate WHERE id = ?", (cid,)).fetchone()
                if row and row[1] == "valid" and (where == OFFICE
                                                  or row[0] == self.ctx[where].installation.establishment_id):
                    options.append((cid, where))
        if not options:
            return
        for cid, where in self.draw(st.lists(st.sampled_from(options), min_size=1, max_size=2, unique=True)):
            try:
                if self.draw(st.booleans()):
                    certificates.revoke(self.ctx[where], cid, f"revoked at {where}")
                    note(f"{where}: revoke certificate {cid[-6:]}")
                else:
                    new = certificates.reissue(self.ctx[where], cid, f"reissued at {where}")
                    self.certificates.append(new.id)
                    note(f"{where}: reissue certificate {cid[-6:]} as {new.serial}")
            except NotFound:  # its person was deleted here meanwhile: nothing to reissue to
                note(f"{where}: certificate {cid[-6:]}'s person is gone here")

    def step_resolve(self) -> None:
        """Someone settles a conflict about a person: keep, or take the other (a deleted person
        edited elsewhere comes back)."""
        options = []
        for where in (OFFICE, *SITES):
            for c in conflicts.list_conflicts(self.ctx[where]):
                if c.table_name == "person" and c.row_id in self.people:
                    options.append((where, c))
        if not options:
            return
        where, c = self.draw(st.sampled_from(options))
        choice = self.draw(st.sampled_from(("keep", "other")))
        seen = self.versions(where, c.row_id)
        try:
            conflicts.resolve_conflict(self.ctx[where], c.id, choice)
        except (NotFound, PermissionDenied, ValidationError):
            return
        version = self.last_version(where, c.row_id)
        with raw(self.ctx[where]) as db:
            row = dict(zip(("deleted_hlc", *EDITABLE), db.execute(
                f"SELECT deleted_hlc, {', '.join(EDITABLE)} FROM person WHERE id = ?", (c.row_id,)).fetchone(),
                strict=True))
        if c.is_delete and choice == "keep":
            self.made.append(Made(where, c.row_id, DELETED_FIELD, None, version, seen))
        elif c.is_delete:  # restored with the edit: the fields it set, and the record is back
            for f in EDITABLE:
                if f in (c.other.value or {}):
                    self.made.append(Made(where, c.row_id, f, row[f], version, seen))
            self.made.append(Made(where, c.row_id, RESTORED, None, version, seen))
        elif c.field in EDITABLE:
            value = row[c.field]
            self.made.append(Made(where, c.row_id, c.field, value.isoformat() if hasattr(value, "isoformat")
                                  else value, version, seen))
        note(f"{where}: settle {c.row_id[-6:]}.{c.field} {choice}")

    def export(self, source: str, recipient: str) -> Parcel:
        folder = self.folder / f"{len(list(self.folder.iterdir())):04d}"
        folder.mkdir()
        to = self.ctx[recipient].installation.id if source == OFFICE else None
        [result] = sync.export_bundles(self.ctx[source], folder, for_installation=to)
        parcel = Parcel(result.path)
        self.queue[recipient].append(parcel)
        note(f"export {source} -> {recipient}: {result.path.name} ({result.changes} changes)")
        return parcel

    def step_export(self) -> None:
        source = self.draw(st.sampled_from((OFFICE, *SITES)))
        self.export(source, self.draw(st.sampled_from(SITES)) if source == OFFICE else OFFICE)

    def deliver(self, recipient: str, parcel: Parcel) -> None:
        result = sync.import_bundle(self.ctx[recipient], parcel.path, backup=False)
        assert result.already_imported == (parcel.delivered > 0), parcel.path.name
        assert min(result.new, result.updated, result.unchanged, result.conflicts, result.waiting) >= 0, (
            result.describe())
        parcel.delivered += 1
        note(f"deliver {parcel.path.name} to {recipient}: {result.describe()}")

    def step_deliver(self) -> None:
        """Some of the recipient's parcels, in any order, some twice; the rest stay in the post."""
        waiting = [name for name, q in self.queue.items() if q]
        if not waiting:
            return
        recipient = self.draw(st.sampled_from(waiting))
        q = self.queue[recipient]
        picks = self.draw(st.lists(st.integers(0, len(q) - 1), min_size=1, max_size=len(q) + 1))
        for i in picks:
            self.deliver(recipient, q[i])

    def step_sync(self) -> None:
        """An ordinary day: an establishment and the office exchange bundles, delivered at once."""
        code = self.draw(st.sampled_from(SITES))
        self.deliver(OFFICE, self.export(code, OFFICE))
        self.deliver(code, self.export(OFFICE, code))

    def step_edit_after_conflict(self) -> None:
        """Someone edits (or deletes) a record that had concurrent edits, wherever it is held."""
        touched = sorted({(m.person_id, m.field) for m in self.made if m.field not in (DELETED_FIELD, RESTORED)})
        if not touched:
            return
        person_id, column = self.draw(st.sampled_from(touched))
        holders = self.holders(person_id)
        if holders:
            where = self.draw(st.sampled_from(holders))
            if self.draw(st.integers(0, 3)) == 0:
                self.delete(where, person_id)
            else:
                self.edit(where, person_id, column)

    # Few people, many edits: conflicts, races and transfers pile up on the same records.
    STEPS = ("step_create", "step_create", "step_edit", "step_edit", "step_concurrent_edits",
             "step_concurrent_edits", "step_edit_after_conflict", "step_edit_after_conflict",
             "step_delete_racing_edit", "step_delete", "step_transfer", "step_transfer", "step_session",
             "step_register", "step_register", "step_export", "step_export", "step_deliver", "step_deliver",
             "step_sync", "step_sync", "step_sync", "step_same_line", "step_same_line", "step_programme",
             "step_resolve", "step_certificate", "step_certificate_status")

    def quiesce(self) -> None:
        """Every late parcel arrives (in any order), then one ordinary round in order
        (establishments -> office -> establishments); after it, nobody has anything left to send."""
        for recipient, q in self.queue.items():
            late = [p for p in q if not p.delivered]
            for parcel in self.draw(st.permutations(late)):
                self.deliver(recipient, parcel)
        # Ordinary rounds until nobody has anything to send: a merge made on one PC is a change of
        # its own, so two PCs of one establishment may need a second round through the office.
        for _ in range(2):
            for code in SITES:
                self.deliver(OFFICE, self.export(code, OFFICE))
            for code in SITES:
                self.deliver(code, self.export(OFFICE, code))
        for code in SITES:
            for source, recipient in ((code, OFFICE), (OFFICE, code)):
                folder = self.folder / f"quiet-{source}-{recipient}"
                folder.mkdir()
                to = self.ctx[recipient].installation.id if source == OFFICE else None
                [r] = sync.export_bundles(self.ctx[source], folder, for_installation=to)
                assert r.changes == 0, f"{source} still had {r.counts} to send {recipient} after a full round"


# -- the proof ------------------------------------------------------------------------------


def assert_converged(sim: Simulation) -> None:
    office = sim.ctx[OFFICE]
    for name, c in sim.ctx.items():
        report = run_check(c.db)
        assert report.ok, (name, report.problems)
        assert not any("wait for a bundle" in n for n in report.notes), (name, report.notes)
    holders: dict[str, set[str]] = {p: {OFFICE} for p in sim.people}
    for code in SITES:
        est = sim.ctx[code].installation.establishment_id
        scope_o, rows_o, conflicts_o = entitled(office, est)
        scope_e, rows_e, conflicts_e = entitled(sim.ctx[code], est)
        assert scope_e == scope_o, (code, sorted(scope_e ^ scope_o)[:10])
        for table in rows_o:
            assert rows_e[table] == rows_o[table], (code, table, differences(rows_e[table], rows_o[table]))
        assert digest(rows_e) == digest(rows_o)
        assert conflicts_e == conflicts_o, (code, sorted(set(conflicts_e) ^ set(conflicts_o))[:6])
        # It holds nothing it is not entitled to (other establishments' people stay away).
        with raw(sim.ctx[code]) as db:
            persons = {r[0] for r in db.execute("SELECT id FROM person")}
        assert persons <= {r for t, r in scope_o if t == "person"}, code
        for p in persons:
            holders[p].add(code)

    # Every value that lost to a concurrent edit is in the queue, unless a later change made
    # knowing it overwrote it, or it is the value that stands.
    edits = [m for m in sim.made if m.field not in (DELETED_FIELD, RESTORED)]
    deletes = [m for m in sim.made if m.field == DELETED_FIELD]
    restored = {m.person_id for m in sim.made if m.field == RESTORED}
    with raw(office) as db:
        final = {r[0]: dict(zip(("notes", "consent_scope", "liberation_date", "deleted_hlc"), r[1:], strict=True))
                 for r in db.execute("SELECT id, notes, consent_scope, liberation_date, deleted_hlc FROM person")}

    def knowingly_overwritten(m: Made) -> bool:
        return any(m.version in k.seen for k in sim.made if k.person_id == m.person_id and k.field in (m.field,
                                                                                                      DELETED_FIELD))

    # (an overwritten edit, whether it must be queued as racing a delete)
    expected: list[tuple[Made, bool]] = []
    for i, a in enumerate(edits):
        for b in edits[i + 1:]:
            if (a.person_id, a.field) != (b.person_id, b.field) or a.value == b.value:
                continue
            if a.version in b.seen or b.version in a.seen:
                continue  # one saw the other: sequential
            loser = min(a, b, key=lambda m: m.version)
            if final[loser.person_id][loser.field] != loser.value and not knowingly_overwritten(loser):
                expected.append((loser, False))
    for p in sim.people:
        mine = [d for d in deletes if d.person_id == p]
        if not mine or p in restored:  # (a person brought back by a settled conflict: see above)
            continue
        winner = max(mine, key=lambda m: m.version)
        for where in holders[p]:  # deleted everywhere: no edit brought it back
            with raw(sim.ctx[where]) as db:
                assert db.execute("SELECT deleted_hlc FROM person WHERE id = ?", (p,)).fetchone()[0] is not None, (
                    f"{where}: person {p} was deleted but is back")
        for e in edits:  # an edit racing the delete, unless someone overwrote it knowingly first
            if e.person_id == p and e.version not in winner.seen and not knowingly_overwritten(e):
                expected.append((e, True))
    for made, raced in expected:
        for where in holders[made.person_id]:
            with raw(sim.ctx[where]) as db:
                queued = db.execute(
                    "SELECT field, loser_value FROM sync_conflict WHERE table_name = 'person' AND row_id = ? "
                    "AND loser_hlc = ? AND loser_origin = ?", (made.person_id, *made.version)).fetchall()
            values = {f: json.loads(v)["v"] for f, v in queued}
            # A value that lost to a concurrent edit is queued as such, or, when the record was
            # deleted meanwhile by someone who had not seen it, as an edit racing the delete.
            as_field = not raced and values.get(made.field, object()) == made.value
            as_raced = (values.get(DELETED_FIELD) or {}).get(made.field, object()) == made.value
            assert as_field or as_raced, (f"{where} lost {made} without queueing it", queued)


def differences(here: list[tuple], office: list[tuple]) -> list[str]:
    """What differs, record by record and value by value (a failure says what, not just that)."""
    by_id_here, by_id_office = {r[0]: r for r in here}, {r[0]: r for r in office}
    out = []
    for rid in sorted(set(by_id_here) | set(by_id_office)):
        a, b = by_id_here.get(rid), by_id_office.get(rid)
        if a is None or b is None:
            out.append(f"{rid}: {'only at the office' if a is None else 'only here'}")
        elif a != b:
            pairs = enumerate(zip(a, b, strict=True))
            out.append(f"{rid}: " + ", ".join(f"#{i} here {x!r} office {y!r}" for i, (x, y) in pairs if x != y))
    return out[:6]


# CI runs the same 20 examples every time (derandomized: a failure reproduces). To explore, run
# with SRCDESK_CONVERGENCE_EXAMPLES=300: that many examples from a random seed (printed on failure).
EXPLORE = int(os.environ.get("SRCDESK_CONVERGENCE_EXAMPLES", "0"))


@pytest.mark.timeout(900 + 60 * EXPLORE)  # room for hypothesis to shrink a failure (it stops itself after 5 min)
@settings(max_examples=EXPLORE or 20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], derandomize=not EXPLORE)
@given(data=st.data())
def test_random_edits_and_unreliable_post_converge(template: Template, data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory(prefix="convergence-") as tmp, copied_world(template, Path(tmp)) as ctxs:
        stick = Path(tmp) / "stick"
        stick.mkdir()
        sim = Simulation(ctxs, data.draw, stick)
        sim.start()
        for _ in range(data.draw(st.integers(10, 40), label="steps")):
            getattr(sim, data.draw(st.sampled_from(Simulation.STEPS)))()
        sim.quiesce()
        assert_converged(sim)


# -- explicit scenarios -----------------------------------------------------------------------


@pytest.fixture
def world(template: Template, tmp_path: Path) -> Iterator[dict[str, Context]]:
    with copied_world(template, tmp_path) as ctxs:
        yield ctxs


def test_a_transfer_carries_the_person_and_their_history_to_the_new_establishment(world, tmp_path) -> None:  # noqa: ANN001
    office, per, bar = world[OFFICE], world["PER"], world["BAR"]
    stick = tmp_path / "stick"
    p = people.create_person(per, given_name="Jo", family_name="Bloggs", notes="at Perth")
    other = people.create_person(per, given_name="Al", family_name="Stays")
    s = sessions.save_session(per, date=TODAY, start_time="10:00", end_time="11:00", activity_type_id="act-cafe")
    attendance.save_register(per, s.session.id, [attendance.RegisterEntry(p.id), attendance.RegisterEntry(other.id)])
    send(per, office, stick / "1")
    send(office, bar, stick / "2")
    with raw(bar) as db:  # not Barlinnie's people yet
        assert db.execute("SELECT count(*) FROM person WHERE id IN (?, ?)", (p.id, other.id)).fetchone()[0] == 0

    move = people.transfer_person(office, p.id, bar.installation.establishment_id, on=TODAY, reason="moved")
    send(office, bar, stick / "3")
    send(office, per, stick / "4")

    with raw(bar) as db:
        row = db.execute("SELECT establishment_id, notes, deleted_hlc FROM person WHERE id = ?", (p.id,)).fetchone()
        assert row == (bar.installation.establishment_id, "at Perth", None)
        assert db.execute("SELECT count(*) FROM person_transfer WHERE id = ?", (move.id,)).fetchone()[0] == 1
        assert db.execute("SELECT count(*) FROM session WHERE id = ?", (s.session.id,)).fetchone()[0] == 1
        got = db.execute("SELECT person_id FROM attendance WHERE session_id = ?", (s.session.id,)).fetchall()
        assert got == [(p.id,)]  # their attendance, not the rest of the register
        assert db.execute("SELECT count(*) FROM person WHERE id = ?", (other.id,)).fetchone()[0] == 0
    assert [r.to_establishment_id for r in people.establishment_history(bar, p.id)] == [
        bar.installation.establishment_id]
    with raw(per) as db:  # Perth keeps its history, and learns where the person went
        assert db.execute("SELECT establishment_id FROM person WHERE id = ?", (p.id,)).fetchone()[0] == \
            bar.installation.establishment_id
        assert db.execute("SELECT count(*) FROM attendance WHERE session_id = ?", (s.session.id,)).fetchone()[0] == 2
        assert db.execute("SELECT count(*) FROM person_transfer WHERE id = ?", (move.id,)).fetchone()[0] == 1

    # Barlinnie can now work with the person, and the office and Perth hear of it.
    people.update_person(bar, p.id, notes="at Barlinnie")
    send(bar, world[OFFICE], stick / "5")
    send(office, per, stick / "6")
    assert people.get_person(per, p.id).notes == "at Barlinnie"
    for c in world.values():
        assert run_check(c.db).ok


def test_a_later_bundle_imported_before_an_earlier_one_is_applied(world, tmp_path) -> None:  # noqa: ANN001
    """A register referring to a person from a bundle still in the post: the import must not
    fail; the two bundles in either order give the same data."""
    office, per = world[OFFICE], world["PER"]
    p = people.create_person(per, given_name="Jo", family_name="Bloggs")
    (tmp_path / "1").mkdir()
    [first] = sync.export_bundles(per, tmp_path / "1")
    s = sessions.save_session(per, date=TODAY, start_time="10:00", end_time="11:00", activity_type_id="act-cafe")
    attendance.save_register(per, s.session.id, [attendance.RegisterEntry(p.id)])
    (tmp_path / "2").mkdir()
    [second] = sync.export_bundles(per, tmp_path / "2")
    later = sync.import_bundle(office, second.path, backup=False)
    assert later.waiting == 1  # the register line waits for its person
    earlier = sync.import_bundle(office, first.path, backup=False)
    assert (earlier.new, earlier.waiting) == (3, 0), earlier.describe()  # the person, its admin, the line
    assert run_check(office.db).ok
    with raw(office) as db:
        assert db.execute("SELECT person_id FROM attendance WHERE session_id = ?", (s.session.id,)).fetchall() == [
            (p.id,)]


def queue(ctx: Context) -> list[tuple]:
    """The conflict queue as every installation should hold it (not when each PC first saw it)."""
    with raw(ctx) as db:
        return sorted(db.execute(
            "SELECT table_name, row_id, field, winner_hlc, winner_origin, winner_value, loser_hlc, loser_origin, "
            "loser_value FROM sync_conflict").fetchall())


def test_a_local_edit_or_delete_keeps_the_conflict_queue_current(world, tmp_path) -> None:  # noqa: ANN001
    """After a conflict, the office edits the field again, then deletes the person: its own queue
    must say what every other installation's says (the current value; then nothing left)."""
    office, per = world[OFFICE], world["PER"]
    stick = tmp_path / "stick"
    p = people.create_person(per, given_name="Jo", family_name="Bloggs")
    send(per, office, stick / "1")
    people.update_person(office, p.id, notes="office")
    people.update_person(per, p.id, notes="perth")
    send(per, office, stick / "2")
    assert [(c.current.value, c.other.value) for c in conflicts.list_conflicts(office)] == [("perth", "office")]

    people.update_person(office, p.id, notes="office again")
    send(office, per, stick / "3")
    assert [(c.current.value, c.other.value) for c in conflicts.list_conflicts(per)] == [("office again", "office")]
    assert [(c.current.value, c.other.value) for c in conflicts.list_conflicts(office)] == [("office again", "office")]
    assert queue(office) == queue(per)

    people.delete_person(office, p.id, "registered in error")  # overwrites every value it had seen
    send(office, per, stick / "4")
    assert queue(per) == []
    assert queue(office) == []


def test_a_person_on_an_older_register_brings_that_session_to_their_new_establishment(world, tmp_path) -> None:  # noqa: ANN001
    """Perth adds someone already transferred to Barlinnie to the register of an older session:
    Barlinnie is now entitled to that session, whose creation it never received."""
    office, per, bar = world[OFFICE], world["PER"], world["BAR"]
    stick = tmp_path / "stick"
    p = people.create_person(per, given_name="Jo", family_name="Moves")
    q = people.create_person(per, given_name="Al", family_name="Stays")
    s = sessions.save_session(per, date=TODAY, start_time="10:00", end_time="11:00",
                              activity_type_id="act-cafe").session
    attendance.save_register(per, s.id, [attendance.RegisterEntry(q.id)])
    send(per, office, stick / "1")
    send(office, bar, stick / "2")
    people.transfer_person(office, p.id, bar.installation.establishment_id, on=TODAY)
    send(office, bar, stick / "3")
    attendance.save_register(per, s.id, [attendance.RegisterEntry(q.id), attendance.RegisterEntry(p.id)])
    send(per, office, stick / "4")
    send(office, bar, stick / "5")
    with raw(bar) as db:
        assert db.execute("SELECT count(*) FROM session WHERE id = ?", (s.id,)).fetchone()[0] == 1
        assert db.execute("SELECT person_id FROM attendance WHERE session_id = ?", (s.id,)).fetchall() == [(p.id,)]
    assert run_check(bar.db).ok
    send(bar, office, stick / "6")  # the office hears of Barlinnie's own records (its account)
    _, rows_o, _ = entitled(office, bar.installation.establishment_id)
    _, rows_b, _ = entitled(bar, bar.installation.establishment_id)
    assert rows_b == rows_o


def test_a_register_line_waiting_for_its_session_can_change_again_before_the_session_arrives(world, tmp_path) -> None:  # noqa: ANN001
    """Perth records a session, adds someone to its register, then takes them off again; the
    office receives the three bundles last, second, first."""
    office, per = world[OFFICE], world["PER"]
    stick = tmp_path / "stick"
    p = people.create_person(per, given_name="Jo", family_name="Bloggs")
    send(per, office, stick / "0")
    s = sessions.save_session(per, date=TODAY, start_time="10:00", end_time="11:00", activity_type_id="act-cafe")
    bundles = []
    for n, who in enumerate(([], [p.id], [])):
        attendance.save_register(per, s.session.id, [attendance.RegisterEntry(i) for i in who])
        (stick / str(n + 1)).mkdir()
        [r] = sync.export_bundles(per, stick / str(n + 1))
        bundles.append(r.path)
    results = [sync.import_bundle(office, bundles[i], backup=False) for i in (1, 2, 0)]
    for r in results:  # counts people read: never below zero
        assert min(r.new, r.updated, r.unchanged, r.conflicts, r.waiting) >= 0, r.describe()
    assert run_check(office.db).ok
    send(office, per, stick / "back")  # Perth gets the office's own records (its accounts)
    _, rows_o, _ = entitled(office, per.installation.establishment_id)
    _, rows_p, _ = entitled(per, per.installation.establishment_id)
    assert rows_o == rows_p


def test_taking_someone_off_a_register_twice_is_no_conflict(world, tmp_path) -> None:  # noqa: ANN001
    """Perth marks someone absent, takes them off the register, puts them back, takes them off
    again: all one PC's own sequential edits, so nothing for the conflict queue anywhere."""
    office, per = world[OFFICE], world["PER"]
    p = people.create_person(per, given_name="Jo", family_name="Bloggs")
    s = sessions.save_session(per, date=TODAY, start_time="10:00", end_time="11:00", activity_type_id="act-cafe")
    for entries in ([attendance.RegisterEntry(p.id)], [attendance.RegisterEntry(p.id, status="absent")], [],
                    [attendance.RegisterEntry(p.id, status="absent")], []):
        attendance.save_register(per, s.session.id, entries)
    send(per, office, tmp_path / "1")
    assert queue(office) == []
    assert queue(per) == []


def test_a_kept_deletion_settles_the_same_value_everywhere(world, tmp_path) -> None:  # noqa: ANN001
    """Found by the random run: the office and Barlinnie edit one field at once, then the office
    deletes the person while Barlinnie edits another field; the office keeps the deletion. Both
    must end with the same value in the first field (each had ended with the other's)."""
    office, bar = world[OFFICE], world["BAR"]
    stick = tmp_path / "stick"
    p = people.create_person(bar, given_name="Jo", family_name="Bloggs")
    send(bar, office, stick / "1")
    send(office, bar, stick / "2")
    office.db.wall_ms = lambda: system_wall_ms() + SKEW_MS  # the office has heard from a fast clock
    people.update_person(office, p.id, notes="office")
    people.update_person(bar, p.id, notes="barlinnie")
    people.delete_person(office, p.id, "registered in error")
    people.update_person(bar, p.id, consent_scope="barlinnie")
    send(bar, office, stick / "3")
    send(office, bar, stick / "4")
    deleted = next(c for c in conflicts.list_conflicts(office) if c.is_delete)
    conflicts.resolve_conflict(office, deleted.id, "keep")
    send(office, bar, stick / "5")
    send(bar, office, stick / "6")
    with raw(office) as a, raw(bar) as b:
        here = b.execute("SELECT notes, consent_scope, deleted_hlc IS NOT NULL FROM person WHERE id = ?",
                         (p.id,)).fetchone()
        there = a.execute("SELECT notes, consent_scope, deleted_hlc IS NOT NULL FROM person WHERE id = ?",
                          (p.id,)).fetchone()
    assert here == there and here[0] == "office"  # the later of the two edits, as everywhere
    assert queue(office) == queue(bar)


def test_a_restore_raced_by_a_delete_that_never_saw_it_is_queued(world, tmp_path) -> None:  # noqa: ANN001
    """Perth edits a person the office deletes; the office settles it by restoring the person with
    Perth's edit. Meanwhile Perth (its clock fast) edits the same field again and deletes the
    person, never having heard of the office's deletion or restore. The restore's value must end
    up somewhere on every PC: the field, or the conflict queue (found by the random run: the
    restore logged only the tombstone, the values being on it already, so nothing raced)."""
    office, per = world[OFFICE], world["PER"]
    stick = tmp_path / "stick"
    p = people.create_person(per, given_name="Jo", family_name="Bloggs")
    send(per, office, stick / "1")
    send(office, per, stick / "2")
    people.update_person(per, p.id, consent_scope="perth first")
    people.delete_person(office, p.id, "registered in error")
    send(per, office, stick / "3")
    per.db.wall_ms = lambda: system_wall_ms() + SKEW_MS
    people.update_person(per, p.id, consent_scope="perth later")
    people.delete_person(per, p.id, "left")
    restore = next(c for c in conflicts.list_conflicts(office) if c.is_delete)
    conflicts.resolve_conflict(office, restore.id, "other")
    send(per, office, stick / "4")
    send(office, per, stick / "5")
    for ctx in (office, per):
        with raw(ctx) as db:
            [value] = db.execute("SELECT consent_scope FROM person WHERE id = ?", (p.id,)).fetchone()
        queued = [c for c in conflicts.list_conflicts(ctx) if c.row_id == p.id]
        raced = any((c.other.value or {}).get("consent_scope") == "perth first" for c in queued if c.is_delete)
        assert value == "perth first" or raced or any(c.other.value == "perth first" for c in queued), (
            value, [(c.field, c.current.value, c.other.value) for c in queued])
