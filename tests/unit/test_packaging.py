"""Cheap checks that installer.spec still ships what the frozen app loads at run time.

Nothing is built here (``make dist`` does that, and .ci/run smoke-tests the result); these
catch the classic frozen-build failures early: a missing SQLite dialect, missing Alembic
scripts or resources, or a Qt module the UI imports but the spec excludes.
"""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

import pytest

import srcdesk.db
from srcdesk import paths

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "installer.spec"


@pytest.fixture(scope="module")
def spec_text() -> str:
    return SPEC.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def spec_tree(spec_text: str) -> ast.Module:
    return ast.parse(spec_text, str(SPEC))


def _literal(tree: ast.Module, name: str) -> object:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"installer.spec no longer defines {name}")


def test_spec_is_valid_python(spec_tree: ast.Module) -> None:
    assert spec_tree.body


def test_spec_collects_the_sqlite_dialect(spec_text: str) -> None:
    assert '"sqlalchemy.dialects.sqlite"' in spec_text
    assert '"sqlalchemy.dialects.sqlite.pysqlite"' in spec_text


def test_spec_ships_alembic_scripts_as_files(spec_text: str) -> None:
    for needed in ('"env.py"', '"script.py.mako"', '"versions" / "*.py"', '"srcdesk/migrations"',
                   '"srcdesk/migrations/versions"'):
        assert needed in spec_text


def test_spec_ships_resources(spec_text: str) -> None:
    assert '(str(RESOURCES), "resources")' in spec_text


def test_migrations_are_where_the_spec_puts_them() -> None:
    """srcdesk.db finds the scripts beside the package, i.e. at srcdesk/migrations in the bundle."""
    mig = srcdesk.db.MIGRATIONS_DIR
    assert mig == Path(srcdesk.db.__file__).resolve().parent / "migrations"
    assert mig.relative_to(ROOT).as_posix() == "srcdesk/migrations"
    assert (mig / "env.py").is_file()
    assert (mig / "script.py.mako").is_file()
    assert list((mig / "versions").glob("*.py"))


