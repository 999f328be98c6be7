"""fold(): a row's changes become its values, per-field heads and conflicts, whatever their order."""

from __future__ import annotations

import itertools
import random

import pytest

from srcdesk.sync.fold import DELETED_FIELD, Change, Fold, fold

A, B, C = "a-office", "b-perth", "c-barlinnie"  # origin ids: C > B > A breaks HLC ties
ROW = {"given_name": "Jo", "family_name": "Bloggs", "notes": None, "consent_scope": None,
       "deleted_hlc": None, "deleted_by": None, "deleted_reason": None}


def insert(hlc: int = 100, origin: str = B, **fields: object) -> Change:
    return Change(hlc, origin, "u-" + origin, "insert", {**ROW, **fields}, None)


def update(hlc: int, origin: str, base: dict | None, **fields: object) -> Change:
    return Change(hlc, origin, "u-" + origin, "update", fields, base)


def delete(hlc: int, origin: str, base: dict | None, reason: str = "registered in error") -> Change:
    fields = {"deleted_hlc": hlc, "deleted_by": "u-" + origin, "deleted_reason": reason}
    return Change(hlc, origin, "u-" + origin, "delete", fields, base)


def v(c: Change) -> tuple[int, str]:
    return c.version


def all_heads(*changes: Change) -> dict:
    """A delete's base: every head of every field the changes hold (what capture writes)."""
    return {f: sorted(h) for f, h in fold(changes).heads.items()}


def summary(f: Fold) -> tuple:
    """Everything a fold decides, in a comparable, order-free form."""
    return (
        f.values, f.versions, {k: sorted(h) for k, h in f.heads.items()},
        f.insert.version if f.insert else None, f.last.version,
        sorted((c.field, c.winner.version, repr(c.winner_value), c.loser.version, repr(c.loser_value))
               for c in f.conflicts),
    )


def conflicts(f: Fold) -> list[tuple]:
    return sorted((c.field, c.winner.version, c.loser.version, c.loser_value) for c in f.conflicts)


# -- order independence -------------------------------------------------------------------


def _history() -> list[Change]:
    """Insert; two offices edit notes concurrently; a third edits another field; a delete that
    saw only one of the edits; a sequential edit."""
    ins = insert(100, B)
    e1 = update(200, A, {"notes": [v(ins)]}, notes="office says")
    e2 = update(200, C, {"notes": [v(ins)]}, notes="barlinnie says")  # same HLC: origin breaks the tie
    e3 = update(250, B, {"consent_scope": [v(ins)]}, consent_scope="full")
    e4 = update(300, A, {"given_name": [v(ins)]}, given_name="Joanne")
    d = delete(400, B, all_heads(ins, e3))
    return [ins, e1, e2, e3, e4, d]


def test_every_permutation_of_the_changes_gives_the_same_fold() -> None:
    changes = _history()
    expected = summary(fold(changes))
    for perm in itertools.permutations(changes):
        assert summary(fold(perm)) == expected
    # The fold really decided something: winners, a same-field conflict, edits racing the delete.
    f = fold(changes)
    assert f.deleted and f.values["notes"] == "barlinnie says" and f.values["given_name"] == "Joanne"
    assert {c.field for c in f.conflicts} == {"notes", DELETED_FIELD}


def test_repeated_changes_are_one_change() -> None:
    changes = _history()
    rng = random.Random(4)
    noisy = changes * 3
    rng.shuffle(noisy)
    assert summary(fold(noisy)) == summary(fold(changes))
    # A repeat that differs in payload is the same version: the first one seen is kept, never both.
    ins = insert()
    e = update(200, A, {"notes": [v(ins)]}, notes="x")
    f = fold([ins, e, e, e])
    assert f.conflicts == [] and f.heads["notes"] == [v(e)]


def test_fold_needs_a_change() -> None:
    with pytest.raises(ValueError):
        fold([])


# -- per-field last writer wins ----------------------------------------------------------


def test_the_highest_hlc_wins_a_field() -> None:
    ins = insert()
    early = update(200, C, {"notes": [v(ins)]}, notes="early")
    late = update(201, A, {"notes": [v(ins)]}, notes="late")
    f = fold([late, ins, early])
    assert f.values["notes"] == "late" and f.versions["notes"] == (201, A)
    assert f.last is late


def test_equal_hlc_is_broken_by_origin_id() -> None:
    ins = insert()
    low = update(200, A, {"notes": [v(ins)]}, notes="from a")
    high = update(200, C, {"notes": [v(ins)]}, notes="from c")
    for order in ([ins, low, high], [high, low, ins]):
        f = fold(order)
        assert f.values["notes"] == "from c" and f.versions["notes"] == (200, C)
        assert conflicts(f) == [("notes", (200, C), (200, A), "from a")]


