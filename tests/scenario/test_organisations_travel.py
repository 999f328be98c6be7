"""Community organisations between PCs (issue 13, item 2): shared reference data kept at the SRC
office. The office adds an organisation and connects it to Perth; its bundles bring it to every
establishment (Perth and Barlinnie both see it, and which establishments it connects to); an
establishment can't change it (refused on its PC with the reason; an establishment's bundle
carrying such a change is refused at the office:
tests/unit/test_bundle_authority.py::test_community_organisations_and_their_links_are_kept_at_the_office).
Real bundles, real keys."""

from __future__ import annotations

import pytest

from srcdesk.errors import PermissionDenied
from srcdesk.services import community
from tests.conftest import World, as_role


def test_the_office_keeps_the_organisations_and_every_establishment_sees_them(world: World) -> None:
    boss = as_role(world.office, "coordinator", "cora")
    org = community.create_organisation(boss, name="Tayside Recovery Community", area="perth and kinross",
                                        offers="Peer support; recovery café on Fridays",
                                        contact="01738 000000")
    community.link_organisation(boss, org.id, "est-per")
    for code in ("PER", "BAR"):
        world.send(world.office, world[code])

    per = as_role(world["PER"], "coordinator", "colin")
    bar = as_role(world["BAR"], "recorder", "bea")
    for site in (per, bar):
        [seen] = community.list_organisations(site)
        assert (seen.name, seen.area, seen.offers) == ("Tayside Recovery Community", "Perth and Kinross",
                                                        "Peer support; recovery café on Fridays")
        assert seen.connected_codes == "PER"
        assert [o.id for o in community.organisations_near(site, "Perth and Kinross")] == [org.id]
    assert [o.id for o in community.list_organisations(bar, establishment_id="est-per")] == [org.id]
    assert community.list_organisations(bar, establishment_id="est-bar") == []

    # Perth may not change it, even its own connection: refused at once, with the reason.
    for attempt in (lambda: community.update_organisation(per, org.id, offers="Ours now"),
                    lambda: community.retire_organisation(per, org.id),
                    lambda: community.create_organisation(per, name="Perth Peers", area="Perth and Kinross")):
        with pytest.raises(PermissionDenied, match="are kept at the SRC office"):
            attempt()
    with pytest.raises(PermissionDenied, match="Which community organisations connect"):
        community.unlink_organisation(per, org.id, "est-per", "Not visiting")
    assert community.may_edit_organisations(per) == (
        "Community organisations are kept at the SRC office and reach this PC in its bundles.")

    # The office connects it to Barlinnie too, disconnects Perth (with a reason) and retires
    # another; the next bundles bring it all.
    other = community.create_organisation(boss, name="Glasgow Recovery Hub", area="Glasgow City", kind="service")
    community.link_organisation(boss, org.id, "est-bar")
    community.unlink_organisation(boss, org.id, "est-per", "No longer visiting Perth")
    community.retire_organisation(boss, other.id)
    for code in ("PER", "BAR"):
        world.send(world.office, world[code])
    for site in (per, bar):
        assert [(o.name, o.connected_codes) for o in community.list_organisations(site)] == [
            ("Tayside Recovery Community", "BAR")]
        assert [o.name for o in community.list_organisations(site, include_retired=True)] == [
            "Glasgow Recovery Hub", "Tayside Recovery Community"]
