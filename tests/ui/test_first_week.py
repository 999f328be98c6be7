"""What a first week of use hits: dialogs on a 1024x600 screen, Enter in finders, errors that
come and go with the fields, column widths, British dates (issue 10)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
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


def _a_staff_first_name(ctx) -> str:  # noqa: ANN001
    """The first name of one of the demo's SPS staff (typed: plain letters only)."""
    from srcdesk.services.people import search_people

    return next(p.display_name.split()[0] for p in search_people(ctx, "", limit=1000).items
                if p.kind == "sps_staff" and p.display_name.isascii())


def test_enter_in_the_facilitator_finder_adds_and_never_saves(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    name = _a_staff_first_name(ctx)
    dialog = SessionDialog(ctx)
    qtbot.addWidget(dialog)
    saves: list[object] = []
    dialog.show()
    qtbot.waitUntil(lambda: dialog.ready, timeout=WAIT)
    dialog.save_button.clicked.connect(lambda: saves.append("clicked"))
    dialog.saved.connect(saves.append)
    picker = dialog.facilitators
    picker.search.setFocus()
    # typed faster than the search: Enter before the results arrive waits for them, then adds
    qtbot.keyClicks(picker.search, name)
    qtbot.keyClick(picker.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(picker.people) == 1, timeout=WAIT)
    assert picker.people[0].display_name.startswith(name)
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


# -- columns ---------------------------------------------------------------------------------------

def _sessions_page(qtbot, open_demo, settings, width: int):  # noqa: ANN001, ANN202
    from srcdesk.ui.pages.sessions import SessionsPage
    from srcdesk.ui.table_model import column_widths

    page = SessionsPage(open_demo("rita"))
    qtbot.addWidget(page)
    column_widths(page.table)._settings = settings  # noqa: SLF001 - this test's own settings file
    page.resize(width, 500)
    page.show()
    with qtbot.waitSignal(page.model.loaded, timeout=WAIT):
        page.activate()
    qtbot.waitUntil(lambda: not page.model.loading and page.model.rowCount() > 0, timeout=WAIT)
    qtbot.wait(20)  # the columns are fitted once the rows are drawn
    return page


@pytest.mark.usefixtures("demo_today")
@pytest.mark.parametrize("width", [700, 1024 - 180])  # the Sessions page beside the navigation at 1024x600
def test_no_column_collapses_and_the_session_keeps_its_room(qtbot, open_demo, settings, width: int) -> None:  # noqa: ANN001
    from srcdesk.ui.table_model import READABLE_CHARS, column_widths

    page = _sessions_page(qtbot, open_demo, settings, width)
    table, sizer = page.table, column_widths(page.table)
    char = table.fontMetrics().averageCharWidth()
    header = table.horizontalHeader()
    titles = [page.model.headerData(c, Qt.Orientation.Horizontal) for c in range(page.model.columnCount())]
    for column, title in enumerate(titles):
        text = header.fontMetrics().horizontalAdvance(title)
        assert header.sectionSize(column) >= text, f"{title} is cut to {header.sectionSize(column)}px"
    session = titles.index("Session")
    assert header.sectionSize(session) >= 24 * char
    # dates and times are read whole, never "30 Oc…"
    for title in ("Date", "Time"):
        column = titles.index(title)
        assert header.sectionSize(column) >= min(table.sizeHintForColumn(column), READABLE_CHARS * char)
    # the session's column takes the room left: the columns fill the table exactly, or scroll
    total = sum(header.sectionSize(c) for c in range(len(titles)))
    assert total >= table.viewport().width()
    assert sizer.stretch == session


@pytest.mark.usefixtures("demo_today")
def test_a_column_width_set_by_hand_is_remembered(qtbot, open_demo, settings) -> None:  # noqa: ANN001
    page = _sessions_page(qtbot, open_demo, settings, 1100)
    header = page.table.horizontalHeader()
    location = [page.model.headerData(c, Qt.Orientation.Horizontal) for c in range(8)].index("Location")
    edge = header.sectionViewportPosition(location) + header.sectionSize(location) - 1
    y = header.height() // 2
    before = header.sectionSize(location)
    qtbot.mousePress(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(edge, y))
    qtbot.mouseMove(header.viewport(), QPoint(edge + 60, y))
    qtbot.mouseRelease(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(edge + 60, y))
    widened = header.sectionSize(location)
    assert widened > before + 30
    settings.sync()
    assert settings.value("columns/sessionsTable")
    # a new Sessions page (the next time the app opens) uses it again
    again = _sessions_page(qtbot, open_demo, settings, 1100)
    from srcdesk.ui.table_model import column_widths

    column_widths(again.table)._load()  # noqa: SLF001 - read the settings this test gave it
    column_widths(again.table).fit()
    assert again.table.horizontalHeader().sectionSize(location) == widened
    # and a drag can't make a column narrower than its title
    qtbot.mousePress(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(edge + 59, y))
    qtbot.mouseMove(header.viewport(), QPoint(header.sectionViewportPosition(location) + 2, y))
    qtbot.mouseRelease(header.viewport(), Qt.MouseButton.LeftButton,
                       pos=QPoint(header.sectionViewportPosition(location) + 2, y))
    assert header.sectionSize(location) >= header.fontMetrics().horizontalAdvance("Location")


# -- errors: all at once, gone when fixed, and Enter still submits ---------------------------------

def test_set_up_shows_every_problem_clears_each_when_fixed_and_enter_still_submits(qtbot, tmp_path) -> None:  # noqa: ANN001
    from srcdesk.ui.setup_dialog import FirstRunDialog

    dialog = FirstRunDialog(tmp_path / "new")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.codes_loaded, timeout=WAIT)
    submitted: list[bool] = []
    dialog.setup_button.clicked.connect(lambda: submitted.append(True))
    # a first try with the mouse: the button takes the focus, the problems take it back
    dialog.setup_button.setFocus()
    qtbot.mouseClick(dialog.setup_button, Qt.MouseButton.LeftButton)
    errors = (dialog.establishment_error, dialog.username_error, dialog.display_name_error, dialog.password_error)
    assert submitted == [True] and all(e.isVisible() for e in errors)  # every problem at once
    assert dialog.focusWidget() is dialog.establishment  # the first one to fix
    qtbot.keyClicks(dialog.establishment, "Perth")
    assert not dialog.establishment_error.isVisible()  # fixed: its message goes at once
    qtbot.keyClicks(dialog.username, "jsmith")
    assert not dialog.username_error.isVisible() and dialog.display_name_error.isVisible()
    qtbot.keyClick(dialog.username, Qt.Key.Key_Return)  # Enter submits again after a failed submit
    assert submitted == [True, True] and dialog.display_name_error.isVisible()
    assert dialog.focusWidget() is dialog.display_name
    qtbot.keyClicks(dialog.display_name, "Jo Smith")
    qtbot.keyClicks(dialog.password, "password123")
    qtbot.keyClicks(dialog.confirm, "password124")
    qtbot.keyClick(dialog.confirm, Qt.Key.Key_Return)
    assert dialog.confirm_error.isVisible() and not dialog.password_error.isVisible()
    qtbot.keyClick(dialog.confirm, Qt.Key.Key_Backspace)
    assert not dialog.confirm_error.isVisible()
    qtbot.keyClicks(dialog.confirm, "3")
    with qtbot.waitSignal(dialog.installationCreated, timeout=15_000) as created:
        qtbot.keyClick(dialog.confirm, Qt.Key.Key_Return)
    created.args[0].db.close()


