"""What a first week of use hits: dialogs on a 1024x600 screen, Enter in finders, errors that
come and go with the fields, column widths, British dates (issue 10)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QWidget

from srcdesk.ui import widgets
from srcdesk.ui.person_dialog import PersonDialog
from srcdesk.ui.session_dialog import SessionDialog

WAIT = 5000
SMALL = QRect(0, 0, 1024, 600)


@pytest.fixture
def small_screen(monkeypatch: pytest.MonkeyPatch) -> QRect:
    """Windows sized for a 1024x600 screen (the offscreen platform's own screen is 800x800)."""
    monkeypatch.setattr(widgets, "screen_area", lambda window: QRect(SMALL))
    return SMALL


def _assert_buttons_on_screen(dialog: QWidget, screen: QRect) -> None:
    QApplication.processEvents()
    assert screen.contains(dialog.frameGeometry()), f"{dialog.objectName()} {dialog.geometry()} is off {screen}"
    for box in dialog.findChildren(QDialogButtonBox):
        if not box.isVisible():
            continue
        top_left = box.mapTo(dialog, box.rect().topLeft())
        inside = QRect(top_left, box.size()).translated(dialog.geometry().topLeft())
        assert dialog.geometry().contains(inside), f"the buttons {inside} fall outside {dialog.geometry()}"
        assert screen.contains(inside)
        for button in box.buttons():
            if button.isVisible():
                assert not button.visibleRegion().isEmpty(), f"{button.text()} can't be seen"


def test_session_dialog_with_errors_keeps_its_buttons_on_a_small_screen(qtbot, open_demo,
                                                                          small_screen) -> None:  # noqa: ANN001
    dialog = SessionDialog(open_demo("rita"))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.ready, timeout=WAIT)
    _assert_buttons_on_screen(dialog, small_screen)
    long = "This is a long message that wraps over several lines of the dialog. " * 6
    for error in (dialog.what_error, dialog.title_error, dialog.date_error, dialog.start_error,
                  dialog.end_error, dialog.location_error, dialog.facilitators_error, dialog.notes_error,
                  dialog.repeat_error, dialog.general_error):
        error.show_error(long)
    qtbot.wait(10)
    _assert_buttons_on_screen(dialog, small_screen)
    # the last error scrolled into view: the person sees it without hunting for it
    qtbot.waitUntil(lambda: not dialog.general_error.visibleRegion().isEmpty(), timeout=WAIT)
    dialog._closing = True  # noqa: SLF001


def test_new_person_with_every_error_keeps_its_buttons_on_a_small_screen(qtbot, open_demo,
                                                                          small_screen) -> None:  # noqa: ANN001
    dialog = PersonDialog(open_demo("rita"))
    qtbot.addWidget(dialog)
    dialog.show()
    _assert_buttons_on_screen(dialog, small_screen)
    for error in (*dialog.errors.values(), dialog.general_error):
        error.show_error("Something to correct here, explained in a sentence long enough to wrap twice. " * 2)
    qtbot.wait(10)
    _assert_buttons_on_screen(dialog, small_screen)


def test_a_remembered_size_bigger_than_the_screen_is_clamped(qtbot, open_demo, small_screen) -> None:  # noqa: ANN001
    dialog = SessionDialog(open_demo("rita"))
    qtbot.addWidget(dialog)
    dialog.resize(1600, 1200)  # a size from a bigger screen
    dialog.show()
    qtbot.waitUntil(lambda: dialog.ready, timeout=WAIT)
    _assert_buttons_on_screen(dialog, small_screen)
    widgets.fit_to_screen(dialog, dialog.size())
    assert dialog.width() <= small_screen.width() and dialog.height() <= small_screen.height()


# -- Enter in a finder --------------------------------------------------------------------------

def _wait_results(qtbot, picker) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: not picker._timer.isActive() and not picker.results_model.loading  # noqa: SLF001
                    and picker.results_model.rowCount() > 0, timeout=WAIT)


def test_enter_in_the_facilitator_finder_adds_and_never_saves(qtbot, open_demo) -> None:  # noqa: ANN001
    dialog = SessionDialog(open_demo("rita"))
    qtbot.addWidget(dialog)
    saves: list[object] = []
    dialog.show()
    qtbot.waitUntil(lambda: dialog.ready, timeout=WAIT)
    dialog.save_button.clicked.connect(lambda: saves.append("clicked"))
    dialog.saved.connect(saves.append)
    picker = dialog.facilitators
    picker.search.setFocus()
    # typed faster than the search: Enter before the results arrive waits for them, then adds
    qtbot.keyClicks(picker.search, "Annette")
    qtbot.keyClick(picker.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(picker.people) == 1, timeout=WAIT)
    assert picker.people[0].display_name.startswith("Annette")
    assert picker.search.hasFocus() and picker.search.text() == ""  # ready for the next name
    # Enter in the empty finder does nothing at all
    qtbot.keyClick(picker.search, Qt.Key.Key_Return)
    qtbot.wait(50)
    assert saves == [] and dialog.isVisible() and not dialog.what_error.isVisible()
    # Enter on a result in the list adds it too, and stays
    qtbot.keyClicks(picker.search, "a")
    _wait_results(qtbot, picker)
    qtbot.keyClick(picker.search, Qt.Key.Key_Down)
    assert picker.results.hasFocus()
    qtbot.keyClick(picker.results, Qt.Key.Key_Return)
    assert len(picker.people) == 2 and saves == [] and dialog.isVisible()
    # Enter outside the finder saves (here: refused, nothing chosen under What); so does Ctrl+S
    qtbot.keyClick(dialog.location, Qt.Key.Key_Return)
    assert saves == ["clicked"] and dialog.what_error.isVisible()
    dialog.what_error.clear_error()
    qtbot.keyClick(picker.search, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert dialog.what_error.isVisible()
    dialog._closing = True  # noqa: SLF001
