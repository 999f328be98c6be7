"""``srcdesk certificates eligible``: who is due a certificate, as text or CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest

from srcdesk.cli import main
from srcdesk.services import attendance, people, sessions
from srcdesk.services.attendance import RegisterEntry
from srcdesk.services.base import Context

from ..conftest import PASSWORD

DAY = dt.date.today() - dt.timedelta(days=3)


@pytest.fixture(autouse=True)
def _env(monkeypatch):  # noqa: ANN001, ANN202
    monkeypatch.setenv("SRCDESK_PASSWORD", PASSWORD)
    monkeypatch.delenv("SRCDESK_USER", raising=False)


def run(capsys, *args: str) -> tuple[int, str, str]:  # noqa: ANN001
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _attend(ctx: Context, person_id: str, module_id: str) -> None:
    s = sessions.create_session(ctx, date=DAY, start_time="10:00", end_time="11:00", module_id=module_id)
    attendance.add_to_register(ctx, s.id, RegisterEntry(person_id, "present", "participant"))


def test_eligible_as_text_and_csv(ctx: Context, data_dir: Path, capsys) -> None:  # noqa: ANN001
    ada = people.create_person(ctx, given_name="Ada", family_name="Adams", external_ref="A10000")
    sly = people.create_person(ctx, given_name="=HYPERLINK(1)", family_name="Sly", external_ref="B20000")
    _attend(ctx, ada.id, "mod-rat-01")
    _attend(ctx, sly.id, "mod-t4t-01")
    code, out, err = run(capsys, "--data-dir", data_dir, "--user", "ann", "certificates", "eligible")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("A10000") and "Ada Adams" in lines[0] and "PER" in lines[0] and "RAT " in lines[0]
    assert any("RAT01" in line and "Recovery awareness for new recruits" in line for line in lines)
    assert lines[-1] == "3 certificates due to 2 people."

    code, out, err = run(capsys, "--data-dir", data_dir, "--user", "ann", "certificates", "eligible",
                         "--establishment", "per", "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["reference"], r["kind"], r["code"], r["completed_on"]) for r in rows] == [
        ("A10000", "programme", "RAT", DAY.isoformat()), ("A10000", "module", "RAT01", DAY.isoformat()),
        ("B20000", "module", "T4T01", DAY.isoformat())]
    assert rows[2]["name"] == "'=HYPERLINK(1) Sly"  # never a formula in a spreadsheet
    assert rows[0]["person_id"] == ada.id and rows[0]["establishment"] == "PER"

    code, out, err = run(capsys, "--data-dir", data_dir, "--user", "ann", "certificates", "eligible",
                         "--establishment", "EDI")
    assert (code, out) == (0, "Nobody is due a certificate.\n")


def test_eligible_refusals(ctx: Context, data_dir: Path, capsys) -> None:  # noqa: ANN001
    code, _, err = run(capsys, "--data-dir", data_dir, "--user", "ann", "certificates", "eligible",
                       "--establishment", "NOPE")
    assert code == 1 and err.strip() == "srcdesk: Unknown establishment code 'NOPE'."
    with pytest.raises(SystemExit) as exc:
        run(capsys, "--data-dir", data_dir, "--user", "ann", "certificates", "eligible", "--format", "xls")
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        run(capsys, "--data-dir", data_dir, "certificates", "eligible")  # nobody said who they are
    assert exc.value.code == 2


def test_issue_all_eligible_as_one_batch_then_nobody_is_due(ctx: Context, data_dir: Path, capsys) -> None:  # noqa: ANN001
    ada = people.create_person(ctx, given_name="Ada", family_name="Adams", external_ref="A10000")
    _attend(ctx, ada.id, "mod-rat-01")
    code, out, err = run(capsys, "--data-dir", data_dir, "--user", "ann", "certificates", "issue", "--all-eligible")
    assert code == 0, err
    assert out.count("Issued SRC-PER-") == 2 and "Ada Adams: Recovery Awareness Training." in out
    batch = out.split("Batch ")[1].split(":")[0]
    code, out, err = run(capsys, "--data-dir", data_dir, "--user", "ann", "certificates", "eligible")
    assert code == 0 and out.strip() == "Nobody is due a certificate.", err
    pdf = data_dir.parent / "batch.pdf"
    code, out, err = run(capsys, "--data-dir", data_dir, "--user", "ann", "certificates", "print", "--batch", batch,
                         "--to", pdf)
    assert code == 0 and out.strip() == f"Wrote 2 certificates to {pdf}." and pdf.read_bytes().startswith(b"%PDF"), err
