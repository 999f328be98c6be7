"""`srcdesk user passwd`: everyone changes their own password (the one they sign in with is the
current one); only administrators set someone else's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from srcdesk.cli import main
from srcdesk.db import Database
from srcdesk.errors import AuthenticationFailed
from srcdesk.services.users import authenticate

PW = "password123"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def data(tmp_path, monkeypatch, capsys) -> str:  # noqa: ANN001
    """HMP Perth: ann (administrator) and rita (recorder), both with PW."""
    for name in ("SRCDESK_USER", "SRCDESK_HOME", "SRCDESK_NEW_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SRCDESK_PASSWORD", PW)
    d = str(tmp_path / "data")
    assert main(["--data-dir", d, "init", "--establishment", "PER", "--admin", "ann"]) == 0
    monkeypatch.setenv("SRCDESK_NEW_PASSWORD", PW)
    assert main(["--data-dir", d, "--user", "ann", "user", "add", "rita", "--role", "recorder"]) == 0
    monkeypatch.delenv("SRCDESK_NEW_PASSWORD")
    capsys.readouterr()
    return d


def signs_in(d: str, username: str, password: str) -> bool:
    db = Database.open(Path(d), migrate=False)
    try:
        authenticate(db, username, password)
        return True
    except AuthenticationFailed:
        return False
    finally:
        db.close()


@pytest.mark.parametrize("name", [[], ["rita"], ["RITA"]], ids=["no name", "own name", "own name in capitals"])
def test_a_recorder_changes_their_own_password(data, capsys, monkeypatch, name) -> None:  # noqa: ANN001
    monkeypatch.setenv("SRCDESK_NEW_PASSWORD", "rita's new one")
    assert main(["--data-dir", data, "--user", "rita", "user", "passwd", *name]) == 0
    assert capsys.readouterr().out.strip() == "Password changed for rita."
    assert signs_in(data, "rita", "rita's new one") and not signs_in(data, "rita", PW)


def test_a_wrong_current_password_changes_nothing(data, capsys, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("SRCDESK_PASSWORD", "not rita's")
    monkeypatch.setenv("SRCDESK_NEW_PASSWORD", "rita's new one")
    assert main(["--data-dir", data, "--user", "rita", "user", "passwd"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "don't match an active account" in err
    assert signs_in(data, "rita", PW) and not signs_in(data, "rita", "rita's new one")


def test_a_recorder_cannot_set_someone_elses(data, capsys, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("SRCDESK_NEW_PASSWORD", "taken over!")
    assert main(["--data-dir", data, "--user", "rita", "user", "passwd", "ann"]) == 1
    err = capsys.readouterr().err
    assert err == ("srcdesk: Only an administrator can reset other users' passwords; "
                   "you are signed in as a recorder.\n")
    assert signs_in(data, "ann", PW)


def test_an_administrator_sets_another_users_password(data, capsys, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("SRCDESK_NEW_PASSWORD", "reset by ann")
    assert main(["--data-dir", data, "--user", "ann", "user", "passwd", "rita"]) == 0
    assert capsys.readouterr().out.strip() == "Password changed for rita."
    assert signs_in(data, "rita", "reset by ann")


def test_a_too_short_new_password_is_one_line_and_changes_nothing(data, capsys, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("SRCDESK_NEW_PASSWORD", "short")
    assert main(["--data-dir", data, "--user", "rita", "user", "passwd"]) == 1
    assert capsys.readouterr().err == "srcdesk: A password must have at least 8 characters.\n"
    assert signs_in(data, "rita", PW)


def test_as_a_command_in_a_terminal_session(data) -> None:  # noqa: ANN001
    env = {**os.environ, "PYTHONPATH": str(REPO), "SRCDESK_USER": "rita", "SRCDESK_PASSWORD": PW,
           "SRCDESK_NEW_PASSWORD": "rita's new one"}
    done = subprocess.run([sys.executable, "-m", "srcdesk.cli", "--data-dir", data, "user", "passwd"],
                          env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0 and done.stdout == "Password changed for rita.\n", done.stderr
    again = subprocess.run([sys.executable, "-m", "srcdesk.cli", "--data-dir", data, "user", "passwd"],
                           env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert again.returncode == 1 and again.stderr.count("\n") == 1  # PW is no longer rita's password
    assert signs_in(data, "rita", "rita's new one")
