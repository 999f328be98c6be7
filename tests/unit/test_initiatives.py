"""Initiatives in establishments (issue 13, item 1): every field checked, dates that follow the
status, reviews, scoped lists, the national map with its gaps, and sessions naming an initiative."""

from __future__ import annotations

import datetime as dt

import pytest

from srcdesk.errors import PermissionDenied, ValidationError
from srcdesk.models import INITIATIVE_KINDS, INITIATIVE_RUNNERS, INITIATIVE_STATUSES
from srcdesk.services import community, sessions
from srcdesk.services.community import InitiativeRow

from ..conftest import as_role

TODAY = dt.date.today()
DAY = dt.timedelta(days=1)


def _cafe(c, **kw):  # noqa: ANN001, ANN202
    values = {"kind": "recovery_cafe", "name": "Perth Recovery Café", "started_on": TODAY - 100 * DAY} | kw
    return community.create_initiative(c, **values)


def test_an_initiative_keeps_every_field(recorder) -> None:  # noqa: ANN001
    i = _cafe(recorder, run_by="peers", meeting_pattern="  Tuesdays 14:00,\tweekly ", notes="In the chapel.",
              review_due_on=(TODAY + 30 * DAY).isoformat(), last_reviewed_on=TODAY - 5 * DAY,
              review_notes="Busy.")
    row = community.get_initiative(recorder, i.id)
    assert (row.kind, row.status, row.run_by, row.meeting_pattern) == (
        "recovery_cafe", "running", "peers", "Tuesdays 14:00, weekly")
    assert (row.review_due_on, row.last_reviewed_on, row.notes, row.review_notes) == (
        TODAY + 30 * DAY, TODAY - 5 * DAY, "In the chapel.", "Busy.")
    assert (row.establishment_code, row.kind_label, row.run_by_label) == ("PER", "Recovery café", "Peers")
    assert row.status_with_date().startswith("Running since ")


REFUSED = [
    ({"kind": "book_club"}, "kind", "Kind of initiative must be one of"),
    ({"name": "  "}, "name", "Name is required"),
    ({"status": "active"}, "status", "Status must be one of"),
    ({"run_by": "nobody"}, "run_by", "Run by must be one of"),
    ({"meeting_pattern": "x" * 201}, "meeting_pattern", "too long"),
    ({"notes": "\x1b[2J"}, "notes", "control character"),
    ({"started_on": "31/02/2025"}, "started_on", "Start date must be a date"),
    ({"colour": "red"}, "colour", "can't be set"),
    # dates that follow the status
    ({"status": "running", "started_on": TODAY + DAY}, "started_on", "a future start is a planned"),
    ({"status": "planned", "started_on": TODAY - DAY}, "started_on", "can't be in the past"),
    ({"status": "ended"}, "ended_on", "Say when the initiative ended"),
    ({"status": "ended", "ended_on": TODAY - 200 * DAY}, "ended_on", "can't end before it started"),
    ({"status": "ended", "ended_on": TODAY + DAY}, "ended_on", "in the future"),
    ({"status": "running", "ended_on": TODAY}, "ended_on", "Only an ended initiative has an end date"),
    # reviews
    ({"last_reviewed_on": TODAY + DAY}, "last_reviewed_on", "future date"),
    ({"last_reviewed_on": TODAY - DAY, "review_due_on": TODAY - DAY}, "review_due_on", "after the last one"),
]


def test_what_an_initiative_may_not_be(recorder) -> None:  # noqa: ANN001
    """(One installation for every case: each is refused before anything is written.)"""
    for values, field, says in REFUSED:
        with pytest.raises(ValidationError, match=says) as refused:
            _cafe(recorder, **values)
        assert refused.value.field == field, values
    assert community.list_initiatives(recorder) == []


def test_statuses_and_their_dates(recorder) -> None:  # noqa: ANN001
    planned = community.create_initiative(recorder, kind="mutual_aid", name="SMART Recovery", status="planned",
                                          started_on=TODAY + 14 * DAY)
    assert community.get_initiative(recorder, planned.id).status_with_date().startswith("Planned from ")
    # It starts: running since a day not in the future.
    community.update_initiative(recorder, planned.id, status="running", started_on=TODAY)
    community.update_initiative(recorder, planned.id, status="paused")
    with pytest.raises(ValidationError, match="Say when the initiative ended"):
        community.update_initiative(recorder, planned.id, status="ended")
    community.update_initiative(recorder, planned.id, status="ended", ended_on=TODAY)
    row = community.get_initiative(recorder, planned.id)
    assert (row.status, row.ended_on) == ("ended", TODAY) and row.status_with_date().startswith("Ended ")
    # Back to running: the end date must go too.
    with pytest.raises(ValidationError, match="Only an ended initiative"):
        community.update_initiative(recorder, planned.id, status="running")
    community.update_initiative(recorder, planned.id, status="running", ended_on=None)
    # A planned start that has since passed does not stop an edit of the notes.
    later = TODAY + 10 * DAY
    p2 = community.create_initiative(recorder, kind="recovery_pathway", name="Pathway", status="planned",
                                     started_on=TODAY + 3 * DAY)
    community.update_initiative(recorder, p2.id, notes="Waiting for a room.", today=later)
    with pytest.raises(ValidationError, match="can't be in the past"):
        community.update_initiative(recorder, p2.id, status="planned", started_on=TODAY, today=later)


