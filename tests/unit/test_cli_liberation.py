"""`srcdesk liberation upcoming|record|reprint|list` end to end: the PDF's text (pdftotext) has the
name, their words, the serials and the area's organisations, and never the prison number or the
person's notes; coordinators make and reprint, a recorder is refused in one line."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from srcdesk.cli import main
from srcdesk.models import CommunityOrganisation
from srcdesk.services import attendance, certificates, people, sessions
from srcdesk.services.attendance import RegisterEntry
from srcdesk.services.setup import open_installation
from srcdesk.services.users import add_user, authenticate

PW = "password123"
REF = "P8812345"
NOTES = "Convicted of something nobody else needs to read"
TODAY = dt.date.today()

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext (poppler-utils)")


@pytest.fixture
def perth(tmp_path: Path, monkeypatch) -> tuple[Path, str]:  # noqa: ANN001
    monkeypatch.setenv("SRCDESK_PASSWORD", PW)
    d = tmp_path / "perth"
    assert main(["--data-dir", str(d), "init", "--establishment", "PER", "--admin", "ann"]) == 0
    ctx = open_installation(d)
    try:
        ctx = ctx.signed_in(authenticate(ctx.db, "ann", PW))
        colin = ctx.signed_in(add_user(ctx, "colin", "Colin Coordinator", "coordinator", PW))
        add_user(ctx, "rita", "Rita Recorder", "recorder", PW)
        p = people.create_person(colin, given_name="Jamie", family_name="Brodie", external_ref=REF, notes=NOTES,
                                 liberation_date=TODAY + dt.timedelta(days=10))
        for i, module in enumerate(("mod-rat-01", "mod-rcdt-01")):
            s = sessions.create_session(colin, date=TODAY - dt.timedelta(days=7 - i), start_time="10:00",
                                        end_time="11:00", module_id=module)
            attendance.add_to_register(colin, s.id, RegisterEntry(p.id, "present", "participant"))
        cert = certificates.issue(colin, person_id=p.id, kind="programme", programme_id="prog-rat")
        with colin.write("person.edit") as s:
            s.add_all([CommunityOrganisation(name="Dundee Recovery Network", kind="lero", area="Dundee City",
                                             offers="Peer support on the day you get out", contact="01382 000000"),
                       CommunityOrganisation(name="Fife Only Group", kind="lero", area="Fife")])
    finally:
        ctx.db.close()
    return d, cert.serial


def run(capsys, d: Path, user: str, *args: str) -> tuple[int, str, str]:  # noqa: ANN001
    capsys.readouterr()
    code = main(["--data-dir", str(d), "--user", user, "liberation", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def test_record_reprint_and_list(capsys, tmp_path: Path, perth) -> None:  # noqa: ANN001
    d, serial = perth
    words = tmp_path / "words.txt"
    words.write_text("The café on Thursdays kept me going.\nI want to give something back.\n", encoding="utf-8")
    code, out, err = run(capsys, d, "colin", "upcoming")
    assert code == 0 and "Jamie Brodie" in out and "in 10 days" in out and "no record yet" in out, err

    pdf = tmp_path / "Liberation record - Jamie Brodie.pdf"
    code, out, err = run(capsys, d, "colin", "record", "Jamie Brodie", "--to", str(pdf), "--area", "Dundee City",
                         "--consent-date", TODAY.isoformat(), "--words-file", str(words))
    assert code == 0 and re.search(r"Made liberation record \w{8} for Jamie Brodie \(Dundee City\)", out), err
    text = _text(pdf)
    flat = " ".join(text.split())
    assert "My recovery journey" in text and "Jamie Brodie" in text
    assert "The café on Thursdays kept me going." in flat and "I want to give something back." in flat
    assert serial in text and "Recovery Awareness Training" in flat
    assert "Recovery communities near you in Dundee City" in flat and "Dundee Recovery Network" in text
    assert "Peer support on the day you get out" in flat and "Fife Only Group" not in text
    assert REF not in text and "Convicted" not in text  # no prison number, no notes, ever
    assert "Page 1 of" in text

    code, out, err = run(capsys, d, "rita", "list", REF)
    assert code == 0 and "going to Dundee City" in out and "printed 1 time" in out, err
    short = out.split()[0]
    again = tmp_path / "again.pdf"
    code, out, err = run(capsys, d, "colin", "reprint", short, "--to", str(again))
    assert code == 0 and "Reprinted liberation record" in out, err
    assert _text(again) == text
    code, out, err = run(capsys, d, "colin", "upcoming")
    assert f"record made {TODAY.day} {TODAY:%b %Y}" in out


def test_refusals_are_one_line(capsys, tmp_path: Path, perth) -> None:  # noqa: ANN001
    d, _ = perth
    pdf = tmp_path / "x.pdf"
    code, out, err = run(capsys, d, "rita", "record", "Jamie Brodie", "--to", str(pdf), "--area", "Fife",
                         "--consent-date", TODAY.isoformat())
    assert code == 1 and "coordinator" in err and len(err.strip().splitlines()) == 1 and not pdf.exists()
    code, out, err = run(capsys, d, "colin", "record", "Jamie Brodie", "--to", str(pdf), "--area", "Atlantis",
                         "--consent-date", TODAY.isoformat())
    assert code == 1 and "council areas" in err and not pdf.exists()
    code, out, err = run(capsys, d, "colin", "record", "Nobody Here", "--to", str(pdf), "--area", "Fife",
                         "--consent-date", TODAY.isoformat())
    assert code == 1 and "No one here" in err
