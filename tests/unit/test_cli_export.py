"""``srcdesk export …``: the same exports as the screens, from the command line, and the log."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest

from srcdesk.services import attendance, people, sessions
from srcdesk.services.attendance import RegisterEntry
from srcdesk.services.base import Context

from ..conftest import as_role
from .test_cli_certificates_eligible import _env, run  # noqa: F401 - _env: its autouse fixture

DAY = dt.date(2025, 11, 5)  # in 2025-Q3 (October–December 2025)


def _attended(ctx: Context, day: dt.date) -> None:
    ada = people.create_person(ctx, given_name="Ada", family_name="Adams", external_ref="A10000")
    s = sessions.create_session(ctx, date=day, start_time="10:00", end_time="11:00", module_id="mod-rat-01")
    attendance.add_to_register(ctx, s.id, RegisterEntry(ada.id, "present", "participant"))


def _csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"))))


def test_export_sessions_and_attendance_with_filters(ctx: Context, data_dir: Path, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    _attended(ctx, DAY)
    sessions.create_session(ctx, date=DAY - dt.timedelta(days=200), start_time="10:00", end_time="11:00",
                            module_id="mod-rat-01")
    out = tmp_path / "s.csv"
    code, stdout, err = run(capsys, "--data-dir", data_dir, "--user", "ann", "export", "sessions",
                            "--period", "2025-Q3", "--to", out)
    assert (code, stdout) == (0, "Exported 1 row of sessions to s.csv.\n"), err
    assert [r["Date"] for r in _csv(out)] == [DAY.isoformat()]

    xlsx = tmp_path / "a.xlsx"
    code, stdout, err = run(capsys, "--data-dir", data_dir, "--user", "ann", "export", "attendance",
                            "--from", "1/11/2025", "--until", "30/11/2025", "--establishment", "per", "--to", xlsx)
    assert (code, stdout) == (0, "Exported 1 row of attendance to a.xlsx.\n"), err
    with zipfile.ZipFile(xlsx) as z:
        assert "A10000" in z.read("xl/sharedStrings.xml").decode()

    code, stdout, err = run(capsys, "--data-dir", data_dir, "--user", "ann", "export", "people",
                            "--search", "ada", "--format", "csv", "--to", tmp_path / "people.txt")
    assert code == 0 and _csv(tmp_path / "people.txt")[0]["Prison number"] == "A10000", err

    code, stdout, err = run(capsys, "--data-dir", data_dir, "--user", "ann", "export", "log")
    assert code == 0, err
    lines = stdout.splitlines()
    assert len(lines) == 3 and "people" in lines[0] and "people.txt" in lines[0] and "personal" in lines[0]
    assert "sessions" in lines[2] and "figures" in lines[2] and "Ann Admin" in lines[2]
    assert str(tmp_path) not in stdout  # the file's name only, never its folder


def test_refusals_and_usage(ctx: Context, data_dir: Path, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    as_role(ctx, "recorder", "rita")
    code, _, err = run(capsys, "--data-dir", data_dir, "--user", "rita", "export", "people", "--to",
                       tmp_path / "p.csv")
    assert code == 1 and err.startswith("srcdesk: Only a coordinator can export lists with people's names")
    assert not (tmp_path / "p.csv").exists()
    code, out, err = run(capsys, "--data-dir", data_dir, "--user", "rita", "export", "sessions", "--to",
                         tmp_path / "s.xlsx")
    assert code == 0 and out == "Exported 0 rows of sessions to s.xlsx.\n", err
    code, _, err = run(capsys, "--data-dir", data_dir, "--user", "ann", "export", "sessions", "--establishment",
                       "BAR", "--to", tmp_path / "bar.csv")
    assert code == 1 and "own records only" in err
    code, _, err = run(capsys, "--data-dir", data_dir, "--user", "ann", "export", "sessions", "--period", "2025-Q9",
                       "--to", tmp_path / "x.csv")
    assert code == 1 and err.startswith("srcdesk: ")
    for args in (["export", "sessions", "--to", tmp_path / "x.pdf"],  # no format
                 ["export", "sessions", "--period", "2025-26", "--from", "1/4/2025", "--to", tmp_path / "x.csv"],
                 ["export", "indicators", "--to", tmp_path / "i.csv"],  # no period
                 ["export", "sessions", "--format", "xls", "--to", tmp_path / "x.xls"]):
        with pytest.raises(SystemExit) as exc:
            run(capsys, "--data-dir", data_dir, "--user", "ann", *args)
        assert exc.value.code == 2
    code, out, _ = run(capsys, "--data-dir", data_dir, "--user", "rita", "export", "log")
    assert code == 0 and len(out.splitlines()) == 1 and "s.xlsx" in out
