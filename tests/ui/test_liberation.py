"""Today's "Liberations in the next 8 weeks" and the Liberation record dialog, by keyboard."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from srcdesk.services import liberation, people
from srcdesk.ui.liberation_dialog import LiberationDialog
from srcdesk.ui.pages.today import TodayPage

from .conftest import DEMO_TODAY, mnemonics

WAIT = 8000

pytestmark = pytest.mark.usefixtures("demo_today")


def _people(ctx) -> tuple[str, str]:  # noqa: ANN001
    soon = people.create_person(ctx, given_name="Kirsty", family_name="Soonhome",
                                liberation_date=DEMO_TODAY + dt.timedelta(weeks=3), external_ref="Q1234567")
    later = people.create_person(ctx, given_name="Lachlan", family_name="Laterhome",
                                 liberation_date=DEMO_TODAY + dt.timedelta(weeks=10))
    return soon.id, later.id


def _page(qtbot, ctx) -> TodayPage:  # noqa: ANN001
    page = TodayPage(ctx)
    qtbot.addWidget(page)
    page.resize(1100, 750)
    page.show()
    page.activate()
    qtbot.waitUntil(lambda: page.liberations_note.text() and "Looking" not in page.liberations_note.text(),
                    timeout=WAIT)
    return page


def test_today_lists_who_goes_home_in_the_next_8_weeks(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    soon, later = _people(ctx)
    page = _page(qtbot, ctx)
    ids = [r.person_id for r in page.liberations_model.rows]
    assert soon in ids and later not in ids
    assert ids == [r.person_id for r in liberation.upcoming_liberations(ctx, DEMO_TODAY)]
    row = page.liberations_model.find(lambda r: r.person_id == soon)
    cells = [page.liberations_model.data(page.liberations_model.index(row, c)) for c in range(4)]
    assert cells == ["Kirsty Soonhome", f"{(DEMO_TODAY + dt.timedelta(weeks=3)).day} Nov 2026", "21 days", "Not yet"]
    # A recorder sees the button, disabled, with the reason.
    assert not page.liberation_button.isEnabled()
    assert "Only a coordinator can" in page.liberations_note.text() and page.liberations_note.isVisible()
    assert "coordinator" in page.liberation_button.toolTip()
    assert page.liberation_record() is None
    # Enter opens the person on the People page.
    opened: list[str] = []
    page.personOnPeoplePageRequested.connect(opened.append)
    page.liberations.setFocus()
    page.liberations.setCurrentIndex(page.liberations_model.index(row, 0))
    qtbot.keyClick(page.liberations, Qt.Key.Key_Return)
    assert opened == [soon]
    keys = mnemonics(page)
    assert len(keys) == len(set(keys)) and not {"f", "g", "h"} & set(keys) - {"h"}


def test_the_dialog_by_keyboard_makes_the_pdf(qtbot, open_demo, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    ctx = open_demo("colin")
    soon, _ = _people(ctx)
    page = _page(qtbot, ctx)
    page.liberations.setCurrentIndex(page.liberations_model.index(
        page.liberations_model.find(lambda r: r.person_id == soon), 0))
    assert page.liberation_button.isEnabled() and "coordinator" not in page.liberations_note.text()
    chosen: list[str] = []

    def ask_path(parent, suggested, on_chosen):  # noqa: ANN001, ANN202
        chosen.append(suggested)
        on_chosen(tmp_path / Path(suggested).name)

    monkeypatch.setattr(LiberationDialog, "ask_path", classmethod(lambda cls, *a: ask_path(*a)))
    page.sessions.setFocus()
    qtbot.keyClick(page.sessions, Qt.Key.Key_L, Qt.KeyboardModifier.AltModifier)  # &Liberations…: the list
    qtbot.waitUntil(page.liberations.hasFocus, timeout=WAIT)
    qtbot.keyClick(page.liberations, Qt.Key.Key_D, Qt.KeyboardModifier.AltModifier)  # Liberation recor&d…
    qtbot.waitUntil(lambda: getattr(page, "liberation_dialog", None) is not None, timeout=WAIT)  # (animated click)
    dialog = page.liberation_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT)
    qtbot.waitUntil(lambda: dialog.records_note.text() == "None yet.", timeout=WAIT)
    keys = mnemonics(dialog)
    assert len(keys) == len(set(keys)), keys

    # Saving without an area or consent says what is missing, and nothing is made.
    qtbot.keyClick(dialog, Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: "council area" in dialog.area_error.message, timeout=WAIT)
    assert "agreed" in dialog.consent_error.message
    assert chosen == []

    # Enter in the area field takes the area and moves on to their words; it never presses Save.
    dialog.consent_error.clear_error()
    dialog.area.setFocus()
    qtbot.keyClicks(dialog.area.lineEdit(), "Nowhere")
    dialog.area_error.clear_error()
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    assert "council area" in dialog.area_error.message and not dialog.consent_error.message
    assert dialog.area.hasFocus() and chosen == []
    dialog.area.lineEdit().clear()
    qtbot.keyClicks(dialog.area.lineEdit(), "Perth and Kinross")
    qtbot.waitUntil(lambda: "Recovery communities and services in Perth and Kinross" in dialog.preview.text(),
                    timeout=WAIT)
    if dialog.area.completer().popup().isVisible():  # the first Enter takes the completion offered
        qtbot.keyClick(dialog.area.completer().popup(), Qt.Key.Key_Return)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    assert QApplication.focusWidget() is dialog.words
    assert not dialog.area_error.message and not dialog.consent_error.message and chosen == []
    qtbot.keyClicks(dialog.words, "The cafe gave me a reason to get up.")
    qtbot.keyClick(dialog.words, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is dialog.agreed
    qtbot.keyClick(dialog.agreed, Qt.Key.Key_Space)
    assert dialog.agreed.isChecked()
    assert "In their own words: yes" in dialog.preview.text()
    qtbot.keyClick(dialog.consent_on, Qt.Key.Key_Return)  # the default button: Save as PDF…

    qtbot.waitUntil(lambda: dialog.saved_path is not None, timeout=WAIT)
    assert Path(chosen[0]).name == "Liberation record - Kirsty Soonhome.pdf"
    assert dialog.saved_path.read_bytes().startswith(b"%PDF")
    [record] = liberation.records(ctx, soon)
    assert record.area == "Perth and Kinross" and record.consent_on == DEMO_TODAY
    content = liberation.content_of(ctx, record.id)
    assert content["own_words"] == "The cafe gave me a reason to get up." and "Q1234567" not in str(content)
    qtbot.waitUntil(lambda: dialog.records_model.rowCount() == 1, timeout=WAIT)

    # Reprint: the chosen record, exactly as made, counted.
    qtbot.keyClick(dialog, Qt.Key.Key_R, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: "Reprinted" in dialog.status.text(), timeout=WAIT)
    assert liberation.records(ctx, soon)[0].printed_count == 2
    dialog.reject()
    qtbot.waitUntil(lambda: page.liberations_model.rowCount() > 0 and page.liberations_model.row(
        page.liberations_model.find(lambda r: r.person_id == soon)).record_made is not None, timeout=WAIT)


def test_a_recorder_sees_the_records_read_only_with_the_reason(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    soon, _ = _people(ctx)
    dialog = LiberationDialog(ctx, soon, "Kirsty Soonhome", today=DEMO_TODAY)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.records_note.text() == "None yet.", timeout=WAIT)
    assert not dialog.save_button.isEnabled() and not dialog.area.isEnabled() and not dialog.words.isEnabled()
    assert dialog.reason.isVisible() and "coordinator" in dialog.reason.text()
    dialog.save_as()
    assert dialog.saved_path is None and liberation.records(ctx, soon) == []


def test_a_persons_page_opens_the_dialog(qtbot, open_demo) -> None:  # noqa: ANN001
    from srcdesk.ui.person_view import PersonView

    ctx = open_demo("colin")
    soon, _ = _people(ctx)
    view = PersonView(ctx)
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    with qtbot.waitSignal(view.loaded, timeout=WAIT):
        view.load(soon)
    assert view.liberation_button.isEnabled()
    qtbot.mouseClick(view.liberation_button, Qt.MouseButton.LeftButton)
    dialog = view.dialog
    assert isinstance(dialog, LiberationDialog) and dialog.person_id == soon and dialog.name == "Kirsty Soonhome"
    qtbot.waitUntil(lambda: dialog.records_note.text() == "None yet.", timeout=WAIT)
    dialog.reject()
