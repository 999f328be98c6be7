"""`srcdesk report steering` and the service behind it, end to end on small fixed data at the office:
the PDF's figures are the indicators' (people, attendances), 1–9 people show as "<10", no person's
name is in it, --no-suppress marks every page, the export is recorded, and refusals are one line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from srcdesk.cli import main
from srcdesk.errors import PermissionDenied
from srcdesk.models import ExportRecord
from srcdesk.reports.periods import plan_quarter
from srcdesk.services import attendance, people, plans, sessions, steering
from srcdesk.services.attendance import RegisterEntry
from srcdesk.services.base import Context
from srcdesk.services.setup import open_installation
from srcdesk.services.users import add_user, authenticate

from ..conftest import PASSWORD

Q1 = plan_quarter(2025, 1)  # April–June 2025
GIVEN = ("Aileen", "Bryce", "Catriona", "Dougal", "Eilidh", "Fergus", "Gregor", "Hamish", "Isla", "Jamie",
         "Kirsty", "Lachlan", "Morag", "Niall")


def _people_attending(ctx: Context, est: str, count: int, day: str) -> None:
    """``count`` people at one session at ``est`` on ``day``."""
    ids = [people.create_person(ctx, given_name=GIVEN[i], family_name=f"Surname{est[-3:]}",
                                establishment_id=est).id for i in range(count)]
    made = sessions.create_session(ctx, date=day, start_time="10:00", end_time="11:30", establishment_id=est,
                                   module_id="mod-rcdt-01")
    attendance.save_register(ctx, made.id, [RegisterEntry(i, "present") for i in ids])


@pytest.fixture
def office_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An office: Perth 12 people (one session), Barlinnie 3, Edinburgh 14 in Q1 2025-26; a target."""
    monkeypatch.setenv("SRCDESK_PASSWORD", PASSWORD)
    d = tmp_path / "office"
    assert main(["--data-dir", str(d), "init", "--office", "--admin", "phr", "--admin-name", "PHR Officer"]) == 0
    ctx = open_installation(d)
    try:
        ctx = ctx.signed_in(authenticate(ctx.db, "phr", PASSWORD))
        _people_attending(ctx, "est-per", 12, "2025-05-06")
        _people_attending(ctx, "est-bar", 3, "2025-05-07")
        _people_attending(ctx, "est-edi", 14, "2025-06-30")
        plans.set_focus(ctx, "py-2025", ["est-bar"])
        plans.add_target(ctx, "py-2025", code="attendances", description="Attendances nationally",
                         target_value=100)
        add_user(ctx, "rita", "Rita Recorder", "recorder", PASSWORD)
    finally:
        ctx.db.close()
    return d


def run(capsys: pytest.CaptureFixture, d: Path, *args: str, user: str = "phr") -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--data-dir", str(d), "--user", user, "report", "steering", *args])
    out, err = capsys.readouterr()
    return code, out, err


