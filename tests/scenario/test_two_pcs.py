"""Two PCs at one establishment (issue 9, item 5): a supported set-up.

The world: the SRC office, two PCs at HMP Perth (PER-1, PER-2: each its own `init --establishment
PER`, its own keys, enrolled at the office like any PC, with the same administrator name) and one
at HMP Barlinnie (BAR). What each Perth PC records reaches the office and, through it, the other
Perth PC, and not Barlinnie; the same record made on both is one record everywhere, the
difference in the conflict queue; bundle names and certificate serials never clash; nothing is
ever refused for any of it.

One template world (keys, enrolment) is built per module; each test works on copies of its data
folders.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from srcdesk.cli import main
from srcdesk.ids import new_id
from srcdesk.models import SYNCABLE_MODELS, Certificate, LocalState, Module, Programme
from srcdesk.services import (
    attendance,
    catalogue,
    certificates,
    conflicts,
    ladder,
    people,
    sessions,
    setup,
    sync,
    trust,
)
from srcdesk.services.base import Context, UserInfo
from srcdesk.services.check import run_check
from srcdesk.services.setup import init_installation, open_installation
from srcdesk.services.users import authenticate
from srcdesk.sync.changelog import content_columns
from srcdesk.sync.scope import build_scope, drop_scope

PASSWORD = "password123"
OFFICE = "office"
PERTH = ("PER-1", "PER-2")
SITES = {"PER-1": "PER", "PER-2": "PER", "BAR": "BAR"}  # installation -> establishment code
USERS = {OFFICE: "phr", "PER-1": "admin", "PER-2": "admin", "BAR": "admin"}  # the same name on both Perth PCs
TODAY = dt.date.today()
MODELS = {m.__tablename__: m for m in SYNCABLE_MODELS}


# -- the world ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    folders: dict[str, Path]  # installation name -> closed data folder
    users: dict[str, UserInfo]  # its administrator


def build_world(root: Path, sites: dict[str, str]) -> dict[str, Context]:
    """The office and ``sites`` (name -> establishment code), each PC enrolled at the office and the
    office at each PC, fingerprints checked, as an administrator would with `srcdesk keys`."""
    root.mkdir(parents=True, exist_ok=True)
    office = init_installation(root / OFFICE, establishment=None, office=True, admin_username=USERS[OFFICE],
                               admin_name="PHR Officer", admin_password=PASSWORD,
                               recovery_key_out=root / "recovery.key")
    made: dict[str, Context] = {OFFICE: office}
    office_card = trust.export_card(office, root / "office.card")
    office_fp = trust.my_identity(office).fingerprint
    for name, code in sites.items():
        site = init_installation(root / name.lower(), establishment=code, office=False,
                                 admin_username=USERS[name], admin_name=f"{name} Admin", admin_password=PASSWORD)
        card = trust.export_card(site, root / f"{name.lower()}.card")
        trust.enrol(site, office_card.read_bytes(), office_fp)
        trust.enrol(office, card.read_bytes(), trust.my_identity(site).fingerprint)
        made[name] = site
    return made


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    root = tmp_path_factory.mktemp("two-pcs")
    made = build_world(root, SITES)
    users = {}
    for name, c in made.items():
        users[name] = authenticate(c.db, USERS[name], PASSWORD)
        c.db.close()  # closed: the copies are consistent files (no write-ahead log left over)
    return Template({name: c.db.data_dir for name, c in made.items()}, users)


@contextmanager
def copied_world(template: Template, where: Path) -> Iterator[dict[str, Context]]:
    ctxs: dict[str, Context] = {}
    try:
        for name, folder in template.folders.items():
            shutil.copytree(folder, where / name)
            opened = open_installation(where / name)
            ctxs[name] = Context(opened.db, opened.installation, template.users[name])
        yield ctxs
    finally:
        for c in ctxs.values():
            c.db.close()


@pytest.fixture
def world(template: Template, tmp_path: Path) -> Iterator[dict[str, Context]]:
    with copied_world(template, tmp_path / "world") as ctxs:
        yield ctxs


class Post:
    """The USB stick: bundles exported and imported at once, in order."""

    def __init__(self, world: dict[str, Context], folder: Path) -> None:
        self.world, self.folder, self.n = world, folder, 0

    def send(self, source: str, target: str) -> dict[str, Any]:
        """Export from ``source`` for ``target`` and import it there; the summary the import recorded.
        A refused bundle raises, so every send here is also the proof that nothing was refused."""
        self.n += 1
        folder = self.folder / f"{self.n:03d}-{source}-to-{target}"
        folder.mkdir(parents=True)
        src, dst = self.world[source], self.world[target]
        [made] = sync.export_bundles(src, folder, for_installation=dst.installation.id if source == OFFICE else None)
        result = sync.import_bundle(dst, made.path, backup=False)
        assert not result.already_imported
        with raw(dst) as db:
            [(summary,)] = db.execute("SELECT summary FROM bundle_record WHERE bundle_id = ?",
                                      (result.verified.bundle_id,)).fetchall()
        return json.loads(summary)

    def round(self) -> list[dict[str, Any]]:
        """An ordinary round: every establishment PC sends to the office, then the office sends to
        each. Nothing is held or left waiting anywhere."""
        got = [self.send(name, OFFICE) for name in SITES] + [self.send(OFFICE, name) for name in SITES]
        for summary in got:
            assert (summary["held"], summary["waiting"]) == (0, 0), summary
        return got


@pytest.fixture
def post(world: dict[str, Context], tmp_path: Path) -> Post:
    return Post(world, tmp_path / "stick")


# -- reading an installation ----------------------------------------------------------------------


@contextmanager
def raw(ctx: Context) -> Iterator[Any]:
    with ctx.db.engine.connect() as conn:
        yield conn.connection.driver_connection


def rows(ctx: Context, table: str, where: str = "1", params: tuple = ()) -> list[dict[str, Any]]:
    """Rows as they travel (every synced column; not the password hashes kept on each PC)."""
    cols = ["id", "origin_id", "created_hlc", "created_by", "updated_hlc", "updated_by",
            *content_columns(MODELS[table])]
    with raw(ctx) as db:
        got = db.execute(f"SELECT {', '.join(cols)} FROM {table} WHERE {where} ORDER BY id", params).fetchall()
    return [dict(zip(cols, r, strict=True)) for r in got]


def ids(ctx: Context, table: str, where: str = "1", params: tuple = ()) -> set[str]:
    with raw(ctx) as db:
        return {r[0] for r in db.execute(f"SELECT id FROM {table} WHERE {where}", params)}


def queue(ctx: Context) -> list[tuple]:
    with raw(ctx) as db:
        return sorted(db.execute(
            "SELECT table_name, row_id, field, winner_hlc, winner_origin, winner_value, loser_hlc, loser_origin, "
            "loser_value FROM sync_conflict").fetchall())


def nothing_waits(ctx: Context) -> None:
    with raw(ctx) as db:
        assert db.execute("SELECT table_name, row_id, reason FROM sync_waiting").fetchall() == []


def checked(world: dict[str, Context]) -> None:
    for name, c in world.items():
        report = run_check(c.db)
        assert report.ok, (name, report.problems)
        nothing_waits(c)


def perth_scope(ctx: Context) -> dict[str, list[dict[str, Any]]]:
    """Every row HMP Perth is entitled to, as ``ctx`` holds it (every synced column)."""
    connection = ctx.db.engine.raw_connection()
    try:
        dbapi = connection.driver_connection
        build_scope(dbapi, "est-per")
        try:
            scope = sorted(set(dbapi.execute("SELECT table_name, row_id FROM temp.sync_scope").fetchall()))
        finally:
            drop_scope(dbapi)
            dbapi.commit()
    finally:
        connection.close()
    by_table: dict[str, list[str]] = {}
    for table, row_id in scope:
        by_table.setdefault(table, []).append(row_id)
    out = {}
    for table, row_ids in by_table.items():
        marks = ", ".join("?" * len(row_ids))
        out[table] = rows(ctx, table, f"id IN ({marks})", tuple(row_ids))
    return out


# -- records, sessions, registers, sign-offs and certificates made on both Perth PCs ---------------


def test_what_each_perth_pc_records_reaches_the_office_and_the_other_perth_pc(world, post) -> None:  # noqa: ANN001
    made: dict[str, dict[str, set[str]]] = {}
    for n, name in enumerate(PERTH, 1):
        pc = world[name]
        ann = people.create_person(pc, given_name=f"Ann{n}", family_name="Perth")
        bob = people.create_person(pc, given_name=f"Bob{n}", family_name="Perth")
        s = sessions.save_session(pc, date=TODAY, start_time="10:00", end_time="11:00",
                                  activity_type_id="act-cafe").session
        attendance.save_register(pc, s.id, [attendance.RegisterEntry(ann.id),
                                            attendance.RegisterEntry(bob.id, status="absent")])
        signed = ladder.sign_off(pc, ann.id, "ms-attender", achieved_on=TODAY)
        cert = certificates.issue(pc, person_id=ann.id, kind="milestone", achievement_id=signed.id)
        made[name] = {
            "person": {ann.id, bob.id}, "session": {s.id}, "attendance": ids(pc, "attendance", "session_id = ?",
                                                                             (s.id,)),
            "milestone_achievement": {signed.id},
            "milestone_evidence": ids(pc, "milestone_evidence", "achievement_id = ?", (signed.id,)),
            "certificate": {cert.id},
        }
        assert len(made[name]["attendance"]) == 2 and len(made[name]["milestone_evidence"]) == 1
    bar_person = people.create_person(world["BAR"], given_name="Cal", family_name="Barlinnie")

    post.round()

    for holder in (OFFICE, *PERTH):
        for name in PERTH:
            for table, want in made[name].items():
                assert want <= ids(world[holder], table, "deleted_hlc IS NULL"), (holder, name, table)
    # The other Perth PC's records are in Perth's scope exactly as the office holds them.
    office_view = perth_scope(world[OFFICE])
    for name in PERTH:
        assert perth_scope(world[name]) == office_view, name
    # Barlinnie holds none of Perth's people (nor their sessions), and Perth none of Barlinnie's.
    perth_people = made["PER-1"]["person"] | made["PER-2"]["person"]
    assert ids(world["BAR"], "person") & perth_people == set()
    assert ids(world["BAR"], "session") & (made["PER-1"]["session"] | made["PER-2"]["session"]) == set()
    for name in PERTH:
        assert bar_person.id not in ids(world[name], "person")
    assert bar_person.id in ids(world[OFFICE], "person")
    # Both Perth PCs' administrators are called "admin": two accounts, each its PC's own.
    admins = rows(world[OFFICE], "app_user", "username = 'admin'")
    assert {a["origin_id"] for a in admins} == {world[n].installation.id for n in SITES}
    checked(world)


# -- the same person put on one register at both Perth PCs -----------------------------------------


def test_the_same_person_on_one_register_at_both_perth_pcs_is_one_line_everywhere(world, post) -> None:  # noqa: ANN001
    per1, per2 = world["PER-1"], world["PER-2"]
    jo = people.create_person(per1, given_name="Jo", family_name="Bloggs")
    s = sessions.save_session(per1, date=TODAY, start_time="10:00", end_time="11:00",
                              activity_type_id="act-cafe").session
    post.round()  # PER-2 now has Jo and the session
    attendance.save_register(per1, s.id, [attendance.RegisterEntry(jo.id, status="present")])  # made first: lower id
    attendance.save_register(per2, s.id, [attendance.RegisterEntry(jo.id, status="absent")])
    [one] = ids(per1, "attendance", "session_id = ?", (s.id,))
    [two] = ids(per2, "attendance", "session_id = ?", (s.id,))
    winner, loser = sorted((one, two))
    assert winner == one

    summaries = post.round()
    assert sum(summary["merged"] for summary in summaries) >= 1
    holders = (OFFICE, *PERTH)
    for name in holders:
        lines = rows(world[name], "attendance", "session_id = ?", (s.id,))
        assert [(r["id"], r["merged_into"], r["deleted_hlc"] is None) for r in lines] == [
            (winner, None, True), (loser, winner, False)], name
        held = [(c.table_name, c.row_id, c.field) for c in conflicts.list_conflicts(world[name])]
        assert held == [("attendance", winner, "status_id")], name
    assert queue(world[OFFICE]) == queue(per1) == queue(per2)
    assert rows(world[OFFICE], "attendance", "session_id = ?", (s.id,)) == rows(
        per1, "attendance", "session_id = ?", (s.id,)) == rows(per2, "attendance", "session_id = ?", (s.id,))
    assert ids(world["BAR"], "attendance", "session_id = ?", (s.id,)) == set()
    checked(world)

    # Settled on one Perth PC: it travels, and every installation drops it.
    [item] = conflicts.list_conflicts(per2)
    settled = item.other.value
    conflicts.resolve_conflict(per2, item.id, "other")
    post.round()
    for name in holders:
        assert queue(world[name]) == [], name
        [line] = rows(world[name], "attendance", "session_id = ? AND deleted_hlc IS NULL", (s.id,))
        assert (line["id"], line["status_id"]) == (winner, settled), name
    checked(world)


# -- the same programme and module code made at PER-1 and at the office ------------------------------


def test_the_same_programme_made_at_a_perth_pc_and_the_office_is_one_everywhere(world, post) -> None:  # noqa: ANN001
    office, per1, per2 = world[OFFICE], world["PER-1"], world["PER-2"]
    mine = catalogue.create(per1, Programme, code="T4T2", name="Training for trainers (Perth)")
    mine_module = catalogue.create(per1, Module, programme_id=mine.id, code="M1", name="Getting started")
    theirs = catalogue.create(office, Programme, code="T4T2", name="Training 4 Trainers, part two")
    their_module = catalogue.create(office, Module, programme_id=theirs.id, code="M1", name="Starting out")
    post.send(OFFICE, "PER-2")  # PER-2 hears of the office's programme only
    used_theirs = sessions.save_session(per2, date=TODAY, start_time="10:00", end_time="11:00",
                                        module_id=their_module.id).session
    used_mine = sessions.save_session(per1, date=TODAY, start_time="14:00", end_time="15:00",
                                      module_id=mine_module.id).session
    programme = min(mine.id, theirs.id)
    module = min(mine_module.id, their_module.id)

    post.round()

    for name, c in world.items():
        live = rows(c, "programme", "code = 'T4T2' AND deleted_hlc IS NULL")
        assert [p["id"] for p in live] == [programme], name
        merged = rows(c, "programme", "code = 'T4T2' AND deleted_hlc IS NOT NULL")
        assert [(p["id"], p["merged_into"]) for p in merged] == [(max(mine.id, theirs.id), programme)], name
        live_modules = rows(c, "module", "code = 'M1' AND deleted_hlc IS NULL")
        assert [(m["id"], m["programme_id"]) for m in live_modules] == [(module, programme)], name
        assert {(c.table_name, c.field) for c in conflicts.list_conflicts(c)} == {
            ("programme", "name"), ("module", "name")}, name
    for name in (OFFICE, *PERTH):
        for s in (used_theirs, used_mine):
            [session] = rows(world[name], "session", "id = ?", (s.id,))
            assert session["module_id"] == module, (name, s.id)
    for table in ("programme", "module"):
        assert rows(office, table) == rows(per1, table) == rows(per2, table) == rows(world["BAR"], table), table
    assert queue(office) == queue(per1) == queue(per2)
    checked(world)


def test_a_programme_merged_into_one_that_arrives_later_is_one_record_everywhere(world, post) -> None:  # noqa: ANN001
    """Found by the random convergence run: Perth's bundle with its programme is late, so the office
    and PER-2 learn that the office's programme was merged into Perth's before they have Perth's.
    When it arrives, the record that stays must take the merged record's changes (the later
    creation's name, as everywhere) and its log its values."""
    office, per1 = world[OFFICE], world["PER-1"]
    mine = catalogue.create(per1, Programme, code="NEW1", name="Perth's own")
    theirs = catalogue.create(office, Programme, code="NEW1", name="The office's")
    lost = post.folder / "lost"
    lost.mkdir(parents=True)
    [late] = sync.export_bundles(per1, lost)  # the bundle with Perth's programme: lost in the post for now
    post.send(OFFICE, "PER-1")  # PER-1 merges the office's into its own (made first: the lower id)
    post.send("PER-1", OFFICE)  # the merge reaches the office before Perth's programme does
    post.send(OFFICE, "PER-2")
    sync.import_bundle(office, late.path, backup=False)
    post.round()
    stays = min(mine.id, theirs.id)
    for name in (OFFICE, "PER-1", "PER-2"):
        live = rows(world[name], "programme", "code = 'NEW1' AND deleted_hlc IS NULL")
        assert [p["id"] for p in live] == [stays], name
    for name in ("PER-1", "PER-2"):
        here, there = rows(world[name], "programme"), rows(office, "programme")
        assert here == there, (name, [{k: (a[k], b[k]) for k in a if a[k] != b[k]} for a, b in zip(here, there, strict=True)])
    checked(world)


