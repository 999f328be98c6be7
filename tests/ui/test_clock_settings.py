"""Settings → This PC's clock, and the warning when the app starts (issue 9, item 6).

A PC's clock is its database's ``wall_ms``: the tests put it two days ahead, make a change (so
srcdesk's clock runs ahead with it), and put it right again, as someone fixing the PC would.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from srcdesk.db import system_wall_ms
from srcdesk.errors import DatabaseError
from srcdesk.services import clock as clock_service
from srcdesk.services import people
from srcdesk.sync.hlc import pack
from srcdesk.ui.bus import data_bus
from srcdesk.ui.main_window import MainWindow
from srcdesk.ui.pages import clock as clock_page
from srcdesk.ui.pages.settings import SettingsPage

from .conftest import WAIT_MS, shot


def clock_ran_ahead(ctx, days: int = 2) -> None:  # noqa: ANN001
    """The PC's clock was ``days`` ahead while someone edited a person; now it is right again."""
    ctx.db.wall_ms = lambda: system_wall_ms() + days * 86_400_000
    person = people.search_people(ctx, "").items[0]
    people.update_person(ctx, person.id, notes="Seen on the clock's Tuesday")
    ctx.db.wall_ms = system_wall_ms


def settings_page(qtbot, ctx, settings, size: tuple[int, int] = (820, 760)) -> SettingsPage:  # noqa: ANN001
    page = SettingsPage(ctx, settings=settings)
    qtbot.addWidget(page)
    page.resize(*size)
    page.show()
    page.activate()
    qtbot.waitUntil(lambda: page.loaded, timeout=WAIT_MS)
    return page


def click_confirm(qtbot, box: QMessageBox, name: str) -> None:  # noqa: ANN001
    qtbot.mouseClick(box.findChild(QWidget, name), Qt.MouseButton.LeftButton)


def test_the_section_shows_both_clocks_and_that_all_is_well(qtbot, open_demo, settings) -> None:  # noqa: ANN001
    page = settings_page(qtbot, open_demo("admin"), settings)
    section = page.clock
    assert section.wall_value.text() == clock_service.when(section.status.wall)
    assert section.stored_value.text() == clock_service.when(section.status.stored)
    assert section.state_value.text() == "srcdesk's clock agrees with this PC's clock."
    assert not section.repair_button.isEnabled()
    assert not section.result_value.isVisible() and not section.error.isVisible()


def test_an_administrator_repairs_the_clock_from_settings(qtbot, open_demo, settings) -> None:  # noqa: ANN001
    ctx = open_demo("admin")
    clock_ran_ahead(ctx)
    page = settings_page(qtbot, ctx, settings)
    section = page.clock
    assert section.state_value.text().startswith("srcdesk's clock is 2 days ahead of this PC's clock. 1 change made "
                                                 "here is stamped in the future")
    assert section.repair_button.isEnabled()
    shot(page, "settings-clock-ahead")

    qtbot.mouseClick(section.repair_button, Qt.MouseButton.LeftButton)
    box = section.confirm_box
    assert box is not None and box.isVisible()
    assert box.text() == f"Is this PC's clock right now? It says {clock_service.when(section.status.wall)}."
    assert "re-stamps the 1 change made on this PC that is stamped in the future" in box.informativeText()
    announced: list[frozenset[str]] = []
    data_bus().changed.connect(announced.append)
    click_confirm(qtbot, box, "confirmYes")
    qtbot.waitUntil(lambda: not section.repairing and section.loaded and section.result_value.isVisible(),
                    timeout=WAIT_MS)
    data_bus().changed.disconnect(announced.append)
    assert section.result_value.text().startswith("Re-stamped 1 change made on this PC (1 edit).")
    assert "A backup was made first: " in section.result_value.text()
    assert section.state_value.text() == "srcdesk's clock agrees with this PC's clock."
    assert not section.repair_button.isEnabled()
    assert {"people", "sync"} <= set().union(*announced)
    assert ctx.db.clock.last <= pack(system_wall_ms(), 0xFFFF)
    assert not clock_service.clock_status(ctx).needs_repair
    shot(page, "settings-clock-repaired")


