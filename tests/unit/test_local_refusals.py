"""An establishment PC refuses at once what the office would refuse in its bundle (sync.authority):
another establishment's sessions and cohorts. Otherwise the whole bundle would be refused later, and
every bundle after it, with the person who made the change long gone from the screen."""

from __future__ import annotations

import datetime as dt

import pytest

from srcdesk.errors import PermissionDenied
from srcdesk.services import attendance, people, sessions
from srcdesk.services.check import database_digest

TODAY = dt.date.today()


def test_another_establishments_session_is_shown_not_changed(world) -> None:  # noqa: ANN001
    office, per, bar = world.office, world["PER"], world["BAR"]
    jo = people.create_person(bar, given_name="Jo", family_name="Moves")
    s = sessions.save_session(bar, date=TODAY, start_time="10:00", end_time="11:00", activity_type_id="act-cafe").session
    attendance.save_register(bar, s.id, [attendance.RegisterEntry(jo.id)])
    world.send(bar, office)
    people.transfer_person(office, jo.id, per.installation.establishment_id, on=TODAY)
    world.send(office, per)  # Perth now holds Barlinnie's session: Jo, now at Perth, attended it
    assert sessions.get_session(per, s.id).establishment_id == bar.installation.establishment_id

    before = database_digest(per.db)
    for change in (lambda: sessions.save_session(per, s.id, notes="from Perth"),
                   lambda: sessions.update_session(per, s.id, notes="from Perth"),
                   lambda: sessions.cancel_session(per, s.id, "no room"),
                   lambda: sessions.save_session(per, date=TODAY, start_time="10:00", end_time="11:00",
                                                 activity_type_id="act-cafe",
                                                 establishment_id=bar.installation.establishment_id)):
        with pytest.raises(PermissionDenied, match="belongs to another establishment"):
            change()
    with pytest.raises(PermissionDenied, match="belongs to another establishment"):
        sessions.create_recruit_cohort(per, name="Recruits", starts_on=TODAY,
                                       establishment_id=bar.installation.establishment_id)
    assert database_digest(per.db) == before
    # What Perth may do still works, and its bundle is taken.
    sessions.save_session(per, date=TODAY, start_time="12:00", end_time="13:00", activity_type_id="act-cafe")
    got = world.send(per, office)
    assert got.new >= 1
