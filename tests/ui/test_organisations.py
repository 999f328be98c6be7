"""The Pathways page's Community organisations tab on its own: the list with its filters and the
chosen one's details; at the SRC office a coordinator adds (by keyboard), edits, retires (asked
first), connects and disconnects (a reason asked); an establishment's PC reads them only, with the
reason."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from srcdesk.models import CommunityOrganisation, OrganisationLink
from srcdesk.services import community
from srcdesk.ui.organisations import ConnectDialog, DisconnectDialog, OrganisationDialog, OrganisationsView

from ..conftest import as_role
from .conftest import WAIT_MS, mnemonics, shot


def _view(qtbot, ctx) -> OrganisationsView:  # noqa: ANN001
    view = OrganisationsView(ctx)
    qtbot.addWidget(view)
    view.resize(1100, 600)
    with qtbot.waitSignal(view.loaded, timeout=WAIT_MS):
        view.show()
        view.refresh()
    return view


def _reloaded(qtbot, view: OrganisationsView, action) -> None:  # noqa: ANN001
    with qtbot.waitSignal(view.loaded, timeout=WAIT_MS):
        action()


def _names(view: OrganisationsView) -> list[str]:
    return [view.model.row(i).name for i in range(view.model.rowCount())]


@pytest.fixture
def boss(office):  # noqa: ANN001, ANN201
    boss = as_role(office, "coordinator", "cora")
    glasgow = community.create_organisation(boss, name="Glasgow Recovery Community", area="Glasgow City",
                                            kind="recovery_community", offers="Mutual aid\nPeer support",
                                            contact="0141 000 0000")
    community.create_organisation(boss, name="Dundee Family Support", area="Dundee City", kind="service",
                                  offers="Family support; housing advice")
    community.link_organisation(boss, glasgow.id, "est-bar")
    return boss


def test_the_list_filters_and_details(qtbot, boss) -> None:  # noqa: ANN001
    view = _view(qtbot, boss)
    assert _names(view) == ["Dundee Family Support", "Glasgow Recovery Community"]
    texts = [view.model.index(1, c).data() for c in range(view.model.columnCount())]
    assert texts == ["Glasgow Recovery Community", "Recovery community", "Glasgow City", "BAR", "Mutual aid Peer support"]
    assert view.count_label.text() == "2 organisations."
    view.table.selectRow(1)
    assert view.detail.title == "Glasgow Recovery Community"
    assert view.detail.text("offers") == "Mutual aid\nPeer support" and view.detail.text("contact") == "0141 000 0000"
    assert view.detail.text("connections") == "HMP Barlinnie (BAR)"

    view.area_combo.setCurrentIndex(view.area_combo.findData("Dundee City"))
    _reloaded(qtbot, view, lambda: view.area_combo.activated.emit(view.area_combo.currentIndex()))
    assert _names(view) == ["Dundee Family Support"] and view.count_label.text() == "1 organisation match."
    view.area_combo.setCurrentIndex(0)
    view.connected_combo.setCurrentIndex(view.connected_combo.findData("est-bar"))
    _reloaded(qtbot, view, lambda: view.connected_combo.activated.emit(view.connected_combo.currentIndex()))
    assert _names(view) == ["Glasgow Recovery Community"]
    view.connected_combo.setCurrentIndex(0)
    _reloaded(qtbot, view, lambda: qtbot.keyClicks(view.search, "housing"))
    assert _names(view) == ["Dundee Family Support"]
    _reloaded(qtbot, view, view.search.clear)
    view.kind_combo.setCurrentIndex(view.kind_combo.findData("lero"))
    _reloaded(qtbot, view, lambda: view.kind_combo.activated.emit(view.kind_combo.currentIndex()))
    assert _names(view) == [] and view.count_label.text() == "None match: change the filters."
    letters = mnemonics(view)
    assert len(letters) == len(set(letters)) and not set(letters) & {"f", "g", "h", "i", "o", "r"}, letters


def test_a_coordinator_at_the_office_adds_by_keyboard_and_connects(qtbot, boss) -> None:  # noqa: ANN001
    view = _view(qtbot, boss)
    assert not view.read_only_note.isVisible() and view.add_button.isVisible()
    view.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is view, timeout=WAIT_MS)
    view.table.setFocus()
    qtbot.keyClick(view.table, Qt.Key.Key_W, Qt.KeyboardModifier.AltModifier)  # Ne&w organisation…
    qtbot.waitUntil(lambda: isinstance(view.dialog, OrganisationDialog), timeout=WAIT_MS)
    dialog = view.dialog
    qtbot.waitUntil(dialog.name.hasFocus, timeout=WAIT_MS)
    qtbot.keyClicks(dialog.name, "Tayside Recovery Hub")
    qtbot.keyClick(dialog.name, Qt.Key.Key_Return)  # the area is missing: said under it, nothing saved
    assert "Choose the council area" in dialog.errors["area"].text()
    dialog.area.setFocus()
    qtbot.keyClicks(dialog.area, "Dundee")
    assert dialog.area.currentText() == "Dundee City"
    dialog.offers.setFocus()
    qtbot.keyClicks(dialog.offers, "Recovery cafe on Fridays")
    _reloaded(qtbot, view, lambda: qtbot.keyClick(dialog.name, Qt.Key.Key_Return))
    assert view.selected().name == "Tayside Recovery Hub" and view.selected().area == "Dundee City"
    assert "Added Tayside Recovery Hub" in view.status.text()
    shot(view, "organisations-office")

    # Connect it to Perth; then disconnect, a reason asked and the question asked once more.
    view.connect_button.click()
    connect = view.findChild(ConnectDialog)
    connect.establishment.setCurrentIndex(connect.establishment.findData("est-per"))
    _reloaded(qtbot, view, connect.save_button.click)
    assert view.selected().connected_codes == "PER"
    view.disconnect_button.click()
    dialog = view.findChild(DisconnectDialog)
    dialog.save_button.click()
    assert "Say why" in dialog.errors["reason"].text()
    qtbot.keyClicks(dialog.reason, "No longer visiting Perth")
    dialog.save_button.click()
    box = dialog.findChild(QMessageBox, "confirmBox")
    _reloaded(qtbot, view, box.findChild(QPushButton, "confirmYes").click)
    assert view.selected().connections == ()
    with boss.db.read() as s:
        assert s.query(OrganisationLink).filter(OrganisationLink.deleted_reason == "No longer visiting Perth").count()

    # Retire: asked first; "Keep it" keeps it.
    view.retire_button.click()
    box = view.findChild(QMessageBox, "confirmBox")
    box.findChild(QPushButton, "confirmNo").click()
    assert not community.get_organisation(boss, view.selected().id).retired
    view.retire_button.click()
    box = [b for b in view.findChildren(QMessageBox, "confirmBox") if b.isVisible()][-1]
    _reloaded(qtbot, view, box.findChild(QPushButton, "confirmYes").click)
    assert "Tayside Recovery Hub" not in _names(view)
    _reloaded(qtbot, view, lambda: view.retired_box.setChecked(True))
    assert "Tayside Recovery Hub (retired)" in [view.model.index(i, 0).data() for i in range(view.model.rowCount())]


def test_an_establishment_reads_them_with_the_reason(qtbot, ctx, coordinator) -> None:  # noqa: ANN001
    with ctx.db.session(ctx.actor) as s:  # as the office's bundle brought them
        s.add(CommunityOrganisation(id="org-1", name="Perth Recovery Café", kind="lero", area="Perth and Kinross",
                                    offers="Recovery café", retired=False))
        s.add(OrganisationLink(organisation_id="org-1", establishment_id="est-per"))
    view = _view(qtbot, coordinator)
    assert view.read_only_note.isVisible()
    assert view.read_only_note.text() == ("Read only. Community organisations are kept at the SRC office and "
                                          "reach this PC in its bundles.")
    assert not any(b.isVisible() for b in view.buttons)
    assert _names(view) == ["Perth Recovery Café"] and view.detail.text("connections") == "HMP Perth (PER)"
    view.table.setFocus()
    qtbot.keyClick(view.table, Qt.Key.Key_Return)  # nothing to edit here
    assert view.findChild(OrganisationDialog) is None
    shot(view, "organisations-establishment")
