"""A record's long history imports in linear time (issue 9, item 7: cost stays linear).

End to end, through the office's real import: a Perth PC's bundle holding one person's creation
and thousands of edits of their notes, each edit logged without a base (``b: null``, each followed
everything before it: the form PCs wrote before changes named what they overwrote) or naming the
edit before it (today's form). The bundles are written, signed and encrypted by the Perth PC's own
exporter (:mod:`bench.sync_linear`, shared with ``python -m bench --only sync``, which imports
200,000 such edits and reports time and peak memory).

Timed against itself, never against a clock: 16x the edits must cost well under 16^2 = 256x the
time (the merge, the change log and the fold are linear; fixed costs only make the ratio smaller).
The margin is wide on purpose: machines are noisy, and a history that goes quadratic lands far
beyond it (checked by making the fold walk every earlier change for each change: ~100x).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bench.sync_linear import EST_USER, OFFICE_USER, PASSWORD, World, bundle_of, make_world
from srcdesk.models import Person, SyncConflict
from srcdesk.services.check import run_check
from srcdesk.services.setup import open_installation
from srcdesk.services.sync import import_bundle
from srcdesk.services.users import authenticate

SMALL, LARGE = 2_000, 32_000
RUNS = 3  # best of, per size
WELL_UNDER_QUADRATIC = 48.0  # 16x the edits: linear ~16x, quadratic ~256x


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory.mktemp("linear"))


def _import(world: World, bundle: Path, target: Path, edits: int) -> tuple[float, object]:
    """Import ``bundle`` (the person's creation and ``edits`` edits) into a fresh copy of the empty
    office; (seconds in the import, result). The last edit wins, and nothing is queued."""
    shutil.copytree(world.office, target, ignore=shutil.ignore_patterns("backups"))
    ctx = open_installation(target)
    try:
        ctx = ctx.signed_in(authenticate(ctx.db, OFFICE_USER, PASSWORD))
        t0 = time.perf_counter()
        result = import_bundle(ctx, bundle, backup=False)
        seconds = time.perf_counter() - t0
        with ctx.read() as s:
            person = s.get(Person, world.person_id)
            notes = person.notes if person is not None else None
            queued = s.execute(select(SyncConflict)).first()
        assert result.verified.total > edits and result.conflicts == result.waiting == 0
        assert notes == f"edit {edits - 1}" and queued is None
        return seconds, result
    finally:
        ctx.db.close()


@pytest.mark.parametrize("chained", [False, True], ids=["b-null", "chained"])
def test_a_long_history_imports_in_linear_time(world: World, tmp_path: Path, chained: bool) -> None:
    bundles = {n: bundle_of(world, n, tmp_path / f"bundle-{n}", chained=chained) for n in (SMALL, LARGE)}
    best = {n: float("inf") for n in bundles}
    for run in range(RUNS):
        for n, bundle in bundles.items():  # alternating, so both see the same noise
            seconds, _result = _import(world, bundle, tmp_path / f"office-{n}-{run}", n)
            best[n] = min(best[n], seconds)
            shutil.rmtree(tmp_path / f"office-{n}-{run}")
    assert best[LARGE] < best[SMALL] * WELL_UNDER_QUADRATIC, best


def test_the_office_holding_a_long_history_passes_check(world: World, tmp_path: Path) -> None:
    bundle = bundle_of(world, SMALL, tmp_path / "bundle")
    target = tmp_path / "office"
    _import(world, bundle, target, SMALL)
    ctx = open_installation(target)
    try:
        report = run_check(ctx.db)
    finally:
        ctx.db.close()
    assert report.ok, report.problems
    # The Perth PC that wrote it is untouched by the bench's copies.
    est = open_installation(world.est)
    try:
        est = est.signed_in(authenticate(est.db, EST_USER, PASSWORD))
        with est.read() as s:
            assert s.get(Person, world.person_id).notes == "first"
    finally:
        est.db.close()
