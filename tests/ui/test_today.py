"""The Today page: this week's sessions, week navigation, recording, the register, and who is
eligible for their next milestone."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt

from srcdesk.services import ladder
from srcdesk.services import sessions as session_service
from srcdesk.ui.pages.today import TodayPage
from srcdesk.ui.session_dialog import SessionDialog, pydate

from .conftest import DEMO_TODAY

WAIT = 5000
MONDAY = dt.date(2026, 10, 26)


pytestmark = pytest.mark.usefixtures("demo_today")


@pytest.fixture
def page(qtbot, open_demo):  # noqa: ANN001, ANN201
    ctx = open_demo("rita")
    page = TodayPage(ctx)
    qtbot.addWidget(page)
    page.resize(1100, 750)
    page.show()
    page.activate()
    _wait_week(qtbot, page)
    qtbot.waitUntil(lambda: page.eligible_note.text() and not page.eligible_note.text().startswith("Working out"),
                    timeout=WAIT)
    yield page
    for name in ("session_dialog", "register_dialog"):
        dialog = getattr(page, name, None)
        try:
            if dialog is not None and dialog.isVisible():
                dialog._closing = True  # noqa: SLF001
                dialog.done(0)
        except RuntimeError:
            pass


def _wait_week(qtbot, page: TodayPage) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: not page.sessions_note.text().startswith("Loading"), timeout=WAIT)


def _week_from_service(page: TodayPage, monday: dt.date) -> list:
    return session_service.sessions_between(page.ctx, monday, monday + dt.timedelta(days=6),
                                            establishment_id=page.ctx.installation.establishment_id)


def test_shows_this_weeks_sessions_in_order(qtbot, page: TodayPage, qtmodeltester) -> None:  # noqa: ANN001
    rows = page.sessions_model.rows
    # The demo's week of 26 October: Monday's three, Tuesday's, Thursday's (in the order they happen).
    assert [r.date for r in rows] == [dt.date(2026, 10, 26)] * 3 + [dt.date(2026, 10, 27), dt.date(2026, 10, 29)]
    assert [(r.date, r.start_time) for r in rows] == sorted((r.date, r.start_time) for r in rows)
    assert [r.id for r in rows] == [r.id for r in _week_from_service(page, MONDAY)]
    assert page.week_label.text() == "This week: 26 Oct – 1 Nov 2026"
    assert page.sessions_model.data(page.sessions_model.index(0, 0)) == "Mon 26 Oct"
    assert page.sessions_note.text() == "5 sessions"
    present = page.sessions_model.data(page.sessions_model.index(1, 5))
    on_register = page.sessions_model.data(page.sessions_model.index(1, 6))
    assert present == str(rows[1].attended) and on_register == str(rows[1].on_register)
    # The next session from today (Wednesday) is selected: Thursday's.
    assert page.selected_session_id() == rows[4].id
    assert not page.this_week_button.isEnabled()
    qtmodeltester.check(page.sessions_model)


def test_week_navigation(qtbot, page: TodayPage) -> None:  # noqa: ANN001
    earlier = MONDAY - dt.timedelta(weeks=1)
    week_before = _week_from_service(page, earlier)
    session_service.cancel_session(page.ctx, week_before[-1].id, "Lockdown")  # shown in its week, cancelled
    qtbot.mouseClick(page.previous_button, Qt.MouseButton.LeftButton)
    _wait_week(qtbot, page)
    assert page.week_label.text() == "Week of: 19 Oct – 25 Oct 2026"
    assert [r.id for r in page.sessions_model.rows] == [r.id for r in week_before]
    cancelled = [r for r in page.sessions_model.rows if r.cancelled]
    assert len(cancelled) == 1 and page.sessions_note.text() == f"{len(week_before) - 1} sessions, 1 cancelled"
    n = page.sessions_model.find(lambda r: r.cancelled)
    assert page.sessions_model.data(page.sessions_model.index(n, 7)) == "Cancelled"
    assert page.this_week_button.isEnabled()

    qtbot.mouseClick(page.next_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(page.next_button, Qt.MouseButton.LeftButton)
    _wait_week(qtbot, page)
    assert page.week_label.text() == "Week of: 2 Nov – 8 Nov 2026"
    assert page.sessions_model.rowCount() == 0 and page.sessions_note.text() == "No sessions recorded this week."
    assert not page.register_button.isEnabled()

    qtbot.mouseClick(page.this_week_button, Qt.MouseButton.LeftButton)
    _wait_week(qtbot, page)
    assert page.week_label.text().startswith("This week") and page.sessions_model.rowCount() == 5


def test_record_a_session_opens_the_editor_on_today(qtbot, page: TodayPage) -> None:  # noqa: ANN001
    qtbot.mouseClick(page.record_button, Qt.MouseButton.LeftButton)
    dialog = page.session_dialog
    assert isinstance(dialog, SessionDialog) and dialog.session_id is None
    qtbot.waitUntil(lambda: dialog.ready, timeout=WAIT)
    assert pydate(dialog.date.date()) == DEMO_TODAY
    dialog.what.setCurrentIndex(dialog.what.findText("Recovery café"))
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        qtbot.keyClick(dialog.location, Qt.Key.Key_Return)
    # The page hears about the new session and shows it in this week.
    qtbot.waitUntil(lambda: page.sessions_model.rowCount() == 6, timeout=WAIT)
    assert DEMO_TODAY in [r.date for r in page.sessions_model.rows]
    assert page.status.text().startswith("Recorded a session on 28 Oct 2026")


def test_take_the_register_of_the_selected_session(qtbot, page: TodayPage) -> None:  # noqa: ANN001
    page.sessions.setCurrentIndex(page.sessions_model.index(0, 0))
    wanted = page.sessions_model.row(0).id
    with qtbot.waitSignal(page.registerRequested, timeout=WAIT) as requested:
        qtbot.mouseClick(page.register_button, Qt.MouseButton.LeftButton)
    assert requested.args == [wanted]
    assert page.register_dialog is not None and page.register_dialog.isVisible()
    page.register_dialog.close()

    page.sessions.setFocus()
    page.sessions.setCurrentIndex(page.sessions_model.index(2, 0))
    with qtbot.waitSignal(page.registerRequested, timeout=WAIT) as requested:
        qtbot.keyClick(page.sessions, Qt.Key.Key_Return)
    assert requested.args == [page.sessions_model.row(2).id]
    page.register_dialog.close()


def test_eligible_people_and_opening_one(qtbot, page: TodayPage, qtmodeltester) -> None:  # noqa: ANN001
    expected = ladder.eligible_people(page.ctx, limit=50)
    assert expected, "the demo data has people eligible for their next milestone"
    rows = page.eligible_model.rows
    assert [r.person_id for r in rows] == [r.person_id for r in expected]
    assert page.eligible_model.data(page.eligible_model.index(0, 2)) == expected[0].next_level
    assert f"{len(expected)} people have met the rules" in page.eligible_note.text()
    qtmodeltester.check(page.eligible_model)

    page.eligible.setFocus()
    page.eligible.setCurrentIndex(page.eligible_model.index(1, 0))
    with qtbot.waitSignal(page.personRequested, timeout=WAIT) as requested:
        qtbot.keyClick(page.eligible, Qt.Key.Key_Return)
    assert requested.args == [str(expected[1].person_id)]


def test_changes_elsewhere_refresh_the_week(qtbot, page: TodayPage) -> None:  # noqa: ANN001
    # Nobody announces the write: the commit tells the data bus which tables it wrote.
    row = page.sessions_model.row(0)
    session_service.cancel_session(page.ctx, row.id, "Lockdown")
    qtbot.waitUntil(lambda: page.sessions_model.rowCount() == 5 and page.sessions_model.row(0).cancelled,
                    timeout=WAIT)
    assert page.sessions_note.text() == "4 sessions, 1 cancelled"


def test_after_recording_a_session_the_register_is_the_new_ones(qtbot, page: TodayPage) -> None:  # noqa: ANN001
    before = page.selected_session_id()
    assert before is not None
    qtbot.mouseClick(page.record_button, Qt.MouseButton.LeftButton)
    dialog = page.session_dialog
    qtbot.waitUntil(lambda: dialog.ready, timeout=WAIT)
    dialog.what.setCurrentIndex(dialog.what.findText("Recovery café"))
    with qtbot.waitSignal(dialog.saved, timeout=WAIT) as saved:
        qtbot.keyClick(dialog.location, Qt.Key.Key_Return)
    new_id = saved.args[0].id
    qtbot.waitUntil(lambda: page.selected_session_id() == new_id, timeout=WAIT)
    with qtbot.waitSignal(page.registerRequested, timeout=WAIT) as requested:
        qtbot.mouseClick(page.register_button, Qt.MouseButton.LeftButton)
    assert requested.args == [new_id] and new_id != before
    page.register_dialog.close()


def test_a_session_recorded_in_another_week_is_shown_and_selected(qtbot, page: TodayPage) -> None:  # noqa: ANN001
    qtbot.mouseClick(page.record_button, Qt.MouseButton.LeftButton)
    dialog = page.session_dialog
    qtbot.waitUntil(lambda: dialog.ready, timeout=WAIT)
    dialog.what.setCurrentIndex(dialog.what.findText("Recovery café"))
    dialog.date.setDate(DEMO_TODAY - dt.timedelta(weeks=2))
    with qtbot.waitSignal(dialog.saved, timeout=WAIT) as saved:
        qtbot.keyClick(dialog.location, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.selected_session_id() == saved.args[0].id, timeout=WAIT)
    assert page.week_label.text().startswith("Week of: 12 Oct")


def test_a_transfer_refreshes_who_is_eligible(qtbot, page: TodayPage) -> None:  # noqa: ANN001
    from srcdesk.services.estate import establishments
    from srcdesk.services.people import transfer_person

    leaving = page.eligible_model.row(0)
    elsewhere = next(e for e in establishments(page.ctx) if e.id != page.ctx.installation.establishment_id)
    # Through the service alone, as the transfer dialog or a CLI in this process would: no announcement.
    transfer_person(page.ctx, str(leaving.person_id), elsewhere.id, on=DEMO_TODAY, reason="Moved")
    qtbot.waitUntil(lambda: leaving.person_id not in [r.person_id for r in page.eligible_model.rows],
                    timeout=WAIT)


def test_a_write_by_another_program_refreshes_the_page(qtbot, page: TodayPage, demo_data) -> None:  # noqa: ANN001
    import subprocess
    import sys

    from srcdesk.ui.bus import ExternalChanges

    watcher = ExternalChanges(page.ctx.db.path, interval_ms=100)
    assert watcher.ready.wait(WAIT / 1000)  # watching from here on
    row = page.sessions_model.row(0)
    assert not row.cancelled
    code = (
        "import sys\n"
        "from srcdesk.services.setup import open_installation\n"
        "from srcdesk.services.users import authenticate\n"
        "from srcdesk.services.sessions import cancel_session\n"
        "ctx = open_installation(__import__('pathlib').Path(sys.argv[1]))\n"
        "ctx = ctx.signed_in(authenticate(ctx.db, 'rita', 'password123'))\n"
        "cancel_session(ctx, sys.argv[2], 'Lockdown')\n"
        "ctx.db.close()\n"
    )
    subprocess.run([sys.executable, "-c", code, str(demo_data), row.id], check=True, timeout=60)
    qtbot.waitUntil(lambda: page.sessions_model.row(0).cancelled, timeout=WAIT)
    watcher.stop()
