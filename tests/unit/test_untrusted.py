"""Files from outside are opened once, must be regular files, and are read with a hard cap.

Each hostile kind of path (``/dev/zero``, a FIFO with no writer, a folder, a sparse 10 GB file,
a symbolic link to one of those) is refused at once, with one line, by every entry point: the
helper itself, the service functions that read bundles, enrolment cards and key files, the
database opener, and the command line (run as a subprocess with a timeout, so a hang fails).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from srcdesk.db import Database
from srcdesk.errors import DatabaseError, SrcdeskError, ValidationError
from srcdesk.paths import database_path
from srcdesk.services import sync
from srcdesk.services.setup import init_installation
from srcdesk.sync.errors import BundleRefused
from srcdesk.sync.identity import AGE_KEY_FILE, KeysError, keys_dir, load_keys, read_card_file
from srcdesk.untrusted import UnreadableFile, read_untrusted

REPO = Path(__file__).resolve().parents[2]
PW = "password123"


def _dev_zero(where: Path) -> Path:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    return Path("/dev/zero")


def _fifo(where: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    os.mkfifo(where / "fifo.srcbundle")
    return where / "fifo.srcbundle"


def _folder(where: Path) -> Path:
    (where / "folder.srcbundle").mkdir()
    return where / "folder.srcbundle"


def _sparse(where: Path) -> Path:
    path = where / "huge.srcbundle"
    with path.open("wb") as fh:
        fh.truncate(10 * 1024**3)  # like `truncate -s 10G`: no blocks written
    return path


def _link_to(make: Callable[[Path], Path]) -> Callable[[Path], Path]:
    def link(where: Path) -> Path:
        target = make(where)
        path = where / f"link-to-{target.name}"
        try:
            path.symlink_to(target, target_is_directory=target.is_dir())
        except OSError:
            pytest.skip("no symbolic links here")
        return path
    return link


HOSTILE = {
    "dev-zero": _dev_zero,
    "fifo": _fifo,
    "folder": _folder,
    "sparse-10GB": _sparse,
    "link-to-dev-zero": _link_to(_dev_zero),
    "link-to-fifo": _link_to(_fifo),
    "link-to-folder": _link_to(_folder),
    "link-to-sparse": _link_to(_sparse),
}


@pytest.fixture(params=sorted(HOSTILE))
def hostile(request, tmp_path: Path) -> Path:  # noqa: ANN001
    where = tmp_path / "outside"
    where.mkdir()
    return HOSTILE[request.param](where)


def _one_line(error: BaseException) -> str:
    text = str(error)
    assert text and "\n" not in text and "Traceback" not in text
    return text


def _fast(call: Callable[[], object], within: float = 5.0) -> BaseException:
    started = time.monotonic()
    with pytest.raises(SrcdeskError) as caught:
        call()
    assert time.monotonic() - started < within
    _one_line(caught.value)
    return caught.value


# -- the helper ---------------------------------------------------------------------------------


def test_helper_refuses(hostile: Path) -> None:
    error = _fast(lambda: read_untrusted(hostile, limit=1 << 30, what="bundle"))
    assert isinstance(error, UnreadableFile)
    assert any(word in str(error) for word in ("folder", "ordinary file", "larger than"))


def test_helper_reads_a_regular_file_within_its_cap(tmp_path: Path) -> None:
    path = tmp_path / "card.txt"
    path.write_bytes(b"x" * 100)
    assert read_untrusted(path, limit=100) == b"x" * 100
    with pytest.raises(UnreadableFile, match="larger than"):
        read_untrusted(path, limit=99)
    with pytest.raises(UnreadableFile, match="does not exist"):
        read_untrusted(tmp_path / "missing", limit=100)


# -- the service functions ----------------------------------------------------------------------


def test_bundle_verify_and_import_refuse(ctx, hostile: Path) -> None:  # noqa: ANN001
    error = _fast(lambda: sync.verify_bundle(ctx, hostile))
    assert isinstance(error, BundleRefused)
    batch = sync.import_bundles(ctx, [hostile], backup=False)
    [outcome] = batch.outcomes
    assert isinstance(outcome.error, BundleRefused) and batch.refused
    _one_line(outcome.error)


def test_enrolment_card_refused(hostile: Path) -> None:
    assert isinstance(_fast(lambda: read_card_file(hostile)), BundleRefused)


def test_enrolment_card_refused_in_the_app(hostile: Path) -> None:
    from srcdesk.ui.sync_dialogs.trust import peek_card

    error = _fast(lambda: peek_card(hostile))
    assert isinstance(error, ValidationError) and error.field == "card"


def test_key_file_replaced_by_hostile_path(ctx, hostile: Path) -> None:  # noqa: ANN001
    key = keys_dir(ctx.db.data_dir) / AGE_KEY_FILE
    key.unlink()
    try:
        key.symlink_to(hostile, target_is_directory=hostile.is_dir())
    except OSError:
        pytest.skip("no symbolic links here")
    error = _fast(lambda: load_keys(ctx.db.data_dir))
    assert isinstance(error, KeysError) and "damaged" in str(error)


def test_database_replaced_by_fifo_or_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    database_path(data).mkdir()
    assert isinstance(_fast(lambda: Database.open(data)), DatabaseError)
    if hasattr(os, "mkfifo"):
        database_path(data).rmdir()
        os.mkfifo(database_path(data))
        assert isinstance(_fast(lambda: Database.open(data)), DatabaseError)


# -- the command line -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def installation(tmp_path_factory) -> Path:  # noqa: ANN001
    data = tmp_path_factory.mktemp("cli") / "data"
    init_installation(data, establishment="PER", office=False, admin_username="ann",
                      admin_name="Ann Admin", admin_password=PW).db.close()
    return data


CLI_READS = {
    "bundle-verify": ["bundle", "verify"],
    "bundle-import": ["bundle", "import"],
    "keys-enrol": ["keys", "enrol", "--fingerprint", "0000", "--"],
}


@pytest.mark.parametrize("command", sorted(CLI_READS))
def test_cli_refuses_at_once(installation: Path, hostile: Path, command: str) -> None:
    env = {**os.environ, "SRCDESK_PASSWORD": PW, "PYTHONPATH": str(REPO)}
    env.pop("SRCDESK_HOME", None)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "srcdesk.cli", "--data-dir", str(installation), "--user", "ann",
         *CLI_READS[command], str(hostile)],
        capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL, check=False,
    )
    assert done.returncode == 1, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert hostile.name in lines[0] and "Traceback" not in done.stderr
    assert any(word in lines[0] for word in ("folder", "ordinary file", "larger than")), lines[0]
    assert time.monotonic() - started < 30
