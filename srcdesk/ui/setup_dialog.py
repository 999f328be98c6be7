"""First run: set this PC up for an establishment or the SRC office, with its first administrator."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ..errors import SrcdeskError, ValidationError
from ..paths import database_path, sample_data_dir
from ..services.base import Context
from ..services.estate import establishment_sort_key, place_name
from ..services.setup import (
    RECOVERY_WARNING,
    SAMPLE_ESTABLISHMENT,
    SAMPLE_SIGN_IN,
    create_sample_installation,
    establishment_codes,
    init_installation,
)
from ..sync.identity import write_private_file
from .errors import report_unexpected
from .tasks import run_task
from .widgets import FieldError, StatusNote, accept_quit_buttons, heading, push_button, scrolling_layout

SEARCH_ROLE = Qt.ItemDataRole.UserRole + 1


class EstablishmentModel(QStandardItemModel):
    """Establishments for a combo box; typing "Perth", "PER" or "HMP Perth" finds HMP Perth.

    (Type-to-select in a combo box matches the start of the text, and every prison's name
    starts with "HMP"; so :meth:`match` also tries the place name and the code.)
    """

    def set_establishments(self, codes: list[tuple[str, str]]) -> None:
        self.clear()
        for code, name in sorted(codes, key=lambda c: establishment_sort_key(c[1], c[0])):
            item = QStandardItem(f"{name} ({code})")
            item.setData(code, Qt.ItemDataRole.UserRole)
            item.setData([name.casefold(), place_name(name).casefold(), code.casefold()], SEARCH_ROLE)
            item.setEditable(False)
            self.appendRow(item)

    def match(self, start, role, value, hits=1, flags=Qt.MatchFlag.MatchStartsWith | Qt.MatchFlag.MatchWrap):  # noqa: ANN001, ANN201, B008
        if role != Qt.ItemDataRole.DisplayRole or not isinstance(value, str) or not start.isValid():
            return super().match(start, role, value, hits, flags)
        wanted = value.casefold()
        rows = self.rowCount()
        wrap = bool(flags & Qt.MatchFlag.MatchWrap)
        order = [*range(start.row(), rows), *(range(0, start.row()) if wrap else ())]
        found = []
        for row in order:
            keys = self.item(row).data(SEARCH_ROLE) or []
            if any(k.startswith(wanted) for k in keys):
                found.append(self.index(row, 0))
                if hits != -1 and len(found) >= hits:
                    break
        return found


def close_context(ctx: Context) -> None:
    """``dispose`` for tasks that open a database nobody will use (the dialog went away)."""
    ctx.db.close()


class FirstRunDialog(QDialog):
    """Creates the installation in a background task; emits :attr:`installationCreated`."""

    installationCreated = Signal(object)  # Context, with the new administrator signed in
    sampleChosen = Signal(object)  # Path of existing sample data to sign in to

    def __init__(self, data_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self.context: Context | None = None
        self._busy = False
        self.setObjectName("firstRunDialog")
        self.setWindowTitle("Set up srcdesk")
        self.setMinimumWidth(520)

        intro = QLabel(
            "Nothing has been set up on this PC yet. Say where this PC is and create the first "
            "administrator account; they can add everyone else's accounts afterwards. To try srcdesk "
            "first, explore it with made-up sample data, kept apart from real records."
        )
        intro.setWordWrap(True)
        folder = QLabel(f"Data folder: {data_dir}")
        folder.setObjectName("dataFolder")
        folder.setWordWrap(True)
        folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        # -- where ----------------------------------------------------------------------
        where = QGroupBox("Where is this PC?")
        self.at_establishment = QRadioButton("This PC is at an &establishment:")
        self.at_establishment.setObjectName("atEstablishment")
        self.at_establishment.setAccessibleName("This PC is at an establishment")
        self.at_office = QRadioButton("This PC is the SRC &office")
        self.at_office.setObjectName("atOffice")
        self.at_office.setAccessibleName("This PC is the SRC office")
        self.where_group = QButtonGroup(self)
        self.where_group.addButton(self.at_establishment)
        self.where_group.addButton(self.at_office)
        self.at_establishment.setChecked(True)

        self.establishment = QComboBox()
        self.establishment_model = EstablishmentModel(self)
        self.establishment.setModel(self.establishment_model)
        self.establishment.setObjectName("establishment")
        self.establishment.setAccessibleName("Establishment")
        self.establishment.setPlaceholderText("Loading the establishments…")
        self.establishment.setEnabled(False)
        self.establishment.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.establishment_error = FieldError(self.establishment)
        self.establishment_error.setObjectName("establishmentError")

        where_layout = QVBoxLayout(where)
        where_layout.addWidget(self.at_establishment)
        indented = QVBoxLayout()
        indented.setContentsMargins(24, 0, 0, 0)
        indented.addWidget(self.establishment)
        indented.addWidget(self.establishment_error)
        where_layout.addLayout(indented)
        where_layout.addWidget(self.at_office)
        self.at_establishment.toggled.connect(self._where_changed)

        # -- first administrator ----------------------------------------------------------
        admin = QGroupBox("First administrator")
        self.username = self._line_edit("username", "Administrator username")
        self.display_name = self._line_edit("displayName", "Administrator's full name")
        self.password = self._line_edit("password", "Password", password=True)
        self.confirm = self._line_edit("confirmPassword", "Confirm password", password=True)
        self.username.setPlaceholderText("e.g. jsmith")
        self.password.setPlaceholderText("at least 8 characters")
        self.username_error = FieldError(self.username)
        self.display_name_error = FieldError(self.display_name)
        self.password_error = FieldError(self.password)
        self.confirm_error = FieldError(self.confirm)
        # A grid rather than a QFormLayout: it sizes the wrapped error messages under the fields
        # to their text (a form layout gives them their narrow "size hint" height instead).
        form = QGridLayout(admin)
        form.setColumnStretch(1, 1)
        for row, (text, field, error) in enumerate((
            ("&Username:", self.username, self.username_error),
            ("Full &name:", self.display_name, self.display_name_error),
            ("&Password:", self.password, self.password_error),
            ("&Confirm password:", self.confirm, self.confirm_error),
        )):
            label = QLabel(text)
            label.setBuddy(field)
            form.addWidget(label, 2 * row, 0)
            form.addWidget(field, 2 * row, 1)
            form.addWidget(error, 2 * row + 1, 1)

        # -- outcome and buttons ------------------------------------------------------------
        self.general_error = FieldError()
        self.general_error.setObjectName("generalError")
        self.status = StatusNote()
        self.status.setObjectName("status")
        self.buttons, self.setup_button, self.quit_button = accept_quit_buttons(self, "&Set up", "setupButton")
        self.sample_dir = sample_data_dir(data_dir)
        self.sample_button = self.buttons.addButton("E&xplore with sample data",
                                                    QDialogButtonBox.ButtonRole.ActionRole)
        self.sample_button.setObjectName("sampleButton")
        self.sample_button.setAutoDefault(False)
        self.sample_button.setToolTip(
            f"Make a separate installation full of made-up people and sessions in {self.sample_dir}, "
            "to try srcdesk out: no need to fill in the form first. Nothing in it is real, and it never "
            f"mixes with real records. Later, {SAMPLE_SIGN_IN}.")
        self.sample_button.setAccessibleName("Explore with sample data")
        self.sample_button.setAccessibleDescription(self.sample_button.toolTip())
        self.sample_button.clicked.connect(self.explore_sample)
        self.sample_exists = False
        run_task(lambda: database_path(self.sample_dir).exists(), owner=self, on_result=self._sample_found,
                 name="look for sample data")
        self.progress = QProgressBar()
        self.progress.setObjectName("sampleProgress")
        self.progress.setAccessibleName("Making the sample data")
        self.progress.setTextVisible(True)
        self.progress.hide()

        layout = scrolling_layout(self, self.buttons)
        layout.addWidget(heading("Set up srcdesk on this PC"))
        layout.addWidget(intro)
        layout.addWidget(folder)
        layout.addWidget(where)
        layout.addWidget(admin)
        layout.addWidget(self.general_error)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addStretch(1)

        for first, second in (
            (self.at_establishment, self.establishment),
            (self.establishment, self.at_office),
            (self.at_office, self.username),
            (self.username, self.display_name),
            (self.display_name, self.password),
            (self.password, self.confirm),
            (self.confirm, self.setup_button),
            (self.setup_button, self.sample_button),
            (self.sample_button, self.quit_button),
        ):
            QWidget.setTabOrder(first, second)

        self._field_errors = {
            "establishment": self.establishment_error,
            "username": self.username_error,
            "display_name": self.display_name_error,
            "password": self.password_error,
        }
        run_task(establishment_codes, owner=self, on_result=self._codes_loaded, on_error=self._codes_failed,
                 name="load establishment codes")

    def _line_edit(self, name: str, accessible: str, *, password: bool = False) -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setAccessibleName(accessible)
        if password:
            edit.setEchoMode(QLineEdit.EchoMode.Password)
        return edit

    # -- loading -------------------------------------------------------------------------

    @property
    def codes_loaded(self) -> bool:
        return self.establishment.count() > 0

    def _codes_loaded(self, codes: list[tuple[str, str]]) -> None:
        self.establishment_model.set_establishments(codes)
        self.establishment.setPlaceholderText("Choose the establishment…")
        self.establishment.setCurrentIndex(-1)
        self._update_establishment_enabled()

    def _codes_failed(self, error: BaseException) -> None:
        if not isinstance(error, SrcdeskError):
            report_unexpected(error)
        self.establishment.setPlaceholderText("The list of establishments could not be loaded")
        self.establishment_error.show_error(str(error) if isinstance(error, SrcdeskError) else
                                            "The list of establishments could not be loaded.")

    def _where_changed(self) -> None:
        self._update_establishment_enabled()
        self.establishment_error.clear_error()

    def _update_establishment_enabled(self) -> None:
        self.establishment.setEnabled(self.at_establishment.isChecked() and self.codes_loaded and not self._busy)

    # -- submitting ------------------------------------------------------------------------

    def _clear_errors(self) -> None:
        for error in (*self._field_errors.values(), self.confirm_error, self.general_error):
            error.clear_error()

    def _set_busy(self, busy: bool, message: str = "") -> None:
        self._busy = busy
        for widget in (self.at_establishment, self.at_office, self.username, self.display_name,
                       self.password, self.confirm, self.setup_button, self.quit_button, self.sample_button):
            widget.setEnabled(not busy)
        if not busy:  # disabling the default button takes "default" away from it; give it back
            self.setup_button.setDefault(True)
        self._update_establishment_enabled()
        self.status.say(message)

    def submit(self) -> None:
        if self._busy:
            return
        form = self._checked_form()
        if form is None:
            return
        self._set_busy(True, "Setting up srcdesk…")
        run_task(
            init_installation, self.data_dir, **form,
            owner=self, dispose=close_context,
            on_result=self._created, on_error=self._failed,
            name="init installation",
        )

    # -- sample data -----------------------------------------------------------------------

    def _sample_found(self, exists: bool) -> None:
        self.sample_exists = exists
        if exists:
            self.sample_button.setText("Open the &sample data")
            self.sample_button.setAccessibleName("Open the sample data")
            self.sample_button.setToolTip(f"Open the sample data made earlier in {self.sample_dir}: "
                                          f"{SAMPLE_SIGN_IN}.")
            self.sample_button.setAccessibleDescription(self.sample_button.toolTip())

    def explore_sample(self) -> None:
        """Make (or reopen) the separate sample-data installation, with a progress bar."""
        if self._busy:
            return
        if self.sample_exists:
            self.sampleChosen.emit(self.sample_dir)
            return
        # Its own made-up administrator: the form is for this PC's real set-up. Only where the PC is
        # (office or establishment) carries over, if chosen.
        self._clear_errors()
        office = self.at_office.isChecked()
        form = {"office": office,
                "establishment": None if office else (self.establishment.currentData() or SAMPLE_ESTABLISHMENT)}
        self._set_busy(True, "Making sample data: made-up people, sessions and registers…")
        self.progress.setRange(0, 0)
        self.progress.show()
        run_task(create_sample_installation, self.sample_dir, **form,
                 owner=self, dispose=close_context, on_progress=self._sample_progress,
                 on_result=self._created, on_error=self._sample_failed, name="make sample data")

    def _sample_progress(self, done: int, total: int, what: str) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
        if what:
            self.progress.setFormat(f"{what} %p%")

    def _sample_failed(self, error: BaseException) -> None:
        self.progress.hide()
        self._failed(error)

    def _checked_form(self) -> dict[str, object] | None:
        """The form's values for the set-up services, or None after showing what is missing."""
        self._clear_errors()
        office = self.at_office.isChecked()
        code = None if office else self.establishment.currentData()
        username = self.username.text().strip()
        name = self.display_name.text().strip()
        password = self.password.text()
        problems: list[tuple[FieldError, QWidget, str]] = []
        if not office and not code:
            problems.append((self.establishment_error, self.establishment,
                             "Choose the establishment this PC is at."))
        if not username:
            problems.append((self.username_error, self.username, "Enter a username for the administrator."))
        if not name:
            problems.append((self.display_name_error, self.display_name,
                             "Enter the administrator's full name."))
        if not password:
            problems.append((self.password_error, self.password, "Choose a password."))
        elif self.confirm.text() != password:
            problems.append((self.confirm_error, self.confirm, "The two passwords don't match."))
        if problems:
            for error, _field, message in problems:
                error.show_error(message)
            problems[0][1].setFocus()
            return None
        return {"establishment": code, "office": office, "admin_username": username,
                "admin_name": name, "admin_password": password}

    def _created(self, ctx: Context) -> None:
        self.progress.hide()
        self._set_busy(False)
        self.context = ctx
        key = getattr(ctx, "recovery_key", None)
        if key and not ctx.installation.sample:  # the office: its recovery key is shown once, first
            self.recovery_dialog = RecoveryKeyDialog(key, ctx.db.data_dir, self)
            self.recovery_dialog.accepted.connect(lambda: self._finish(ctx))
            self.recovery_dialog.open()
            return
        self._finish(ctx)

    def _finish(self, ctx: Context) -> None:
        self.installationCreated.emit(ctx)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._set_busy(False)
        if isinstance(error, ValidationError) and error.field in self._field_errors:
            label = self._field_errors[error.field]
            label.show_error(str(error))
            label.field.setFocus()
        elif isinstance(error, SrcdeskError):
            self.general_error.show_error(str(error))
        else:
            self.general_error.show_error("Setting up failed unexpectedly; nothing was saved.")
            report_unexpected(error)

    def reject(self) -> None:
        if self._busy:  # the installation is being written; let it finish (it takes a second)
            return
        super().reject()


