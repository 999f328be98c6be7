"""The `srcdesk` command: happy paths, exit codes, and one-line reasons for bad input."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from srcdesk.cli import main
from srcdesk.paths import database_path

PW = "password123"


@pytest.fixture(autouse=True)
def _env(monkeypatch):  # noqa: ANN001, ANN202
    monkeypatch.setenv("SRCDESK_PASSWORD", PW)
    monkeypatch.delenv("SRCDESK_USER", raising=False)
    monkeypatch.delenv("SRCDESK_HOME", raising=False)


def run(capsys, *args: str) -> tuple[int, str, str]:  # noqa: ANN001
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_init_demo_check_backup(capsys, tmp_path) -> None:  # noqa: ANN001
    d = str(tmp_path / "data")
    code, out, _ = run(capsys, "--data-dir", d, "init", "--establishment", "PER", "--admin", "ann")
    assert code == 0 and "HMP Perth (PER)" in out
    code, out, err = run(capsys, "--data-dir", d, "--user", "ann", "demo", "--scale", "small")
    assert code == 0, err
    code, out, _ = run(capsys, "--data-dir", d, "check")
    assert code == 0 and out.strip().endswith("OK")
    code, out, _ = run(capsys, "--data-dir", d, "--user", "ann", "backup", "--to", str(tmp_path / "b.sqlite3"))
    assert code == 0 and (tmp_path / "b.sqlite3").exists()


def test_demo_end_date_repeats_the_data(capsys, tmp_path) -> None:  # noqa: ANN001
    sessions = []
    for name in ("a", "b"):
        d = str(tmp_path / name)
        assert run(capsys, "--data-dir", d, "init", "--establishment", "PER", "--admin", "ann")[0] == 0
        code, out, err = run(capsys, "--data-dir", d, "--user", "ann", "demo", "--scale", "small",
                             "--end-date", "2026-10-31")
        assert code == 0 and "01 Sep 2026 to 31 Oct 2026" in out, err
        with sqlite3.connect(database_path(Path(d))) as conn:
            sessions.append(conn.execute("SELECT date, start_time, location FROM session ORDER BY 1, 2, 3").fetchall())
    assert sessions[0] == sessions[1] and max(s[0] for s in sessions[0]) <= "2026-10-31"
    code, _, err = run(capsys, "--data-dir", str(tmp_path / "c"), "init", "--establishment", "PER", "--admin", "ann")
    code, _, err = run(capsys, "--data-dir", str(tmp_path / "c"), "--user", "ann", "demo", "--end-date", "31st")
    assert code == 1 and "End date must be a date" in err and err.count("\n") == 1


def test_data_dir_from_environment(capsys, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("SRCDESK_HOME", str(tmp_path / "home"))
    assert run(capsys, "init", "--office", "--admin", "phr")[0] == 0
    assert database_path(tmp_path / "home").exists()


def test_users(capsys, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    d = str(tmp_path / "data")
    run(capsys, "--data-dir", d, "init", "--office", "--admin", "phr")
    monkeypatch.setenv("SRCDESK_USER", "phr")
    monkeypatch.setenv("SRCDESK_NEW_PASSWORD", "another-pass")
    assert run(capsys, "--data-dir", d, "user", "add", "rita", "--role", "recorder", "--name", "Rita R")[0] == 0
    code, out, _ = run(capsys, "--data-dir", d, "user", "list")
    assert code == 0 and "rita" in out and "recorder" in out
    assert run(capsys, "--data-dir", d, "user", "role", "rita", "coordinator")[0] == 0
    assert run(capsys, "--data-dir", d, "user", "disable", "rita")[0] == 0
    code, out, _ = run(capsys, "--data-dir", d, "user", "list")
    assert "(disabled)" in out
    # a disabled user can't sign in, and the message doesn't say why
    monkeypatch.setenv("SRCDESK_PASSWORD", "another-pass")
    code, _, err = run(capsys, "--data-dir", d, "--user", "rita", "user", "list")
    assert code == 1 and "don't match an active account" in err
    monkeypatch.setenv("SRCDESK_PASSWORD", PW)
    assert run(capsys, "--data-dir", d, "user", "enable", "rita")[0] == 0
    assert run(capsys, "--data-dir", d, "user", "passwd", "rita")[0] == 0
    # the last administrator can't be disabled
    code, _, err = run(capsys, "--data-dir", d, "user", "disable", "phr")
    assert code == 1 and "own account" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["init", "--establishment", "XYZ", "--admin", "ann"], "Unknown establishment code 'XYZ'"),
        (["init", "--establishment", "PER", "--admin", "A B"], "username"),
        (["check"], "No srcdesk data"),
        (["--user", "ann", "demo"], "No srcdesk data"),
    ],
)
def test_bad_input_gets_one_line_and_exit_1(capsys, tmp_path, args, message) -> None:  # noqa: ANN001
    code, out, err = run(capsys, "--data-dir", str(tmp_path / "data"), *args)
    assert code == 1
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not database_path(tmp_path / "data").exists()


def test_short_password_writes_nothing(capsys, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("SRCDESK_PASSWORD", "short")
    code, _, err = run(capsys, "--data-dir", str(tmp_path / "d"), "init", "--office", "--admin", "phr")
    assert code == 1 and "at least 8 characters" in err
    assert not (tmp_path / "d").exists() or not any((tmp_path / "d").iterdir())


def test_wrong_password_and_unknown_user_look_the_same(capsys, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    d = str(tmp_path / "data")
    run(capsys, "--data-dir", d, "init", "--establishment", "PER", "--admin", "ann")
    monkeypatch.setenv("SRCDESK_PASSWORD", "wrong-password")
    wrong_pw = run(capsys, "--data-dir", d, "--user", "ann", "backup", "--to", str(tmp_path / "x"))
    monkeypatch.setenv("SRCDESK_PASSWORD", PW)
    wrong_user = run(capsys, "--data-dir", d, "--user", "bob", "backup", "--to", str(tmp_path / "x"))
    assert wrong_pw[0] == wrong_user[0] == 1
    assert wrong_pw[2] == wrong_user[2]
    assert not (tmp_path / "x").exists()


def test_no_user_given(capsys, tmp_path) -> None:  # noqa: ANN001
    d = str(tmp_path / "data")
    run(capsys, "--data-dir", d, "init", "--establishment", "PER", "--admin", "ann")
    for command in (["demo"], ["user", "list"], ["clock", "repair"], ["conflicts", "resolve", "1", "--keep"]):
        with pytest.raises(SystemExit) as exc:
            main(["--data-dir", d, *command])
        err = capsys.readouterr().err
        assert exc.value.code == 2, command
        assert err.startswith("usage: srcdesk") and "--user NAME or $SRCDESK_USER" in err, err


def test_init_twice_refused(capsys, tmp_path) -> None:  # noqa: ANN001
    d = str(tmp_path / "data")
    run(capsys, "--data-dir", d, "init", "--establishment", "PER", "--admin", "ann")
    before = database_path(Path(d)).read_bytes()
    code, _, err = run(capsys, "--data-dir", d, "init", "--office", "--admin", "bob")
    assert code == 1 and "already srcdesk data" in err
    assert database_path(Path(d)).read_bytes() == before


def test_usage_errors_exit_2(capsys) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit) as exc:
        main(["init", "--establishment", "PER", "--office", "--admin", "x"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2


def test_version(capsys) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and "srcdesk 0." in capsys.readouterr().out


def test_no_command_opens_the_app_without_building_every_command(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """``srcdesk [--data-dir DIR]`` goes straight to the desktop app: the commands' parser (some
    of whose help texts import the database code) is built only for a command, --help or a
    mistake, which it then explains."""
    import srcdesk.cli as cli
    import srcdesk.ui.app as app_module

    opened: list[Path] = []
    monkeypatch.setattr(app_module, "run_app", lambda data_dir: opened.append(data_dir) or 0)
    real_parser = cli._parser
    built: list[bool] = []

    def parser():  # noqa: ANN202
        built.append(True)
        return real_parser()

    monkeypatch.setattr(cli, "_parser", parser)
    monkeypatch.setenv("SRCDESK_HOME", str(tmp_path / "home"))
    assert main(["--data-dir", str(tmp_path / "a")]) == 0
    assert main([f"--data-dir={tmp_path / 'b'}", "--user", "ann"]) == 0
    assert main([]) == 0
    assert opened == [tmp_path / "a", tmp_path / "b", tmp_path / "home"] and built == []
    for args, code in ((["--data-dir"], 2), (["-h"], 0), (["--data-dir", str(tmp_path), "frobnicate"], 2)):
        with pytest.raises(SystemExit) as exc:
            main(args)
        assert exc.value.code == code
    assert len(built) == 3 and len(opened) == 3


def test_check_exits_1_on_a_broken_foreign_key(capsys, tmp_path) -> None:  # noqa: ANN001
    d = tmp_path / "data"
    run(capsys, "--data-dir", str(d), "init", "--establishment", "PER", "--admin", "ann")
    con = sqlite3.connect(database_path(d))
    con.execute("PRAGMA foreign_keys=OFF")
    con.execute("UPDATE module SET programme_id = 'prog-gone' WHERE id = 'mod-rcdt-01'")
    con.commit()
    con.close()
    code, out, _ = run(capsys, "--data-dir", str(d), "check")
    assert code == 1 and "Broken reference: module" in out


def test_corrupt_database_exit_1_and_untouched(capsys, tmp_path) -> None:  # noqa: ANN001
    d = tmp_path / "data"
    d.mkdir()
    database_path(d).write_bytes(b"garbage" * 50)
    for cmd in (["check"], ["--user", "ann", "demo"]):
        code, _, err = run(capsys, "--data-dir", str(d), *cmd)
        assert code == 1 and "damaged" in err
    assert database_path(d).read_bytes() == b"garbage" * 50


@pytest.fixture
def read_only_folder(tmp_path):  # noqa: ANN001, ANN201
    """A folder on a file system that can be made read-only (root ignores chmod)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        yield folder, lambda: folder.chmod(0o555)
        folder.chmod(0o755)
        return
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "none", str(folder)],
                      capture_output=True).returncode != 0:
        pytest.skip("running as root and can't mount a tmpfs to make read-only")
    try:
        yield folder, lambda: subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_read_only_data_folder(capsys, read_only_folder) -> None:  # noqa: ANN001
    """A data folder nobody may write to: one line, exit 1, nothing written."""
    folder, make_read_only = read_only_folder
    make_read_only()
    code, _, err = run(capsys, "--data-dir", str(folder / "data"), "init", "--office", "--admin", "phr")
    assert code == 1, err
    assert "Can't write to the data folder" in err and err.count("\n") == 1
    assert list(folder.iterdir()) == []


def test_existing_data_on_a_read_only_folder(capsys, read_only_folder) -> None:  # noqa: ANN001
    folder, make_read_only = read_only_folder
    d = folder / "data"
    assert run(capsys, "--data-dir", str(d), "init", "--office", "--admin", "phr")[0] == 0
    before = database_path(d).read_bytes()
    make_read_only()
    code, _, err = run(capsys, "--data-dir", str(d), "--user", "phr", "user", "list")
    assert code == 1 and "is read-only" in err and err.count("\n") == 1, err
    assert database_path(d).read_bytes() == before
