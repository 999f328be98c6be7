"""Settings → Certificates: the two signatories (name, role), the footer, and a logo at each top
corner of every certificate (:mod:`srcdesk.services.certificate_design`).

Everyone sees them; coordinators change them at the SRC office only (an establishment PC
receives them in the office's bundles, and says so). A chosen picture is read and scaled down
with Qt in the background (:func:`prepare_logo`: at most :data:`LOGO_PIXELS` wide or high, then
smaller until it is within the service's limit), shown as a thumbnail, and saved with the rest
by "Save". The signatories and footer are frozen into each certificate when it is issued: a
change reaches the certificates issued after it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize, Qt
from PySide6.QtGui import QImage, QImageReader, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ...errors import ValidationError
from ...reports.certificates import Design
from ...services.base import Context
from ...services.certificate_design import LOGO_FIELDS, MAX_LOGO_CHARS, TEXT_FIELDS, design, set_design
from ...sync.authority import local_refusal
from ..tasks import run_task
from ..widgets import FieldError, StatusNote, push_button, show_service_error

LOGO_PIXELS = 600  # printed at most 46 x 24 mm: 600 pixels is over 300 dpi
LOGO_LIMIT_BYTES = MAX_LOGO_CHARS * 3 // 4  # base64 makes 3 bytes 4 characters
THUMBNAIL = QSize(160, 64)
PICTURE_FILTER = "Pictures (*.png *.jpg *.jpeg *.bmp *.gif *.webp);;All files (*)"


def _encoded(image: QImage, fmt: str, quality: int = -1) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, fmt, quality)
    buffer.close()
    return bytes(data.data())


def prepare_logo(path: Path) -> bytes:
    """A picture file as a logo: read by Qt (any format it reads), scaled down to at most
    :data:`LOGO_PIXELS`, saved as PNG (or JPEG, if that is what fits the limit), and smaller
    again until it fits. Background-safe (QImage, not QPixmap)."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    image = reader.read()
    if image.isNull():
        raise ValidationError(f"{path.name} can't be read as a picture ({reader.errorString()}).", "logo")
    side = LOGO_PIXELS
    while side >= 40:
        if image.width() > side or image.height() > side:
            scaled = image.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                  Qt.TransformationMode.SmoothTransformation)
        else:
            scaled = image
        data = _encoded(scaled, "PNG")
        if len(data) <= LOGO_LIMIT_BYTES:
            return data
        if not scaled.hasAlphaChannel():  # a photograph: JPEG keeps it sharp within the limit
            data = _encoded(scaled, "JPEG", 88)
            if len(data) <= LOGO_LIMIT_BYTES:
                return data
        side = int(min(side, max(scaled.width(), scaled.height())) * 0.8)
    raise ValidationError(f"{path.name} can't be made small enough to be a logo.", "logo")


def choose_picture(parent: QWidget, title: str, on_chosen: Any) -> QFileDialog:
    """Ask for a picture file without blocking; ``on_chosen(path)`` if one is chosen. (Tests
    replace this.)"""
    dialog = QFileDialog(parent, title, str(Path.home()), PICTURE_FILTER)
    dialog.setObjectName("chooseLogoDialog")
    dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.fileSelected.connect(lambda chosen: on_chosen(Path(chosen)))
    dialog.open()
    return dialog


class _LogoPicker(QWidget):
    """A logo's thumbnail with Choose… and Remove."""

    def __init__(self, section: CertificateDesignSection, key: str, label: str) -> None:
        super().__init__()
        self.section, self.key, self.label = section, key, label
        self.data: bytes | None = None
        self.thumbnail = QLabel("No logo")
        self.thumbnail.setObjectName(f"{key}Thumbnail")
        self.thumbnail.setAccessibleName(f"{label}: none")
        self.thumbnail.setFixedSize(THUMBNAIL)
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumbnail.setFrameShape(QLabel.Shape.StyledPanel)
        self.choose_button = push_button("Choose…", f"{key}Choose", self.choose, accessible=f"Choose the {label.lower()}")
        self.remove_button = push_button("Remove", f"{key}Remove", self.remove, accessible=f"Remove the {label.lower()}")
        self.error = FieldError(self.choose_button)
        self.error.setObjectName(f"{key}Error")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.thumbnail)
        row.addWidget(self.choose_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.error)

    def set_logo(self, data: bytes | None) -> None:
        self.data = data
        pixmap = QPixmap()
        if data and pixmap.loadFromData(data):
            self.thumbnail.setPixmap(pixmap.scaled(THUMBNAIL, Qt.AspectRatioMode.KeepAspectRatio,
                                                   Qt.TransformationMode.SmoothTransformation))
            self.thumbnail.setAccessibleName(f"{self.label}: {pixmap.width()} by {pixmap.height()} pixels")
        else:
            self.thumbnail.setPixmap(QPixmap())
            self.thumbnail.setText("No logo")
            self.thumbnail.setAccessibleName(f"{self.label}: none")
        self.remove_button.setEnabled(self.section.editable and bool(data))

    def set_editable(self, editable: bool) -> None:
        self.choose_button.setEnabled(editable)
        self.remove_button.setEnabled(editable and bool(self.data))

    def choose(self) -> None:
        self.dialog = choose_picture(self, f"Choose the {self.label.lower()}", self._chosen)

    def _chosen(self, path: Path) -> None:
        self.error.clear_error()
        self.section.status.say(f"Reading {path.name}…")
        self.task = run_task(prepare_logo, path, owner=self, on_result=self._prepared, on_error=self._failed,
                             name="prepare a logo")

    def _prepared(self, data: bytes) -> None:
        self.section.status.say("")
        self.set_logo(data)
        self.section.changed()

    def _failed(self, error: BaseException) -> None:
        self.section.status.say("")
        show_service_error(error, self.error)

    def remove(self) -> None:
        self.error.clear_error()
        self.set_logo(None)
        self.section.changed()