def test_frozen_resources_dir_is_under_meipass(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert paths.resources_dir() == tmp_path / "resources"


def test_user_guide_is_inside_resources() -> None:
    """Help → User guide (F1) reads it from resources/, which the spec ships whole."""
    from srcdesk.ui.guide import guide_path

    assert guide_path() == ROOT / "resources" / "help" / "guide.md" and guide_path().is_file()


def test_reference_data_is_inside_resources() -> None:
    assert (ROOT / "resources" / "reference" / "reference.json").is_file()


def _qt_modules_imported_by_srcdesk() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / "srcdesk").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
                if node.module == "PySide6":
                    names += [f"PySide6.{a.name}" for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "PySide6" and len(parts) > 1 and parts[1].startswith("Qt"):
                    found.setdefault(parts[1], set()).add(path.relative_to(ROOT).as_posix())
    return found


def test_spec_does_not_exclude_a_qt_module_srcdesk_uses(spec_tree: ast.Module) -> None:
    excluded = set(_literal(spec_tree, "QT_EXCLUDED"))  # type: ignore[arg-type]
    used = _qt_modules_imported_by_srcdesk()
    clashes = {m: sorted(files) for m, files in used.items() if m in excluded}
    assert not clashes, f"installer.spec excludes Qt modules that srcdesk imports: {clashes}"


def test_spec_keeps_the_qt_modules_the_design_names(spec_tree: ast.Module) -> None:
    kept = set(_literal(spec_tree, "QT_MODULES"))  # type: ignore[arg-type]
    assert {"QtCore", "QtGui", "QtWidgets", "QtPrintSupport", "QtSvg", "QtSql"} <= kept
    assert not kept & set(_literal(spec_tree, "QT_EXCLUDED"))  # type: ignore[arg-type]


# -- a fresh Debian machine: what it must install, a venv that heals, metadata, self-contained README

PACKAGES = ROOT / "tools" / "debian-packages.txt"


def _debian_packages() -> list[str]:
    return [line.split("#")[0].strip() for line in PACKAGES.read_text(encoding="utf-8").splitlines()
            if line.split("#")[0].strip()]


def test_the_package_list_has_what_a_bare_machine_lacks() -> None:
    needed = {"python3", "python3-venv", "make", "libxcb-cursor0", "libxkbcommon-x11-0", "libegl1",
              "libfontconfig1", "binutils", "minisign", "age", "sqlite3"}
    packages = _debian_packages()
    assert needed <= set(packages), needed - set(packages)
    assert len(packages) == len(set(packages))


def test_ci_and_the_readme_install_that_list() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "apt-get install -y -qq --no-install-recommends $(sed 's/#.*//' tools/debian-packages.txt)" in ci
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "apt-get install --no-install-recommends $(sed 's/#.*//' tools/debian-packages.txt)" in quick_start


def test_the_readme_links_only_inside_the_repository() -> None:
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", readme)
    assert targets, "the README links to its docs and screenshots"
    for target in targets:
        path = target.split("#", 1)[0]
        assert "://" not in target and not path.startswith("/"), target
        resolved = (ROOT / path).resolve()
        assert resolved.is_relative_to(ROOT), f"{target} is outside the repository"
        assert resolved.exists(), f"{target} does not exist"
    assert "docs/design.md" in targets


def test_the_license_is_an_spdx_expression_with_its_file() -> None:
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project = meta["project"]
    assert isinstance(project["license"], str)  # PEP 639: an SPDX expression, not a table
    assert project["license-files"] and all(list(ROOT.glob(g)) for g in project["license-files"])
    backend = [r for r in meta["build-system"]["requires"] if r.startswith("setuptools")]
    assert backend == ["setuptools>=77"]  # the first setuptools that reads PEP 639's fields


FAKE_PYTHON = """#!/bin/sh
# A stand-in for python3: "-m venv DIR" makes DIR/bin/python (this script) and a marker,
# "-m pip ..." is logged, "-c ..." succeeds.
echo "$*" >> "$FAKE_LOG"
case "$1" in
  -m) if [ "$2" = venv ]; then mkdir -p "$3/bin"; cp "$0" "$3/bin/python"; touch "$3/made"; fi ;;
esac
exit 0
"""


@pytest.fixture
def make_here(tmp_path: Path):  # noqa: ANN201
    """``make TARGET`` with srcdesk's Makefile in an empty folder, with a fake Python."""
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("no make")
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text("")
    fake = tmp_path / "fake-python"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    log = tmp_path / "calls.log"

    def run(*targets: str, stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess:
        return subprocess.run(["make", f"PYTHON={fake}", *targets], cwd=tmp_path, stdin=stdin,
                              env={**os.environ, "FAKE_LOG": str(log)}, capture_output=True, text=True,
                              timeout=60)

    return tmp_path, run


def test_make_rebuilds_a_half_made_venv(make_here) -> None:  # noqa: ANN001
    folder, make = make_here
    venv, stamp = folder / ".venv", folder / ".venv" / ".installed-stamp"
    assert make(".venv/.installed-stamp").returncode == 0
    assert (venv / "made").exists() and stamp.exists()
    # Up to date: nothing is made again.
    (venv / "made").unlink()
    assert make(".venv/.installed-stamp").returncode == 0 and not (venv / "made").exists()
    # An install that was interrupted: no stamp. The venv is made again, not patched.
    stamp.unlink()
    (venv / "left-over").touch()
    done = make(".venv/.installed-stamp")
    assert done.returncode == 0 and "incomplete or broken" in done.stdout
    assert (venv / "made").exists() and not (venv / "left-over").exists() and stamp.exists()
    # A venv whose Python no longer starts, stamp and all.
    (venv / "made").unlink()
    (venv / "bin" / "python").write_text("#!/bin/sh\nexit 1\n")
    done = make(".venv/.installed-stamp")
    assert done.returncode == 0 and (venv / "made").exists() and stamp.exists()
    # No bin/python at all.
    (venv / "bin" / "python").unlink()
    done = make(".venv/.installed-stamp")
    assert done.returncode == 0 and (venv / "bin" / "python").exists() and stamp.exists()


def test_make_clean_keeps_the_venv_unless_asked(make_here) -> None:  # noqa: ANN001
    folder, make = make_here
    assert make(".venv/.installed-stamp").returncode == 0
    (folder / "build").mkdir()
    done = make("clean")  # no terminal: the default is no
    assert done.returncode == 0 and "Kept .venv" in done.stdout
    assert (folder / ".venv").exists() and not (folder / "build").exists()


def test_make_clean_removes_the_venv_when_told_yes_in_a_terminal(make_here) -> None:  # noqa: ANN001
    import pty

    folder, make = make_here
    assert make(".venv/.installed-stamp").returncode == 0
    controller, terminal = pty.openpty()
    try:
        os.write(controller, b"y\n")  # the answer, typed ahead
        done = make("clean", stdin=terminal)
    finally:
        os.close(terminal)
        os.close(controller)
    assert done.returncode == 0 and "Removed .venv" in done.stdout, done.stdout + done.stderr
    assert not (folder / ".venv").exists()


def test_certificate_fonts_and_their_licence_are_inside_resources() -> None:
    """The certificate PDF embeds DejaVu fonts read from resources/fonts, which the spec ships whole."""
    from srcdesk.reports.certificates import _FONT_FILES

    fonts = ROOT / "resources" / "fonts"
    assert all((fonts / name).is_file() for name in _FONT_FILES.values())
    assert "Bitstream" in (fonts / "LICENSE").read_text(encoding="utf-8")
