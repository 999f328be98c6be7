"""Certificates between PCs: what Perth issues reaches the office intact (content and code), the
office revokes it, and Perth's record says revoked after the office's bundle; a reissue at the
office supersedes Perth's certificate there too. Real bundles, real keys."""

from __future__ import annotations

from srcdesk.models import Certificate
from srcdesk.services import certificates, people, trust
from srcdesk.services.base import Context
from srcdesk.sync import certcode
from tests.conftest import World, as_role


def _record(ctx: Context, cid: str) -> Certificate:
    with ctx.db.read() as s:
        row = s.get(Certificate, cid)
        s.expunge(row)
        return row


def test_issued_at_perth_revoked_at_the_office_revoked_at_perth(world: World) -> None:
    per = as_role(world["PER"], "coordinator", "colin")
    kim = people.create_person(per, given_name="Kim", family_name="Lee")
    cert = certificates.issue(per, person_id=kim.id, kind="module", module_id="mod-rcdt-01")
    world.send(per, world.office)
    at_office = _record(world.office, cert.id)
    assert (at_office.content, at_office.code, at_office.establishment_id) == (cert.content, cert.code, "est-per")
    # Signed by Perth's key, which the office enrolled.
    with world.office.db.read() as s:
        perth_key = trust.installation_identity(s, per.installation.id).public.public_key()
    assert certcode.decode(at_office.code).verifies(perth_key)
    certificates.revoke(world.office, cert.id, "Issued in error")
    world.send(world.office, per)
    here = _record(per, cert.id)
    assert (here.status, here.status_reason, here.status_changed_by) == (
        "revoked", "Issued in error", world.office.user.id)
    assert here.content == cert.content  # the record is kept, as printed


def test_a_reissue_at_the_office_supersedes_perths_certificate_at_perth(world: World) -> None:
    per = as_role(world["PER"], "coordinator", "colin")
    kim = people.create_person(per, given_name="Kim", family_name="Lee")
    cert = certificates.issue(per, person_id=kim.id, kind="programme", programme_id="prog-rcdt")
    world.send(per, world.office)
    new = certificates.reissue(world.office, cert.id, "Name misspelt", recipient_name="Kimberley Lee")
    assert new.serial.startswith("SRC-OFF-") and new.establishment_id is None
    world.send(world.office, per)
    rows = {c.id: c for c in certificates.certificates_for(per, kim.id)}
    assert rows[cert.id].status == "superseded" and rows[new.id].supersedes_id == cert.id
    assert rows[new.id].recipient_name == "Kimberley Lee"
