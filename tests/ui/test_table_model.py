"""The shared table models: paging in the background, stale results dropped, Qt's contract kept."""

from __future__ import annotations

import threading

from PySide6.QtCore import QModelIndex, Qt

from srcdesk.services.base import Page
from srcdesk.services.people import search_people
from srcdesk.ui.bus import data_bus
from srcdesk.ui.table_model import ROW_ROLE, Column, PagedTableModel, RowsTableModel, display

COLUMNS = [Column("Name", lambda p: p.display_name), Column("Ref", lambda p: p.external_ref)]


def numbers_fetch(total: int, size: int):
    def fetch(after):
        start = 0 if after is None else after[0] + 1
        items = list(range(start, min(start + size, total)))
        more = (items[-1],) if items and items[-1] + 1 < total else None
        return Page(items, more)
    return fetch


def test_pages_arrive_in_background_and_fetch_more(qtbot, qtmodeltester):
    model = PagedTableModel([Column("n", lambda n: n)], numbers_fetch(250, 100))
    with qtbot.waitSignal(model.loaded, timeout=5000):
        model.reload()
    assert model.rowCount() == 100 and model.canFetchMore(QModelIndex())
    with qtbot.waitSignal(model.loaded, timeout=5000):
        model.fetchMore(QModelIndex())
    with qtbot.waitSignal(model.loaded, timeout=5000):
        model.fetchMore(QModelIndex())
    assert model.rowCount() == 250 and not model.canFetchMore(QModelIndex())
    assert model.row(249) == 249 and model.data(model.index(3, 0), ROW_ROLE) == 3
    qtmodeltester.check(model)


def test_a_newer_reload_makes_an_older_result_stale(qtbot):
    gate = threading.Event()

    def slow(after):
        gate.wait(5)
        return ["old"]

    model = PagedTableModel([Column("v", str)])
    model.set_fetch(slow)
    model.set_fetch(lambda after: ["new"])
    with qtbot.waitSignal(model.loaded, timeout=5000):
        pass
    gate.set()
    qtbot.waitUntil(lambda: not model.loading, timeout=5000)
    qtbot.wait(50)
    assert model.rows == ["new"]


def test_a_failed_fetch_is_reported_and_keeps_rows(qtbot):
    model = PagedTableModel([Column("v", str)], lambda after: ["a"])
    with qtbot.waitSignal(model.loaded, timeout=5000):
        model.reload()

    def broken(after):
        raise RuntimeError("disk on fire")

    with qtbot.waitSignal(model.failed, timeout=5000) as blocker:
        model.set_fetch(broken)
    assert "disk on fire" in str(blocker.args[0])
    assert model.rows == ["a"] and not model.canFetchMore(QModelIndex())


def test_people_search_model_over_the_service(qtbot, qtmodeltester, open_demo):
    ctx = open_demo("rita")
    model = PagedTableModel(COLUMNS)
    with qtbot.waitSignal(model.loaded, timeout=5000):
        model.set_fetch(lambda after: search_people(ctx, "", limit=20, after=after))
    assert model.rowCount() == 20 and model.canFetchMore(QModelIndex())
    qtmodeltester.check(model)
    # The tester fetches more after every change it sees, a page at a time: let it reach the last
    # page inside the test (how many pages that is depends on the demo's people).
    everyone = len(search_people(ctx, "", limit=1000).items)
    qtbot.waitUntil(lambda: model.rowCount() == everyone and not model.canFetchMore(QModelIndex()), timeout=5000)


def test_rows_model_display_rules(qtmodeltester):
    import datetime as dt

    model = RowsTableModel([Column("d", lambda r: r)])
    model.set_rows([dt.date(2026, 11, 7), None, True])
    assert [model.data(model.index(i, 0)) for i in range(3)] == ["7 Nov 2026", "", "Yes"]
    assert model.data(model.index(0, 0), Qt.ItemDataRole.DecorationRole) is None
    assert display(12) == "12"
    qtmodeltester.check(model)


def test_bus_refuses_unknown_topics(qtbot):
    import pytest

    with qtbot.waitSignal(data_bus().changed, timeout=1000) as blocker:
        data_bus().announce("people")
    assert blocker.args == [frozenset({"people"})]
    with pytest.raises(ValueError):
        data_bus().announce("peple")


def test_a_model_whose_python_side_was_cleared_reads_as_empty(qtbot):
    """The garbage collector may clear a model's attributes while Qt still holds it (a page torn
    down in a reference cycle): its view's last questions get an empty table, not AttributeErrors
    raised into Qt's event loop (a CI failure in headerData)."""
    from srcdesk.ui.table_model import record_view

    model = PagedTableModel([Column("n", lambda n: n)], numbers_fetch(250, 100))
    view = record_view(model, "numbers", "Numbers")
    qtbot.addWidget(view)
    view.show()
    with qtbot.waitSignal(model.loaded, timeout=5000):
        model.reload()
    stale = model._generation
    model.__dict__.clear()  # what tp_clear does to a wrapper in an unreachable cycle
    assert model.rowCount() == 0 and model.columnCount() == 0
    assert model.headerData(0, Qt.Orientation.Horizontal) is None
    assert model.data(model.index(0, 0)) is None and model.row(0) is None
    assert not model.canFetchMore(QModelIndex()) and not model.loading and not model.loaded_once
    model._arrived(stale, Page([1, 2], None), True)  # a fetch that lands afterwards is dropped
    model.fetchMore(QModelIndex())
    model.reload()  # nothing to fetch any more
    view.viewport().repaint()
    view.horizontalHeader().repaint()
