"""Searching people: word starts, references, paging, and the index that makes it fast."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from srcdesk import db as dbmod
from srcdesk.db import Database
from srcdesk.models import Person
from srcdesk.paths import database_path
from srcdesk.services import people
from srcdesk.services.estate import establishments
from srcdesk.services.people import (
    attendance_history,
    create_person,
    delete_person,
    person_details,
    search_people,
    search_words,
    transfer_history,
    transfer_person,
    update_person,
)
from srcdesk.sync.capture import bulk_insert


def names(page) -> list[str]:  # noqa: ANN001
    return [p.display_name for p in page.items]


@pytest.fixture
def folk(ctx):  # noqa: ANN001, ANN201
    made = {}
    for first, family, ref in [
        ("John", "Smith", "A1001"), ("Sam", "Johnson", None), ("Mary", "McDonald", "B2002"),
        ("Hamish", "McKay", None), ("Ann Marie", "O'Neil", None), ("Élodie", "Brown", "a1999"),
        ("Bob", "Mcdonald-Reid", None),
    ]:
        made[f"{first} {family}"] = create_person(ctx, given_name=first, family_name=family, external_ref=ref)
    return made


def test_words_match_at_their_start_in_any_name(ctx, folk) -> None:  # noqa: ANN001
    assert names(search_people(ctx, "mc")) == ["Mary McDonald", "Bob Mcdonald-Reid", "Hamish McKay"]
    assert names(search_people(ctx, "john")) == ["Sam Johnson", "John Smith"]
    assert names(search_people(ctx, "ohn")) == []  # the middle of a word is not a match
    assert names(search_people(ctx, "marie")) == ["Ann Marie O'Neil"]  # a second given name
    assert names(search_people(ctx, "o'n")) == ["Ann Marie O'Neil"]
    assert names(search_people(ctx, "reid")) == []  # a hyphen doesn't start a word (as before)


def test_people_are_listed_by_family_name_then_given_name(ctx, folk) -> None:  # noqa: ANN001
    create_person(ctx, given_name="Anna", family_name="Smith")
    create_person(ctx, given_name="Zoë", family_name="Weiß")  # case-folding makes "weiss": still in its place
    create_person(ctx, given_name="Áine", family_name="Ó Briain")
    # (A family name starting with an accented letter comes after z: SQLite's binary order, as before.)
    assert names(search_people(ctx)) == [
        "Élodie Brown", "Sam Johnson", "Mary McDonald", "Bob Mcdonald-Reid", "Hamish McKay", "Ann Marie O'Neil",
        "Anna Smith", "John Smith", "Zoë Weiß", "Áine Ó Briain"]
    # the order is the one key the services share
    assert people.sort_key("John", "Smith") == "smith john"
    ordered = [p for p in search_people(ctx, limit=3).items]
    rest = search_people(ctx, limit=100, after=search_people(ctx, limit=3).after).items
    assert names(search_people(ctx)) == [p.display_name for p in [*ordered, *rest]]  # keyset pages keep it


def test_every_typed_word_must_match(ctx, folk) -> None:  # noqa: ANN001
    assert names(search_people(ctx, "john s")) == ["Sam Johnson", "John Smith"]
    assert names(search_people(ctx, "j smith")) == ["John Smith"]
    assert names(search_people(ctx, "mc mary")) == ["Mary McDonald"]
    assert names(search_people(ctx, "john zz")) == []


def test_case_does_not_matter_including_accented_letters(ctx, folk) -> None:  # noqa: ANN001
    assert names(search_people(ctx, "JOHN SMITH")) == ["John Smith"]
    assert names(search_people(ctx, "ÉLO")) == ["Élodie Brown"]
    assert names(search_people(ctx, "élodie")) == ["Élodie Brown"]


def test_references_match_from_their_start(ctx, folk) -> None:  # noqa: ANN001
    assert names(search_people(ctx, "a1")) == ["Élodie Brown", "John Smith"]  # family name order
    assert names(search_people(ctx, "A100")) == ["John Smith"]
    assert names(search_people(ctx, "001")) == []
    assert names(search_people(ctx, "b2002 mary")) == ["Mary McDonald"]


def test_wildcards_are_plain_characters(ctx, folk) -> None:  # noqa: ANN001
    assert names(search_people(ctx, "%")) == []
    assert names(search_people(ctx, "_ohn")) == []
    create_person(ctx, given_name="Per%cy", family_name="Under_score")
    assert names(search_people(ctx, "per%")) == ["Per%cy Under_score"]
    assert names(search_people(ctx, "under_")) == ["Per%cy Under_score"]


def test_search_words_drops_words_implied_by_longer_ones() -> None:
    assert search_words("  Jo JOHN jo  smith ") == ["john", "smith"]
    assert search_words("") == []
    assert search_words("john\tsmith\x00") == ["john", "smith"]  # control characters separate words


def test_filters_by_kind_and_establishment(ctx, folk) -> None:  # noqa: ANN001
    staff = create_person(ctx, given_name="Jo", family_name="Staff", kind="sps_staff")
    assert [p.id for p in search_people(ctx, "", kind="sps_staff").items] == [staff.id]
    assert names(search_people(ctx, "jo", kind="prisoner")) == ["Sam Johnson", "John Smith"]
    est = ctx.installation.establishment_id
    assert len(search_people(ctx, "", establishment_id=est).items) == 8
    assert search_people(ctx, "", establishment_id="est-nowhere").items == []


def test_pages_follow_on_without_gaps_or_repeats(ctx) -> None:  # noqa: ANN001
    for i in range(25):
        create_person(ctx, given_name=f"Pat{i:02d}", family_name="Same")
    create_person(ctx, given_name="Other", family_name="Person")
    seen, after = [], None
    while True:
        page = search_people(ctx, "same", limit=7, after=after)
        seen += [p.given_name for p in page.items]
        if not page.has_more:
            break
        after = page.after
    assert seen == [f"Pat{i:02d}" for i in range(25)]
    assert len(search_people(ctx, "pat", limit=25).items) == 25
    assert search_people(ctx, "pat", limit=25).after is None


def test_the_index_follows_renames_new_references_and_deletions(ctx, folk, coordinator) -> None:  # noqa: ANN001
    john = folk["John Smith"]
    update_person(ctx, john.id, family_name="Brownlee", external_ref="Z9")
    assert names(search_people(ctx, "smith")) == []
    assert names(search_people(ctx, "brownl")) == ["John Brownlee"]
    assert names(search_people(ctx, "z9")) == ["John Brownlee"]
    assert names(search_people(ctx, "a100")) == []  # the old reference is gone
    update_person(ctx, john.id, external_ref="")
    assert names(search_people(ctx, "z9")) == []
    others = {e.code: e.id for e in establishments(ctx)}
    transfer_person(ctx, john.id, others["BAR"], on="2026-05-01")
    assert names(search_people(ctx, "john", establishment_id=others["BAR"])) == ["John Brownlee"]
    assert names(search_people(ctx, "", establishment_id=others["BAR"])) == ["John Brownlee"]
    assert names(search_people(ctx, "john", establishment_id=ctx.installation.establishment_id)) == ["Sam Johnson"]
    update_person(ctx, john.id, kind="sps_staff")
    assert names(search_people(ctx, "", kind="sps_staff")) == ["John Brownlee"]
    delete_person(coordinator, john.id, "Registered twice")
    assert names(search_people(ctx, "john")) == ["Sam Johnson"]
    assert names(search_people(ctx, "", establishment_id=others["BAR"])) == []


def test_bulk_inserted_people_are_indexed(ctx) -> None:  # noqa: ANN001
    with ctx.db.session(ctx.actor) as s:
        bulk_insert(s, Person, [
            {"given_name": "Bulk", "family_name": 'Quo"te\\Back', "search_name": 'bulk quo"te\\back',
             "kind": "prisoner", "external_ref": "QX-1"},
            {"given_name": "Tab", "family_name": "Odd", "search_name": "tab\x01x odd", "kind": "prisoner"},
        ], ctx.actor)
    assert names(search_people(ctx, 'quo"te\\')) == ['Bulk Quo"te\\Back']
    assert names(search_people(ctx, "qx-")) == ['Bulk Quo"te\\Back']
    # A name SQLite's JSON can't hold is indexed whole rather than refusing the write.
    assert names(search_people(ctx, "tab")) == ["Tab Odd"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.lists(st.sampled_from(["a", "an", "m", "mc", "jo", "john", "s", "sm", "b2", "x", "é"]),
                      max_size=3).map(" ".join),
       kind=st.sampled_from([None, "prisoner", "sps_staff"]))
def test_every_way_of_searching_finds_the_same_people(ctx, folk, monkeypatch, query, kind) -> None:  # noqa: ANN001
    if not any(p.kind == "sps_staff" for p in search_people(ctx, "").items):
        create_person(ctx, given_name="Sandy", family_name="Mcbain", kind="sps_staff")
    results = []
    for rare in (0, 10**9):  # every word common (walk or intersect) / every word rare (index rows)
        with monkeypatch.context() as m:
            m.setattr(people, "RARE_WORD_ROWS", rare)
            first = search_people(ctx, query, kind=kind, limit=2)
            whole = search_people(ctx, query, kind=kind, limit=50)
            rest = search_people(ctx, query, kind=kind, limit=2, after=first.after) if first.after else None
            results.append((first, whole, rest))
    assert results[0] == results[1]
    first, whole, rest = results[0]
    assert first.items == whole.items[:2]
    if rest is not None:
        assert rest.items == whole.items[2:4]


def test_migration_indexes_people_already_recorded(ctx, data_dir) -> None:  # noqa: ANN001
    create_person(ctx, given_name="Early", family_name="Bird", external_ref="E1")
    dbmod.downgrade(ctx.db.engine, "0001")
    ctx.db.close()
    con = sqlite3.connect(database_path(data_dir))
    assert con.execute("SELECT count(*) FROM sqlite_master WHERE name = 'person_search_word'").fetchone() == (0,)
    con.close()
    db = Database.open(data_dir)
    try:
        with db.engine.connect() as conn:
            words = sorted(conn.exec_driver_sql("SELECT word FROM person_search_word").scalars())
        assert words == ["", "bird", "e1", "early"]  # the empty word lists everyone
    finally:
        db.close()


def test_search_reads_an_index_not_every_person(ctx, folk) -> None:  # noqa: ANN001
    from sqlalchemy import event

    statements: list[str] = []
    event.listen(ctx.db.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *a: statements.append((statement, a[0])))
    monkey = people.RARE_WORD_ROWS
    assert monkey > 0
    search_people(ctx, "mcd")
    statement, params = statements[-1]
    with ctx.db.engine.connect() as conn:
        plan = " / ".join(r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params))
    assert "person_search_word" in plan and "SCAN person " not in plan + " ", plan


def test_person_details_say_who_recorded_consent(ctx, folk, recorder) -> None:  # noqa: ANN001
    mary = folk["Mary McDonald"]
    details = person_details(ctx, mary.id)
    assert details.consent_recorded_by is None and details.establishment_code == "PER"
    assert details.registered_by == "Ann Admin" and details.kind_name == "Person in custody"
    update_person(recorder, mary.id, consent_date="2026-01-05", consent_scope="Attendance and milestones")
    update_person(ctx, mary.id, notes="Moved cell")  # a later change that isn't about consent
    details = person_details(ctx, mary.id)
    assert details.person.consent_scope == "Attendance and milestones"
    assert details.consent_recorded_by == "Recorder"
    assert details.consent_recorded_at is not None


def test_transfer_history_names_the_establishments(ctx, folk) -> None:  # noqa: ANN001
    others = {e.code: e for e in establishments(ctx)}
    john = folk["John Smith"]
    transfer_person(ctx, john.id, others["BAR"].id, on="2026-03-01", reason="Closer to family")
    transfer_person(ctx, john.id, None, on="2026-06-01", reason="Liberated")
    rows = transfer_history(ctx, john.id)
    assert [(r.from_code, r.to_code, r.reason) for r in rows] == [
        ("PER", "BAR", "Closer to family"), ("BAR", None, "Liberated")]
    assert rows[0].to_name == others["BAR"].name and rows[0].recorded_by == "Ann Admin"


def test_attendance_history_is_empty_for_someone_new(ctx, folk) -> None:  # noqa: ANN001
    page = attendance_history(ctx, folk["John Smith"].id)
    assert page.items == [] and page.after is None


def test_attendance_history_pages_newest_first(ctx, folk, coordinator) -> None:  # noqa: ANN001
    from srcdesk.models import ActivityType
    from srcdesk.services.attendance import RegisterEntry, add_to_register
    from srcdesk.services.catalogue import list_all
    from srcdesk.services.sessions import cancel_session, create_session, delete_session

    cafe = next(a for a in list_all(ctx, ActivityType))
    sam = folk["Sam Johnson"].id
    made = []
    for day in (3, 1, 5, 2, 4):
        session = create_session(ctx, date=f"2026-09-0{day}", start_time="10:00", end_time="11:00",
                                 activity_type_id=cafe.id)
        add_to_register(ctx, session.id, RegisterEntry(sam, status="late" if day == 2 else "present",
                                                       role="helper" if day == 4 else "participant"))
        made.append(session)
    delete_session(coordinator, made[0].id, "Entered twice")  # the 3rd: gone from the history
    cancel_session(ctx, made[1].id, "Room flooded")  # the 1st: shown, marked cancelled
    seen, after = [], None
    while True:
        page = attendance_history(ctx, sam, limit=2, after=after)
        seen += page.items
        if not page.has_more:
            break
        after = page.after
    assert [r.date.day for r in seen] == [5, 4, 2, 1]
    assert [(r.status, r.role) for r in seen][1:3] == [("Present", "Helper"), ("Late", "Participant")]
    assert seen[-1].cancelled and not seen[0].cancelled
    assert seen[0].what == cafe.name and seen[0].establishment_code == "PER"
    statements: list = []
    from sqlalchemy import event

    event.listen(ctx.db.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *a: statements.append((statement, a[0])))
    attendance_history(ctx, sam)
    statement, params = statements[-1]
    with ctx.db.engine.connect() as conn:
        plan = " / ".join(r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params))
    assert "ix_attendance_person" in plan, plan
