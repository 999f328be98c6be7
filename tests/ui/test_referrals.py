"""The Referrals tab on its own: the list (not closed by default, longest waiting first), the stage
history with stepped-back stages struck through, New referral… / Record next stage… / Step back… /
Withdraw / decline… through the services, confirmations and reasons, keyboard mnemonics."""

from __future__ import annotations

import datetime as dt

from PySide6.QtWidgets import QLabel

from srcdesk.dates import day_month_year, long_date, numeric_date
from srcdesk.services import people, referrals
from srcdesk.ui.referrals import (
    CloseReferralDialog,
    NewReferralDialog,
    NextStageDialog,
    ReferralsView,
    StepBackDialog,
)

from .conftest import WAIT_MS, mnemonics

TODAY = dt.date.today()


def ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def _view(qtbot, ctx) -> ReferralsView:  # noqa: ANN001
    view = ReferralsView(ctx)
    qtbot.addWidget(view)
    view.resize(1000, 600)
    view.show()
    with qtbot.waitSignal(view.loaded, timeout=WAIT_MS):
        view.refresh()
    return view


def _choose(qtbot, view: ReferralsView, name: str) -> None:  # noqa: ANN001
    row = view.model.find(lambda r: r.person_name == name)
    assert row >= 0, name
    view.table.selectRow(row)
    wanted = view.model.row(row).id
    qtbot.waitUntil(lambda: view.detail is not None and view.detail.row.id == wanted, timeout=WAIT_MS)


def _saved(qtbot, view: ReferralsView, action) -> None:  # noqa: ANN001
    with qtbot.waitSignal(view.loaded, timeout=WAIT_MS):
        action()


def _yes(qtbot, dialog) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: dialog.question_box is not None and dialog.question_box.isVisible(), timeout=WAIT_MS)
    dialog.question_box.findChild(object, "confirmYes").click()


def test_the_list_history_and_every_action(qtbot, ctx) -> None:  # noqa: ANN001
    jo = people.create_person(ctx, given_name="Jo", family_name="Bloggs", external_ref="P123")
    al = people.create_person(ctx, given_name="Al", family_name="Able")
    people.create_person(ctx, given_name="Cy", family_name="Cole")
    r = referrals.create_referral(ctx, person_id=jo.id, referred_on=ago(30))
    referrals.advance(ctx, r.id, "consented", ago(12))
    referrals.create_referral(ctx, person_id=al.id, referred_on=ago(3))
    view = _view(qtbot, ctx)
    texts = [[view.model.index(i, c).data() for c in range(view.model.columnCount())] for i in range(2)]
    assert texts[0][:5] == ["Jo Bloggs", "PER", "Consented", day_month_year(ago(12)),
                            "12 days"]
    assert texts[1][0] == "Al Able" and texts[1][4] == "3 days"
    assert not view.read_only_note.isVisible() and view.selected().person_name == "Jo Bloggs"  # the longest waiting
    assert sorted(mnemonics(view)) == sorted(set(mnemonics(view))), mnemonics(view)

    # The history: the stages with who recorded them.
    _choose(qtbot, view, "Jo Bloggs")
    assert "Identified" in view.history.toPlainText() and "Ann Admin" in view.history.toPlainText()
    assert view.advance_button.isEnabled() and view.advance_button.toolTip() == "Next: Assessed"

    # Record next stage: the next stage named, today's date.
    view.advance_button.click()
    dialog = view.findChild(NextStageDialog)
    assert dialog.heading.text() == "Jo Bloggs (P123): Assessed" and dialog.day.text() == numeric_date(TODAY)
    dialog.day.setText(numeric_date(ago(13)))  # before the stage before: refused under the field
    dialog.save_button.click()
    qtbot.waitUntil(lambda: "before the previous one" in dialog.errors["reached_on"].text(), timeout=WAIT_MS)
    dialog.day.setText(numeric_date(ago(5)))
    dialog.note.setPlainText("Assessed by the NHS team")
    _saved(qtbot, view, dialog.save_button.click)
    assert "Jo Bloggs: Assessed." in view.status.text()
    _choose(qtbot, view, "Jo Bloggs")
    assert view.selected().stage == "assessed"

    # Step back: a reason is required, then asked once more; the stage is struck through.
    view.back_button.click()
    dialog = view.findChild(StepBackDialog)
    assert dialog.to.currentData() == "consented" and dialog.to.count() == 2
    dialog.save_button.click()
    assert "Say why" in dialog.errors["reason"].text() and dialog.question_box is None
    dialog.reason.setText("Assessed the wrong person")
    dialog.save_button.click()
    with qtbot.waitSignal(view.loaded, timeout=WAIT_MS):
        _yes(qtbot, dialog)
    _choose(qtbot, view, "Jo Bloggs")
    assert view.selected().stage == "consented"
    assert "<s>" in view.history.toHtml() or "line-through" in view.history.toHtml()
    assert "Stepped back by Ann Admin: Assessed the wrong person" in view.history.toPlainText()

    # Withdraw: outcome, date, reason, asked once more; it leaves the default list.
    view.close_button.click()
    dialog = view.findChild(CloseReferralDialog)
    assert [dialog.outcome.itemData(i) for i in range(dialog.outcome.count())] == ["withdrawn", "declined"]
    dialog.outcome.setCurrentIndex(1)
    dialog.reason.setText("Funding refused")
    dialog.save_button.click()
    with qtbot.waitSignal(view.loaded, timeout=WAIT_MS):
        _yes(qtbot, dialog)
    assert [r.person_name for r in view.model.rows] == ["Al Able"]
    assert referrals.get_referral(ctx, r.id).row.status == "declined"
    view.show_combo.setCurrentIndex(view.show_combo.findData("closed"))
    with qtbot.waitSignal(view.loaded, timeout=WAIT_MS):
        view.show_combo.activated.emit(view.show_combo.currentIndex())
    assert [view.model.index(0, 2).data()] == ["Consented — declined"]
    assert not view.close_button.isEnabled()