def test_cancelling_the_repair_changes_nothing(qtbot, open_demo, settings) -> None:  # noqa: ANN001
    ctx = open_demo("admin")
    clock_ran_ahead(ctx)
    page = settings_page(qtbot, ctx, settings)
    qtbot.mouseClick(page.clock.repair_button, Qt.MouseButton.LeftButton)
    click_confirm(qtbot, page.clock.confirm_box, "confirmNo")
    qtbot.wait(50)
    assert not page.clock.repairing and page.clock.result is None
    assert clock_service.clock_status(ctx).needs_repair and page.clock.repair_button.isEnabled()


def test_only_an_administrator_can_repair(qtbot, open_demo, settings) -> None:  # noqa: ANN001
    admin = open_demo("admin")
    clock_ran_ahead(admin)
    page = settings_page(qtbot, open_demo("colin"), settings)
    assert "2 days ahead" in page.clock.state_value.text()
    assert not page.clock.repair_button.isEnabled()
    assert page.clock.repair_button.toolTip() == (
        "Only an administrator can repair srcdesk's clock; you are signed in as a coordinator.")
    page.clock.repair()  # a programmatic call is refused too
    assert not page.clock.repairing


def test_a_failed_repair_says_why(qtbot, open_demo, settings, monkeypatch) -> None:  # noqa: ANN001
    def broken(ctx, progress=None):  # noqa: ANN001, ANN202
        raise DatabaseError("Couldn't write the backup to the data folder: No space left on device.")

    ctx = open_demo("admin")
    clock_ran_ahead(ctx)
    monkeypatch.setattr(clock_page, "repair_clock", broken)
    page = settings_page(qtbot, ctx, settings)
    qtbot.mouseClick(page.clock.repair_button, Qt.MouseButton.LeftButton)
    click_confirm(qtbot, page.clock.confirm_box, "confirmYes")
    qtbot.waitUntil(lambda: page.clock.error.isVisible(), timeout=WAIT_MS)
    assert page.clock.error.message == "Couldn't write the backup to the data folder: No space left on device."
    assert page.clock.repair_button.isEnabled() and not page.clock.result_value.isVisible()


def test_the_app_warns_once_at_start_and_leads_to_the_repair(qtbot, open_demo, settings) -> None:  # noqa: ANN001
    ctx = open_demo("admin")
    clock_ran_ahead(ctx)
    window = MainWindow(ctx, settings)
    qtbot.addWidget(window)
    window.resize(1024, 600)
    window.show()
    warning = window.clock_warning
    qtbot.waitUntil(lambda: warning.checked and warning.isVisible(), timeout=WAIT_MS)
    assert warning.text.text().startswith("srcdesk's clock is 2 days ahead of this PC's clock:")
    assert warning.text.text().endswith("(Settings → This PC's clock).")
    shot(window, "clock-warning-at-start")

    qtbot.mouseClick(warning.show_button, Qt.MouseButton.LeftButton)
    page = window.current_page
    assert page is window.pages["settings"]
    qtbot.waitUntil(lambda: page.loaded, timeout=WAIT_MS)
    qtbot.mouseClick(page.clock.repair_button, Qt.MouseButton.LeftButton)
    click_confirm(qtbot, page.clock.confirm_box, "confirmYes")
    qtbot.waitUntil(lambda: not warning.isVisible() and page.clock.result is not None, timeout=WAIT_MS)
    window.close()


def test_no_warning_when_the_clock_is_right_and_dismiss_hides_it(qtbot, open_demo, settings) -> None:  # noqa: ANN001
    window = MainWindow(open_demo("rita"), settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.clock_warning.checked, timeout=WAIT_MS)
    assert not window.clock_warning.isVisible()
    window.close()

    ctx = open_demo("rita")
    clock_ran_ahead(ctx, days=1)
    window = MainWindow(ctx, settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.clock_warning.isVisible(), timeout=WAIT_MS)
    qtbot.mouseClick(window.clock_warning.dismiss_button, Qt.MouseButton.LeftButton)
    assert not window.clock_warning.isVisible()
    window.close()


def test_how_long_and_when_speak_plainly() -> None:
    assert clock_service.how_long(dt.timedelta(days=2, seconds=-3)) == "2 days"
    assert clock_service.how_long(dt.timedelta(days=1, hours=3)) == "1 day and 3 hours"
    assert clock_service.how_long(dt.timedelta(hours=5, minutes=10)) == "5 hours and 10 minutes"
    assert clock_service.how_long(dt.timedelta(minutes=1)) == "1 minute"
