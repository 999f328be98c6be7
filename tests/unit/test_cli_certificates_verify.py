"""``srcdesk certificates verify TEXT [--name …]``: one line, exit status 0 only for a genuine, valid
certificate, 1 for anything else, 2 for a usage error; it only reads, so it runs beside the open app."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from srcdesk.services import certificates, people, trust
from srcdesk.services.setup import init_installation
from srcdesk.services.users import add_user
from srcdesk.sync import certcode
from srcdesk.sync.minisign import SigningKey

ROOT = Path(__file__).resolve().parents[2]
PW = "password123"


def srcdesk(data: Path, *args: str, user: str = "rita") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SRCDESK_PASSWORD": PW}
    env.pop("SRCDESK_USER", None)
    return subprocess.run([sys.executable, "-m", "srcdesk.cli", "--data-dir", str(data), "--user", user, *args],
                          env=env, text=True, timeout=120, capture_output=True)


@pytest.fixture
def perth(tmp_path: Path) -> Iterator[tuple[Path, object, str]]:
    """HMP Perth with a recorder (rita) and a certificate issued by a coordinator."""
    folder = tmp_path / "data"
    ctx = init_installation(folder, establishment="PER", office=False, admin_username="ann",
                            admin_name="Ann Admin", admin_password=PW)
    add_user(ctx, "rita", "Rita Recorder", "recorder", PW)
    coordinator = ctx.signed_in(add_user(ctx, "colin", "Colin Coordinator", "coordinator", PW))
    kim = people.create_person(coordinator, given_name="Kim", family_name="Lee")
    cert = certificates.issue(coordinator, person_id=kim.id, kind="programme", programme_id="prog-rcdt")
    # A code this PC's key signed for a serial it does not hold (as if from a backup restored elsewhere).
    not_here = certcode.sign(trust.local_identity(ctx).signing_key, serial="SRC-PER-2026-FFFF-000009",
                             award_code="RCDT", issued_on=cert.issued_on, establishment_code="PER", name="Kim Lee")
    ctx.db.close()
    yield folder, cert, not_here


@pytest.fixture
def app_open(perth: tuple[Path, object, str]) -> Iterator[subprocess.Popen]:
    """Another srcdesk process holding the data folder's lock, as the desktop app does while open."""
    folder = perth[0]
    proc = subprocess.Popen([sys.executable, "-c", "import time\nfrom pathlib import Path\n"
                             "from srcdesk.instance import InstanceLock\n"
                             f"lock = InstanceLock(Path({str(folder)!r}))\nlock.acquire()\n"
                             "print('held', flush=True)\ntime.sleep(120)\n"],
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    yield proc
    proc.kill()
    proc.wait()


def test_valid_is_zero_and_everything_else_one_each_on_one_line(perth, app_open) -> None:  # noqa: ANN001
    folder, cert, _ = perth
    done = srcdesk(folder, "certificates", "verify", cert.code, "--name", "kim lee")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Genuine and valid. Serial: " + cert.serial) and done.stdout.count("\n") == 1

    wrong_name = srcdesk(folder, "certificates", "verify", cert.code, "--name", "Kim Leigh")
    assert wrong_name.returncode == 1
    assert wrong_name.stdout == "Not genuine: the name typed is not the name this certificate was issued to.\n"

    stranger = certcode.sign(SigningKey.generate(), serial=cert.serial, award_code="RCDT", issued_on=cert.issued_on,
                             establishment_code="PER", name="Kim Lee")
    done = srcdesk(folder, "certificates", "verify", stranger)
    assert (done.returncode, done.stdout) == (1, "Not genuine: it was signed by a PC this srcdesk does not know.\n")

    done = srcdesk(folder, "certificates", "verify", cert.serial)
    assert done.returncode == 1 and done.stdout.startswith("Checked by serial only: the code was not checked.")


def test_genuine_but_not_here_is_one(perth) -> None:  # noqa: ANN001
    folder, _cert, not_here = perth
    done = srcdesk(folder, "certificates", "verify", not_here)
    assert done.returncode == 1 and done.stdout.startswith("Genuine, issued by HMP Perth's PC on ")


def test_no_text_is_a_usage_error(perth) -> None:  # noqa: ANN001
    done = srcdesk(perth[0], "certificates", "verify")
    assert done.returncode == 2 and "TEXT" in done.stderr