def test_concurrent_edits_of_different_fields_both_survive() -> None:
    ins = insert()
    a = update(200, A, {"notes": [v(ins)]}, notes="office note")
    b = update(210, B, {"consent_scope": [v(ins)]}, consent_scope="full")
    f = fold([ins, b, a])
    assert (f.values["notes"], f.values["consent_scope"]) == ("office note", "full")
    assert f.conflicts == []
    assert f.heads["notes"] == [v(a)] and f.heads["consent_scope"] == [v(b)]


def test_concurrent_edits_of_one_field_put_the_loser_in_the_queue() -> None:
    ins = insert()
    a = update(200, A, {"notes": [v(ins)]}, notes="office note")
    b = update(210, B, {"notes": [v(ins)]}, notes="perth note")
    f = fold([ins, a, b])
    assert f.values["notes"] == "perth note"
    assert sorted(f.heads["notes"]) == [v(a), v(b)]
    [c] = f.conflicts
    assert (c.field, c.winner, c.winner_value, c.loser, c.loser_value) == ("notes", b, "perth note", a, "office note")


def test_three_concurrent_edits_queue_both_losers() -> None:
    ins = insert()
    edits = [update(200 + i, o, {"notes": [v(ins)]}, notes=f"note {o}") for i, o in enumerate((A, B, C))]
    f = fold([ins, *edits])
    assert f.values["notes"] == f"note {C}"
    assert conflicts(f) == [("notes", (202, C), (200, A), f"note {A}"), ("notes", (202, C), (201, B), f"note {B}")]


def test_concurrent_equal_values_are_not_a_conflict() -> None:
    ins = insert()
    a = update(200, A, {"notes": [v(ins)]}, notes="same")
    b = update(210, B, {"notes": [v(ins)]}, notes="same")
    f = fold([ins, a, b])
    assert f.values["notes"] == "same" and f.conflicts == []


def test_sequential_edits_are_not_a_conflict() -> None:
    ins = insert()
    a = update(200, A, {"notes": [v(ins)]}, notes="first")
    b = update(300, B, {"notes": [v(a)]}, notes="second")  # B had seen A's edit
    c = update(400, C, {"notes": [v(b)]}, notes="third")
    f = fold([c, a, ins, b])
    assert f.values["notes"] == "third" and f.conflicts == []
    assert f.heads["notes"] == [v(c)]


def test_an_edit_that_saw_only_the_winner_keeps_the_conflict_open() -> None:
    """Editing the field again is not settling the conflict: the loser stays queued, now
    against the new value."""
    ins = insert()
    a = update(200, A, {"notes": [v(ins)]}, notes="office")
    b = update(210, B, {"notes": [v(ins)]}, notes="perth")
    later = update(300, B, {"notes": [v(b)]}, notes="perth again")
    f = fold([ins, a, b, later])
    assert f.values["notes"] == "perth again"
    assert conflicts(f) == [("notes", v(later), v(a), "office")]


def test_a_resolution_naming_both_heads_clears_the_conflict() -> None:
    ins = insert()
    a = update(200, A, {"notes": [v(ins)]}, notes="office")
    b = update(210, B, {"notes": [v(ins)]}, notes="perth")
    settle = update(300, A, {"notes": [v(a), v(b)]}, notes="office")  # keep theirs, at the office
    f = fold([settle, b, ins, a])
    assert f.values["notes"] == "office" and f.conflicts == []
    assert f.heads["notes"] == [v(settle)]
    # A concurrent edit the resolution did not see is a new conflict, not swallowed.
    c = update(250, C, {"notes": [v(ins)]}, notes="barlinnie")
    f = fold([ins, a, b, c, settle])
    assert conflicts(f) == [("notes", v(settle), v(c), "barlinnie")]


# -- deletes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("edit_hlc", [250, 350], ids=["edit-before-delete", "edit-after-delete"])
def test_an_edit_racing_a_delete_is_a_conflict_and_the_row_stays_deleted(edit_hlc: int) -> None:
    ins = insert()
    d = delete(300, A, all_heads(ins))
    e = update(edit_hlc, B, {"notes": [v(ins)]}, notes="perth edit", consent_scope="full")
    for order in ([ins, d, e], [e, d, ins], [ins, e, d]):
        f = fold(order)
        assert f.deleted and f.values["deleted_reason"] == "registered in error"
        assert f.values["deleted_hlc"] == 300
        [c] = f.conflicts
        assert c.field == DELETED_FIELD and c.winner is d and c.winner_value == "registered in error"
        assert c.loser is e and c.loser_value == {"notes": "perth edit", "consent_scope": "full"}