def pdftotext(path: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(["pdftotext", "-layout", *pages, str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def _pages(path: Path) -> int:
    out = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


def _row(text: str, start: str) -> str:
    return next(line for line in text.splitlines() if line.strip().startswith(start) and "Page" not in line
                and any(ch.isdigit() for ch in line.replace(start, "")))


def _records(d: Path) -> list[ExportRecord]:
    ctx = open_installation(d)
    try:
        with ctx.db.read() as s:
            return list(s.execute(select(ExportRecord)).scalars())
    finally:
        ctx.db.close()


def test_the_report_end_to_end(capsys: pytest.CaptureFixture, office_data: Path, tmp_path: Path) -> None:
    to = tmp_path / "steering.pdf"
    code, out, err = run(capsys, office_data, "--period", "2025-Q1", "--to", str(to))
    assert code == 0, err
    assert out.strip() == f"Wrote the Steering Group report for {Q1.label} to {to}."
    text = pdftotext(to)
    assert "29" in _row(text, "People taking part") and "29" in _row(text, "Attendances")  # 12 + 3 + 14
    table = text[text.index("Figures by establishment"):]
    assert "14" in _row(table, "HMP Edinburgh")
    barlinnie = _row(table, "★ HMP Barlinnie")  # a focus establishment, 3 people
    assert "<10" in barlinnie and " 3 " not in f" {barlinnie} "
    perth = _row(table, "HMP Perth")  # the next smallest, withheld: 29 − 14 − 12 would give the 3 away
    assert "*" in perth and "12" not in perth
    assert "Attendances nationally" in text and "29%" in text  # 29 of the target of 100
    for name in (*GIVEN, "Surname"):
        assert name not in text
    [record] = _records(office_data)
    assert (record.what, record.personal, record.file_format, record.file_name) == ("steering", False, "pdf",
                                                                                  "steering.pdf")
    assert json.loads(record.filters) == {"period": "2025-Q1", "establishment": None, "suppressed": True,
                                          "notes": False}
    assert record.user_name == "PHR Officer"


def test_one_establishment_with_notes_and_no_suppression(capsys: pytest.CaptureFixture, office_data: Path,
                                                        tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("Barlinnie's hall 4 group restarted in May.\n", encoding="utf-8")
    to = tmp_path / "bar.pdf"
    code, out, err = run(capsys, office_data, "--period", "2025-26-Q1", "--to", str(to), "--establishment", "bar",
                         "--notes", str(notes), "--no-suppress")
    assert code == 0, err
    assert "Not for circulation outside SRC" in out
    for page in range(1, _pages(to) + 1):
        assert "Not for circulation outside SRC" in pdftotext(to, page)
    text = pdftotext(to)
    assert "HMP Barlinnie" in pdftotext(to, 1)
    assert "3" in _row(text, "People taking part") and "<10" not in text
    assert "hall 4 group restarted in May." in text
    assert json.loads(_records(office_data)[0].filters) == {"period": "2025-Q1", "establishment": "BAR",
                                                            "suppressed": False, "notes": True}


@pytest.mark.parametrize(("args", "message"), [
    (("--period", "2025-Q5", "--to", "x.pdf"), "is not a period"),
    (("--period", "2025-Q1", "--to", "x.pdf", "--establishment", "NOPE"), "No establishment you can report on"),
    (("--period", "2025-Q1", "--to", "x.pdf", "--notes", "missing.txt"), "The notes could not be read"),
    (("--period", "2025-Q1", "--to", "no/such/folder/x.pdf"), "could not be saved"),
])
def test_refusals_are_one_line(capsys: pytest.CaptureFixture, office_data: Path, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, office_data, *args)
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1, err
    assert not _records(office_data)  # nothing written, nothing recorded


def test_a_recorder_is_refused(capsys: pytest.CaptureFixture, office_data: Path, tmp_path: Path) -> None:
    code, _out, err = run(capsys, office_data, "--period", "2025-Q1", "--to", str(tmp_path / "r.pdf"), user="rita")
    assert code == 1 and err.strip() == ("srcdesk: Only a coordinator can produce the Steering Group report; "
                                         "you are signed in as a recorder.")
    assert not (tmp_path / "r.pdf").exists() and not _records(office_data)


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture, office_data: Path) -> None:
    with pytest.raises(SystemExit) as stopped:
        run(capsys, office_data, "--period", "2025-Q1", "--to", "report.docx")
    assert stopped.value.code == 2


def test_an_establishments_pc_reports_on_itself_only(ctx: Context, tmp_path: Path) -> None:
    coordinator = ctx.signed_in(add_user(ctx, "colin", "Colin", "coordinator", PASSWORD))
    _people_attending(coordinator, "est-per", 2, "2025-04-10")
    path = steering.write_report(coordinator, Q1, tmp_path / "per.pdf")
    text = pdftotext(path)
    assert "HMP Perth" in pdftotext(path, 1) and "<10" in _row(text, "People taking part")
    with pytest.raises(PermissionDenied, match="own establishment"):
        steering.write_report(coordinator, Q1, tmp_path / "bar.pdf", establishment_id="est-bar")
    assert not (tmp_path / "bar.pdf").exists()