def test_enrol_shows_both_problems_clears_each_when_fixed_and_enter_still_submits(qtbot, ctx) -> None:  # noqa: ANN001
    from srcdesk.ui.sync_dialogs.trust import EnrolDialog

    dialog = EnrolDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.save_button.setFocus()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    card_error, fingerprint_error = dialog.errors["card"], dialog.errors["fingerprint"]
    assert card_error.isVisible() and fingerprint_error.isVisible()
    assert dialog.focusWidget() is dialog.card
    qtbot.keyClicks(dialog.fingerprint, "ABCD")
    assert not fingerprint_error.isVisible() and card_error.isVisible()
    card_error.clear_error()
    qtbot.keyClick(dialog.fingerprint, Qt.Key.Key_Return)  # Enter submits again
    assert card_error.isVisible() and card_error.message.startswith("Choose the enrolment card")
    assert not fingerprint_error.isVisible()
    dialog._closing = True  # noqa: SLF001


def test_a_new_person_is_told_every_problem_at_once_in_the_same_date_words(qtbot, open_demo) -> None:  # noqa: ANN001
    dialog = PersonDialog(open_demo("rita"))  # deletes itself once saved: not handed to qtbot to close
    dialog.show()
    assert dialog.liberation_date.placeholderText() == dialog.consent_date.placeholderText() == "e.g. 31/03/2026"
    qtbot.keyClicks(dialog.liberation_date, "2026-13-45")
    qtbot.keyClick(dialog.liberation_date, Qt.Key.Key_Return)
    assert dialog.errors["given_name"].message == "Given name is required."
    assert dialog.errors["family_name"].message == "Family name is required."
    assert dialog.errors["liberation_date"].message == "Liberation date must be a date like 31/03/2026."
    assert dialog.focusWidget() is dialog.given_name
    qtbot.keyClicks(dialog.given_name, "Ann")
    assert not dialog.errors["given_name"].isVisible() and dialog.errors["family_name"].isVisible()
    dialog.liberation_date.clear()
    qtbot.keyClicks(dialog.liberation_date, "1/4/2027")  # the British way, without leading zeros
    assert not dialog.errors["liberation_date"].isVisible()
    qtbot.keyClicks(dialog.family_name, "Other")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT) as saved:
        qtbot.keyClick(dialog.family_name, Qt.Key.Key_Return)
    assert str(saved.args[0].liberation_date) == "2027-04-01"


