"""A record with a very long history, imported (issue 9, item 7: cost stays linear).

The bundle: one person made at HMP Perth, then ``n`` edits of it, each an update of its notes
logged *without a base* (``b: null``): the legal form a PC wrote before changes named what they
overwrote, in which each edit follows everything before it. A forged or very old bundle can hold
any number of them, so folding them must cost O(n) in time and memory, never O(n^2).

The bundles are made the way a real PC makes them: the edits are appended to a copy of the Perth
PC's own change log (what that PC would have logged, stamps from its clock onwards, the person's
row left holding the last edit) and the PC's own exporter writes, signs and encrypts the bundle
for the office with its real keys. Nothing about the bundle is special but its length.

:func:`make_world` builds the Perth PC (one person) and an empty office, enrolled with each
other; :func:`long_history` appends the edits; :func:`export_for_office` writes the bundle. The
sync bench (``python -m bench --only sync``) and ``tests/scenario/test_linear_import.py`` use
them; the import itself is always srcdesk's own ``import_bundle``.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

PASSWORD = "password123"
EST_USER = "peradmin"
OFFICE_USER = "phr"


@dataclass(frozen=True)
class World:
    """An establishment PC holding one person, and an empty office that trusts it."""

    est: Path
    office: Path
    person_id: str


def make_world(root: Path) -> World:
    """``root/est`` (HMP Perth, one person) and ``root/office`` (empty), enrolled both ways."""
    from srcdesk.services import people, trust
    from srcdesk.services.setup import init_installation

    root.mkdir(parents=True, exist_ok=True)
    est = init_installation(root / "est", establishment="PER", office=False, admin_username=EST_USER,
                            admin_name="Perth Admin", admin_password=PASSWORD)
    try:
        office = init_installation(root / "office", establishment=None, office=True, admin_username=OFFICE_USER,
                                   admin_name="PHR Officer", admin_password=PASSWORD,
                                   recovery_key_out=root / "recovery.key")
        try:
            trust.enrol(est, trust.export_card(office, root / "office.card").read_bytes(),
                        trust.my_identity(office).fingerprint)
            trust.enrol(office, trust.export_card(est, root / "est.card").read_bytes(),
                        trust.my_identity(est).fingerprint)
        finally:
            office.db.close()
        person = people.create_person(est, given_name="Morag", family_name="Longhistory", notes="first")
    finally:
        est.db.close()
    return World(root / "est", root / "office", person.id)


def long_history(data: Path, person_id: str, n: int, *, chained: bool = False) -> None:
    """Append ``n`` edits of the person's notes to the change log of the PC in ``data``, as that PC
    would have logged them: consecutive stamps from its clock, its own origin and user, and the
    person's row holding the last one. Each edit is logged without a base (``b: null``: it followed
    everything before it), or with ``chained`` naming the edit before it (today's form)."""
    from srcdesk.paths import database_path
    from srcdesk.sync.capture import save_clock
    from srcdesk.sync.changelog import log, materialize
    from srcdesk.sync.hlc import HybridClock

    con = sqlite3.connect(database_path(data), isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        origin, user, made = con.execute(
            "SELECT origin_id, updated_by, updated_hlc FROM person WHERE id = ?", (person_id,)).fetchone()
        clock_row = con.execute("SELECT value FROM local_state WHERE key = 'hlc'").fetchone()
        clock = HybridClock(max(made, int(clock_row[0]) if clock_row else 0))
        first = clock.reserve(n)
        materialize(con, "person", [person_id])  # the row is about to change (sync.changelog)
        rows = []
        previous = made
        for i in range(n):
            h = first + i
            base = {"notes": [(previous, origin)]} if chained else None
            rows.append((h, origin, user, "person", person_id, "update", {"notes": f"edit {i}"}, base))
            previous = h
        log(con, rows)
        con.execute("UPDATE person SET notes = ?, updated_hlc = ?, updated_by = ? WHERE id = ?",
                    (f"edit {n - 1}", first + n - 1, user, person_id))
        save_clock(con, clock)
        con.execute("COMMIT")
    finally:
        con.close()


def export_for_office(data: Path, folder: Path) -> Path:
    """The PC's next bundle for the office, written by srcdesk's exporter into ``folder``."""
    from srcdesk.services.setup import open_installation
    from srcdesk.services.sync import export_bundles
    from srcdesk.services.users import authenticate

    folder.mkdir(parents=True, exist_ok=True)
    ctx = open_installation(data)
    try:
        ctx = ctx.signed_in(authenticate(ctx.db, EST_USER, PASSWORD))
        [result] = export_bundles(ctx, folder)
    finally:
        ctx.db.close()
    return result.path


def bundle_of(world: World, n: int, folder: Path, *, chained: bool = False) -> Path:
    """A bundle for the office holding the person's creation and ``n`` edits of it (and the Perth
    PC's own account, as every first bundle does). Made on a copy of the Perth PC, so that every
    bundle is the PC's first (seq 1) and the world stays as it was."""
    work = folder / f".est-{n}"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(world.est, work, ignore=shutil.ignore_patterns("backups"))
    try:
        long_history(work, world.person_id, n, chained=chained)
        return export_for_office(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)


CACHE_FORMAT = 1
FORMS = {"b: null": False, "chained": True}  # how each edit names what it overwrote (see long_history)


def cached_bundles(folder: Path, sizes: tuple[int, ...], *, schema: str) -> tuple[World, dict[tuple[str, int], Path]]:
    """The world and a bundle per form and size, made once into ``folder`` and reused while the
    schema is the same. Returns (the world, {(form, size): bundle})."""

    def found(marker: dict) -> tuple[World, dict[tuple[str, int], Path]]:
        w = marker["world"]
        world = World(folder / w["est"], folder / w["office"], w["person_id"])
        return world, {(form, int(n)): folder / path for form, n, path in marker["bundles"]}

    want = {"format": CACHE_FORMAT, "schema": schema, "sizes": list(sizes)}
    try:
        marker = json.loads((folder / "bench.json").read_text())
        if all(marker.get(k) == v for k, v in want.items()):
            return found(marker)
    except (OSError, ValueError):
        pass
    part = folder.with_name(folder.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    world = make_world(part)
    bundles = []
    for form, chained in FORMS.items():
        for n in sizes:
            path = bundle_of(world, n, part / "bundles" / f"{'chained' if chained else 'legacy'}-{n}", chained=chained)
            bundles.append([form, n, str(path.relative_to(part))])
    marker = {**want, "world": {"est": "est", "office": "office", "person_id": world.person_id}, "bundles": bundles}
    (part / "bench.json").write_text(json.dumps(marker, indent=1) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    part.replace(folder)
    return found(marker)
