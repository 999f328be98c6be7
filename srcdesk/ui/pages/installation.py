"""This installation: where this PC is, where its data is kept, and who is signed in.

:class:`InstallationSummary` is the part of the Settings page that says so.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QGroupBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ...services.base import Context
from ...services.permissions import ROLES, describe_role
from ..login_dialog import describe_installation

ROLE_TITLES = {"recorder": "Recorder", "coordinator": "Coordinator", "administrator": "Administrator"}
# What each role can do, made from the one table the services enforce (never promises more).
ROLE_DESCRIPTIONS = {role: describe_role(role) for role in ROLES}


def role_title(role: str) -> str:
    return ROLE_TITLES.get(role, role.capitalize())


class InstallationSummary(QWidget):
    """Two boxes: "This PC" (installation, kind, data folder, id) and "Signed in" (name, role).

    ``folder_extra`` (e.g. an "Open folder" button) is put beside the data folder, ``user_extra``
    (e.g. "Change my password") beside the signed-in user's name.
    """

    def __init__(self, ctx: Context, folder_extra: QWidget | None = None, parent: QWidget | None = None,
                 user_extra: QWidget | None = None) -> None:
        super().__init__(parent)
        inst = ctx.installation
        user = ctx.user

        where = QGroupBox("This PC")
        where_form = QFormLayout(where)
        self.installation_value = self._value("installationValue", describe_installation(inst))
        self.kind_value = self._value(
            "kindValue", "SRC office installation" if inst.is_office else "Establishment installation"
        )
        self.data_folder_value = self._value("dataFolderValue", str(ctx.db.data_dir))
        self.installation_id_value = self._value("installationIdValue", inst.id)
        where_form.addRow(self._label("Installation:", self.installation_value), self.installation_value)
        where_form.addRow(self._label("Kind:", self.kind_value), self.kind_value)
        folder_label = self._label("Data folder:", self.data_folder_value)
        if folder_extra is not None:
            folder_row = QHBoxLayout()
            folder_row.addWidget(self.data_folder_value, 1)
            folder_row.addWidget(folder_extra, 0, Qt.AlignmentFlag.AlignTop)
            where_form.addRow(folder_label, folder_row)
        else:
            where_form.addRow(folder_label, self.data_folder_value)
        where_form.addRow(self._label("Installation id:", self.installation_id_value), self.installation_id_value)

        who = QGroupBox("Signed in")
        who_form = QFormLayout(who)
        if user is not None:
            name = f"{user.display_name} ({user.username})"
            role = f"{role_title(user.role)} — {ROLE_DESCRIPTIONS.get(user.role, '')}".rstrip(" —")
        else:
            name, role = "Nobody", ""
        self.user_value = self._value("userValue", name)
        self.role_value = self._value("roleValue", role)
        user_label = self._label("Name:", self.user_value)
        if user_extra is not None:
            user_row = QHBoxLayout()
            user_row.addWidget(self.user_value, 1)
            user_row.addWidget(user_extra, 0, Qt.AlignmentFlag.AlignTop)
            who_form.addRow(user_label, user_row)
        else:
            who_form.addRow(user_label, self.user_value)
        who_form.addRow(self._label("Role:", self.role_value), self.role_value)

        # The two forms share one label width so their values line up.
        labels = [form.labelForField(w) for form in (where_form, who_form)
                  for w in (self.installation_value, self.kind_value, self.installation_id_value,
                            self.user_value, self.role_value)]
        labels = [w for w in labels if w is not None] + [folder_label, user_label]
        width = max(w.sizeHint().width() for w in labels)
        for w in labels:
            w.setMinimumWidth(width)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(where)
        layout.addWidget(who)

    @staticmethod
    def _value(name: str, text: str) -> QLabel:
        label = QLabel(text)
        label.setObjectName(name)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label

    @staticmethod
    def _label(text: str, value: QLabel) -> QLabel:
        label = QLabel(text)
        label.setBuddy(value)
        value.setAccessibleName(f"{text.rstrip(':')}: {value.text()}")
        return label
