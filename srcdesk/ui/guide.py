"""Help → User guide (F1): the short guide shipped in ``resources/help/guide.md``, shown offline.

The file is read in the background (the UI thread never waits on the disk) and shown as
Markdown in a :class:`QTextBrowser`. Links to other places are not followed: the guide is all
there is, and a PC in an establishment has no network to follow them on.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from ..paths import resources_dir
from .tasks import run_task

GUIDE_MAX_BYTES = 256 * 1024


def guide_path() -> Path:
    return resources_dir() / "help" / "guide.md"


def read_guide(path: Path | None = None) -> str:
    path = path or guide_path()
    with path.open("rb") as fh:
        return fh.read(GUIDE_MAX_BYTES).decode("utf-8", errors="replace")


class GuideWindow(QDialog):
    """The user guide, in a window that stays open beside the main one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("guideWindow")
        self.setWindowTitle("srcdesk — User guide")
        self.setModal(False)
        self.loaded = False
        self.browser = QTextBrowser()
        self.browser.setObjectName("guideText")
        self.browser.setAccessibleName("User guide")
        self.browser.setOpenLinks(False)
        self.browser.setPlainText("Opening the guide…")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser, 1)
        layout.addWidget(buttons)
        # A readable column, within small screens (1024×600).
        chars = self.fontMetrics().averageCharWidth()
        self.resize(min(80 * chars, 900), 520)
        self.browser.setFocus(Qt.FocusReason.OtherFocusReason)
        run_task(read_guide, owner=self, name="open the user guide", on_result=self._loaded,
                 on_error=self._failed)

    def _loaded(self, text: str) -> None:
        self.browser.setMarkdown(text)
        self.loaded = True

    def _failed(self, error: BaseException) -> None:
        self.browser.setPlainText(f"The user guide couldn't be opened ({type(error).__name__}); "
                                  f"it should be at {guide_path()}.")
        self.loaded = True
