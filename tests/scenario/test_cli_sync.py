"""Done when: two establishments and the office, set up with the CLI alone, exchange bundles
both ways and converge; the stock tools verify and decrypt them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from srcdesk.cli import main

PASSWORD = "cli-password-123"
TOOLS = shutil.which("minisign") and shutil.which("age")


def run(capsys, data: Path, *args: str, user: str | None = None) -> tuple[int, str, str]:
    argv = ["--data-dir", str(data)]
    if user:
        argv += ["--user", user]
    code = main([*argv, *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("SRCDESK_PASSWORD", PASSWORD)
    monkeypatch.delenv("SRCDESK_USER", raising=False)


def test_two_establishments_and_the_office_converge_with_the_cli_alone(tmp_path, capsys, env):
    office, per, bar = tmp_path / "office", tmp_path / "per", tmp_path / "bar"
    stick = tmp_path / "stick"
    stick.mkdir()
    assert run(capsys, office, "init", "--office", "--admin", "phr",
               "--recovery-key-out", str(tmp_path / "recovery.key"))[0] == 0
    for data, code in ((per, "PER"), (bar, "BAR")):
        assert run(capsys, data, "init", "--establishment", code, "--admin", "admin")[0] == 0
    ids, fps = {}, {}
    for data, user in ((office, "phr"), (per, "admin"), (bar, "admin")):
        code, out, _ = run(capsys, data, "keys", "show", "--format", "json", user=user)
        shown = json.loads(out)
        assert set(shown) >= {"installation_id", "role", "establishment", "minisign_public_key", "age_recipient",
                              "fingerprint"}
        ids[data], fps[data] = shown["installation_id"], shown["fingerprint"]
        assert run(capsys, data, "keys", "export", "--to", str(tmp_path / f"{data.name}.card"), user=user)[0] == 0
    for site in (per, bar):
        assert run(capsys, site, "keys", "enrol", str(tmp_path / "office.card"), "--fingerprint", fps[office],
                   user="admin")[0] == 0
        assert run(capsys, office, "keys", "enrol", str(tmp_path / f"{site.name}.card"), "--fingerprint",
                   fps[site], user="phr")[0] == 0
    # A wrong fingerprint is refused.
    code, _, err = run(capsys, office, "keys", "enrol", str(tmp_path / "per.card"), "--fingerprint", "00" * 32,
                       user="phr")
    assert code == 1 and "fingerprint" in err

    # Each establishment exports for the office; the office imports both.
    files = []
    for site in (per, bar):
        code, out, err = run(capsys, site, "bundle", "export", "--to", str(stick), user="admin")
        assert code == 0, err
        files.append(Path(out.split(": ", 1)[1].split(" (")[0]))
    for f in files:
        code, out, err = run(capsys, office, "bundle", "verify", str(f), user="phr")
        assert code == 0 and "OK" in out, err
    code, out, err = run(capsys, office, "bundle", "import", *map(str, files), user="phr")
    assert code == 0, err
    code, out, err = run(capsys, office, "bundle", "import", str(files[0]), user="phr")
    assert code == 0 and "already imported" in out

    # The office sends each establishment its bundle; they import it.
    back = stick / "back"
    back.mkdir()
    code, out, err = run(capsys, office, "bundle", "export", "--to", str(back), "--all", user="phr")
    assert code == 0, err
    for site in (per, bar):
        mine = [p for p in back.iterdir() if p.name.startswith(f"office-to-{site.name.upper()}-")]
        assert len(mine) == 1
        code, out, err = run(capsys, site, "bundle", "import", str(mine[0]), user="admin")
        assert code == 0, err
        # The other establishment's bundle is not for this PC.
        other = next(p for p in back.iterdir() if p != mine[0])
        code, _, err = run(capsys, site, "bundle", "import", str(other), user="admin")
        assert code == 1 and err
    for data in (office, per, bar):
        assert run(capsys, data, "check")[0] == 0
    code, out, _ = run(capsys, office, "conflicts", "list", user="phr")
    assert code == 0 and "No conflicts" in out

    if not TOOLS:
        if os.environ.get("CI"):
            pytest.fail("CI must install the Debian packages minisign and age")
        pytest.skip("stock minisign/age not installed")
    # The stock tools verify and decrypt a bundle sent to the office (also with the recovery key).
    work = tmp_path / "audit"
    work.mkdir()
    with zipfile.ZipFile(files[0]) as z:
        assert sorted(z.namelist()) == ["payload.age", "payload.age.minisig"]
        z.extractall(work)
    code, out, _ = run(capsys, per, "keys", "show", "--format", "json", user="admin")
    key = json.loads(out)["minisign_public_key"]
    verified = subprocess.run(["minisign", "-Vm", str(work / "payload.age"), "-P", key],
                              capture_output=True, text=True, timeout=30)
    assert verified.returncode == 0 and f"origin={ids[per]}" in verified.stdout
    for identity in (office / "keys" / "age.key", tmp_path / "recovery.key"):
        out_zip = work / f"payload-{identity.parent.name}.zip"
        subprocess.run(["age", "-d", "-i", str(identity), "-o", str(out_zip), str(work / "payload.age")],
                       check=True, timeout=30)
        with zipfile.ZipFile(out_zip) as z:
            assert "manifest.json" in z.namelist()
