"""PySide6 6.12.0 loses a reference to None each time ``QModelIndex.data()`` returns None.

After about 100k calls CPython aborts with "Fatal Python error: none_dealloc" — for srcdesk a
table model scrolled through for a while, with empty cells. The project pins PySide6 below
6.12 (pyproject.toml) until a fixed release exists; this test is what says the pin is still
needed and still effective.

The loop runs in a subprocess so that an abort fails this test instead of killing pytest.
(On Python 3.12+ None is immortal, so the refcount check only bites on 3.11, which srcdesk
supports; the process must survive either way.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib.metadata import PackageNotFoundError, version

import PySide6

CALLS = 200_000

SCRIPT = textwrap.dedent(
    f"""
    import sys
    from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
    from PySide6.QtGui import QGuiApplication, QStandardItemModel

    app = QGuiApplication([])
    CALLS = {CALLS}

    class Sparse(QAbstractTableModel):
        # data() returns None for empty cells, as srcdesk's table models do.
        def rowCount(self, parent=QModelIndex()):
            return 0 if parent.isValid() else 10

        def columnCount(self, parent=QModelIndex()):
            return 0 if parent.isValid() else 3

        def data(self, index, role=Qt.ItemDataRole.DisplayRole):
            return None

    for model in (Sparse(), QStandardItemModel(10, 3)):
        index = model.index(1, 1)
        assert index.isValid()
        before = sys.getrefcount(None)
        for _ in range(CALLS):
            if index.data() is not None:
                sys.exit("index.data() returned something other than None")
        lost = before - sys.getrefcount(None)
        print(type(model).__name__, "lost", lost, "references to None")
        if lost > CALLS // 10:
            sys.exit(f"{{type(model).__name__}}: {{lost}} references to None lost in {{CALLS}} calls")
    print("survived")
    """
)


def test_installed_pyside6_is_not_the_broken_release():
    assert PySide6.__version__ != "6.12.0", "PySide6 6.12.0 aborts after ~100k None results; see pyproject.toml"
    try:
        installed = version("PySide6-Essentials")
    except PackageNotFoundError:
        installed = version("PySide6")
    assert installed != "6.12.0"


def test_many_none_results_from_index_data_do_not_kill_the_process():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    output = f"exit code {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert "none_dealloc" not in done.stderr, output
    assert done.returncode == 0, output
    assert "survived" in done.stdout, output


def test_the_subprocess_harness_notices_a_none_dealloc_abort():
    """What the bug does, simulated: losing references to None aborts the child, not pytest."""
    losing = "import ctypes\nfor _ in range(1_000_000):\n    ctypes.pythonapi.Py_DecRef(ctypes.py_object(None))\n"
    done = subprocess.run([sys.executable, "-c", losing], capture_output=True, text=True, timeout=120)
    if sys.version_info >= (3, 12):  # None is immortal there: nothing to lose
        return
    assert done.returncode != 0
    assert "none_dealloc" in done.stderr or "deallocating None" in done.stderr
