"""`srcdesk plan list|add-year|focus|target add|update|remove`: the workplan's services on the
command line; coordinators at the office change it, one line per refusal, exit status 1."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from srcdesk.cli import main
from srcdesk.services import plans
from srcdesk.services.setup import open_installation
from srcdesk.services.users import add_user, authenticate

PW = "password123"


def _setup(tmp_path: Path, name: str, *where: str) -> Path:
    d = tmp_path / name
    assert main(["--data-dir", str(d), "init", *where, "--admin", "ann"]) == 0
    ctx = open_installation(d)
    try:
        ctx = ctx.signed_in(authenticate(ctx.db, "ann", PW))
        add_user(ctx, "colin", "Colin Coordinator", "coordinator", PW)
        add_user(ctx, "rita", "Rita Recorder", "recorder", PW)
    finally:
        ctx.db.close()
    return d


@pytest.fixture
def office(tmp_path: Path, monkeypatch) -> Path:  # noqa: ANN001
    monkeypatch.setenv("SRCDESK_PASSWORD", PW)
    return _setup(tmp_path, "office", "--office")


@pytest.fixture
def fixed_figures(monkeypatch) -> None:  # noqa: ANN001
    """The indicators (helper A's) replaced by fixed figures: 120 sessions wherever asked."""
    monkeypatch.setattr(plans, "value_for", lambda ctx, period, code, est: {"sessions": 120}.get(code))


def run(capsys, d: Path, user: str, *args: str) -> tuple[int, str, str]:  # noqa: ANN001
    capsys.readouterr()
    code = main(["--data-dir", str(d), "--user", user, "plan", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_coordinator_sets_the_year_focus_and_targets(capsys, office: Path, fixed_figures) -> None:  # noqa: ANN001
    code, out, err = run(capsys, office, "colin", "add-year", "2031-32")
    assert code == 0 and "Added Plan year 2031-32: 1 April 2031 to 31 March 2032." in out, err
    code, out, err = run(capsys, office, "colin", "focus", "2026-27", "PER", "bar")
    assert code == 0 and "Focus establishments in 2026-27: " in out and "PER" in out and "BAR" in out, err
    assert "Note: The strategy plans focused support for 3–5 establishments a year; this plan year has 2." in out
    code, out, err = run(capsys, office, "colin", "target", "add", "2026-27", "--indicator", "sessions",
                         "--target", "400", "--establishment", "PER", "--description", "Sessions at Perth")
    assert code == 0 and re.search(r"Added target \w{8} in 2026-27: Sessions held 400 \(HMP Perth\)\.", out), err
    tid = re.search(r"Added target (\w{8})", out).group(1)
    code, out, err = run(capsys, office, "colin", "target", "update", tid, "--target", "500")
    assert code == 0 and f"Changed target {tid}: Sessions held 500 (HMP Perth)." in out, err
    code, out, err = run(capsys, office, "rita", "list", "--year", "2026-27")
    assert code == 0, err
    assert "Focus establishments: " in out and "(PER)" in out and "(BAR)" in out
    assert re.search(rf"{tid}  Sessions held +HMP Perth +target +500  so far +120  ", out), out
    # A reference target shows its whole id (its last characters are the same every year).
    assert "tgt-2026-rat-every-cohort  RAT coverage" in out
    code, out, err = run(capsys, office, "rita", "list")
    assert code == 0 and re.search(r"2026-27 .*focus: [A-Z, ]*BAR[A-Z, ]*; 2 targets\n", out), out
    assert re.search(r"2031-32 .*focus: -; 0 targets\n", out), out
    code, out, err = run(capsys, office, "colin", "target", "remove", tid, "--reason", "Set twice")
    assert code == 0 and f"Removed target {tid}" in out, err
    code, out, err = run(capsys, office, "rita", "list", "--year", "2026-27")
    assert tid not in out and "Recovery Awareness Training" in out


@pytest.mark.parametrize(("user", "args", "says"), [
    ("rita", ("add-year", "2031-32"), "Only a coordinator can set plan years, focus establishments and targets"),
    ("colin", ("add-year", "2031-33"), "A plan year is written like 2024-25."),
    ("colin", ("focus", "2099-00", "PER"), "There is no plan year 2099-00"),
    ("colin", ("focus", "2025-26", "XYZ"), "Unknown establishment code 'XYZ'."),
    ("colin", ("target", "add", "2025-26", "--indicator", "cafes", "--target", "3", "--description", "x"),
     "A target is set for one of the indicators"),
    ("colin", ("target", "add", "2025-26", "--indicator", "rat_coverage", "--target", "120", "--description", "x"),
     "RAT coverage is a percentage: a target from 0 to 100."),
    ("colin", ("target", "remove", "abc", "--reason", "x"), "at least the last 6 characters"),
    ("colin", ("target", "remove", "ffffffff", "--reason", "x"), "No target here has an id ending with ffffffff."),
])
def test_refusals_are_one_line(capsys, office: Path, user: str, args: tuple, says: str) -> None:  # noqa: ANN001
    code, out, err = run(capsys, office, user, *args)
    assert code == 1 and err.startswith("srcdesk: ") and says in err and err.count("\n") == 1, (out, err)


def test_an_establishment_lists_but_does_not_set_the_workplan(capsys, tmp_path: Path, monkeypatch,  # noqa: ANN001
                                                             fixed_figures) -> None:  # noqa: ANN001
    monkeypatch.setenv("SRCDESK_PASSWORD", PW)
    perth = _setup(tmp_path, "perth", "--establishment", "PER")
    code, _, err = run(capsys, perth, "colin", "add-year", "2031-32")
    assert code == 1 and "(the workplan) are kept at the SRC office" in err
    code, out, err = run(capsys, perth, "rita", "list", "--year", "2023-24")
    assert code == 0 and "Focus establishments: none" in out and "Training 4 Trainers" in out, err
    assert "3–5" not in out  # the office's concern


def test_usage_errors_exit_2(capsys, office: Path) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit) as stopped:
        main(["--data-dir", str(office), "--user", "colin", "plan", "target", "update", "abcdef12"])
    assert stopped.value.code == 2
    assert "say what changes" in capsys.readouterr().err
