"""`srcdesk referrals list|show|add|advance|back|withdraw`: the referral services on the command
line; one line per refusal, exit status 1."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from srcdesk.cli import main
from srcdesk.cli_referrals import STAGES
from srcdesk.dates import numeric_date
from srcdesk.models import REFERRAL_STAGES
from srcdesk.services import people
from srcdesk.services.setup import open_installation
from srcdesk.services.users import add_user, authenticate

PW = "password123"
TODAY = dt.date.today()


def ago(days: int) -> str:
    return numeric_date(TODAY - dt.timedelta(days=days))


@pytest.fixture
def perth(tmp_path: Path, monkeypatch) -> Path:  # noqa: ANN001
    monkeypatch.setenv("SRCDESK_PASSWORD", PW)
    d = tmp_path / "perth"
    assert main(["--data-dir", str(d), "init", "--establishment", "PER", "--admin", "ann"]) == 0
    ctx = open_installation(d)
    try:
        ctx = ctx.signed_in(authenticate(ctx.db, "ann", PW))
        add_user(ctx, "rita", "Rita Recorder", "recorder", PW)
        people.create_person(ctx, given_name="Jo", family_name="Bloggs", external_ref="P123")
        people.create_person(ctx, given_name="Al", family_name="Able", external_ref="P456")
    finally:
        ctx.db.close()
    return d


def run(capsys, d: Path, *args: str, user: str = "rita") -> tuple[int, str, str]:  # noqa: ANN001
    capsys.readouterr()
    code = main(["--data-dir", str(d), "--user", user, "referrals", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_stages_in_the_help_are_the_protocols() -> None:
    assert STAGES == tuple(REFERRAL_STAGES)


def test_add_advance_back_withdraw_and_list(capsys, perth: Path) -> None:  # noqa: ANN001
    code, out, err = run(capsys, perth, "add", "P123", "--date", ago(30), "--notes", "Asked at the café")
    assert code == 0 and "for Jo Bloggs: identified. Next: consented." in out, err
    ref = re.search(r"Added referral (\w{8})", out).group(1)
    code, out, err = run(capsys, perth, "advance", ref, "--stage", "assessed", "--date", ago(20))
    assert code == 1 and "The next stage is 'Consented'" in err and err.count("\n") == 1
    assert run(capsys, perth, "advance", ref, "--stage", "consented", "--date", ago(25))[0] == 0
    code, out, err = run(capsys, perth, "advance", ref, "--stage", "assessed", "--date", ago(20), "--note", "By NHS")
    assert code == 0 and "Jo Bloggs: Assessed. Next: Funding agreed (funding_agreed)." in out, err
    code, out, _ = run(capsys, perth, "list")
    assert re.search(rf"{ref}  Jo Bloggs\s+PER\s+Assessed\s+since .*\s+20 days", out), out
    assert run(capsys, perth, "list", "--stage", "consented")[1] == "No referrals at that stage.\n"
    code, out, err = run(capsys, perth, "back", ref, "--stage", "consented", "--reason", "Assessed the wrong person")
    assert code == 0 and "back to Consented; stepped back: Assessed." in out, err
    code, out, _ = run(capsys, perth, "show", ref)
    assert "Now: Consented" in out and "STEPPED BACK by Rita Recorder: Assessed the wrong person" in out, out
    assert "Rita Recorder" in out and "Next: Assessed (assessed)" in out
    code, out, err = run(capsys, perth, "withdraw", ref, "--reason", "Moved to another programme")
    assert code == 0 and "Jo Bloggs: withdrawn." in out, err
    assert run(capsys, perth, "list")[1] == "No referrals.\n"
    assert ref in run(capsys, perth, "list", "--all")[1]
    code, _, err = run(capsys, perth, "advance", ref, "--stage", "assessed", "--date", ago(1))
    assert code == 1 and "closed (withdrawn)" in err


@pytest.mark.parametrize("args, says", [
    (("add", "NOBODY", "--date", "01/01/2026"), "No one here has the reference or id 'NOBODY'"),
    (("add", "P456", "--date", "31/02/2026"), "must be a date like"),
    (("add", "P456", "--date", "01/01/2026", "--service", "Nowhere House"), "No community organisation here"),
    (("advance", "abc", "--stage", "consented", "--date", "01/01/2026"), "at least the last 6 characters"),
    (("withdraw", "ffffffff", "--reason", "x"), "No referral here has an id ending with ffffffff."),
    (("list", "--stage", "later"), "'later' is not a stage"),
    (("list", "--establishment", "BAR"), "own establishment's referrals only"),
])
def test_refusals_are_one_line(capsys, perth: Path, args: tuple, says: str) -> None:  # noqa: ANN001
    code, out, err = run(capsys, perth, *args)
    assert code == 1 and err.startswith("srcdesk: ") and says in err and err.count("\n") == 1, (out, err)


def test_usage_errors_exit_2(capsys, perth: Path) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit) as stopped:
        main(["--data-dir", str(perth), "--user", "rita", "referrals", "withdraw", "abcdef12"])
    assert stopped.value.code == 2
    assert "--reason" in capsys.readouterr().err