# -- bundle names ---------------------------------------------------------------------------------------


@pytest.fixture
def cli_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SRCDESK_PASSWORD", PASSWORD)
    monkeypatch.delenv("SRCDESK_USER", raising=False)


def cli(capsys: pytest.CaptureFixture, ctx: Context, name: str, *args: str) -> str:
    code = main(["--data-dir", str(ctx.db.data_dir), "--user", USERS[name], *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_bundles_for_and_from_two_perth_pcs_at_the_same_seq_have_different_names(world, tmp_path, capsys,  # noqa: ANN001
                                                                                  cli_password) -> None:
    stick = tmp_path / "stick"
    stick.mkdir()
    for name in PERTH:  # both Perth PCs write their first bundle onto the same stick
        cli(capsys, world[name], name, "bundle", "export", "--to", str(stick))
    written = sorted(p.name for p in stick.iterdir())
    shorts = {name: world[name].installation.id.replace("-", "")[-8:] for name in SITES}
    assert written == sorted(f"PER-to-office-{shorts[n]}-00000001.srcbundle" for n in PERTH)
    cli(capsys, world[OFFICE], OFFICE, "bundle", "import", *(str(stick / n) for n in written))

    back = tmp_path / "back"
    back.mkdir()
    out = cli(capsys, world[OFFICE], OFFICE, "bundle", "export", "--to", str(back), "--all")
    names = sorted(p.name for p in back.iterdir())
    assert names == sorted(f"office-to-{SITES[n]}-{shorts[n]}-00000001.srcbundle" for n in SITES), out
    for name in PERTH:
        mine = back / f"office-to-PER-{shorts[name]}-00000001.srcbundle"
        cli(capsys, world[name], name, "bundle", "import", str(mine))
        other = next(p for p in back.glob("office-to-PER-*") if p != mine)  # the other Perth PC's
        code = main(["--data-dir", str(world[name].db.data_dir), "--user", USERS[name], "bundle", "import",
                     str(other)])
        assert code == 1 and "another installation" in capsys.readouterr().err
    # Each Perth PC now holds the other's administrator account.
    for name, other in (PERTH, PERTH[::-1]):
        assert rows(world[name], "app_user", "origin_id = ?", (world[other].installation.id,)), name
    checked(world)


# -- certificate serials ----------------------------------------------------------------------------------


def legacy_serial(s: Any, ctx: Context, year: int) -> str:
    """How srcdesk minted serials before they carried the PC's tag (one counter per establishment
    and year on each PC), copied from certificates.mint_serial as it was: two Perth PCs both
    start at SRC-PER-<year>-000001."""
    prefix = ctx.installation.establishment_code or "OFF"
    key = f"serial:{prefix}:{year}"
    state = s.get(LocalState, key)
    last = int(state.value) if state else 0
    stem = f"SRC-{prefix}-{year}-"
    highest = s.execute(
        select(Certificate.serial).where(Certificate.serial.like(f"{stem}%")).order_by(Certificate.serial.desc())
        .limit(1)).scalar_one_or_none()
    if highest and highest[len(stem):].isdigit():
        last = max(last, int(highest[len(stem):]))
    number = last + 1
    if state is None:
        s.add(LocalState(key=key, value=str(number)))
    else:
        state.value = str(number)
    return f"{stem}{number:06d}"


def serials(ctx: Context) -> list[str]:
    with raw(ctx) as db:
        return sorted(r[0] for r in db.execute("SELECT serial FROM certificate"))


def clashes(ctx: Context) -> list[tuple[str, list[str]]]:
    with ctx.db.engine.connect() as conn:
        return [(c.serial, [x.id for x in c.certificates]) for c in certificates.serial_clashes(conn)]


def award(ctx: Context, given: str) -> Any:
    p = people.create_person(ctx, given_name=given, family_name="Perth")
    return certificates.issue(ctx, person_id=p.id, kind="programme", programme_id="prog-rcdt", issued_on=TODAY)


def test_certificates_issued_on_both_perth_pcs_on_one_day_never_share_a_serial(world, post) -> None:  # noqa: ANN001
    issued = {name: [award(world[name], f"{name}-{i}") for i in range(3)] for name in PERTH}
    for name in PERTH:
        tag = certificates.installation_tag(world[name].installation.id)
        assert [c.serial for c in issued[name]] == [f"SRC-PER-{TODAY.year}-{tag}-{n:06d}" for n in (1, 2, 3)]
    post.round()
    everyone = sorted(c.serial for name in PERTH for c in issued[name])
    assert len(set(everyone)) == 6
    for name in (OFFICE, *PERTH):
        assert serials(world[name]) == everyone, name
        assert clashes(world[name]) == [], name
    checked(world)


def test_old_serials_that_clash_on_two_perth_pcs_both_arrive_everywhere(world, post, monkeypatch) -> None:  # noqa: ANN001
    """Serials minted on the two Perth PCs before they carried the PC's tag: both start at
    SRC-PER-<year>-000001. Both certificates exist on paper, so both travel; nothing is refused or
    held; the clash is found everywhere until one is reissued."""
    with monkeypatch.context() as m:
        m.setattr(certificates, "new_serial", legacy_serial)
        old = {name: award(world[name], f"Old{name}") for name in PERTH}
    serial = f"SRC-PER-{TODAY.year}-000001"
    assert {c.serial for c in old.values()} == {serial}
    new = {name: award(world[name], f"New{name}") for name in PERTH}  # after the upgrade: tagged, from 1
    for name, c in new.items():
        assert c.serial == f"SRC-PER-{TODAY.year}-{certificates.installation_tag(world[name].installation.id)}-000001"
    assert len({c.serial for c in new.values()}) == 2

    post.round()

    both = sorted(c.id for c in old.values())
    for name in (OFFICE, *PERTH):
        assert ids(world[name], "certificate", "serial = ?", (serial,)) == set(both), name
        assert {c.id for c in new.values()} <= ids(world[name], "certificate"), name
        assert clashes(world[name]) == [(serial, [old["PER-1"].id, old["PER-2"].id])], name
    checked(world)

    # Reissued on PER-2 (a new, tagged serial; the old record kept as superseded): no clash anywhere.
    again = certificates.reissue(world["PER-2"], old["PER-2"].id, "Its serial was on another certificate too")
    assert again.serial.startswith(f"SRC-PER-{TODAY.year}-{certificates.installation_tag(world['PER-2'].installation.id)}-")
    post.round()
    for name in (OFFICE, *PERTH):
        assert clashes(world[name]) == [], name
        assert again.id in ids(world[name], "certificate"), name
    checked(world)


def test_check_notes_a_serial_held_by_two_certificates(world, post, monkeypatch) -> None:  # noqa: ANN001
    with monkeypatch.context() as m:
        m.setattr(certificates, "new_serial", legacy_serial)
        for name in PERTH:
            award(world[name], f"Old{name}")
    post.round()
    serial = f"SRC-PER-{TODAY.year}-000001"
    for name in (OFFICE, *PERTH):
        report = run_check(world[name].db)
        assert report.ok, (name, report.problems)  # a note, not a failure
        assert [n for n in report.notes if serial in n and "reissue" in n], (name, report.notes)


def test_two_perth_pcs_whose_ids_end_alike_clash_once_then_never(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """The 1-in-65,536 case: PER-2's installation id ends in PER-1's 4 hex digits, so both mint
    SRC-PER-<year>-<tag>-000001. Both arrive everywhere and the clash is found; from then on each PC
    mints under 8 digits of its id, and they differ."""
    made: list[str] = []

    def alike() -> str:  # the office's id, PER-1's, then PER-2's ending like PER-1's
        fresh = new_id()
        made.append(fresh if len(made) < 2 else fresh[:-4] + made[1][-4:])
        return made[-1]

    monkeypatch.setattr(setup, "new_id", alike)
    world = build_world(tmp_path / "alike", {"PER-1": "PER", "PER-2": "PER"})
    monkeypatch.undo()
    try:
        per1, per2 = world["PER-1"], world["PER-2"]
        assert per1.installation.id != per2.installation.id
        tag = certificates.installation_tag(per1.installation.id)
        assert certificates.installation_tag(per2.installation.id) == tag
        first = {name: award(world[name], f"First{name}") for name in PERTH}
        serial = f"SRC-PER-{TODAY.year}-{tag}-000001"
        assert {c.serial for c in first.values()} == {serial}

        post = Post(world, tmp_path / "stick")
        for name in PERTH:
            post.send(name, OFFICE)
        for name in PERTH:
            post.send(OFFICE, name)
        for c in world.values():
            assert clashes(c) == [(serial, sorted(x.id for x in first.values()))]
            nothing_waits(c)

        after = {name: award(world[name], f"After{name}") for name in PERTH}
        for name in PERTH:
            wide = certificates.installation_tag(world[name].installation.id, 8)
            assert after[name].serial == f"SRC-PER-{TODAY.year}-{wide}-000001", name
            assert award(world[name], f"Later{name}").serial.endswith(f"-{wide}-000002")  # it stays wide
        assert after["PER-1"].serial != after["PER-2"].serial
    finally:
        for c in world.values():
            c.db.close()


# -- merge-core failures, narrowed down ---------------------------------------------------------------


def waiting(ctx: Context) -> list[tuple]:
    with raw(ctx) as db:
        return db.execute("SELECT table_name, row_id, reason FROM sync_waiting").fetchall()


def test_a_module_moved_onto_the_programme_that_stays_is_merged_with_the_same_module_there(make_world) -> None:  # noqa: ANN001
    w = make_world(("PER",), name="moved-module")
    office, per = w.office, w["PER"]
    mine = catalogue.create(per, Programme, code="T4T2", name="Perth's")  # made first: lower ids
    mine_module = catalogue.create(per, Module, programme_id=mine.id, code="M1", name="Perth's module")
    theirs = catalogue.create(office, Programme, code="T4T2", name="The office's")
    their_module = catalogue.create(office, Module, programme_id=theirs.id, code="M1", name="The office's module")
    w.send(per, office)  # the office's programme is merged into Perth's, its module moved onto it
    assert waiting(office) == []
    [module] = rows(office, "module", "id = ?", (their_module.id,))
    assert (module["programme_id"], module["merged_into"]) == (mine.id, mine_module.id)


def test_a_record_that_arrives_after_a_merge_points_at_the_record_that_stays(make_world) -> None:  # noqa: ANN001
    w = make_world(("PER", "BAR"), name="late-reference")
    office, per, bar = w.office, w["PER"], w["BAR"]
    mine = catalogue.create(per, Programme, code="T4T2", name="Perth's")  # made first: lower id
    theirs = catalogue.create(office, Programme, code="T4T2", name="The office's")
    w.send(office, bar)
    module = catalogue.create(bar, Module, programme_id=theirs.id, code="B1", name="Barlinnie's module")
    w.send(per, office)  # the office merges its programme into Perth's
    w.send(bar, office)  # then Barlinnie's module arrives, under the merged-away programme
    [got] = rows(office, "module", "id = ?", (module.id,))
    assert got["programme_id"] == mine.id
