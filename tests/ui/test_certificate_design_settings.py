"""Settings → Certificates: the office's coordinators set the signatories, footer and logos (a
chosen picture is scaled down with Qt before it is saved); an establishment PC and a recorder see
them, read-only, with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QLabel

from srcdesk.reports.certificate_content import Signatory
from srcdesk.services import certificate_design as cd
from srcdesk.services.base import Context
from srcdesk.ui.pages import certificate_design as section_module
from srcdesk.ui.pages.settings import SettingsPage

from ..conftest import as_role
from .conftest import WAIT_MS


def settings_page(qtbot, ctx: Context, settings) -> SettingsPage:  # noqa: ANN001
    page = SettingsPage(ctx, settings=settings)
    qtbot.addWidget(page)
    page.resize(900, 900)
    page.show()
    page.activate()
    qtbot.waitUntil(lambda: page.loaded, timeout=WAIT_MS)
    return page


def picture(path: Path, width: int, height: int, *, noisy: bool = False) -> Path:
    import random

    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    rng = random.Random(7)
    for y in range(0, height, 2 if noisy else 10):
        for x in range(0, width, 2 if noisy else 10):
            image.setPixelColor(x, y, QColor(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    assert image.save(str(path))
    return path


@pytest.fixture
def chooses(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """``chooses(path)``: the next "Choose…" picks ``path`` (no file dialog)."""
    chosen: list[Path] = []

    def fake(_parent, _title, on_chosen):  # noqa: ANN001, ANN202
        on_chosen(chosen.pop(0))

    monkeypatch.setattr(section_module, "choose_picture", fake)
    return chosen.append


def test_a_coordinator_at_the_office_sets_the_design(qtbot, office: Context, settings, chooses,  # noqa: ANN001
                                                     tmp_path: Path) -> None:
    coordinator = as_role(office, "coordinator", "cora")
    page = settings_page(qtbot, coordinator, settings)
    section = page.certificates
    assert section.editable and not section.save_button.isEnabled()
    qtbot.keyClicks(section.fields["signatory1_name"], "Morag Fleming")
    qtbot.keyClicks(section.fields["signatory1_role"], "PHR Officer")
    qtbot.keyClicks(section.fields["footer"], "Scottish Recovery Consortium")
    chooses(picture(tmp_path / "big.bmp", 2400, 1200))  # any format Qt reads; far too big as it is
    section.logos["logo_left"].choose_button.click()
    qtbot.waitUntil(lambda: section.logos["logo_left"].data is not None, timeout=WAIT_MS)
    assert not section.logos["logo_left"].thumbnail.pixmap().isNull()
    assert section.save_button.isEnabled()
    section.save_button.click()
    qtbot.waitUntil(lambda: not section.saving, timeout=WAIT_MS)
    assert section.error.message == "" and "Saved" in section.status.text()
    saved = cd.design(office)
    assert saved.signatories() == (Signatory("Morag Fleming", "PHR Officer"),)
    assert saved.footer == "Scottish Recovery Consortium"
    logo = QImage.fromData(saved.logo_left)
    assert max(logo.width(), logo.height()) == section_module.LOGO_PIXELS and logo.width() == 2 * logo.height()
    # Remove, save: gone.
    section.logos["logo_left"].remove_button.click()
    section.save_button.click()
    qtbot.waitUntil(lambda: not section.saving, timeout=WAIT_MS)
    assert cd.design(office).logo_left is None


def test_a_noisy_photo_is_made_small_enough(tmp_path: Path) -> None:
    data = section_module.prepare_logo(picture(tmp_path / "photo.png", 1600, 1200, noisy=True))
    assert len(data) <= section_module.LOGO_LIMIT_BYTES
    assert cd.check_logo(data)  # the service takes it


def test_a_file_that_is_not_a_picture_is_said_under_its_button(qtbot, office: Context, settings, chooses,  # noqa: ANN001
                                                               tmp_path: Path) -> None:
    page = settings_page(qtbot, office, settings)
    section = page.certificates
    bogus = tmp_path / "notes.png"
    bogus.write_text("not a picture")
    chooses(bogus)
    section.logos["logo_right"].choose_button.click()
    qtbot.waitUntil(lambda: bool(section.logos["logo_right"].error.message), timeout=WAIT_MS)
    assert "can't be read as a picture" in section.logos["logo_right"].error.message
    assert section.logos["logo_right"].data is None


def test_a_problem_is_shown_under_its_field(qtbot, office: Context, settings) -> None:  # noqa: ANN001
    page = settings_page(qtbot, office, settings)
    section = page.certificates
    qtbot.keyClicks(section.fields["signatory2_role"], "Governor")
    section.save_button.click()
    qtbot.waitUntil(lambda: not section.saving, timeout=WAIT_MS)
    assert "needs a name" in section.errors["signatory2_name"].message
    assert cd.design(office).signatory2_role == ""


def test_an_establishment_pc_shows_the_design_read_only_and_says_why(qtbot, ctx: Context, settings) -> None:  # noqa: ANN001
    page = settings_page(qtbot, ctx, settings)
    section = page.certificates
    assert not section.editable and not section.save_button.isVisible()
    assert all(edit.isReadOnly() for edit in section.fields.values())
    assert not section.logos["logo_left"].choose_button.isEnabled()
    note = section.findChild(QLabel, "certificateDesignNote")
    assert "kept at the SRC office" in note.text()


def test_a_recorder_at_the_office_may_not_change_it(qtbot, office: Context, settings) -> None:  # noqa: ANN001
    cd.set_design(office, signatory1_name="Morag Fleming", footer="SRC")
    page = settings_page(qtbot, as_role(office, "recorder", "rory"), settings)
    section = page.certificates
    assert not section.editable
    assert section.fields["signatory1_name"].text() == "Morag Fleming"
    assert section.fields["footer"].text() == "SRC"
    assert "Only a coordinator" in section.why_not
    assert section.fields["footer"].focusPolicy() != Qt.FocusPolicy.NoFocus  # still readable by keyboard