def test_enter_in_the_register_find_adds_and_stays_and_the_register_fits(qtbot, open_demo,
                                                                          small_screen) -> None:  # noqa: ANN001
    from srcdesk.services import sessions
    from srcdesk.ui.register_dialog import RegisterDialog

    ctx = open_demo("rita")
    session = sessions.create_session(ctx, date="2026-11-03", start_time="10:00", end_time="11:30",
                                      activity_type_id="act-cafe", location="Dining hall")
    dialog = RegisterDialog(ctx, session.id)
    qtbot.addWidget(dialog)
    saves: list[object] = []
    dialog.saved.connect(saves.append)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.ready, timeout=WAIT)
    assert small_screen.contains(dialog.frameGeometry())
    for button in (dialog.save_button, dialog.close_button):
        corner = button.mapTo(dialog, button.rect().bottomRight())
        assert dialog.rect().contains(corner) and not button.visibleRegion().isEmpty()
    dialog.find.setFocus()
    qtbot.keyClicks(dialog.find, _a_staff_first_name(ctx))
    qtbot.keyClick(dialog.find, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1, timeout=WAIT)
    assert dialog.find.text() == "" and dialog.focusWidget() is dialog.find  # ready for the next name
    qtbot.keyClick(dialog.find, Qt.Key.Key_Return)  # Enter on an empty Find goes to the roster, no save
    qtbot.wait(50)
    assert saves == [] and dialog.model.dirty and dialog.focusWidget() is dialog.table
    dialog._closing = True  # noqa: SLF001
    dialog.model.set_status(0, "present")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        qtbot.keyClick(dialog.table, Qt.Key.Key_Return)  # Enter in the roster saves