def test_record_a_review(recorder, coordinator) -> None:  # noqa: ANN001
    i = _cafe(recorder, review_due_on=TODAY - 10 * DAY)
    assert community.get_initiative(recorder, i.id).review_overdue()
    community.record_review(recorder, i.id, TODAY - DAY, "01/01/2099", "Peer volunteers now lead it.")
    row = community.get_initiative(recorder, i.id)
    assert (row.last_reviewed_on, row.review_due_on, row.review_notes) == (
        TODAY - DAY, dt.date(2099, 1, 1), "Peer volunteers now lead it.")
    assert not row.review_overdue()
    with pytest.raises(ValidationError, match="can't be recorded before that"):
        community.record_review(recorder, i.id, TODAY - 2 * DAY, None)
    with pytest.raises(ValidationError, match="after the last one"):
        community.record_review(recorder, i.id, TODAY, TODAY)
    with pytest.raises(ValidationError, match="future date"):
        community.record_review(recorder, i.id, TODAY + DAY, None)
    # Deleting is a coordinator's, with a reason.
    with pytest.raises(PermissionDenied, match="Only a coordinator"):
        community.delete_initiative(recorder, i.id, "Entered twice")
    with pytest.raises(ValidationError, match="Say why"):
        community.delete_initiative(coordinator, i.id, " ")
    community.delete_initiative(coordinator, i.id, "Entered twice")
    assert community.list_initiatives(recorder) == []


def test_an_establishment_lists_and_records_its_own_only(recorder, office) -> None:  # noqa: ANN001
    _cafe(recorder)
    with pytest.raises(PermissionDenied, match="belongs to another establishment"):
        _cafe(recorder, establishment_id="est-bar")
    with pytest.raises(PermissionDenied, match="its own establishment's initiatives only"):
        community.list_initiatives(recorder, establishment_id="est-bar")
    assert [r.establishment_code for r in community.list_initiatives(recorder)] == ["PER"]
    # Running with no known start (found running when it was mapped) is allowed.
    assert community.get_initiative(recorder, _cafe(recorder, name="Old café", started_on=None).id
                                    ).status_with_date() == "Running"
    # The office records any establishment's and lists all (or one).
    o = as_role(office, "recorder", "otto")
    with pytest.raises(ValidationError, match="Choose the establishment"):
        _cafe(o)
    _cafe(o, establishment_id="est-bar", name="Barlinnie café")
    _cafe(o, establishment_id="est-per", name="Perth café", status="paused")
    assert [r.establishment_code for r in community.list_initiatives(o)] == ["BAR", "PER"]
    assert [r.name for r in community.list_initiatives(o, establishment_id="est-per")] == ["Perth café"]
    assert [r.name for r in community.list_initiatives(o, status="paused")] == ["Perth café"]
    assert community.list_initiatives(o, kind="mutual_aid") == []
    assert community.initiative_by_ref(o, "barlinnie CAFÉ").establishment_code == "BAR"
    with pytest.raises(ValidationError, match="No initiative is called"):
        community.initiative_by_ref(o, "nothing")


