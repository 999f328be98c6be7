"""Dependencies point down (DESIGN.md, rule 1): nothing outside ``srcdesk/ui/`` imports Qt.

The check reads every module's source with ``ast`` (nothing is imported), so it also covers
imports inside functions, ``importlib.import_module("PySide6…")`` and ``__import__``. It also
refuses imports of ``srcdesk.ui`` from below it: only the command line (``cli.py``) may open
the desktop app.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import srcdesk

PACKAGE_DIR = Path(srcdesk.__file__).resolve().parent
QT_MODULES = ("PySide6", "shiboken6")
UI_PACKAGE = "srcdesk.ui"
MAY_OPEN_THE_UI = {"srcdesk.start"}  # `srcdesk` with no command starts the app (srcdesk.cli through it)


def _is_within(name: str, roots: tuple[str, ...] | str) -> bool:
    roots = (roots,) if isinstance(roots, str) else roots
    return any(name == root or name.startswith(root + ".") for root in roots)


def _resolve(module: str | None, level: int, importer: str, is_package: bool) -> str:
    """The absolute name of ``from <level dots><module> import …`` written in ``importer``."""
    if level == 0:
        return module or ""
    parts = importer.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, module] if module else base)


def _string_arg(call: ast.Call) -> str | None:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


def _is_dynamic_import(func: ast.expr) -> bool:
    """importlib.import_module(...), import_module(...), __import__(...)."""
    if isinstance(func, ast.Attribute):
        return func.attr == "import_module"
    if isinstance(func, ast.Name):
        return func.id in {"import_module", "__import__"}
    return False


def imported_modules(source: str, module: str = "module", *, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module name) for every import in ``source``, dynamic string imports too."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module, node.level, module, is_package)
            found.append((node.lineno, base))
            # `from srcdesk import ui` imports srcdesk.ui
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func):
            name = _string_arg(node)
            if name is not None:
                found.append((node.lineno, name))
    return found


def forbidden_imports(source: str, module: str = "module", *, is_package: bool = False) -> list[tuple[int, str]]:
    """The imports in ``source`` (module ``module``) that break the layering rule."""
    if _is_within(module, UI_PACKAGE):
        return []
    bad = []
    for line, name in imported_modules(source, module, is_package=is_package):
        if _is_within(name, QT_MODULES):
            bad.append((line, name))
        elif _is_within(name, UI_PACKAGE) and module not in MAY_OPEN_THE_UI:
            bad.append((line, name))
    # `from PySide6.QtCore import QObject` is one violation, not two: keep the shortest name.
    bad = sorted(set(bad))
    return [(line, name) for line, name in bad
            if not any(other_line == line and name.startswith(other + ".") for other_line, other in bad)]


def package_modules() -> list[tuple[Path, str, bool]]:
    modules = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        rel = path.relative_to(PACKAGE_DIR.parent).with_suffix("")
        parts = list(rel.parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        modules.append((path, ".".join(parts), is_package))
    return modules


# -- the rule ----------------------------------------------------------------------------------


def test_nothing_outside_ui_imports_qt():
    modules = package_modules()
    assert len(modules) > 10, f"found only {len(modules)} modules under {PACKAGE_DIR}"
    problems = []
    for path, module, is_package in modules:
        source = path.read_text(encoding="utf-8")
        for line, name in forbidden_imports(source, module, is_package=is_package):
            problems.append(f"{path.relative_to(PACKAGE_DIR.parent)}:{line} imports {name}")
    assert problems == [], "only srcdesk/ui/ may import Qt (DESIGN.md rule 1):\n" + "\n".join(problems)


def test_the_core_loads_without_qt():
    """Belt and braces: importing every module outside ui/ pulls no Qt into the process."""
    core = [m for _, m, _ in package_modules()
            if not _is_within(m, UI_PACKAGE) and m not in {"srcdesk.__main__"}
            and not _is_within(m, "srcdesk.migrations")]
    code = (
        "import importlib, sys\n"
        f"for name in {core!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6')\n"
        "             or m == 'srcdesk.ui' or m.startswith('srcdesk.ui.'))\n"
        "print('\\n'.join(bad))\n"
        "sys.exit(1 if bad else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"Qt or srcdesk.ui loaded by the core:\n{done.stdout}{done.stderr}"


# -- the checker itself can fail ----------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "import PySide6",
        "import PySide6.QtCore",
        "import shiboken6",
        "import os, PySide6.QtWidgets as w",
        "from PySide6 import QtCore",
        "from PySide6.QtCore import QObject, Signal",
        "from shiboken6 import isValid",
        "def later():\n    from PySide6.QtGui import QColor\n",
        "import importlib\nimportlib.import_module('PySide6.QtCore')",
        "from importlib import import_module\nimport_module('shiboken6')",
        "__import__('PySide6')",
        "try:\n    import PySide6\nexcept ImportError:\n    pass\n",
        "from srcdesk.ui.app import run_app",
        "from srcdesk import ui",
        "from ..ui.tasks import run_task",
    ],
)
def test_checker_catches(source):
    assert forbidden_imports(source, "srcdesk.services.example"), source


@pytest.mark.parametrize(
    "source",
    [
        "import os\nimport sqlalchemy",
        "from ..errors import SrcdeskError",
        "from . import base",
        "# import PySide6 (a comment)\nx = 'PySide6 is not imported here'",
        "import PySide6_helpers",  # a different top-level name
        "from srcdesk.uix import y",
        "getattr(importlib, 'reload')(x)",
    ],
)
def test_checker_allows(source):
    assert forbidden_imports(source, "srcdesk.services.example") == [], source


def test_checker_scope():
    qt = "from PySide6.QtWidgets import QDialog"
    assert forbidden_imports(qt, "srcdesk.ui.login_dialog") == []
    assert forbidden_imports(qt, "srcdesk.ui", is_package=True) == []
    assert forbidden_imports(qt, "srcdesk.cli") == [(1, "PySide6.QtWidgets")]
    # The command line may open the app (that is what `srcdesk` with no command does) …
    assert forbidden_imports("from .ui.app import run_app", "srcdesk.start") == []
    # … but a service may not, even relatively.
    assert forbidden_imports("from ..ui.app import run_app", "srcdesk.services.setup") == [(1, "srcdesk.ui.app")]
    # Relative imports resolve from a package's __init__ as well.
    assert _resolve("ui", 1, "srcdesk", is_package=True) == "srcdesk.ui"
    assert _resolve(None, 2, "srcdesk.services.setup", is_package=False) == "srcdesk"


def test_checker_finds_a_planted_violation(tmp_path):
    """End to end: a module under a fake package tree that imports Qt is reported with its line."""
    module = tmp_path / "srcdesk" / "reports" / "certificates.py"
    module.parent.mkdir(parents=True)
    module.write_text('"""PDFs."""\n\nimport os\nfrom PySide6.QtGui import QPdfWriter\n', encoding="utf-8")
    assert forbidden_imports(module.read_text(encoding="utf-8"), "srcdesk.reports.certificates") == [
        (4, "PySide6.QtGui")
    ]
