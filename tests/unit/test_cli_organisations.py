"""`srcdesk organisations list|add|link`: community organisations on the command line;
coordinators at the SRC office add and connect them, everyone lists them; an establishment is
refused with the reason, one line, exit status 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from srcdesk.cli import main
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


def run(capsys, d: Path, user: str, *args: str) -> tuple[int, str, str]:  # noqa: ANN001
    capsys.readouterr()
    code = main(["--data-dir", str(d), "--user", user, "organisations", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_coordinator_at_the_office_adds_lists_and_connects(capsys, office: Path) -> None:  # noqa: ANN001
    code, out, err = run(capsys, office, "rita", "list")
    assert code == 0 and out == "No community organisations yet.\n", err
    code, out, err = run(capsys, office, "colin", "add", "--name", "Tayside Recovery Community",
                         "--area", "dundee city", "--offers", "Peer support; recovery café", "--contact", "01382 000")
    assert code == 0 and out.startswith("Added Tayside Recovery Community (Dundee City)."), err
    code, out, err = run(capsys, office, "colin", "add", "--name", "Glasgow Residential Rehab", "--area",
                         "Glasgow City", "--kind", "service")
    assert code == 0, err
    code, out, err = run(capsys, office, "colin", "link", "tayside", "--establishment", "per")
    assert (code, out) == (0, "Connected Tayside Recovery Community to PER.\n"), err
    code, out, err = run(capsys, office, "colin", "link", "Tayside Recovery Community", "--establishment", "BAR")
    assert code == 0, err
    code, out, err = run(capsys, office, "rita", "list")
    assert code == 0, err
    assert out.splitlines() == [
        "Glasgow Residential Rehab  [Service]  Glasgow City  connected to: none",
        "Tayside Recovery Community  [Lived Experience Recovery Organisation (LERO)]  Dundee City  "
        "connected to: BAR, PER",
        "    offers: Peer support; recovery café",
        "    contact: 01382 000",
    ]
    code, out, err = run(capsys, office, "rita", "list", "--establishment", "PER")
    assert code == 0 and out.startswith("Tayside Recovery Community") and "Glasgow" not in out, err
    code, out, err = run(capsys, office, "rita", "list", "--area", "Glasgow city", "--kind", "service")
    assert code == 0 and out.startswith("Glasgow Residential Rehab") and "Tayside" not in out, err
    code, out, err = run(capsys, office, "rita", "list", "--area", "Fife")
    assert (code, out) == (0, "No community organisations match.\n"), err

    with pytest.raises(SystemExit) as usage:
        run(capsys, office, "colin", "link", "Tayside", "--establishment", "PER", "--unlink")
    assert usage.value.code == 2 and "say why it is disconnected: --reason TEXT" in capsys.readouterr().err
    code, out, err = run(capsys, office, "colin", "link", "Tayside", "--establishment", "PER", "--unlink",
                         "--reason", "No longer visiting")
    assert (code, out) == (0, "Disconnected Tayside Recovery Community from PER.\n"), err
    code, out, err = run(capsys, office, "rita", "list", "--establishment", "PER")
    assert (code, out) == (0, "No community organisations match.\n"), err


@pytest.mark.parametrize(("user", "args", "says"), [
    ("rita", ("add", "--name", "X", "--area", "Fife"),
     "Only a coordinator can add community organisations"),
    ("colin", ("add", "--name", "X", "--area", "Tayside"), "'Tayside' is not one of Scotland's 32 council areas"),
    ("colin", ("add", "--name", "X", "--area", "Fife", "--kind", "charity"), "Kind of organisation must be one of"),
    ("colin", ("link", "Nowhere", "--establishment", "PER"), "No community organisation is called 'Nowhere'"),
    ("colin", ("link", "fife", "--establishment", "PER"), "names more than one organisation"),
    ("colin", ("link", "Fife Peers", "--establishment", "XYZ"), "Unknown establishment code 'XYZ'"),
    ("colin", ("link", "Fife Peers", "--establishment", "PER", "--unlink", "--reason", "x"), "not connected"),
    ("rita", ("list", "--area", "Strathclyde"), "'Strathclyde' is not one of Scotland's 32 council areas"),
])
def test_refusals_are_one_line(capsys, office: Path, user: str, args: tuple[str, ...], says: str) -> None:  # noqa: ANN001
    for name in ("Fife Peers", "Fife Recovery"):
        assert run(capsys, office, "colin", "add", "--name", name, "--area", "Fife")[0] == 0
    code, out, err = run(capsys, office, user, *args)
    assert code == 1 and says in err and len(err.strip().splitlines()) == 1, (code, out, err)


def test_an_establishment_lists_but_is_told_organisations_are_kept_at_the_office(
        capsys, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("SRCDESK_PASSWORD", PW)
    per = _setup(tmp_path, "per", "--establishment", "PER")
    code, out, err = run(capsys, per, "colin", "add", "--name", "Perth Peers", "--area", "Perth and Kinross")
    assert code == 1 and "community organisations (LEROs and services) are kept at the SRC office" in err, err
    code, out, err = run(capsys, per, "rita", "list")
    assert (code, out) == (0, "No community organisations yet.\n"), err
