"""Cheap checks that installer.spec still ships what the frozen app loads at run time.

Nothing is built here (``make dist`` does that, and .ci/run smoke-tests the result); these
catch the classic frozen-build failures early: a missing SQLite dialect, missing Alembic
scripts or resources, or a Qt module the UI imports but the spec excludes.
"""

from __future__ import annotations

import ast
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
