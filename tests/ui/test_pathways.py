"""The Pathways page: its three tabs, each reached by its Alt+letter with the focus on its list."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from srcdesk.ui.pages.pathways import TABS, PathwaysPage

from .conftest import WAIT_MS, mnemonics

KEYS = {"initiativesTab": Qt.Key.Key_I, "organisationsTab": Qt.Key.Key_O, "referralsTab": Qt.Key.Key_R}


def _page(qtbot, ctx) -> PathwaysPage:  # noqa: ANN001
    page = PathwaysPage(ctx)
    qtbot.addWidget(page)
    page.resize(1000, 560)
    page.show()
    qtbot.waitExposed(page)
    page.activate()
    return page


def test_each_tab_by_its_alt_letter_lands_on_its_list(qtbot, recorder) -> None:  # noqa: ANN001
    page = _page(qtbot, recorder)
    page.activateWindow()
    assert list(page.views) == ["initiativesTab"]  # the first tab is built when the page is shown
    page.views["initiativesTab"].setFocus()
    qtbot.waitUntil(page.views["initiativesTab"].table.hasFocus, timeout=WAIT_MS)
    keys = mnemonics(page)
    assert len(keys) == len(set(keys)), keys
    # Each tab is built when first chosen, and chosen again after another: the focus lands on its list.
    for name in ("referralsTab", "organisationsTab", "initiativesTab", "referralsTab", "organisationsTab"):
        qtbot.keyClick(QApplication.focusWidget(), KEYS[name], Qt.KeyboardModifier.AltModifier)
        qtbot.waitUntil(lambda name=name: name in page.views and page.views[name].table.hasFocus(), timeout=WAIT_MS)
        assert page.tabs.currentIndex() == [t[1] for t in TABS].index(name)


def test_a_data_change_reloads_the_tab_showing_and_keeps_what_its_status_line_said(qtbot, recorder) -> None:  # noqa: ANN001
    from srcdesk.ui.bus import data_bus

    page = _page(qtbot, recorder)
    for name in ("initiativesTab", "organisationsTab", "referralsTab"):
        view = page.show_tab(name)
        qtbot.waitUntil(lambda view=view: view.snapshot is not None and view._task is None, timeout=WAIT_MS)
        shown = view.snapshot
        view.status.say("Saved.")  # what a dialog's save said, just before the bus announces its write
        data_bus().announce("people", "catalogue")
        qtbot.waitUntil(lambda view=view, shown=shown: view.snapshot is not shown and view._task is None,
                        timeout=WAIT_MS)
        assert view.status.text() == "Saved.", name
