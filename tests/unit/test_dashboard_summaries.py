"""The dashboard's summary tables can't go stale: every service write that changes a number, and a
merged bundle, changes the figures summed from them, and they always equal a recount from the
records (srcdesk.models.stats)."""

from __future__ import annotations

import datetime as dt

import pytest

from srcdesk.models import AttendanceStatus, stats
from srcdesk.reports import indicators as ind
from srcdesk.reports.periods import period_containing, plan_quarter, plan_year
from srcdesk.services import attendance, catalogue, certificates, ladder, people, sessions
from srcdesk.services.attendance import RegisterEntry
from srcdesk.services.base import Context
from srcdesk.services.check import rebuild_summaries, run_check

Q1, Q2 = plan_quarter(2025, 1), plan_quarter(2025, 2)
PERIODS = (Q1, Q2, plan_year(2025), plan_year(2024))


def _both(ctx: Context, period, est=None):  # noqa: ANN001, ANN202
    """The figures summed from the summaries, after checking they equal a count from the records."""
    with ctx.db.read() as s:
        assert ind._summed(s), "a write left the summaries out of date after its commit"
        summed = ind.figures(s, period, est)
        by = ind.by_establishment(s, period)
    original = ind._summed
    ind._summed = lambda session: False
    try:
        with ctx.db.read() as s:
            counted = ind.figures(s, period, est)
            assert ind.by_establishment(s, period) == by
    finally:
        ind._summed = original
    assert summed == counted
    return summed.values


def _fresh(ctx: Context) -> None:
    for period in PERIODS:
        for est in (None, "est-per", "est-bar"):
            _both(ctx, period, est)
    with ctx.db.engine.connect() as conn:
        assert stats.verify(conn.connection.driver_connection) == []


def test_every_write_that_changes_a_number_changes_the_figures(office: Context) -> None:
    ann = people.create_person(office, given_name="Ann", family_name="Lee", establishment_id="est-per").id
    dan = people.create_person(office, given_name="Dan", family_name="Roy", kind="sps_staff",
                               establishment_id="est-per").id
    made = sessions.create_session(office, date="2025-04-02", start_time="10:00", end_time="12:00",
                                   establishment_id="est-per", module_id="mod-rcdt-01", facilitator_ids=[dan]).id
    v = _both(office, Q1)
    assert (v["sessions"], v["attendances"], v["facilitator_hours"]) == (1, 0, 2.0)
    attendance.save_register(office, made, [RegisterEntry(ann, "present")])
    assert _both(office, Q1)["attendances"] == 1 and _both(office, Q1)["new_people"] == 1
    attendance.save_register(office, made, [RegisterEntry(ann, "absent")])
    assert _both(office, Q1)["attendances"] == 0
    attendance.save_register(office, made, [RegisterEntry(ann, "late")])
    sessions.update_session(office, made, end_time="13:00")
    assert _both(office, Q1)["facilitator_hours"] == 3.0
    people.update_person(office, dan, kind="third_sector_staff")
    with office.db.read() as s:
        assert ind.figures(s, Q1).hours_by_role["third_sector"] == 3.0
    sessions.update_session(office, made, facilitator_ids=[])
    assert _both(office, Q1)["facilitator_hours"] == 0
    sessions.update_session(office, made, date="2025-07-02")  # moved to the next quarter
    assert _both(office, Q1)["attendances"] == 0 and _both(office, Q2)["attendances"] == 1
    # A status that stops counting as attended.
    with office.db.read() as s:
        late = s.query(AttendanceStatus).filter_by(code="late").one().id
    catalogue.update(office, AttendanceStatus, late, counts_as_attended=False)
    assert _both(office, Q2)["attendances"] == 0
    catalogue.update(office, AttendanceStatus, late, counts_as_attended=True)
    assert _both(office, Q2)["attendances"] == 1

    # The ladder and certificates count where the person was on the day: a transfer moves them.
    level = ladder.sign_off(office, ann, "ms-attender", achieved_on="2025-07-03")
    assert _both(office, Q2, "est-per")["signoffs"] == 1
    cert = certificates.issue(office, person_id=ann, kind="programme", programme_id="prog-rcdt",
                              issued_on="2025-07-04").id
    assert _both(office, Q2, "est-per")["certificates_issued"] == 1
    people.transfer_person(office, ann, "est-bar", on="2025-07-01")
    assert _both(office, Q2, "est-per")["signoffs"] == 0 and _both(office, Q2, "est-bar")["signoffs"] == 1
    assert _both(office, Q2, "est-bar")["certificates_issued"] == 1
    newer = ladder.supersede(office, level.id, "Wrong date", achieved_on="2025-04-05").id
    assert _both(office, Q2)["signoffs"] == 0 and _both(office, Q1)["signoffs"] == 1
    ladder.withdraw(office, newer, "In error")
    assert _both(office, Q1)["signoffs"] == 0
    certificates.revoke(office, cert, "In error")
    assert _both(office, period_containing(dt.date.today()))["certificates_revoked"] == 1
    sessions.cancel_session(office, made, "Lockdown")
    assert _both(office, Q2)["sessions"] == 0 and _both(office, Q2)["attendances"] == 0
    other = sessions.create_session(office, date="2025-04-09", start_time="10:00", end_time="11:00",
                                    establishment_id="est-bar", activity_type_id="act-cafe").id
    assert _both(office, Q1, "est-bar")["sessions"] == 1
    sessions.delete_session(office, other, "Entered twice")
    assert _both(office, Q1, "est-bar")["sessions"] == 0
    _fresh(office)
    assert run_check(office.db).ok


