"""Community organisations (LEROs and services), issue 13 item 2: kept at the SRC office (added,
edited, retired and connected to establishments there only), read everywhere."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from srcdesk.errors import NotFound, PermissionDenied, ValidationError
from srcdesk.models import ChangeLog, CommunityOrganisation, OrganisationLink
from srcdesk.services import community
from tests.conftest import as_role


@pytest.fixture
def boss(office):  # noqa: ANN001, ANN201
    return as_role(office, "coordinator", "cora")


def _count(ctx, model) -> int:  # noqa: ANN001
    with ctx.db.read() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_area_must_be_a_council_area_in_its_own_spelling(boss) -> None:  # noqa: ANN001
    org = community.create_organisation(boss, name="  Tayside   Recovery ", area="perth AND kinross",
                                        offers="Peer support\nRecovery café", contact="hello@tayside.org")
    assert (org.name, org.area, org.kind, org.retired) == ("Tayside Recovery", "Perth and Kinross", "lero", False)
    assert org.offers == "Peer support\nRecovery café"
    with pytest.raises(ValidationError, match="'Tayside' is not one of Scotland's 32 council areas"):
        community.create_organisation(boss, name="Dundee Peers", area="Tayside")
    with pytest.raises(ValidationError, match="Say which council area"):
        community.create_organisation(boss, name="Dundee Peers", area="  ")
    with pytest.raises(ValidationError, match="Say which council area"):
        community.update_organisation(boss, org.id, area=None)
    with pytest.raises(ValidationError, match="Kind of organisation must be one of"):
        community.create_organisation(boss, name="Dundee Peers", area="Dundee City", kind="charity")
    with pytest.raises(ValidationError, match="Name"):
        community.create_organisation(boss, name=" ", area="Dundee City")
    with pytest.raises(ValidationError, match="already a community organisation called"):
        community.create_organisation(boss, name="tayside recovery", area="Dundee City")
    with pytest.raises(ValidationError, match="can't be set"):
        community.update_organisation(boss, org.id, retired=True)
    changed = community.update_organisation(boss, org.id, area="dundee city", kind="recovery_community",
                                            notes="Meets at the Steeple")
    assert (changed.area, changed.kind, changed.notes, changed.offers) == (
        "Dundee City", "recovery_community", "Meets at the Steeple", "Peer support\nRecovery café")


def test_at_an_establishment_every_change_is_refused_at_once_with_the_reason(ctx, coordinator, office, boss) -> None:  # noqa: ANN001
    org = community.create_organisation(boss, name="Tayside Recovery", area="Dundee City")
    before = _count(ctx, ChangeLog)
    kept = r"The community organisations \(LEROs and services\) are kept at the SRC office: ask the PHR Officer"
    links = "Which community organisations connect to which establishments are kept at the SRC office"
    for attempt, says in (
            (lambda: community.create_organisation(coordinator, name="Perth Peers", area="Perth and Kinross"), kept),
            (lambda: community.update_organisation(coordinator, org.id, offers="x"), kept),
            (lambda: community.retire_organisation(coordinator, org.id), kept),
            (lambda: community.link_organisation(coordinator, org.id, "est-per"), links),
            (lambda: community.unlink_organisation(coordinator, org.id, "est-per", "gone"), links)):
        with pytest.raises(PermissionDenied, match=says):
            attempt()
    assert _count(ctx, ChangeLog) == before
    assert community.may_edit_organisations(coordinator) == (
        "Community organisations are kept at the SRC office and reach this PC in its bundles.")
    assert community.may_edit_organisations(boss) is None
    recorder = as_role(office, "recorder", "otto")
    assert community.may_edit_organisations(recorder) == (
        "Only a coordinator can add, edit or connect community organisations.")
    with pytest.raises(PermissionDenied, match="Only a coordinator can"):
        community.create_organisation(recorder, name="Otto's", area="Fife")


def test_reads_work_everywhere_and_for_every_role(ctx, recorder) -> None:  # noqa: ANN001
    # Perth's PC holds what the office's bundles brought (written here as a bundle would).
    with ctx.db.session(ctx.actor) as s:
        s.add(CommunityOrganisation(id="org-1", name="Perth Recovery Café", kind="lero", area="Perth and Kinross",
                                    offers="Recovery café", retired=False))
        s.add(OrganisationLink(organisation_id="org-1", establishment_id="est-per"))
    [seen] = community.list_organisations(recorder)
    assert (seen.name, seen.kind_label, seen.connected_codes) == (
        "Perth Recovery Café", "Lived Experience Recovery Organisation (LERO)", "PER")
    assert community.get_organisation(recorder, "org-1").connections[0].name.startswith("HMP")
    assert [o.id for o in community.organisations_near(recorder, "perth and kinross")] == ["org-1"]


def test_list_filters(boss) -> None:  # noqa: ANN001
    a = community.create_organisation(boss, name="Glasgow Recovery Community", area="Glasgow City",
                                      kind="recovery_community", offers="Mutual aid; peer support")
    b = community.create_organisation(boss, name="Barlinnie Hand-over Service", area="Glasgow City",
                                      kind="service", offers="Housing advice")
    c = community.create_organisation(boss, name="Fife Peers", area="Fife", offers="Family support")
    community.link_organisation(boss, a.id, "est-bar")
    community.link_organisation(boss, a.id, "est-per")
    community.link_organisation(boss, c.id, "est-per")
    community.retire_organisation(boss, b.id)

    def names(**kw) -> list[str]:  # noqa: ANN003
        return [o.name for o in community.list_organisations(boss, **kw)]
    assert names() == ["Fife Peers", "Glasgow Recovery Community"]
    assert names(include_retired=True) == ["Barlinnie Hand-over Service", "Fife Peers", "Glasgow Recovery Community"]
    assert names(area="glasgow city", include_retired=True) == ["Barlinnie Hand-over Service",
                                                                "Glasgow Recovery Community"]
    assert names(kind="recovery_community") == ["Glasgow Recovery Community"]
    assert names(establishment_id="est-per") == ["Fife Peers", "Glasgow Recovery Community"]
    assert names(establishment_id="est-bar") == ["Glasgow Recovery Community"]
    assert names(search="family") == ["Fife Peers"]
    assert names(search="FIFE") == ["Fife Peers"]
    assert community.get_organisation(boss, a.id).connected_codes == "BAR, PER"
    with pytest.raises(ValidationError, match="not one of Scotland's 32 council areas"):
        names(area="Strathclyde")


def test_link_and_unlink_with_a_reason(boss) -> None:  # noqa: ANN001
    org = community.create_organisation(boss, name="Tayside Recovery", area="Dundee City")
    community.link_organisation(boss, org.id, "est-per")
    with pytest.raises(ValidationError, match="already connected"):
        community.link_organisation(boss, org.id, "est-per")
    with pytest.raises(ValidationError, match="Say why"):
        community.unlink_organisation(boss, org.id, "est-per", "  ")
    assert community.get_organisation(boss, org.id).connected_codes == "PER"
    community.unlink_organisation(boss, org.id, "est-per", "No longer visiting Perth")
    assert community.get_organisation(boss, org.id).connections == ()
    with boss.db.read() as s:
        link = s.execute(select(OrganisationLink)).scalar_one()
        assert link.deleted_reason == "No longer visiting Perth" and link.deleted_hlc
    with pytest.raises(ValidationError, match="not connected"):
        community.unlink_organisation(boss, org.id, "est-per", "again")
    community.link_organisation(boss, org.id, "est-per")  # connected again: the same link, revived
    assert community.get_organisation(boss, org.id).connected_codes == "PER"
    with pytest.raises(NotFound):
        community.link_organisation(boss, org.id, "no-such-establishment")
    community.retire_organisation(boss, org.id)
    with pytest.raises(ValidationError, match="already retired"):
        community.retire_organisation(boss, org.id)
    with pytest.raises(ValidationError, match="is retired: bring it back"):
        community.link_organisation(boss, org.id, "est-bar")
    community.retire_organisation(boss, org.id, retired=False)
    community.link_organisation(boss, org.id, "est-bar")


def test_organisations_near_an_area_leros_and_communities_first(boss) -> None:  # noqa: ANN001
    for name, kind, area in (("A Residential Rehab", "service", "Glasgow City"),
                             ("B Recovery Community", "recovery_community", "Glasgow City"),
                             ("C Peers", "lero", "Glasgow City"),
                             ("D Old LERO", "lero", "Glasgow City"),
                             ("E Edinburgh LERO", "lero", "City of Edinburgh")):
        org = community.create_organisation(boss, name=name, kind=kind, area=area)
        if name.startswith("D"):
            community.retire_organisation(boss, org.id)
    assert [o.name for o in community.organisations_near(boss, "Glasgow City")] == [
        "C Peers", "B Recovery Community", "A Residential Rehab"]
    assert community.organisations_near(boss, "Moray") == []


def test_find_by_id_or_unique_name(boss) -> None:  # noqa: ANN001
    a = community.create_organisation(boss, name="Glasgow Recovery Community", area="Glasgow City")
    community.create_organisation(boss, name="Glasgow Recovery Hub", area="Glasgow City")
    assert community.find_organisation(boss, a.id).id == a.id
    assert community.find_organisation(boss, "glasgow recovery community").id == a.id
    assert community.find_organisation(boss, "Community").id == a.id
    with pytest.raises(ValidationError, match="names more than one organisation"):
        community.find_organisation(boss, "Glasgow")
    with pytest.raises(NotFound, match="No community organisation is called 'Leith'"):
        community.find_organisation(boss, "Leith")
