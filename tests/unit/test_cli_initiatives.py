"""`srcdesk initiatives list|add|update|map`: the initiatives' services on the command line; an
establishment records its own, the office any establishment's and sees the national map; one
line per refusal, exit status 1."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from srcdesk.cli import READ_ONLY, main
from srcdesk.services import community
from srcdesk.services.setup import open_installation
from srcdesk.services.users import add_user, authenticate

PW = "password123"
TODAY = dt.date.today()


def _setup(tmp_path: Path, name: str, *where: str) -> Path:
    d = tmp_path / name
    assert main(["--data-dir", str(d), "init", *where, "--admin", "ann"]) == 0
    ctx = open_installation(d)
    try:
        ctx = ctx.signed_in(authenticate(ctx.db, "ann", PW))
        add_user(ctx, "rita", "Rita Recorder", "recorder", PW)
    finally:
        ctx.db.close()
    return d


def run(capsys, d: Path, user: str, *args: str) -> tuple[int, str, str]:  # noqa: ANN001
    capsys.readouterr()
    code = main(["--data-dir", str(d), "--user", user, "initiatives", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _rows(d: Path) -> list[community.InitiativeRow]:
    ctx = open_installation(d)
    try:
        return community.list_initiatives(ctx.signed_in(authenticate(ctx.db, "ann", PW)))
    finally:
        ctx.db.close()


def test_an_establishment_adds_lists_and_updates_its_initiatives(tmp_path, monkeypatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.setenv("SRCDESK_PASSWORD", PW)
    perth = _setup(tmp_path, "perth", "--establishment", "PER")
    code, out, err = run(capsys, perth, "rita", "add", "--kind", "recovery_cafe", "--name", "Perth Recovery Café",
                         "--run-by", "peers", "--meeting", "Tuesdays 14:00, weekly", "--started", "01/05/2024",
                         "--review-due", (TODAY + dt.timedelta(days=30)).isoformat())
    assert code == 0, err
    assert "Added" in out and "Perth Recovery Café at HMP Perth (Recovery café, Running since 1 May 2024)" in out
    [row] = _rows(perth)
    assert (row.run_by, row.meeting_pattern, row.started_on) == ("peers", "Tuesdays 14:00, weekly",
                                                                dt.date(2024, 5, 1))
    # Refused in one line: a planned start in the past, another establishment's.
    code, out, err = run(capsys, perth, "rita", "add", "--kind", "mutual_aid", "--name", "SMART",
                         "--status", "planned", "--started", "01/01/2020")
    assert code == 1 and "its start date can't be in the past" in err and err.count("\n") == 1
    code, _out, err = run(capsys, perth, "rita", "add", "--kind", "mutual_aid", "--name", "SMART",
                          "--establishment", "BAR")
    assert code == 1 and "belongs to another establishment" in err

    code, out, _err = run(capsys, perth, "rita", "list")
    assert code == 0 and "Perth Recovery Café — Recovery café, Running since 1 May 2024, run by Peers; meets " \
                         "Tuesdays 14:00, weekly; review due" in out and "0 sessions" in out
    # update by name (any case): paused; then a review recorded
    code, out, err = run(capsys, perth, "rita", "update", "perth recovery café", "--status", "paused")
    assert code == 0, err
    assert "changed" in out and "Paused since 1 May 2024" in out
    code, out, err = run(capsys, perth, "rita", "update", row.id[-8:], "--reviewed", TODAY.isoformat(),
                         "--review-due", "01/04/2099", "--review-notes", "Peer volunteers lead it now.")
    assert code == 0, err
    assert "review recorded" in out and "review due 1 Apr 2099" in out
    [row] = _rows(perth)
    assert (row.last_reviewed_on, row.review_notes) == (TODAY, "Peer volunteers lead it now.")
    code, out, err = run(capsys, perth, "rita", "update", row.id, "--status", "ended", "--ended", "01/01/2024")
    assert code == 1 and "can't end before it started" in err
    with pytest.raises(SystemExit) as exited:
        run(capsys, perth, "rita", "update", row.id)
    assert exited.value.code == 2 and "say what changes" in capsys.readouterr().err
    code, out, err = run(capsys, perth, "rita", "list", "--status", "running")
    assert code == 0 and out.strip() == "No initiatives."


def test_the_office_records_for_any_establishment_and_sees_the_map(tmp_path, monkeypatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.setenv("SRCDESK_PASSWORD", PW)
    office = _setup(tmp_path, "office", "--office")
    code, _out, err = run(capsys, office, "rita", "add", "--kind", "recovery_cafe", "--name", "Café")
    assert code == 1 and "Choose the establishment" in err
    for code_, name in (("PER", "Perth café"), ("BAR", "Barlinnie café")):
        code, _out, err = run(capsys, office, "rita", "add", "--kind", "recovery_cafe", "--name", name,
                              "--establishment", code_)
        assert code == 0, err
    code, out, _err = run(capsys, office, "rita", "list", "--establishment", "BAR")
    assert code == 0 and "Barlinnie café" in out and "Perth café" not in out
    code, out, err = run(capsys, office, "rita", "map")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("Establishment") and "Recovery café" in lines[0] and "Earliest review due" in lines[0]
    perth = next(line for line in lines if line.startswith("HMP Perth "))
    assert perth.split()[2] == "1" and "GAP" in perth  # a café running; gaps in the rest
    assert "gaps in" in lines[-1]
    assert ("initiatives", "list") in READ_ONLY and ("initiatives", "map") in READ_ONLY
    assert ("initiatives", "add") not in READ_ONLY


@pytest.mark.parametrize("args", [["add", "--kind", "book_club", "--name", "x"], ["list", "--status", "active"]])
def test_choices_are_checked_by_the_parser(tmp_path, monkeypatch, capsys, args) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit) as exited:
        main(["--data-dir", str(tmp_path), "--user", "x", "initiatives", *args])
    assert exited.value.code == 2 and "invalid choice" in capsys.readouterr().err