def test_the_national_map_shows_gaps_and_reviews(office) -> None:  # noqa: ANN001
    o = as_role(office, "recorder", "otto")
    _cafe(o, establishment_id="est-per", name="Perth café", review_due_on=TODAY + 40 * DAY)
    _cafe(o, establishment_id="est-per", name="Second café")
    community.create_initiative(o, establishment_id="est-per", kind="recovery_community", name="Perth RC",
                                status="paused", started_on=TODAY - 50 * DAY, review_due_on=TODAY - 3 * DAY)
    community.create_initiative(o, establishment_id="est-per", kind="mutual_aid", name="AA", status="ended",
                                started_on=TODAY - 50 * DAY, ended_on=TODAY - 2 * DAY)
    _cafe(o, establishment_id="est-bar", name="Barlinnie café")
    m = community.initiative_map(o, TODAY)
    assert m.kinds == tuple(INITIATIVE_KINDS)
    rows = {r.code: r for r in m.rows}
    assert len(rows) >= 15 and "PER" in rows and "BAR" in rows
    names = [r.name for r in m.rows]
    assert names.index("HMP Barlinnie") < names.index("HMP Perth")  # the estate's order
    per = rows["PER"]
    assert per.cells["recovery_cafe"].running == ("Perth café", "Second café") and not per.cells["recovery_cafe"].gap
    # paused is not running: a gap, but named
    assert per.cells["recovery_community"].gap and per.cells["recovery_community"].paused == ("Perth RC",)
    assert per.cells["mutual_aid"].gap and per.cells["mutual_aid"].running == ()  # the ended one is gone
    assert not per.cells["other"].gap  # "other" is never a gap
    assert per.earliest_review_due == TODAY - 3 * DAY and per.overdue == ("Perth RC",)
    assert set(per.gaps) == {"recovery_community", "mutual_aid", "recovery_pathway", "peer_support"}
    assert rows["EDI"].earliest_review_due is None and len(rows["EDI"].gaps) == len(INITIATIVE_KINDS) - 1
    assert m.gap_count == sum(len(r.gaps) for r in m.rows)


def test_a_session_names_an_initiative_of_its_establishment(recorder, coordinator, office) -> None:  # noqa: ANN001
    cafe = _cafe(recorder)
    times = {"start_time": "14:00", "end_time": "15:00", "activity_type_id": "act-cafe"}
    s = sessions.create_session(recorder, date=TODAY - DAY, initiative_id=cafe.id, **times)
    assert s.initiative_id == cafe.id
    repeats = sessions.save_session(recorder, date=TODAY - 15 * DAY, repeat_until=TODAY - DAY,
                                    initiative_id=cafe.id, **times).repeats
    assert [r.initiative_id for r in repeats] == [cafe.id, cafe.id]
    page = community.initiative_sessions(recorder, cafe.id)
    assert [r.date for r in page.items] == sorted([r.date for r in page.items], reverse=True)
    assert len(page.items) == 4 and community.get_initiative(recorder, cafe.id).sessions == 4
    # Another establishment's initiative: refused, and nothing saved.
    o = as_role(office, "recorder", "otto")
    bar = _cafe(o, establishment_id="est-bar", name="Barlinnie café")
    # (the office's initiative is not on Perth's PC: copy its row there, as a bundle would)
    with recorder.db.session(recorder.actor) as db:
        from srcdesk.models import Initiative

        db.add(Initiative(id=bar.id, establishment_id="est-bar", kind="recovery_cafe", name="Barlinnie café",
                          status="running", run_by="sps"))
    with pytest.raises(ValidationError, match="another establishment's initiative") as refused:
        sessions.create_session(recorder, date=TODAY, initiative_id=bar.id, **times)
    assert refused.value.field == "initiative_id"
    # An ended one: refused for a session after it ended, not for one before.
    community.update_initiative(recorder, cafe.id, status="ended", ended_on=TODAY - 3 * DAY)
    sessions.update_session(recorder, s.id, notes="late")  # (neither date nor initiative changed: not checked)
    with pytest.raises(ValidationError, match="ended on .* before this session's date"):
        sessions.update_session(recorder, s.id, initiative_id=cafe.id)
    early = sessions.create_session(recorder, date=TODAY - 4 * DAY, initiative_id=cafe.id, **times)
    with pytest.raises(ValidationError, match="before this session's date"):
        sessions.update_session(recorder, early.id, date=TODAY - DAY)
    with pytest.raises(ValidationError, match="not known"):
        sessions.create_session(recorder, date=TODAY, initiative_id="nope", **times)
    # What the session dialog offers: not ended before the day.
    assert [i.id for i in community.initiative_choices(recorder, "est-per", TODAY - 4 * DAY)] == [cafe.id]
    assert community.initiative_choices(recorder, "est-per", TODAY) == []
    # Deleting the initiative: its sessions stay, naming none.
    community.delete_initiative(coordinator, cafe.id, "Entered in error")
    assert sessions.get_session(recorder, s.id).initiative_id is None


def test_the_command_line_lists_the_models_choices() -> None:
    from srcdesk import cli_initiatives

    assert cli_initiatives.KINDS == tuple(INITIATIVE_KINDS)
    assert cli_initiatives.STATUSES == tuple(INITIATIVE_STATUSES)
    assert cli_initiatives.RUNNERS == tuple(INITIATIVE_RUNNERS)
    assert isinstance(InitiativeRow, type)