def test_a_delete_that_saw_the_edit_is_not_a_conflict() -> None:
    ins = insert()
    e = update(200, B, {"notes": [v(ins)]}, notes="perth edit")
    d = delete(300, A, all_heads(ins, e))
    f = fold([d, e, ins])
    assert f.deleted and f.conflicts == []


def test_a_delete_that_saw_a_later_edit_also_saw_the_earlier_ones() -> None:
    ins = insert()
    e1 = update(200, B, {"notes": [v(ins)]}, notes="one")
    e2 = update(250, B, {"notes": [v(e1)]}, notes="two")
    d = delete(300, A, all_heads(ins, e1, e2))  # names only the head, e2
    assert d.base["notes"] == [v(e2)]
    assert fold([ins, e1, e2, d]).conflicts == []


def test_a_delete_racing_one_of_two_concurrent_edits() -> None:
    ins = insert()
    a = update(200, A, {"notes": [v(ins)]}, notes="office")
    b = update(210, B, {"notes": [v(ins)]}, notes="perth")
    d = delete(300, B, all_heads(ins, b))  # Perth deleted without seeing the office's edit
    f = fold([ins, a, b, d])
    assert f.deleted
    assert [(c.field, c.loser, c.loser_value) for c in f.conflicts] == [(DELETED_FIELD, a, {"notes": "office"})]


# -- changes logged before bases existed ---------------------------------------------------


def test_legacy_changes_without_base_are_sequential() -> None:
    ins = insert()
    a = update(200, A, None, notes="first")
    b = update(210, B, None, notes="second")
    c = update(220, C, None, notes="third", consent_scope="full")
    f = fold([c, b, a, ins])
    assert f.values["notes"] == "third" and f.conflicts == []
    assert f.heads["notes"] == [v(c)]


def test_a_legacy_delete_saw_everything_before_it() -> None:
    ins = insert()
    a = update(200, A, None, notes="first")
    d = delete(300, B, None)
    f = fold([d, a, ins])
    assert f.deleted and f.conflicts == []


def test_a_new_edit_against_a_legacy_history_conflicts_only_with_what_it_did_not_see() -> None:
    ins = insert()
    a = update(200, A, None, notes="legacy")
    b = update(300, B, {"notes": [v(ins)]}, notes="did not see legacy")
    f = fold([ins, a, b])
    assert conflicts(f) == [("notes", v(b), v(a), "legacy")]


# -- the insert and the row's stamps ------------------------------------------------------


def test_changes_without_their_insert_wait() -> None:
    ins = insert()
    a = update(200, A, {"notes": [v(ins)]}, notes="early arrival")
    f = fold([a])
    assert f.insert is None and f.last is a
    f = fold([a, ins])
    assert f.insert is ins and f.values["given_name"] == "Jo" and f.values["notes"] == "early arrival"


def test_deleting_again_after_a_restore_does_not_call_earlier_edits_racing() -> None:
    """One PC: edit, delete, restore, delete again. The second delete names the heads it holds;
    the edit before the first delete is no head any more (the first delete covered it), but it
    was seen all the same."""
    ins = insert()
    e = update(200, B, {"status": [v(ins)]}, status="absent")
    d1 = delete(300, B, all_heads(ins, e))
    restore = update(400, B, {f: [v(d1)] for f in ("deleted_hlc", "deleted_by", "deleted_reason")},
                     deleted_hlc=None, deleted_by=None, deleted_reason=None)
    d2 = delete(500, B, all_heads(ins, e, d1, restore))
    f = fold([ins, e, d1, restore, d2])
    assert f.deleted
    assert f.conflicts == []


def test_deleting_again_after_a_restore_reached_through_any_field() -> None:
    """The same with a delete that names only the tombstone's heads (the restore): the first
    delete, and through it the edit, are reached through the tombstone fields' bases."""
    ins = insert()
    e = update(200, B, {"notes": [v(ins)]}, notes="absent")
    d1 = delete(300, B, all_heads(ins, e))
    restore = update(400, B, {f: [v(d1)] for f in ("deleted_hlc", "deleted_by", "deleted_reason")},
                     deleted_hlc=None, deleted_by=None, deleted_reason=None)
    d2 = delete(500, B, {f: [v(restore)] for f in ("deleted_hlc", "deleted_by", "deleted_reason")})
    f = fold([d2, restore, e, ins, d1])
    assert f.deleted and f.conflicts == []
    late = update(450, A, {"notes": [v(ins)]}, notes="edited elsewhere, never seen")
    f = fold([ins, e, d1, restore, d2, late])
    # The first delete overwrote the earlier edit knowingly; only the unseen one races the delete.
    assert [(c.field, c.loser.version) for c in f.conflicts] == [("*deleted*", v(late))]


# -- clocks are advisory --------------------------------------------------------------------


