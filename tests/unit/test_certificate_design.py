"""The certificates' design (srcdesk.services.certificate_design): set at the office by
coordinators, read everywhere, sent in bundles, logos checked, and frozen into content at issue."""

from __future__ import annotations

import base64
import struct
import zlib

import pytest
from sqlalchemy import func, select

from srcdesk.errors import PermissionDenied, ValidationError
from srcdesk.models import CertificateDesign, ChangeLog
from srcdesk.reports.certificate_content import Signatory
from srcdesk.services import certificate_design as cd
from srcdesk.services.base import Context

from ..conftest import World, as_role


def png(width: int = 40, height: int = 20, noise: bool = False) -> bytes:
    import random

    rng = random.Random(width * height)
    rows = b"".join(b"\x00" + (bytes(rng.randrange(256) for _ in range(width)) if noise
                               else bytes(x * 255 // max(width - 1, 1) for x in range(width)))
                    for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def jpeg() -> bytes:
    import io

    from PIL import Image  # ReportLab's own dependency

    out = io.BytesIO()
    Image.new("L", (30, 10), 128).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def office_coordinator(office: Context) -> Context:
    return as_role(office, "coordinator", "cora")


def test_nothing_set_is_an_empty_design(office: Context) -> None:
    found = cd.design(office)
    assert found == cd.Design() and found.signatories() == ()
    assert cd.design_for_print(office) == ((), "")


def test_a_coordinator_at_the_office_sets_it_and_everyone_reads_it(office: Context,
                                                                   office_coordinator: Context) -> None:
    cd.set_design(office_coordinator, signatory1_name="  Morag   Fleming ", signatory1_role="PHR Officer",
                  signatory2_name="Alasdair Reid", signatory2_role="Coordinator", footer="Scottish Recovery Consortium",
                  logo_left=png(), logo_right=jpeg())
    recorder = as_role(office, "recorder", "rory")
    found = cd.design(recorder)
    assert found.signatory1_name == "Morag Fleming"  # cleaned like every typed text
    assert found.signatories() == (Signatory("Morag Fleming", "PHR Officer"), Signatory("Alasdair Reid", "Coordinator"))
    assert found.logo_left == png() and found.logo_right == jpeg()
    assert cd.design_for_print(recorder) == (found.signatories(), "Scottish Recovery Consortium")
    with office.db.read() as s:
        assert cd.design_for_print(s) == (found.signatories(), "Scottish Recovery Consortium")


def test_fields_left_out_stay_and_empty_ones_clear(office_coordinator: Context) -> None:
    cd.set_design(office_coordinator, signatory1_name="A", signatory2_name="B", footer="F", logo_left=png())
    cd.set_design(office_coordinator, signatory2_name="", logo_left=None)
    found = cd.design(office_coordinator)
    assert (found.signatory1_name, found.signatory2_name, found.footer, found.logo_left) == ("A", "", "F", None)
    assert found.signatories() == (Signatory("A", ""),)


def test_a_role_needs_a_name(office_coordinator: Context) -> None:
    with pytest.raises(ValidationError, match="needs a name") as refused:
        cd.set_design(office_coordinator, signatory2_role="Governor")
    assert refused.value.field == "signatory2_name"
    cd.set_design(office_coordinator, signatory2_name="Fiona Campbell")
    cd.set_design(office_coordinator, signatory2_role="Governor")  # the stored name counts
    assert cd.design(office_coordinator).signatories() == (Signatory("Fiona Campbell", "Governor"),)


def test_only_coordinators_and_above_change_it(office: Context) -> None:
    recorder = as_role(office, "recorder", "rory")
    with pytest.raises(PermissionDenied, match="Only a coordinator"):
        cd.set_design(recorder, footer="x")
    cd.set_design(office, footer="by the administrator")
    assert cd.design(recorder).footer == "by the administrator"


def test_an_establishment_pc_is_told_it_is_kept_at_the_office(ctx: Context, coordinator: Context) -> None:
    with pytest.raises(PermissionDenied, match="kept at the SRC office"):
        cd.set_design(coordinator, footer="from Perth")
    with ctx.db.read() as s:
        assert s.execute(select(func.count()).select_from(CertificateDesign)).scalar_one() == 0


@pytest.mark.parametrize(("data", "said"), [
    (b"GIF89a" + b"\x00" * 40, "PNG or JPEG"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "PNG or JPEG"),
    (b"\x89PNG\r\n\x1a\n" + b"not really a picture", "can't be read"),
    ("logo.png", "must be a picture file"),
])
def test_logos_must_be_pictures(office_coordinator: Context, data: object, said: str) -> None:
    with pytest.raises(ValidationError, match=said) as refused:
        cd.set_design(office_coordinator, logo_right=data)
    assert refused.value.field == "logo_right"
    assert cd.design(office_coordinator).logo_right is None


def test_a_logo_over_70_kb_is_refused(office_coordinator: Context) -> None:
    big = png(240, 240, noise=True)  # random pixels do not compress: about 58 KB, 77 KB as base64
    assert len(base64.b64encode(big)) > cd.MAX_LOGO_CHARS
    with pytest.raises(ValidationError, match="too big"):
        cd.set_design(office_coordinator, logo_left=big)
    small = png(200, 200, noise=True)
    assert len(base64.b64encode(small)) <= cd.MAX_LOGO_CHARS
    cd.set_design(office_coordinator, logo_left=small)
    assert cd.design(office_coordinator).logo_left == small


@pytest.mark.parametrize(("field", "value", "said"), [
    ("footer", "x" * 201, "too long"),
    ("signatory1_name", "Ann\x1b[2J", "control character"),
    ("signatory1_role", "\u202eenoG", "control character"),
    ("footer", 12, "must be text"),
])
def test_text_is_checked_like_every_typed_text(office_coordinator: Context, field: str, value: object,
                                               said: str) -> None:
    with pytest.raises(ValidationError, match=said):
        cd.set_design(office_coordinator, **{field: value})


def test_an_unknown_field_is_a_programming_error(office_coordinator: Context) -> None:
    with pytest.raises(ValueError, match="not part of the certificate design"):
        cd.set_design(office_coordinator, signatory3_name="x")


def test_changes_are_logged_and_reach_every_establishment(world: World) -> None:
    office = world.office
    with office.db.read() as s:
        before = s.execute(select(func.count()).select_from(ChangeLog)
                           .where(ChangeLog.table_name == "certificate_design")).scalar_one()
    cd.set_design(office, signatory1_name="Morag Fleming", signatory1_role="PHR Officer", footer="SRC", logo_left=png())
    with office.db.read() as s:
        after = s.execute(select(func.count()).select_from(ChangeLog)
                          .where(ChangeLog.table_name == "certificate_design")).scalar_one()
    assert after - before == 4
    world.send(office, world["PER"])
    there = cd.design(world["PER"])
    assert there.signatories() == (Signatory("Morag Fleming", "PHR Officer"),)
    assert there.footer == "SRC" and there.logo_left == png()
    cd.set_design(office, footer="", logo_left=None)
    world.send(office, world["PER"])
    there = cd.design(world["PER"])
    assert there.footer == "" and there.logo_left is None and there.signatory1_name == "Morag Fleming"
