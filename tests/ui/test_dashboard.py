"""The Dashboard page: scoping (office vs establishment), the period picker, tiles with the change
from the period before, the charts, stale marking, the drill-down from a tile, a bar and a point,
and an empty database.

The first tests use a fixed service (``FixedService``: the contract of
:mod:`srcdesk.services.dashboard`, returning set figures) so that every number on the screen is
known; the last ones read real small data through the real service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QCoreApplication, Qt, QThreadPool

from srcdesk.reports.indicators import (
    INDICATORS,
    Behind,
    Figures,
    Freshness,
    Ratio,
    ReferralCounts,
    ReferralStageCount,
)
from srcdesk.reports.periods import Period, parse_period, plan_quarter
from srcdesk.ui.pages import dashboard as page_module
from srcdesk.ui.pages import today as today_page
from srcdesk.ui.pages.dashboard import DashboardPage, freshness_text, trend_quarters

from .conftest import PASSWORD, WAIT_MS, mnemonics

TODAY = dt.date(2025, 11, 12)  # in Q3 2025-26 (October–December 2025)
Q3 = plan_quarter(2025, 3)
Q2 = plan_quarter(2025, 2)
PLACES = [("e-per", "PER", "HMP Perth"), ("e-bar", "BAR", "HMP Barlinnie"), ("e-edi", "EDI", "HMP Edinburgh")]


def _values(base: int) -> dict:
    return {"sessions": base // 10, "attendances": base, "people": base // 4, "new_people": base // 20,
            "signoffs": 3, "certificates_issued": 2, "certificates_revoked": 0,
            "rat_coverage": Ratio(3, 4), "facilitator_hours": base / 8}


class FixedService:
    """srcdesk.services.dashboard's contract with fixed answers, recording what was asked."""

    def __init__(self, *, empty: bool = False) -> None:
        self.empty = empty
        self.calls: list[tuple] = []
        self.attendances = {Q3: {"e-per": 312, "e-bar": 41, "e-edi": 150}, Q2: {"e-per": 288, "e-bar": 60, "e-edi": 150}}

    def _att(self, period: Period, est: str | None) -> int:
        if self.empty:
            return 0
        by = self.attendances.get(period, {"e-per": 100, "e-bar": 10, "e-edi": 50})
        return by.get(est, by["e-per"]) if est else sum(by.values())  # an establishment PC: as Perth

    def figures(self, ctx, period, establishment_id=None) -> Figures:  # noqa: ANN001
        self.calls.append(("figures", period.code, establishment_id))
        n = self._att(period, establishment_id)
        values = _values(n) if n else dict.fromkeys((i.code for i in INDICATORS), 0) | {"rat_coverage": Ratio(0, 0)}
        return Figures(period, establishment_id, values,
                       sessions_by={"programme": [("Recovery Café", n // 20), ("SMART Recovery", n // 40)],
                                    "module": [("Week 1", 4)], "activity": [("Group work", 7)]} if n else {},
                       ladder=[("Level 1", 12, 3), ("Level 2", 5, 1)] if n else [])

    def by_establishment(self, ctx, period) -> dict:  # noqa: ANN001
        self.calls.append(("by_establishment", period.code))
        return {eid: _values(self._att(period, eid)) for eid, _c, _n in PLACES}

    def trend(self, ctx, code, quarters, establishment_id=None) -> list:  # noqa: ANN001
        self.calls.append(("trend", code, tuple(q.code for q in quarters), establishment_id))
        return [0 if self.empty else 100 + 10 * i for i in range(len(quarters))]

    def freshness(self, ctx, today=None) -> list[Freshness]:  # noqa: ANN001
        self.calls.append(("freshness",))
        if not ctx.installation.is_office:
            return []
        at = dt.datetime(2025, 10, 2, 9, 0)
        return [Freshness("e-edi", "HMP Edinburgh", None, None),
                Freshness("e-bar", "HMP Barlinnie", at, 41),
                Freshness("e-per", "HMP Perth", at, 2)]

    def behind(self, ctx, period, code, establishment_id=None, limit=500) -> Behind:  # noqa: ANN001
        self.calls.append(("behind", period.code, code, establishment_id))
        n = self._att(period, establishment_id)
        if code == "people":
            return Behind("person", ("Name", "Reference"), [("Ann Example", "A1"), ("Bob Example", "B2")],
                          ["p-1", "p-2"], 2)
        rows = [(dt.date(2025, 10, 1) + dt.timedelta(days=i % 60), "PER", "Recovery Café", 1) for i in range(min(n, limit))]
        return Behind("session", ("Date", "Establishment", "Session", "Attended"), rows,
                      [f"s-{i}" for i in range(len(rows))], n)

    def establishments(self, ctx) -> list:  # noqa: ANN001
        if ctx.installation.is_office:
            return list(PLACES)
        return [p for p in PLACES if p[0] == ctx.installation.establishment_id] or [PLACES[0]]

    def targets(self, ctx, period, establishment_id=None) -> list:  # noqa: ANN001
        self.calls.append(("targets", period.code, establishment_id))
        return [("attendances", None, 1600, "Attendances this year"), ("attendances", "e-per", 800, "Perth")]

    def focus(self, ctx, period) -> list:  # noqa: ANN001
        return ["e-bar"]

    def referrals_by_stage(self, ctx, period, establishment_id=None) -> ReferralCounts:  # noqa: ANN001
        self.calls.append(("referrals_by_stage", period.code, establishment_id))
        rows = [ReferralStageCount("identified", "Identified", 4, 6),
                ReferralStageCount("admitted", "Admitted to residential rehabilitation", 1, 2),
                ReferralStageCount("withdrawn", "Withdrawn", None, 1)]
        return ReferralCounts(period, establishment_id, rows, 5, 1)


@pytest.fixture
def fixed(monkeypatch: pytest.MonkeyPatch) -> FixedService:
    svc = FixedService()
    monkeypatch.setattr(page_module, "dashboard_service", svc)
    monkeypatch.setattr(today_page, "today", lambda: TODAY)
    return svc


@pytest.fixture
def office_ctx(office_data) -> Iterator:  # noqa: ANN001
    from srcdesk.services.setup import open_installation
    from srcdesk.services.users import authenticate

    ctx = open_installation(office_data)
    ctx = ctx.signed_in(authenticate(ctx.db, "phr", PASSWORD))
    yield ctx
    QThreadPool.globalInstance().waitForDone(WAIT_MS)
    QCoreApplication.processEvents()
    ctx.db.close()


def _page(qtbot, ctx, size=(1200, 820)) -> DashboardPage:  # noqa: ANN001
    page = DashboardPage(ctx)
    qtbot.addWidget(page)
    page.resize(*size)
    with qtbot.waitSignal(page.painted, timeout=WAIT_MS):
        page.show()
        page.activate()
    return page


# -- helpers ------------------------------------------------------------------------------------------

def test_trend_is_eight_quarters_ending_with_the_periods_last() -> None:
    assert [q.code for q in trend_quarters(Q3)] == ["2023-Q4", "2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4",
                                                   "2025-Q1", "2025-Q2", "2025-Q3"]
    assert trend_quarters(parse_period("2024-25"))[-1].code == "2024-Q4"


def test_freshness_in_words() -> None:
    assert freshness_text(Freshness("b", "HMP Barlinnie", dt.datetime(2025, 1, 1), 41)) == \
        "HMP Barlinnie: last bundle 41 days ago"
    assert freshness_text(Freshness("b", "HMP Barlinnie", None, None)) == "HMP Barlinnie: no bundle yet"
    assert freshness_text(Freshness("b", "HMP Barlinnie", dt.datetime(2025, 1, 1), 1)) == \
        "HMP Barlinnie: last bundle 1 day ago"


# -- the office -------------------------------------------------------------------------------------

def test_office_sees_every_establishment_with_a_filter(qtbot, fixed, office_ctx) -> None:  # noqa: ANN001
    page = _page(qtbot, office_ctx)
    assert page.period == Q3  # the current quarter by default
    assert page.period_combo.currentText() == "Q3 2025-26 (October–December 2025)"
    assert ("figures", "2025-Q3", None) in fixed.calls and ("figures", "2025-Q2", None) in fixed.calls
    tile = page.tiles["attendances"]
    assert tile.value.text() == "503"  # 312 + 41 + 150
    assert tile.delta.text() == "↑ 5 from Q2 25-26"  # 498 before
    assert tile.accessibleName() == "Attendances: 503, ↑ 5 from Q2 25-26"
    assert page.tiles["rat_coverage"].value.text() == "75% (3 of 4)"
    assert page.tiles["rat_coverage"].delta.text() == "no change from Q2 25-26"
    # the filter lists every establishment the user may see
    combo = page.establishment_combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["All establishments", "HMP Perth",
                                                                  "HMP Barlinnie", "HMP Edinburgh"]
    # bars by establishment: one per establishment, heights as the figures
    chart = page.bar_chart
    assert chart.isVisible()
    assert [c.key for c in chart.categories] == ["e-per", "e-bar", "e-edi"]
    assert list(chart.series[0].values) == [312, 41, 150]
    assert chart.bar_rect(1).height() == pytest.approx(chart.bar_rect(0).height() * 41 / 312, abs=1)
    assert "HMP Perth: 312" in chart.accessibleDescription()
    # choosing one establishment: its figures, and it is the current bar
    with qtbot.waitSignal(page.painted, timeout=WAIT_MS):
        combo.setCurrentIndex(combo.findData("e-per"))
    assert tile.value.text() == "312" and tile.delta.text() == "↑ 24 from Q2 25-26"
    assert ("figures", "2025-Q3", "e-per") in fixed.calls
    assert page.bar_chart.marked == "e-per" and page.bar_chart.current == 0
    assert page.note.text() == "Q3 2025-26 (October–December 2025) so far, at HMP Perth."


def test_stale_establishments_are_marked_on_the_chart_and_listed(qtbot, fixed, office_ctx) -> None:  # noqa: ANN001
    page = _page(qtbot, office_ctx)
    items = [page.freshness_list.item(i).text() for i in range(page.freshness_list.count())]
    assert items == ["⚠ HMP Edinburgh: no bundle yet", "⚠ HMP Barlinnie: last bundle 41 days ago",
                     "HMP Perth: last bundle 2 days ago"]
    by_key = {c.key: c for c in page.bar_chart.categories}
    assert by_key["e-bar"].stale and by_key["e-bar"].note == "last bundle 41 days ago"
    assert by_key["e-edi"].stale and by_key["e-edi"].note == "no bundle yet"
    assert not by_key["e-per"].stale
    assert by_key["e-bar"].highlight and not by_key["e-per"].highlight  # a focus establishment
    assert "HMP Barlinnie: 41 (last bundle 41 days ago)" in page.bar_chart.accessibleDescription()


def test_period_change_reloads_and_drops_an_overtaken_load(qtbot, fixed, office_ctx) -> None:  # noqa: ANN001
    page = _page(qtbot, office_ctx)
    assert page.earlier_button.isEnabled() and not page.later_button.isEnabled()  # Q3 is the latest
    shown = []
    page.figuresShown.connect(lambda: shown.append(page.overview.period.code))
    page.earlier()  # Q2 …
    page.refresh()  # (loads at once, without waiting for the choosing to stop)
    page.set_period("2025-26")  # … then at once the plan year: Q2's load, if it arrives, is dropped
    page.refresh()
    qtbot.waitUntil(lambda: page.overview is not None and page.overview.period.code == "2025-26", timeout=WAIT_MS)
    QThreadPool.globalInstance().waitForDone(WAIT_MS)
    QCoreApplication.processEvents()
    assert page.overview.period.code == "2025-26"
    assert ("figures", "2025-Q1", None) in fixed.calls  # Q2 was loaded (with the quarter before it) …
    assert shown == ["2025-26"]  # … but never shown
    assert page.period_combo.currentText() == "Plan year 2025-26 (April–March)"
    assert page.tiles["attendances"].delta.text().endswith("from 2024-25")
    assert page.bar_chart.title.endswith("2025-26")
    # the trend: eight quarters to the plan year's last, with the plan target a quarter of the year's
    trend = page.trend_chart
    assert [c.key for c in trend.categories][-1] == "2025-Q4"
    assert trend.series[0].values[-2:] == [160, None]  # Q4 has not begun: no figure, not 0
    assert trend.categories[-2].name == "Q3 2025-26 (October–December 2025) so far"
    assert trend.target[-1] == 400 and trend.target_y(7) is not None
    assert "target 400" in trend.accessibleDescription()


def test_trend_draws_the_target_and_follows_the_chart_indicator(qtbot, fixed, office_ctx) -> None:  # noqa: ANN001
    page = _page(qtbot, office_ctx)
    trend = page.trend_chart
    assert list(trend.series[0].values) == [100, 110, 120, 130, 140, 150, 160, 170]
    assert trend.target == [400.0] * 8  # the national target, 1600 a year
    assert abs(trend.target_y(0) - trend.value_y(400)) <= 1
    page.chart_combo.setCurrentIndex(page.chart_combo.findData("sessions"))
    qtbot.waitUntil(lambda: trend.series[0].name == "Sessions held", timeout=WAIT_MS)
    assert trend.target == []  # no target for sessions
    assert page.bar_chart.series[0].values == [31.0, 4.0, 15.0]


def test_drill_down_from_a_tile_and_back(qtbot, monkeypatch, fixed, office_ctx) -> None:  # noqa: ANN001
    page = _page(qtbot, office_ctx)
    with qtbot.waitSignal(page.painted, timeout=WAIT_MS):
        page.set_establishment("e-per")
    tile = page.tiles["attendances"]
    tile.setFocus()
    qtbot.keyClick(tile, Qt.Key.Key_Return)
    assert page.drilling
    qtbot.waitUntil(lambda: page.behind is not None, timeout=WAIT_MS)
    assert page.drill_heading.text() == ("312 attendances at HMP Perth in Q3 2025-26 (October–December 2025); "
                                         "showing 312")
    assert page.drill_model.rowCount() == 312 and page.drill_model.columnCount() == 4
    assert ("behind", "2025-Q3", "attendances", "e-per") in fixed.calls
    opened = []  # the register a session opens in (as on the Sessions page)
    monkeypatch.setattr(page_module, "open_register", lambda parent, ctx, session_id, status: opened.append(session_id))
    page.drill_table.setFocus()
    qtbot.keyClick(page.drill_table, Qt.Key.Key_Return)
    assert opened == ["s-0"]
    qtbot.keyClick(page.drill_table, Qt.Key.Key_Escape)
    assert not page.drilling and tile.hasFocus()


def test_drill_down_to_people_asks_the_window_to_show_a_person(qtbot, fixed, office_ctx) -> None:  # noqa: ANN001
    page = _page(qtbot, office_ctx)
    qtbot.mouseClick(page.tiles["people"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.behind is not None, timeout=WAIT_MS)
    assert page.drill_heading.text().startswith("2 people taking part at all establishments in Q3 2025-26")
    page.drill_table.setCurrentIndex(page.drill_model.index(1, 0))
    with qtbot.waitSignal(page.personRequested, timeout=WAIT_MS) as asked:
        page.drill_table.activated.emit(page.drill_model.index(1, 0))
    assert asked.args == ["p-2"]
    qtbot.mouseClick(page.back_button, Qt.MouseButton.LeftButton)
    assert not page.drilling


def test_drill_down_from_a_bar_and_from_a_point(qtbot, fixed, office_ctx) -> None:  # noqa: ANN001
    page = _page(qtbot, office_ctx)
    chart = page.bar_chart
    qtbot.mouseClick(chart, Qt.MouseButton.LeftButton, pos=chart.bar_rect(1).center().toPoint())
    qtbot.waitUntil(lambda: page.behind is not None, timeout=WAIT_MS)
    assert page.drill_heading.text().startswith("41 attendances at HMP Barlinnie in Q3 2025-26")
    page.back()
    assert chart.hasFocus()
    qtbot.keyClick(chart, Qt.Key.Key_Right)  # on to Edinburgh, then Enter
    qtbot.keyClick(chart, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.behind is not None, timeout=WAIT_MS)
    assert ("behind", "2025-Q3", "attendances", "e-edi") in fixed.calls
    page.back()
    trend = page.trend_chart
    trend.setFocus()
    qtbot.keyClick(trend, Qt.Key.Key_End)
    qtbot.keyClick(trend, Qt.Key.Key_Left)  # Q2
    qtbot.keyClick(trend, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.behind is not None, timeout=WAIT_MS)
    assert page.drill_heading.text().startswith("498 attendances at all establishments in Q2 2025-26")


def test_a_stale_drill_down_is_dropped_when_going_back(qtbot, fixed, office_ctx) -> None:  # noqa: ANN001
    page = _page(qtbot, office_ctx)
    page.drill_down("attendances")
    page.back()  # before it arrived
    QThreadPool.globalInstance().waitForDone(WAIT_MS)
    QCoreApplication.processEvents()
    assert page.behind is None and not page.drilling


def test_a_drill_down_with_nothing_behind_says_so(qtbot, monkeypatch, office_ctx) -> None:  # noqa: ANN001
    svc = FixedService(empty=True)
    monkeypatch.setattr(page_module, "dashboard_service", svc)
    monkeypatch.setattr(today_page, "today", lambda: TODAY)
    page = _page(qtbot, office_ctx)
    page.drill_down("new_people")
    qtbot.waitUntil(lambda: page.behind is not None, timeout=WAIT_MS)
    assert page.drill_heading.text() == "No new people at all establishments in Q3 2025-26 (October–December 2025)."


# -- an establishment -------------------------------------------------------------------------------

def test_an_establishment_sees_its_own_only(qtbot, fixed, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("rita")  # a recorder at HMP Perth
    assert DashboardPage.allowed(ctx)
    page = _page(qtbot, ctx, size=(1000, 700))
    own = ctx.installation.establishment_id
    assert page.establishment_combo is None and page.establishment_id == own
    assert not page.bar_chart.isVisible() and not page.freshness_box.isVisible()
    assert {c[2] for c in fixed.calls if c[0] == "figures"} == {own}
    assert not any(c[0] in ("by_establishment", "freshness") for c in fixed.calls)
    assert page.trend_chart.isVisible()
    assert page.breakdown_model.rowCount() >= 1 and page.ladder_model.rowCount() == 2
    # Early Release to Residential Rehabilitation referrals by stage: loaded with the charts, its own.
    assert {c[2] for c in fixed.calls if c[0] == "referrals_by_stage"} == {own}
    model = page.referrals_model
    assert [[model.index(r, c).data() for c in range(3)] for r in range(model.rowCount())] == [
        ["Identified", "4", "6"], ["Admitted to residential rehabilitation", "1", "2"], ["Withdrawn", "", "1"]]
    assert page.referrals_box.isVisible() and page.referrals_note.text() == (
        "Early Release to Residential Rehabilitation: 5 not closed today, 1 of them in placement.")


def test_empty_database_says_so(qtbot, monkeypatch, office_ctx) -> None:  # noqa: ANN001
    svc = FixedService(empty=True)
    monkeypatch.setattr(page_module, "dashboard_service", svc)
    monkeypatch.setattr(today_page, "today", lambda: TODAY)
    page = _page(qtbot, office_ctx)
    assert page.tiles["sessions"].value.text() == "0"
    assert page.tiles["rat_coverage"].value.text() == "none started"
    assert page.bar_chart.is_empty and page.trend_chart.is_empty
    assert page.bar_chart.accessibleDescription().endswith("No attendances in this period.")
    assert page.note.text() == "No sessions at all establishments in Q3 2025-26 (October–December 2025) so far."
    assert page.breakdown_model.rowCount() == 0


def test_a_data_change_reloads_the_figures(qtbot, fixed, office_ctx) -> None:  # noqa: ANN001
    from srcdesk.ui.bus import data_bus

    page = _page(qtbot, office_ctx)
    fixed.attendances[Q3]["e-per"] = 400
    with qtbot.waitSignal(page.painted, timeout=WAIT_MS):
        data_bus().announce("attendance")
    assert page.tiles["attendances"].value.text() == "591"


# -- real data, through the real service ------------------------------------------------------------

def test_real_demo_establishment_tiles_match_the_service_and_drill_down(qtbot, open_demo, demo_today) -> None:  # noqa: ANN001
    from srcdesk.services import dashboard as dashboard_service

    ctx = open_demo("rita")
    page = _page(qtbot, ctx)
    assert page.period.code == "2026-Q3"  # 28 Oct 2026
    own = ctx.installation.establishment_id
    expected = dashboard_service.figures(ctx, page.period, own)
    before = dashboard_service.figures(ctx, page.period.previous(), own)
    sessions = expected.values["sessions"]
    assert sessions > 0
    assert page.tiles["sessions"].value.text() == f"{sessions:,}"
    assert page.tiles["attendances"].value.text() == f"{expected.values['attendances']:,}"
    delta = sessions - before.values["sessions"]
    assert page.tiles["sessions"].delta.text() == (
        f"{'↑' if delta > 0 else '↓'} {abs(delta):,} from Q2 26-27" if delta else "no change from Q2 26-27")
    assert page.ladder_model.rowCount() == len(expected.ladder)
    name = ctx.installation.name
    qtbot.mouseClick(page.tiles["sessions"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.behind is not None, timeout=WAIT_MS)
    assert page.drill_heading.text() == (f"{sessions:,} sessions held at {name} in Q3 2026-27 "
                                         f"(October–December 2026); showing {min(sessions, 500):,}")
    assert page.drill_model.rowCount() == min(sessions, 500)
    page.back()
    # the year: more sessions than the quarter
    with qtbot.waitSignal(page.painted, timeout=WAIT_MS):
        page.set_period("2026-27")
    assert int(page.tiles["sessions"].value.text().replace(",", "")) >= sessions


def test_real_empty_office(qtbot, office_ctx, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(today_page, "today", lambda: TODAY)
    page = _page(qtbot, office_ctx)
    assert page.tiles["sessions"].value.text() == "0"
    assert page.tiles["attendances"].delta.text() == "no change from Q2 25-26"
    assert page.bar_chart.is_empty and page.trend_chart.is_empty
    n = page.freshness_list.count()
    assert n >= 1 and all(page.freshness_list.item(i).text().endswith(": no bundle yet") for i in range(n))
    assert all(c.stale for c in page.bar_chart.categories)
    assert page.note.text() == "No sessions at all establishments in Q3 2025-26 (October–December 2025) so far."


# -- in the main window -----------------------------------------------------------------------------

def test_second_page_of_the_window_and_a_person_opens_on_the_people_page(qtbot, start_app, demo_data,  # noqa: ANN001
                                                                         demo_today) -> None:
    from srcdesk.ui.pages.registry import PAGES

    from .test_app import login_dialog, main_window, sign_in

    assert PAGES.index(DashboardPage) == 1 and DashboardPage.needs == "report.read"
    controller = start_app(demo_data)
    sign_in(qtbot, login_dialog(qtbot, controller), "rita", PASSWORD)  # a recorder sees it
    window = main_window(qtbot, controller)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT_MS)
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    page = window.current_page
    assert isinstance(page, DashboardPage)
    qtbot.waitUntil(lambda: page.charts is not None, timeout=WAIT_MS)
    page.drill_down("people")
    qtbot.waitUntil(lambda: page.behind is not None and page.drill_model.rowCount() > 0, timeout=WAIT_MS)
    person_id = page.behind.ids[0]
    page.drill_table.setFocus()
    page.drill_table.setCurrentIndex(page.drill_model.index(0, 0))
    qtbot.keyClick(page.drill_table, Qt.Key.Key_Return)
    people = window.pages["people"]
    qtbot.waitUntil(lambda: window.current_page is people and people.showing_person, timeout=WAIT_MS)
    assert people.person_view.person_id == person_id


# -- the workplan tab, the report and the export on the page ----------------------------------------

def test_the_workplan_tab_is_built_when_first_chosen(qtbot, open_demo, demo_today) -> None:  # noqa: ANN001
    from srcdesk.ui.workplan import WorkplanView

    page = _page(qtbot, open_demo("rita"))
    assert page.workplan is None  # nothing of it loaded before the figures were painted
    page.tabs.setCurrentWidget(page.workplan_tab)
    assert isinstance(page.workplan, WorkplanView)
    qtbot.waitUntil(lambda: page.workplan.snapshot is not None, timeout=WAIT_MS)
    assert page.workplan.isVisible()
    assert page.workplan.read_only_note.text().startswith("Read only.")
    first = page.workplan
    page.tabs.setCurrentIndex(0)
    page.tabs.setCurrentWidget(page.workplan_tab)
    assert page.workplan is first  # built once


def test_a_recorder_is_told_why_there_is_no_report(qtbot, open_demo, demo_today) -> None:  # noqa: ANN001
    page = _page(qtbot, open_demo("rita"))
    assert not page.report_button.isEnabled()
    assert page.report_button.toolTip().startswith("Only a coordinator can produce the Steering Group report")


def test_report_and_export_are_of_the_period_and_place_chosen(qtbot, open_demo, demo_today,  # noqa: ANN001
                                                               tmp_path) -> None:  # noqa: ANN001
    import csv
    import io

    ctx = open_demo("colin")
    page = _page(qtbot, ctx)
    with qtbot.waitSignal(page.painted, timeout=WAIT_MS):
        page.set_period("2026-27")
    dialog = page.open_report()
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    assert dialog.period.currentData() == "2026-27" and dialog.establishment_id == page.establishment_id
    assert page.open_report() is dialog  # one at a time
    dialog.close()

    assert page.export_filters() == {"period": parse_period("2026-27"),
                                     "establishment_id": ctx.installation.establishment_id}
    page.export_button.setFocus()
    qtbot.keyClick(page.export_button, Qt.Key.Key_Space)
    export = page.export_button.dialog
    qtbot.waitUntil(export.isVisible, timeout=WAIT_MS)
    export.csv.setChecked(True)
    export.path.setText(str(tmp_path / "figures.csv"))
    with qtbot.waitSignal(export.exported, timeout=WAIT_MS):
        qtbot.keyClick(export.path, Qt.Key.Key_Return)
    rows = list(csv.reader(io.StringIO((tmp_path / "figures.csv").read_text("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][0] == "Plan year 2026-27"  # the heading, then this establishment
    sessions = int(page.tiles["sessions"].value.text().replace(",", ""))
    assert str(sessions) in rows[1] or f"{sessions:,}" in rows[1]
    assert page.status.text().startswith("Exported 1 row")


def test_no_two_controls_share_a_letter_on_either_tab(qtbot, office_ctx, monkeypatch) -> None:  # noqa: ANN001
    """A coordinator at the office (the workplan's buttons all shown): Alt+letter is never ambiguous,
    nor taken from the menus (File, Go, Help)."""
    monkeypatch.setattr(today_page, "today", lambda: TODAY)
    page = _page(qtbot, office_ctx)
    page.tabs.setCurrentWidget(page.workplan_tab)
    qtbot.waitUntil(lambda: page.workplan.snapshot is not None, timeout=WAIT_MS)
    assert page.workplan.editable
    for tab in (page.workplan_tab, page.figures_stack):
        page.tabs.setCurrentWidget(tab)
        keys = mnemonics(page.tabs.tabBar()) + mnemonics(page)
        assert len(keys) == len(set(keys)), f"two controls share a letter on {tab.objectName()}: {sorted(keys)}"
        assert not set(keys) & {"f", "g", "h"}