class CertificateDesignSection(QGroupBox):
    """"Certificates" on the Settings page."""

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__("Certificates", parent)
        self.setObjectName("certificateDesignSection")
        self.ctx = ctx
        inst = ctx.installation
        self.why_not = (local_refusal("certificate_design", None, office=inst.is_office,
                                      establishment_id=inst.establishment_id)
                        or ctx.refusal("certificate.design"))
        self.editable = not self.why_not
        self.design: Design | None = None
        self._loading = False
        self._saving = False
        self._dirty = False

        self.fields: dict[str, QLineEdit] = {}
        self.errors: dict[str, FieldError] = {}
        form = QFormLayout()
        for key, (label, longest) in TEXT_FIELDS.items():
            edit = QLineEdit()
            edit.setObjectName(key)
            edit.setMaxLength(longest)
            edit.setAccessibleName(label)
            edit.setReadOnly(not self.editable)
            edit.textEdited.connect(self.changed)
            self.fields[key] = edit
            error = FieldError(edit)
            error.setObjectName(f"{key}Error")
            self.errors[key] = error
            cell = QVBoxLayout()
            cell.setContentsMargins(0, 0, 0, 0)
            cell.addWidget(edit)
            cell.addWidget(error)
            short = {"signatory1_name": "First signatory", "signatory1_role": "Their role",
                     "signatory2_name": "Second signatory", "signatory2_role": "Their role",
                     "footer": "Footer line"}[key]
            caption = QLabel(short)
            caption.setBuddy(edit)
            form.addRow(caption, cell)
        self.fields["signatory1_name"].setPlaceholderText("e.g. Morag Fleming")
        self.fields["signatory1_role"].setPlaceholderText("e.g. Prison and Healthcare Recovery Officer")
        self.fields["footer"].setPlaceholderText("e.g. Scottish Recovery Consortium")
        self.logos: dict[str, _LogoPicker] = {}
        for key, label in LOGO_FIELDS.items():
            picker = _LogoPicker(self, key, label)
            picker.set_editable(self.editable)
            self.logos[key] = picker
            self.errors[key] = picker.error
            form.addRow(label.removeprefix("The ").capitalize(), picker)

        self.save_button = push_button("&Save certificate design", "saveCertificateDesign", self.save)
        self.save_button.setEnabled(False)
        self.save_button.setVisible(self.editable)
        self.error = FieldError(self.save_button)
        self.error.setObjectName("certificateDesignError")
        self.status = StatusNote()
        self.status.setObjectName("certificateDesignStatus")
        note = QLabel(
            "Printed on every certificate. The signatories and the footer are fixed into each certificate "
            "when it is issued, so a change here reaches the certificates issued after it; the logos are "
            "read when printing." + (f" {self.why_not}" if self.why_not else ""))
        note.setObjectName("certificateDesignNote")
        note.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.error)
        layout.addWidget(self.status)

    @property
    def loaded(self) -> bool:
        return self.design is not None and not self._loading

    @property
    def saving(self) -> bool:
        return self._saving

    def refresh(self) -> None:
        if self._loading or self._saving or self._dirty:
            return  # never overwrite what is being typed
        self._loading = True
        self.load_task = run_task(design, self.ctx, owner=self, on_result=self._loaded, on_error=self._load_failed,
                                  name="read the certificate design")

    def _loaded(self, found: Design) -> None:
        self._loading = False
        self.show_design(found)

    def _load_failed(self, error: BaseException) -> None:
        self._loading = False
        show_service_error(error, self.error)

    def show_design(self, found: Design) -> None:
        self.design = found
        for key, edit in self.fields.items():
            edit.setText(getattr(found, key))
        for key, picker in self.logos.items():
            picker.set_logo(getattr(found, key))
        self._dirty = False
        self.save_button.setEnabled(False)

    def changed(self, *_: Any) -> None:
        if not self.editable:
            return
        self._dirty = True
        self.save_button.setEnabled(not self._saving)
        self.status.say("")

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {key: edit.text() for key, edit in self.fields.items()}
        values.update({key: picker.data for key, picker in self.logos.items()})
        return values

    def save(self) -> None:
        if not self.editable or self._saving:
            return
        self._saving = True
        self.save_button.setEnabled(False)
        self.error.clear_error()
        for error in self.errors.values():
            error.clear_error()
        self.status.say("Saving…")
        self.save_task = run_task(set_design, self.ctx, **self.values(), owner=self, on_result=self._saved,
                                  on_error=self._save_failed, name="save the certificate design")

    def _saved(self, found: Design) -> None:
        self._saving = False
        self.show_design(found)
        self.status.say("Saved. Certificates issued from now on carry these signatories and this footer.")

    def _save_failed(self, error: BaseException) -> None:
        self._saving = False
        self.save_button.setEnabled(True)
        self.status.say("")
        show_service_error(error, self.error, self.errors)
