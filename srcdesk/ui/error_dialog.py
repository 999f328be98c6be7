"""The unexpected-error dialog: what happened, and details that can be selected and copied.

Shown by :class:`srcdesk.ui.errors.ExceptionHandler`, which imports this module only when there
is an error to show (the sign-in window does not wait for these widgets).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class ErrorDialog(QDialog):
    """Says that something unexpected happened; the details can be selected and copied."""

    def __init__(self, summary: str, details: str, log_file: Path | None, parent: QWidget | None = None,
                 *, headline: str = "Something went wrong that srcdesk did not expect.") -> None:
        super().__init__(parent)
        self.setObjectName("errorDialog")
        self.setWindowTitle("srcdesk — unexpected problem")
        self.setWindowModality(Qt.WindowModality.ApplicationModal)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setMinimumWidth(560)

        from PySide6.QtWidgets import QStyle  # not at the top: its Python type costs the sign-in window

        icon = QLabel()
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical).pixmap(40, 40))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)

        self.summary = QLabel()
        self.summary.setObjectName("errorSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        where = (
            f"The details below were also written to {log_file}."
            if log_file is not None
            else "The details below could not be written to the log file."
        )
        self.summary.setText(
            f"<p><b>{_html(headline)}</b></p><p>{_html(summary)}</p>"
            f"<p>{_html(where)} If it keeps happening, copy the details and send them to whoever "
            "looks after srcdesk for you.</p>"
        )

        self.details = QPlainTextEdit()
        self.details.setObjectName("errorDetails")
        self.details.setAccessibleName("Error details")
        self.details.setReadOnly(True)
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setPlainText(details)
        self.details.setMinimumHeight(180)

        buttons = QDialogButtonBox()
        self.copy_button = QPushButton("&Copy details")
        self.copy_button.setAccessibleName("Copy details")
        self.copy_button.setAutoDefault(False)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.setDefault(True)
        close.setAccessibleName("Close")
        self.copy_button.clicked.connect(self.copy_details)
        buttons.rejected.connect(self.reject)

        top = QHBoxLayout()
        top.addWidget(icon)
        top.addWidget(self.summary, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)
        close.setFocus()

    def add_details(self, summary: str, details: str) -> None:
        """Another error arrived while this one is shown: append it rather than stack dialogs."""
        self.details.appendPlainText("\n" + "-" * 60 + "\n" + details)

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details.toPlainText())
        self.copy_button.setText("&Copied")


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
