"""The workplan between PCs: the office sets a plan year, its focus establishments and targets;
its bundles carry them to the establishments; each establishment sees the national targets and its
own, and whether it is a focus establishment, never another establishment's; it can't change them
(refused on its PC, with the reason; an establishment's bundle carrying such a change is refused at
the office: tests/unit/test_bundle_authority.py::test_records_kept_at_the_office_are_refused).
Real bundles, real keys."""

from __future__ import annotations

import datetime as dt

import pytest

from srcdesk.errors import PermissionDenied
from srcdesk.services import plans
from tests.conftest import World, as_role


def test_the_office_sets_the_workplan_and_each_establishment_sees_its_own(world: World, monkeypatch) -> None:  # noqa: ANN001
    boss = as_role(world.office, "coordinator", "cora")
    year = plans.create_plan_year(boss, "2031-32")
    plans.set_focus(boss, year.id, ["est-per", "est-edi", "est-gle"])
    national = plans.add_target(boss, year.id, code="rat_coverage", target_value=100,
                                description="Recovery Awareness Training for every new recruit cohort.")
    perth = plans.add_target(boss, year.id, code="sessions", target_value=150, establishment_id="est-per",
                             description="Focused support: sessions at Perth.")
    barlinnie = plans.add_target(boss, year.id, code="people", target_value=80, establishment_id="est-bar",
                                 description="People taking part at Barlinnie.")
    for code in ("PER", "BAR"):
        world.send(world.office, world[code])

    per = as_role(world["PER"], "coordinator", "colin")
    bar = as_role(world["BAR"], "recorder", "bea")
    assert "2031-32" in [y.code for y in plans.list_plan_years(per)]
    assert [t.id for t in plans.targets(per, year.id)] == [national.id, perth.id]
    assert [t.id for t in plans.targets(bar, year.id)] == [national.id, barlinnie.id]
    assert [e.code for e in plans.focus(per, year.id)] == ["PER"]
    assert plans.focus(bar, year.id) == []  # not a focus establishment; Perth's and the others' not shown
    assert [(e.code, e.focus) for e in plans.establishments(bar, year.id)] == [("BAR", False)]

    # Progress at Perth reads Perth's own figures only (the indicators replaced by fixed ones).
    asked = []

    def value_for(ctx, period, code, est):  # noqa: ANN001, ANN202
        asked.append(est)
        return {"sessions": 100, "rat_coverage": None}[code]
    monkeypatch.setattr(plans, "value_for", value_for)
    got = {p.target.id: p for p in plans.progress(per, year.id, today=dt.date(2031, 10, 1))}
    assert set(asked) == {"est-per"} and got[perth.id].status == "on track" and got[perth.id].actual == 100

    # Perth may not change it: refused on its PC with the reason, and nothing is written.
    assert plans.can_edit(per) == "The workplan is set at the SRC office."
    for attempt in (lambda: plans.add_target(per, year.id, code="sessions", description="Ours", target_value=5,
                                             establishment_id="est-per"),
                    lambda: plans.update_target(per, perth.id, target_value=10),
                    lambda: plans.remove_target(per, perth.id, "Too many"),
                    lambda: plans.set_focus(per, year.id, ["est-per"]),
                    lambda: plans.create_plan_year(per, "2032-33")):
        with pytest.raises(PermissionDenied, match=r"\(the workplan\) are kept at the SRC office"):
            attempt()
    assert [t.target_value for t in plans.targets(per, year.id)] == [100, 150]

    # The office changes and removes targets and the focus; the next bundle brings it all.
    plans.update_target(boss, perth.id, target_value=120)
    plans.remove_target(boss, national.id, "Measured at the office instead")
    plans.set_focus(boss, year.id, ["est-bar", "est-edi", "est-gle"])
    for code in ("PER", "BAR"):
        world.send(world.office, world[code])
    assert [(t.id, t.target_value) for t in plans.targets(per, year.id)] == [(perth.id, 120)]
    assert plans.focus(per, year.id) == []
    assert [e.code for e in plans.focus(bar, year.id)] == ["BAR"]