def test_a_change_made_after_seeing_another_wins_whatever_the_clocks_said() -> None:
    """A PC whose clock ran two days ahead wrote "ahead"; another PC saw it and corrected it with
    a right clock (a lower HLC). The correction names what it overwrote, so it wins."""
    ins = insert()
    ahead = update(10_000, B, {"notes": [v(ins)]}, notes="ahead")
    fixed = update(300, A, {"notes": [v(ahead)]}, notes="seen and corrected")
    for order in ([ins, ahead, fixed], [fixed, ahead, ins]):
        f = fold(order)
        assert f.values["notes"] == "seen and corrected" and f.heads["notes"] == [v(fixed)]
        assert f.conflicts == []
        assert f.last is ahead  # the row's stamp is still the highest version it holds


def test_concurrent_edits_are_still_ordered_by_the_clock() -> None:
    ins = insert()
    ahead = update(10_000, B, {"notes": [v(ins)]}, notes="ahead")
    other = update(300, A, {"notes": [v(ins)]}, notes="not seen")
    f = fold([ins, other, ahead])
    assert f.values["notes"] == "ahead"
    assert conflicts(f) == [("notes", v(ahead), v(other), "not seen")]


# -- cost ----------------------------------------------------------------------------------------


def _legacy_history(n: int) -> list[Change]:
    ins = insert()
    return [ins, *(update(200 + i, B, None, notes=f"edit {i}") for i in range(n))]


def test_a_long_legacy_history_folds_in_linear_time() -> None:
    """Changes logged without a base (``b: null``) each overwrote everything before them: folding
    n of them must cost O(n), not O(n^2). Counted in Python function calls (a machine under load
    can't make a count lie, as it can a time): 8x the changes, well under 16x the calls
    (quadratic would be 64x)."""
    import sys

    def calls(n: int) -> int:
        changes = _legacy_history(n)
        count = 0

        def profile(frame, event, arg) -> None:  # noqa: ANN001
            nonlocal count
            if event == "call":
                count += 1

        sys.setprofile(profile)
        try:
            f = fold(changes)
        finally:
            sys.setprofile(None)
        assert f.values["notes"] == f"edit {n - 1}" and f.conflicts == [] and len(f.heads["notes"]) == 1
        return count

    small, large = calls(1_000), calls(8_000)
    assert large < small * 16, (small, large)


def test_a_legacy_delete_after_a_long_history_sees_it_all() -> None:
    changes = _legacy_history(5_000)
    d = delete(100_000, A, None)
    f = fold([*changes, d])
    assert f.deleted and f.conflicts == []


# -- a record made on two PCs (rows merged into one) ---------------------------------------------


def made_elsewhere(c: Change, alias: str = "row-b") -> Change:
    """``c`` as a change of another row merged into this record."""
    from srcdesk.sync.changelog import translate

    [out] = translate(alias, [c])
    return out


def test_two_creations_with_different_values_conflict_and_the_later_wins() -> None:
    mine = insert(100, A, notes="office says")
    theirs = made_elsewhere(insert(120, B, notes="perth says"))
    f = fold([theirs, mine])
    assert f.insert is mine and f.values["notes"] == "perth says"
    assert conflicts(f) == [("notes", v(theirs), v(mine), "office says")]


def test_overwriting_one_of_two_equal_creations_overwrote_the_value() -> None:
    """Both PCs put Jo on the register as present; one, not knowing of the other's line, marks Jo
    late on its own: it overwrote "present", which is what both said."""
    mine = insert(100, A, notes="present")
    theirs = made_elsewhere(insert(120, B, notes="present"))
    late = made_elsewhere(update(130, B, {"notes": [v(theirs)]}, notes="late"))
    for order in ([mine, theirs, late], [late, theirs, mine]):
        f = fold(order)
        assert f.values["notes"] == "late" and f.conflicts == [] and f.heads["notes"] == [v(late)]


def test_a_delete_made_for_either_row_races_the_other_rows_creation() -> None:
    """Whichever row keeps the record, the outcome is the same: the office deleted its line, Perth
    (not knowing) made the same line; the record stays deleted and Perth's line waits in the
    queue as an edit racing the delete."""
    office_line = insert(100, A, notes="present")
    office_delete = delete(150, A, all_heads(office_line))
    perth_line = insert(120, B, notes="present")
    # the office's line keeps the record: Perth's creation is an edit the delete did not see
    f = fold([office_line, office_delete, made_elsewhere(perth_line)])
    assert f.deleted and [(c.field, c.loser.version) for c in f.conflicts] == [("*deleted*", v(perth_line))]
    # Perth's line keeps the record: the office's delete (of its own row) did not see it either
    f = fold([perth_line, made_elsewhere(office_line), made_elsewhere(office_delete)])
    assert f.deleted and [(c.field, c.loser.version) for c in f.conflicts] == [("*deleted*", v(perth_line))]
