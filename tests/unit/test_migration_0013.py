"""Migration 0013 (recovery pathways) renames words in records AND in the change log, and bundles
from an older srcdesk are read in the new words (sync.bundle.LEGACY_VALUES, ADDED_COLUMNS)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

from srcdesk import db as dbmod
from srcdesk.db import Database, schema_revision
from srcdesk.models import Initiative, Referral, ReferralStage
from srcdesk.models.stats import TRIGGERS
from srcdesk.paths import database_path
from srcdesk.services import people
from srcdesk.services.check import run_check
from srcdesk.sync import bundle

DAY = dt.date(2026, 3, 2)


def _logged(con: sqlite3.Connection, table: str) -> list[dict]:
    return [json.loads(f) for (f,) in con.execute(
        "SELECT fields FROM change_log WHERE table_name = ? AND fields IS NOT NULL ORDER BY seq", (table,))]


def test_old_words_are_renamed_in_records_and_the_change_log(ctx, data_dir) -> None:  # noqa: ANN001
    person = people.create_person(ctx, given_name="Alex", family_name="Reid")
    with ctx.write("initiative.record") as s:
        i = Initiative(establishment_id="est-per", kind="recovery_cafe", name="Café", status="running", run_by="sps")
        s.add(i)
        r = Referral(person_id=person.id, establishment_id="est-per", status="completed", closed_on=DAY)
        s.add(r)
        s.flush()
        stages = [ReferralStage(referral_id=r.id, stage=st, reached_on=DAY, recorded_by=ctx.user.id)
                  for st in ("identified", "release_approved", "admitted", "completed")]
        s.add_all(stages)
        s.flush()
        ids = (i.id, r.id, [x.id for x in stages])
    with ctx.write("initiative.edit") as s:  # updates are logged with their values
        s.get(Initiative, ids[0]).name = "Thursday café"
        s.get(Referral, ids[1]).notes = "Settled in well."
        for sid in ids[2]:
            s.get(ReferralStage, sid).note = "seen"
    ctx.db.close()

    engine = dbmod.make_engine(database_path(data_dir))
    dbmod.downgrade(engine, "0012")
    con = sqlite3.connect(database_path(data_dir))
    assert {r[0] for r in con.execute("SELECT stage FROM referral_stage")} == {
        "referred", "approved", "released", "handed_over"}
    assert con.execute("SELECT status FROM initiative").fetchone() == ("active",)
    assert con.execute("SELECT handover_on FROM referral").fetchone() == (DAY.isoformat(),)
    con.close()
    engine.dispose()

    db = Database.open(data_dir)  # migrates, after a backup
    try:
        assert schema_revision(db.engine) == "0013"
        report = run_check(db)
        assert report.ok, report.problems
        with db.engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert {r[0] for r in raw.execute("SELECT stage FROM referral_stage")} == {
                "identified", "release_approved", "admitted", "completed"}
            assert raw.execute("SELECT status, run_by FROM initiative").fetchone() == ("running", "sps")
            assert raw.execute("SELECT closed_on FROM referral").fetchone() == (DAY.isoformat(),)
            logged = _logged(raw, "referral_stage") + _logged(raw, "initiative") + _logged(raw, "referral")
            words = json.dumps(logged)
            for old in ("referred", "handed_over", '"released"', '"approved"', "handover_on", '"active"'):
                assert old not in words, old
            # the dashboard's triggers survive the session table's copy
            names = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
            assert set(TRIGGERS) <= names
    finally:
        db.close()


def _record(table: str, fields: dict, op: str = "insert") -> dict:
    return {"t": table, "r": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "h": 1 << 40,
            "o": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c", "u": None, "p": op, "f": fields, "b": None}


def _fields(table: str, **values) -> dict:  # noqa: ANN003
    return {c: values.get(c) for c in bundle.SCHEMA[table]}


def test_a_bundle_from_an_older_srcdesk_is_read_in_the_new_words() -> None:
    old_stage = {k: v for k, v in _fields("referral_stage", referral_id="0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a50",
                                          stage="placement_confirmed", reached_on="2026-03-02").items()
                 if k != "recorded_by"}
    _t, _r, change = bundle._check_record(1, _record("referral_stage", old_stage))  # noqa: SLF001
    assert change.fields["stage"] == "placement_offered" and change.fields["recorded_by"] is None

    old_initiative = {k: v for k, v in _fields("initiative", establishment_id="est-per", kind="recovery_cafe",
                                               name="Café", status="active").items()
                      if k not in ("run_by", "meeting_pattern", "ended_on", "notes", "review_due_on")}
    _t, _r, change = bundle._check_record(2, _record("initiative", old_initiative))  # noqa: SLF001
    assert change.fields["status"] == "running" and change.fields["run_by"] == "sps"

    _t, _r, change = bundle._check_record(3, _record("referral", {"handover_on": "2026-03-02"}, op="update"))  # noqa: SLF001
    assert change.fields == {"closed_on": "2026-03-02"}


def test_a_new_record_still_gives_every_field_this_srcdesk_had_before() -> None:
    """Only the columns added since may be left out; a made-up stage is still refused."""
    import pytest

    from srcdesk.sync.errors import BundleRefused

    partial = {k: v for k, v in _fields("initiative", establishment_id="est-per", kind="recovery_cafe",
                                        name="Café", status="running", run_by="sps").items() if k != "name"}
    with pytest.raises(BundleRefused, match="must give every field"):
        bundle._check_record(1, _record("initiative", partial))  # noqa: SLF001
    bad = _fields("referral_stage", referral_id="0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a50", stage="escaped",
                  reached_on="2026-03-02")
    with pytest.raises(BundleRefused, match="wrong type"):
        bundle._check_record(1, _record("referral_stage", bad))  # noqa: SLF001