def test_new_referral_finds_the_person(qtbot, ctx) -> None:  # noqa: ANN001
    people.create_person(ctx, given_name="Cy", family_name="Cole", external_ref="P789")
    view = _view(qtbot, ctx)
    assert view.empty_note.isVisible() and "New referral…" in view.empty_note.text()
    view.new_button.click()
    dialog = view.findChild(NewReferralDialog)
    assert sorted(mnemonics(dialog)) == sorted(set(mnemonics(dialog))), mnemonics(dialog)
    dialog.save_button.click()
    assert "Find the person" in dialog.errors["person_id"].text()
    dialog.picker.search.setText("Cole")
    qtbot.waitUntil(lambda: dialog.picker.results_model.rowCount() == 1, timeout=WAIT_MS)
    dialog.picker.add_current()
    assert [p.display_name for p in dialog.picker.people] == ["Cy Cole"]
    _saved(qtbot, view, dialog.save_button.click)
    assert [(r.person_name, r.stage, r.days_waiting) for r in view.model.rows] == [("Cy Cole", "identified", 0)]
    assert "Started a referral for Cy Cole" in view.status.text()


def test_left_the_placement_after_admission(qtbot, ctx) -> None:  # noqa: ANN001
    p = people.create_person(ctx, given_name="Di", family_name="Dunn")
    r = referrals.create_referral(ctx, person_id=p.id, referred_on=ago(100))
    for i, st in enumerate(["consented", "assessed", "funding_agreed", "placement_offered", "release_approved",
                            "admitted"]):
        referrals.advance(ctx, r.id, st, ago(90 - i * 5))
    view = _view(qtbot, ctx)
    _choose(qtbot, view, "Di Dunn")
    assert view.close_button.text() == "&Left the placement…"
    assert view.advance_button.toolTip() == "Next: Still in placement at 4 weeks"
    view.advance_button.click()
    nxt = view.findChild(NextStageDialog)
    admitted = ago(90 - 25)
    assert nxt.findChild(QLabel, "nextStageAbout").text().endswith(
        f"It can be recorded from {long_date(admitted + dt.timedelta(days=28))}.")
    nxt.reject()
    view.close_button.click()
    dialog = view.findChild(CloseReferralDialog)
    assert [dialog.outcome.itemData(i) for i in range(dialog.outcome.count())] == ["left_placement"]


def test_read_only_with_the_reason_for_nobody_signed_in(qtbot, ctx) -> None:  # noqa: ANN001
    view = ReferralsView(ctx.signed_in(None))
    qtbot.addWidget(view)
    view.show()
    assert view.read_only_note.isVisible() and "Sign in" in view.read_only_note.text()
    assert not view.new_button.isVisible() and not view.advance_button.isVisible()


def test_the_person_page_says_where_their_referral_is(qtbot, ctx) -> None:  # noqa: ANN001
    from srcdesk.ui.person_view import load_person_page, referral_words

    p = people.create_person(ctx, given_name="Ed", family_name="Eadie")
    assert referral_words(load_person_page(ctx, p.id).referrals) == "—"
    r = referrals.create_referral(ctx, person_id=p.id, referred_on=ago(9))
    referrals.advance(ctx, r.id, "consented", ago(4))
    assert referral_words(load_person_page(ctx, p.id).referrals) == f"Consented, since {day_month_year(ago(4))} (4 days)"
    referrals.withdraw(ctx, r.id, "Changed their mind", ago(1))
    assert referral_words(referrals.person_referrals(ctx, p.id)) == f"Withdrawn on {day_month_year(ago(1))}"