def test_a_merged_bundle_changes_the_office_figures(world) -> None:  # noqa: ANN001
    per = world["PER"]
    kim = people.create_person(per, given_name="Kim", family_name="Lee").id
    made = sessions.create_session(per, date="2025-05-01", start_time="10:00", end_time="11:00",
                                   module_id="mod-rcdt-01").id
    attendance.save_register(per, made, [RegisterEntry(kim, "present")])
    before = _both(world.office, Q1, "est-per")
    assert (before["sessions"], before["attendances"]) == (0, 0)
    world.send(per, world.office)
    after = _both(world.office, Q1, "est-per")
    assert (after["sessions"], after["attendances"], after["people"]) == (1, 1, 1)
    sessions.cancel_session(per, made, "Lockdown")
    world.send(per, world.office)
    assert _both(world.office, Q1, "est-per")["sessions"] == 0
    _fresh(world.office)


def test_a_reader_counts_from_the_records_while_anything_is_waiting_to_be_recounted(office: Context) -> None:
    with office.db.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO stat_dirty VALUES ('session', '2025-04-01', 'est-per')")
    with office.db.read() as s:
        assert not ind._summed(s)
    with office.db.session() as s:  # the next commit recounts it
        pass
    with office.db.read() as s:
        assert ind._summed(s)


def test_rebuild_makes_them_afresh(office: Context) -> None:
    ann = people.create_person(office, given_name="Ann", family_name="Lee", establishment_id="est-per").id
    made = sessions.create_session(office, date="2025-04-02", start_time="10:00", end_time="12:00",
                                   establishment_id="est-per", module_id="mod-rcdt-01").id
    attendance.save_register(office, made, [RegisterEntry(ann, "present")])
    with office.db.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM stat_attendance")
    assert not run_check(office.db).ok
    rebuild_summaries(office.db)
    assert run_check(office.db).ok
    assert _both(office, Q1)["attendances"] == 1


@pytest.mark.parametrize("day", ["2025-03-31", "2025-04-01", "2025-06-30", "2025-07-01", "2024-12-31", "2025-01-01"])
def test_quarters_in_sql_are_the_plan_quarters(office: Context, day: str) -> None:
    with office.db.engine.connect() as conn:
        got = conn.exec_driver_sql(f"SELECT {stats.quarter_of('d')} FROM (SELECT ? AS d)", (day,)).scalar()
    assert got == period_containing(dt.date.fromisoformat(day)).start.isoformat()


def test_demo_data_comes_with_its_summaries_and_the_triggers_back(office: Context) -> None:
    from srcdesk.services.demo import DEMO_END, generate_demo

    generate_demo(office, scale="small", seed=1, end=DEMO_END)
    with office.db.engine.connect() as conn:
        names = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        assert set(stats.TRIGGERS) <= names
        assert conn.exec_driver_sql("SELECT count(*) FROM stat_attendance").scalar() > 0
    _fresh(office)


def test_check_says_how_to_rebuild_and_the_command_does(capsys, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    import sqlite3

    from srcdesk.cli import main
    from srcdesk.paths import database_path

    monkeypatch.setenv("SRCDESK_PASSWORD", "password123")
    monkeypatch.delenv("SRCDESK_USER", raising=False)
    monkeypatch.delenv("SRCDESK_HOME", raising=False)
    d = str(tmp_path / "data")
    assert main(["--data-dir", d, "init", "--establishment", "PER", "--admin", "ann"]) == 0
    assert main(["--data-dir", d, "--user", "ann", "demo", "--scale", "small"]) == 0
    con = sqlite3.connect(database_path(tmp_path / "data"))
    con.execute("DELETE FROM stat_count WHERE kind = 'session'")
    con.commit()
    con.close()
    capsys.readouterr()
    assert main(["--data-dir", d, "check"]) == 1
    assert "srcdesk check --rebuild-summaries" in capsys.readouterr().out
    assert main(["--data-dir", d, "check", "--rebuild-summaries"]) == 0
    out = capsys.readouterr().out
    assert "made afresh" in out and out.strip().endswith("OK")
