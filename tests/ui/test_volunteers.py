"""The Peer volunteers page: the ladder board, eligible people, sign-off, withdraw, supersede."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from srcdesk.errors import PermissionDenied
from srcdesk.services import ladder
from srcdesk.ui.pages.volunteers import VolunteersPage
from srcdesk.ui.signoff_dialog import SignOffDialog, SupersedeDialog, WithdrawDialog

from .conftest import shot

WAIT = 5000

def _open_page(qtbot, ctx) -> VolunteersPage:  # noqa: ANN001
    page = VolunteersPage(ctx)
    qtbot.addWidget(page)
    page.resize(1280, 860)
    page.show()
    page.activate()
    qtbot.waitUntil(lambda: page.board_model.rowCount() == 6 and not page.loading, timeout=WAIT)
    return page


def _choose_level(qtbot, page: VolunteersPage, definition_id: str) -> None:  # noqa: ANN001
    row = page.board_model.find(lambda b: b.definition_id == definition_id)
    page.board_view.setFocus()
    page.board_view.setCurrentIndex(page.board_model.index(row, 0))
    qtbot.waitUntil(lambda: page.level.definition_id == definition_id and not page.loading, timeout=WAIT)


def _wait_person(qtbot, page: VolunteersPage, person_id: str) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: page.person is not None and page.person.person_id == person_id and not page.loading,
                    timeout=WAIT)


def test_board_counts_match_the_service(qtbot, qtmodeltester, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("colin")
    page = _open_page(qtbot, ctx)
    board = ladder.ladder_board(ctx)
    shown = page.board_model.rows
    assert [(b.name, b.holders, b.eligible) for b in shown] == [(b.name, b.holders, b.eligible) for b in board]
    assert sum(b.holders for b in shown) > 0 and sum(b.eligible for b in shown) > 0
    # the cell text is the count
    first = page.board_model.index(0, 2)
    assert page.board_model.data(first) == str(board[0].holders)
    # a level is chosen at once: its holders and the people eligible for it are listed
    level = page.level
    holders = ladder.people_at_level(ctx, level.definition_id, limit=1000).items
    qtbot.waitUntil(lambda: page.holders_model.rowCount() == len(holders), timeout=WAIT)
    assert [h.person_id for h in page.holders_model.rows] == [h.person_id for h in holders]
    assert f"({level.holders})" in page.holders_label.text()
    for model in (page.board_model, page.holders_model, page.eligible_model):
        qtmodeltester.check(model)
    shot(page, "volunteers-board")


def test_eligible_list_for_each_level(qtbot, qtmodeltester, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    page = _open_page(qtbot, ctx)
    for level in page.board_model.rows:
        _choose_level(qtbot, page, level.definition_id)
        expected = ladder.eligible_people(ctx, definition_id=level.definition_id, limit=10_000)
        assert sorted(r.person_id for r in page.eligible_model.rows) == sorted(r.person_id for r in expected)
        assert page.eligible_model.rowCount() == level.eligible
        assert all(r.next_level == level.name for r in page.eligible_model.rows)
    qtmodeltester.check(page.eligible_model)


def test_choosing_a_person_shows_progress_and_evidence(qtbot, qtmodeltester, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("colin")
    page = _open_page(qtbot, ctx)
    level = next(b for b in page.board_model.rows if b.level >= 2 and b.holders)
    _choose_level(qtbot, page, level.definition_id)
    page.holders_view.setFocus()
    qtbot.keyClick(page.holders_view, Qt.Key.Key_Home)
    holder = page.holders_model.row(0)
    _wait_person(qtbot, page, holder.person_id)
    assert page.person_title.text() == holder.display_name
    states = {lp.name: lp.state for lp in page.levels_model.rows}
    assert states[level.name] == "held"
    # the evidence table says which sessions, in which role, and what they evidence
    assert page.evidence_model.rowCount() == len(ladder.evidence(ctx, holder.person_id))
    assert any(level.name in e.evidence_for for e in page.evidence_model.rows)
    roles = {page.evidence_model.data(page.evidence_model.index(r, 4)) for r in range(page.evidence_model.rowCount())}
    assert roles and roles <= {"Participant", "Helper", "Co-facilitator", "Lead facilitator", "Trainer", "Observer"}
    progress_text = page.levels_model.data(page.levels_model.index(
        page.levels_model.find(lambda lp: lp.state == "not yet"), 3))
    assert "of" in progress_text  # e.g. "Has 2 of 4 sessions in the role of helper, …"
    for model in (page.levels_model, page.achievements_model, page.evidence_model):
        qtmodeltester.check(model)
    shot(page, "volunteers-person")


def test_sign_off_as_coordinator_by_keyboard(qtbot, qtmodeltester, open_demo) -> None:  # noqa: ANN001
    _sign_off_by_keyboard(qtbot, qtmodeltester, open_demo)


def _sign_off_by_keyboard(qtbot, qtmodeltester, open_demo):  # noqa: ANN001, ANN202
    ctx = open_demo("colin")
    page = _open_page(qtbot, ctx)
    level = next(b for b in page.board_model.rows if b.eligible)
    _choose_level(qtbot, page, level.definition_id)
    before = (level.holders, level.eligible)
    # the eligible list: Home chooses the first person, Enter moves on to their progress
    page.eligible_view.setFocus()
    qtbot.keyClick(page.eligible_view, Qt.Key.Key_Home)
    person = page.eligible_model.row(0)
    _wait_person(qtbot, page, person.person_id)
    assert page.sign_off_button.isEnabled()
    qtbot.keyClick(page.eligible_view, Qt.Key.Key_Return)
    assert page.levels_view.hasFocus()
    qtbot.keyClick(page, Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier)  # &Sign off…
    qtbot.waitUntil(lambda: isinstance(page.dialog, SignOffDialog) and page.dialog.loaded, timeout=WAIT)
    dialog: SignOffDialog = page.dialog
    assert dialog.level_value.text().endswith(level.name)
    assert dialog.accept_button.isEnabled() and not dialog.role_note.isVisible()
    assert dialog.evidence_model.rowCount() >= 1
    qtmodeltester.check(dialog.evidence_model)
    shot(dialog, "signoff-coordinator")
    qtbot.keyClicks(dialog.note, "Led the cafe well")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        qtbot.keyClick(dialog.achieved_on, Qt.Key.Key_Return)
    # the board reloads: one more holder, one fewer waiting
    qtbot.waitUntil(lambda: not page.loading and (page.level.holders, page.level.eligible)
                    == (before[0] + 1, before[1] - 1), timeout=WAIT)
    assert "signed off as" in page.status.text()
    _wait_person(qtbot, page, person.person_id)
    held = next(lp for lp in page.levels_model.rows if lp.definition_id == level.definition_id)
    assert held.state == "held" and held.signed_off_by == "Colin Coordinator"
    assert page.achievements_model.row(0).notes == "Led the cafe well"
    return page, person, level


def test_after_a_sign_off_the_levels_certificate_is_offered_and_issued(qtbot, qtmodeltester, open_demo,
                                                                       monkeypatch) -> None:  # noqa: ANN001
    offered: list = []
    monkeypatch.setattr(VolunteersPage, "offer_certificate",
                        classmethod(lambda cls, parent, text, on_yes: offered.append((text, on_yes))))
    page, person, level = _sign_off_by_keyboard(qtbot, qtmodeltester, open_demo)
    [(text, yes)] = offered
    assert text == f"Issue a certificate for {level.name} now?"
    dialog = yes()
    qtbot.waitUntil(lambda: dialog.loaded, timeout=WAIT)
    chosen = dialog.award.currentData()
    held = next(a for a in ladder.achievements(page.ctx, person.person_id) if a.definition_id == level.definition_id
                and a.status == "active")
    assert chosen.kind == "milestone" and chosen.achievement_id == held.id  # the level just signed off
    with qtbot.waitSignal(dialog.saved, timeout=WAIT) as saved:
        qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    assert saved.args[0].kind == "milestone" and saved.args[0].achievement_id == held.id


def test_recorder_sees_why_not_and_cannot_sign_off(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    page = _open_page(qtbot, ctx)
    level = next(b for b in page.board_model.rows if b.eligible)
    _choose_level(qtbot, page, level.definition_id)
    page.eligible_view.setFocus()
    qtbot.keyClick(page.eligible_view, Qt.Key.Key_Home)
    person = page.eligible_model.row(0)
    _wait_person(qtbot, page, person.person_id)
    qtbot.mouseClick(page.sign_off_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: isinstance(page.dialog, SignOffDialog) and page.dialog.loaded, timeout=WAIT)
    dialog: SignOffDialog = page.dialog
    assert dialog.role_note.isVisible()
    assert dialog.role_note.text() == ("Only a coordinator can sign off milestones; "
                                       "you are signed in as a recorder.")
    assert not dialog.accept_button.isEnabled()
    shot(dialog, "signoff-recorder")
    qtbot.keyClick(dialog.achieved_on, Qt.Key.Key_Return)  # Enter does nothing
    dialog.submit()
    qtbot.wait(100)
    assert dialog.isVisible() and ladder.next_level(ctx, person.person_id).definition_id == level.definition_id
    with pytest.raises(PermissionDenied, match="Only a coordinator can sign off milestones"):
        ladder.sign_off(ctx, person.person_id, level.definition_id, achieved_on=dialog.achieved_on.date().toPython())
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: page.dialog is None, timeout=WAIT)


def _person_with_achievement(qtbot, page: VolunteersPage, ctx):  # noqa: ANN001, ANN202
    level = next(b for b in page.board_model.rows if b.holders)
    holder = ladder.people_at_level(ctx, level.definition_id, limit=1).items[0]
    page.show_person(holder.person_id)
    _wait_person(qtbot, page, holder.person_id)
    return holder


def test_withdraw_needs_a_reason_and_keeps_the_achievement(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("colin")
    page = _open_page(qtbot, ctx)
    holder = _person_with_achievement(qtbot, page, ctx)
    chosen = page.achievement
    assert chosen is not None and chosen.id == holder.achievement_id and page.withdraw_button.isEnabled()
    count = page.achievements_model.rowCount()
    qtbot.keyClick(page, Qt.Key.Key_W, Qt.KeyboardModifier.AltModifier)  # &Withdraw…
    qtbot.waitUntil(lambda: isinstance(page.dialog, WithdrawDialog), timeout=WAIT)
    dialog: WithdrawDialog = page.dialog
    # no reason: refused, and said next to the reason
    qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.reason_error.isVisible(), timeout=WAIT)
    assert dialog.reason_error.message == "Reason is required."
    assert dialog.isVisible()
    shot(dialog, "withdraw-no-reason")
    qtbot.keyClicks(dialog.reason, "Signed off for the wrong person")
    assert not dialog.reason_error.isVisible()
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    # the page shows the person again: the achievement is still there, withdrawn, with the reason
    qtbot.waitUntil(lambda: not page.loading and any(
        a.id == chosen.id and a.status == "withdrawn" for a in page.achievements_model.rows), timeout=WAIT)
    assert page.achievements_model.rowCount() == count
    row = page.achievements_model.find(lambda a: a.id == chosen.id)
    assert page.achievements_model.row(row).status_reason == "Signed off for the wrong person"
    assert "withdrawn" in page.status.text()


def test_supersede_keeps_the_old_and_adds_the_corrected(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("colin")
    page = _open_page(qtbot, ctx)
    holder = _person_with_achievement(qtbot, page, ctx)
    chosen = page.achievement
    count = page.achievements_model.rowCount()
    qtbot.mouseClick(page.supersede_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: isinstance(page.dialog, SupersedeDialog), timeout=WAIT)
    dialog: SupersedeDialog = page.dialog
    assert dialog.achieved_on.date().toPython() == chosen.achieved_on
    qtbot.keyClicks(dialog.reason, "Wrong date")
    new_date = chosen.achieved_on.replace(day=1) if chosen.achieved_on.day != 1 else chosen.achieved_on
    dialog.achieved_on.setDate(new_date)
    shot(dialog, "supersede")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT) as saved:
        qtbot.keyClick(dialog.reason, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        if dialog.isVisible():  # Ctrl+Enter in the reason box may not submit on every style
            qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    new = saved.args[0]
    qtbot.waitUntil(lambda: not page.loading and page.achievements_model.rowCount() == count + 1, timeout=WAIT)
    old = page.achievements_model.row(page.achievements_model.find(lambda a: a.id == chosen.id))
    assert old.status == "superseded" and old.status_reason == "Wrong date"
    corrected = page.achievements_model.row(page.achievements_model.find(lambda a: a.id == new.id))
    assert corrected.status == "active" and corrected.achieved_on == new_date
    assert ladder.people_at_level(ctx, chosen.definition_id, limit=1000).items  # still a holder
    assert holder.person_id == page.person.person_id


def test_recorder_cannot_withdraw(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("rita")
    page = _open_page(qtbot, ctx)
    _person_with_achievement(qtbot, page, ctx)
    dialog = page.withdraw()
    assert dialog is not None and dialog.role_note.isVisible()
    assert dialog.role_note.text() == "Only a coordinator can withdraw milestones; you are signed in as a recorder."
    qtbot.keyClicks(dialog.reason, "No reason at all")
    assert not dialog.accept_button.isEnabled()
    # Escape with something typed asks first; Cancel keeps the dialog
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: dialog.confirm_box is not None and dialog.confirm_box.isVisible(), timeout=WAIT)
    dialog.confirm_box.escapeButton().click()  # Cancel
    qtbot.waitUntil(lambda: dialog.confirm_box is None or not dialog.confirm_box.isVisible(), timeout=WAIT)
    assert dialog.isVisible()
    dialog.confirm_box = None
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: dialog.confirm_box is not None, timeout=WAIT)
    dialog.confirm_box.findChild(type(dialog.accept_button), "confirmYes").click()
    qtbot.waitUntil(lambda: page.dialog is None, timeout=WAIT)


def test_show_person_from_elsewhere(qtbot, open_demo) -> None:  # noqa: ANN001
    ctx = open_demo("colin")
    page = _open_page(qtbot, ctx)
    row = ladder.eligible_people(ctx, limit=1)[0]
    page.show_person(row.person_id)
    _wait_person(qtbot, page, row.person_id)
    assert page.ready_level.definition_id == row.definition_id
    assert page.sign_off_button.isEnabled()


def test_office_opens_on_all_establishments_and_counts_one_when_chosen(qtbot, tmp_path):
    """At the office the ladder opens on every establishment; choosing one counts only its people."""
    from srcdesk.services import ladder
    from srcdesk.services.demo import DEMO_END, generate_demo
    from srcdesk.services.setup import init_installation
    from srcdesk.ui.pages.volunteers import VolunteersPage

    ctx = init_installation(tmp_path / "office", establishment=None, office=True, admin_username="phr",
                            admin_name="Pat", admin_password="password123")
    try:
        generate_demo(ctx, scale="small", end=DEMO_END)
        page = VolunteersPage(ctx)
        qtbot.addWidget(page)
        page.show()
        page.activate()
        qtbot.waitUntil(lambda: page.establishment_combo.count() > 0 and page.board_model.rowCount() > 0
                        and not page.loading, timeout=10_000)
        assert page.establishment_combo.currentText() == "All establishments" and page.establishment_id is None
        everyone = ladder.ladder_board(ctx, establishment_id=None)
        assert [(b.definition_id, b.holders, b.eligible) for b in page.board_model.rows] == \
            [(b.definition_id, b.holders, b.eligible) for b in everyone]
        names = [page.establishment_combo.itemText(i) for i in range(1, page.establishment_combo.count())]
        from srcdesk.services.estate import place_name
        assert names == sorted(names, key=lambda n: place_name(n).casefold())  # the one establishment order
        perth = page.establishment_combo.findText("HMP Perth (PER)")
        page.establishment_combo.setCurrentIndex(perth)
        chosen = page.establishment_id
        assert chosen is not None
        expected = ladder.ladder_board(ctx, establishment_id=chosen)
        qtbot.waitUntil(lambda: not page.loading and [(b.definition_id, b.holders, b.eligible)
                                                      for b in page.board_model.rows] ==
                        [(b.definition_id, b.holders, b.eligible) for b in expected], timeout=10_000)
        page.close()
        qtbot.waitUntil(lambda: not page.loading, timeout=10_000)
    finally:
        from PySide6.QtCore import QThreadPool
        QThreadPool.globalInstance().waitForDone(10_000)
        ctx.db.close()