class RecoveryKeyDialog(QDialog):
    """The office's recovery key, shown once: every bundle for the office is also encrypted to it,
    so a dead office PC loses nothing. srcdesk keeps no copy; the dialog only closes once the
    officer says the key is stored safely."""

    def __init__(self, key: str, data_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.data_dir = data_dir
        self.setWindowTitle("srcdesk — the office recovery key")
        self.setModal(True)
        buttons = QDialogButtonBox()
        layout = scrolling_layout(self, buttons)
        layout.addWidget(heading("Store the office recovery key"))
        intro = QLabel(
            "Every bundle the establishments send to the office is also encrypted to this key, so if this "
            "PC fails the bundles can still be read. " + RECOVERY_WARNING
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.text = QPlainTextEdit(key)
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setAccessibleName("Recovery key")
        self.text.setMinimumWidth(620)
        self.text.setFixedHeight(self.text.fontMetrics().lineSpacing() * 5)
        layout.addWidget(self.text)
        self.status = StatusNote()
        layout.addWidget(self.status)
        self.stored = QCheckBox("I have &stored the recovery key safely, away from this PC")
        layout.addWidget(self.stored)
        self.save_button = push_button("Save to &file…", "save_recovery_key", self.choose_file,
                                       accessible="Save the recovery key to a file")
        self.copy_button = push_button("&Copy", "copy_recovery_key", self.copy, accessible="Copy the recovery key")
        self.continue_button = push_button("C&ontinue", "continue", self.accept, auto_default=True)
        self.continue_button.setEnabled(False)
        for b in (self.save_button, self.copy_button):
            buttons.addButton(b, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.continue_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.stored.toggled.connect(self.continue_button.setEnabled)

    @classmethod
    def ask_file(cls, parent: QWidget, on_chosen) -> QFileDialog:  # noqa: ANN001
        """Where to save the key (tests replace this)."""
        dialog = QFileDialog(parent, "Save the recovery key", str(Path.home() / "srcdesk-office-recovery.key"))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.fileSelected.connect(lambda name: on_chosen(Path(name)))
        dialog.open()
        return dialog

    def choose_file(self) -> None:
        self.ask_file(self, self.save_to)

    def save_to(self, path: Path) -> None:
        try:
            inside = path.resolve().is_relative_to(self.data_dir.resolve())
        except OSError:
            inside = False
        if inside:
            self.status.say("Not in the data folder: the point is to keep the key away from this PC.")
            return
        self.status.say("Saving…")
        run_task(write_private_file, path, self.key, owner=self,
                 on_result=lambda p: self.status.say(f"Saved to {p}. Keep that copy away from this PC."),
                 on_error=lambda e: self.status.say(str(e) if isinstance(e, SrcdeskError) else
                                                    "Couldn't save the key; try another place."),
                 name="save recovery key")

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.key)
        self.status.say("Copied. Paste it somewhere safe, away from this PC, then clear the clipboard.")

    def reject(self) -> None:
        """Escape does not dismiss the key unseen."""
        self.status.say("Store the key first, then tick the box and continue.")
