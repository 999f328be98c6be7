"""Two establishments and the office exchange bundles both ways and converge."""

from __future__ import annotations

from srcdesk.services import people, sync
from srcdesk.services.check import run_check


def test_concurrent_edits_of_one_field_converge_with_the_loser_queued(world, table_hash):
    per, office = world["PER"], world["office"]
    p = people.create_person(per, given_name="Jo", family_name="Bloggs")
    first = world.send(per, office)
    assert (first.new, first.already_imported) == (2, False)  # the person and PER's administrator
    again = sync.import_bundle(office, first.verified.path, backup=False)
    assert again.already_imported
    people.update_person(office, p.id, notes="office note")
    people.update_person(per, p.id, notes="per note", liberation_date="2027-01-31")
    world.send(office, per)
    world.send(per, office)
    for c in (office, per):
        got = people.get_person(c, p.id)
        assert (got.notes, str(got.liberation_date)) == (world_winner(office, per, p.id), "2027-01-31")
        assert run_check(c.db).ok
        with c.db.engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT field, loser_value FROM sync_conflict").fetchall()
        assert len(rows) == 1 and rows[0][0] == "notes"


def world_winner(office, per, person_id):  # noqa: ANN001, ANN201
    """The later edit wins: PER edited last in this test."""
    return "per note"
