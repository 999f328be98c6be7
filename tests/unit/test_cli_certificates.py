"""`srcdesk certificates issue|list|reissue|revoke|print`: the same services as the screens, one
line per refusal, exit status 1."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from srcdesk.cli import main
from srcdesk.services import people
from srcdesk.services.setup import open_installation
from srcdesk.services.users import authenticate

PW = "password123"


@pytest.fixture
def data(tmp_path: Path, monkeypatch) -> Path:  # noqa: ANN001
    monkeypatch.setenv("SRCDESK_PASSWORD", PW)
    monkeypatch.setenv("SRCDESK_USER", "ann")
    d = tmp_path / "data"
    assert main(["--data-dir", str(d), "init", "--establishment", "PER", "--admin", "ann"]) == 0
    ctx = open_installation(d)
    try:
        ctx = ctx.signed_in(authenticate(ctx.db, "ann", PW))
        people.create_person(ctx, given_name="Kim", family_name="Lee", external_ref="A123456")
    finally:
        ctx.db.close()
    return d


def run(capsys, d: Path, *args: str) -> tuple[int, str, str]:  # noqa: ANN001
    capsys.readouterr()  # (what the set-up printed)
    code = main(["--data-dir", str(d), "certificates", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_issue_list_reissue_revoke(capsys, data: Path) -> None:  # noqa: ANN001
    code, out, err = run(capsys, data, "issue", "--person", "a123456", "--for", "rcdt03", "--name", "Kimberley Lee")
    assert code == 0 and "Issued SRC-PER-" in out and "Kimberley Lee: Lived experience and peer support" in out, err
    serial = re.search(r"Issued (SRC-\S+) to", out).group(1)
    code, out, _ = run(capsys, data, "list", "--person", "A123456")
    assert code == 0 and serial in out and "[valid]" in out
    code, out, _ = run(capsys, data, "reissue", serial, "--name", "Kim Lee", "--reason", "Uses Kim")
    assert code == 0 and f"{serial} is now superseded" in out, _
    new = re.search(r" as (SRC-\S+) ", out).group(1)
    code, out, _ = run(capsys, data, "list", "--status", "superseded")
    assert serial in out and new not in out and "superseded" in out
    code, out, _ = run(capsys, data, "revoke", new, "--reason", "Issued in error")
    assert code == 0 and f"Revoked {new}" in out
    code, _, err = run(capsys, data, "revoke", new, "--reason", "again")
    assert code == 1 and err.strip() == "srcdesk: This certificate is already revoked."


@pytest.mark.parametrize(("args", "words"), [
    (("issue", "--person", "NOBODY", "--for", "RCDT"), "No one here has the reference or id 'NOBODY'."),
    (("issue", "--person", "A123456", "--for", "NOPE"), "No programme, module or ladder level has the code 'NOPE'."),
    (("issue", "--person", "A123456", "--for", "attender"), "This person has not been signed off as Attender."),
    (("issue", "--person", "A123456", "--for", "RCDT", "--date", "1/1/2099"), "can't be dated in the future"),
    (("revoke", "SRC-PER-2026-0000-000009", "--reason", "x"), "No certificate here has the serial"),
    (("print", "--issued-on", "1/1/2020", "--to", "x.pdf"), "No valid certificate matches that."),
])
def test_refusals_are_one_line(capsys, data: Path, args: tuple[str, ...], words: str) -> None:  # noqa: ANN001
    code, out, err = run(capsys, data, *args)
    assert code == 1 and words in err and err.count("\n") == 1 and not out


def test_usage_errors_exit_2(capsys, data: Path) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit) as e:
        run(capsys, data, "issue", "--person", "A123456")
    assert e.value.code == 2 and "--for CODE" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        run(capsys, data, "print", "SRC-X", "--batch", "b", "--to", "x.pdf")
    assert e.value.code == 2
