"""Keys, fingerprints, enrolment cards, enrolment and revocation (issue 4, part 1 and 2)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import random
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyrage import x25519
from sqlalchemy import select, update

from srcdesk.cli import main
from srcdesk.db import Database
from srcdesk.errors import NotFound, PermissionDenied, ValidationError
from srcdesk.models import BundleRecord, Installation
from srcdesk.paths import database_path
from srcdesk.services import trust
from srcdesk.services.base import Context
from srcdesk.services.setup import NewInstallation, ensure_identity, init_installation, open_installation
from srcdesk.sync import strictjson
from srcdesk.sync.changelog import canonical_json
from srcdesk.sync.errors import BundleRefused
from srcdesk.sync.identity import (
    AGE_KEY_FILE,
    SIGNING_KEY_FILE,
    KeysError,
    LocalIdentity,
    PublicIdentity,
    card_bytes,
    create_keys,
    describe_mismatch,
    differing_groups,
    format_fingerprint,
    is_fingerprint,
    keys_dir,
    load_keys,
    make_recovery_identity,
    normalise_fingerprint,
    parse_age_key_text,
    read_card,
)
from srcdesk.sync.minisign import SigningKey

PASSWORD = "password123"
AGE = shutil.which("age")
MINISIGN = shutil.which("minisign")
POSIX = os.name == "posix"


# --------------------------------------------------------------------------- helpers


def make_establishment(folder: Path, code: str, admin: str = "admin") -> NewInstallation:
    return init_installation(folder, establishment=code, office=False, admin_username=admin,
                             admin_name=None, admin_password=PASSWORD)


def card_of(ctx: Context, tmp_path: Path, name: str = "card.txt") -> bytes:
    path = trust.export_card(ctx, tmp_path / name)
    return path.read_bytes()


def fake_identity(base: PublicIdentity, **changes: object) -> LocalIdentity:
    """A real, correctly signed identity with new keys (and any field changed): a forger's card."""
    signing = SigningKey.generate()
    age_identity = x25519.Identity.generate()
    recovery = base.recovery_recipient and str(x25519.Identity.generate().to_public())
    fields = dict(installation_id=base.installation_id, role=base.role, establishment_code=base.establishment_code,
                  name=base.name, signing_key=signing.public().line(), age_recipient=str(age_identity.to_public()),
                  recovery_recipient=recovery)
    fields.update(changes)
    return LocalIdentity(signing, age_identity, PublicIdentity(**fields), Path("unused"))


def split_card(data: bytes) -> tuple[dict, bytes]:
    line, _, sig = data.partition(b"\n")
    return json.loads(line), sig


def join_card(body: dict, sig: bytes) -> bytes:
    return canonical_json(body).encode() + b"\n" + sig


def self_row(ctx: Context) -> Installation:
    with ctx.read() as s:
        row = s.execute(select(Installation).where(Installation.is_self.is_(True))).scalar_one()
        s.expunge(row)
        return row


def table_dump(ctx: Context) -> list[tuple]:
    with ctx.read() as s:
        rows = s.execute(select(Installation).order_by(Installation.id)).scalars().all()
        return [tuple(getattr(r, c.key) for c in Installation.__table__.columns) for r in rows]


def run_cli(capsys, *args: str) -> tuple[int, str, str]:  # noqa: ANN001
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def add_received(ctx: Context, origin: str, *seqs: int) -> None:
    now = dt.datetime(2025, 1, 1)
    with ctx.db.session(ctx.actor) as s:
        for seq in seqs:
            s.add(BundleRecord(bundle_id=f"b-{origin[:8]}-{seq}", direction="received", origin_id=origin,
                               recipient_id=ctx.installation.id, seq=seq, created_at=now, recorded_at=now,
                               file_name=f"x-{seq}.srcbundle", full=False, schema="0005", changes=0,
                               counts="{}", summary="{}"))


@pytest.fixture
def enrolled(ctx: Context, office: Context, tmp_path: Path) -> tuple[Context, Context]:
    """Perth and the office, each enrolled at the other."""
    per_card, office_card = card_of(ctx, tmp_path, "per.card"), card_of(office, tmp_path, "office.card")
    trust.enrol(office, per_card, trust.my_identity(ctx).fingerprint)
    trust.enrol(ctx, office_card, trust.my_identity(office).fingerprint)
    return ctx, office


# --------------------------------------------------------------------------- keys on disk


@pytest.mark.skipif(not POSIX, reason="POSIX permissions")
def test_init_makes_owner_only_keys(ctx: Context, data_dir: Path) -> None:
    folder = keys_dir(data_dir)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in (SIGNING_KEY_FILE, AGE_KEY_FILE):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    assert sorted(p.name for p in folder.iterdir()) == [AGE_KEY_FILE, SIGNING_KEY_FILE]  # no temp files left
    signing, age_identity = load_keys(data_dir)
    row = self_row(ctx)
    assert row.signing_key == signing.public().line()
    assert row.age_recipient == str(age_identity.to_public())
    assert row.recovery_recipient is None
    assert row.fingerprint == trust.my_identity(ctx).fingerprint


def test_age_key_file_is_in_age_keygen_format(ctx: Context, data_dir: Path) -> None:
    text = (keys_dir(data_dir) / AGE_KEY_FILE).read_text()
    lines = text.splitlines()
    assert text.endswith("\n") and len(lines) == 3
    assert lines[0].startswith("# created: ") and lines[0].endswith("Z")
    dt.datetime.fromisoformat(lines[0].removeprefix("# created: "))
    assert lines[1] == f"# public key: {self_row(ctx).age_recipient}"
    assert lines[2].startswith("AGE-SECRET-KEY-1")
    assert str(parse_age_key_text(text).to_public()) == self_row(ctx).age_recipient
    with pytest.raises(ValueError, match="does not match"):
        parse_age_key_text(text.replace(lines[1], f"# public key: {x25519.Identity.generate().to_public()}"))


def test_keys_are_never_overwritten(ctx: Context, data_dir: Path) -> None:
    before = (keys_dir(data_dir) / SIGNING_KEY_FILE).read_bytes()
    with pytest.raises(KeysError, match="already keys"):
        create_keys(data_dir)
    assert (keys_dir(data_dir) / SIGNING_KEY_FILE).read_bytes() == before


def test_damaged_or_foreign_keys_are_reported(ctx: Context, data_dir: Path, tmp_path: Path) -> None:
    local = trust.local_identity(ctx)
    assert local.public == trust.my_identity(ctx)
    assert local.age_key_path == keys_dir(data_dir) / AGE_KEY_FILE
    # keys from another folder don't belong to this database
    other = tmp_path / "other"
    create_keys(other)
    for name in (SIGNING_KEY_FILE, AGE_KEY_FILE):
        os.replace(keys_dir(other) / name, keys_dir(data_dir) / name)
    with pytest.raises(KeysError, match="don't belong"):
        trust.local_identity(ctx)
    (keys_dir(data_dir) / SIGNING_KEY_FILE).write_text("nonsense\n")
    with pytest.raises(KeysError, match="damaged"):
        trust.local_identity(ctx)
    (keys_dir(data_dir) / SIGNING_KEY_FILE).unlink()
    with pytest.raises(KeysError, match="missing"):
        trust.local_identity(ctx)


def test_office_recovery_key_is_returned_once_and_not_stored(office: Context, tmp_path: Path) -> None:
    assert isinstance(office, NewInstallation) and office.recovery_key
    identity = parse_age_key_text(office.recovery_key)
    row = self_row(office)
    assert row.recovery_recipient == str(identity.to_public()) != row.age_recipient
    secret = office.recovery_key.splitlines()[-1].encode()
    for path in (tmp_path / "office").rglob("*"):
        if path.is_file():
            assert secret not in path.read_bytes(), path


def test_make_recovery_identity() -> None:
    text, recipient = make_recovery_identity()
    assert str(parse_age_key_text(text).to_public()) == recipient and recipient.startswith("age1")
    assert make_recovery_identity()[1] != recipient


@pytest.mark.skipif(not POSIX, reason="POSIX permissions")
def test_init_office_writes_recovery_key_file(tmp_path: Path) -> None:
    out = tmp_path / "recovery.txt"
    c = init_installation(tmp_path / "o", establishment=None, office=True, admin_username="phr",
                          admin_name=None, admin_password=PASSWORD, recovery_key_out=out)
    try:
        assert c.recovery_key is None
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
        assert str(parse_age_key_text(out.read_text()).to_public()) == self_row(c).recovery_recipient
    finally:
        c.db.close()


@pytest.mark.parametrize("where", ["exists", "inside", "establishment", "no-folder"])
def test_bad_recovery_key_out_leaves_nothing(tmp_path: Path, where: str) -> None:
    data = tmp_path / "o"
    out = {"exists": tmp_path / "there.txt", "inside": data / "keys" / "r.txt",
           "establishment": tmp_path / "r.txt", "no-folder": tmp_path / "nope" / "r.txt"}[where]
    if where == "exists":
        out.write_text("keep me")
    with pytest.raises(ValidationError):
        init_installation(data, establishment="PER" if where == "establishment" else None,
                          office=where != "establishment", admin_username="phr", admin_name=None,
                          admin_password=PASSWORD, recovery_key_out=out)
    assert not database_path(data).exists() and not keys_dir(data).exists()
    assert where != "exists" or out.read_text() == "keep me"


def test_failed_init_removes_the_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import srcdesk.services.setup as setup

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(setup, "create_user_unchecked", boom)
    data = tmp_path / "o"
    with pytest.raises(RuntimeError):
        init_installation(data, establishment=None, office=True, admin_username="phr", admin_name=None,
                          admin_password=PASSWORD, recovery_key_out=tmp_path / "r.txt")
    assert not database_path(data).exists()
    assert not keys_dir(data).exists()
    assert not (tmp_path / "r.txt").exists()


def test_init_refuses_leftover_keys(tmp_path: Path) -> None:
    data = tmp_path / "d"
    create_keys(data)
    before = (keys_dir(data) / SIGNING_KEY_FILE).read_bytes()
    with pytest.raises(Exception, match="already keys"):
        make_establishment(data, "PER")
    assert (keys_dir(data) / SIGNING_KEY_FILE).read_bytes() == before
    assert not database_path(data).exists()


def test_init_over_an_installation_keeps_its_keys(ctx: Context, data_dir: Path) -> None:
    before = {p.name: p.read_bytes() for p in keys_dir(data_dir).iterdir()}
    with pytest.raises(Exception, match="already srcdesk data"):
        init_installation(data_dir, establishment=None, office=True, admin_username="bob", admin_name=None,
                          admin_password=PASSWORD)
    assert {p.name: p.read_bytes() for p in keys_dir(data_dir).iterdir()} == before
    assert trust.local_identity(ctx).public == trust.my_identity(ctx)


def _forget_identity(ctx: Context) -> None:
    """Make ``ctx`` look like an installation set up before keys existed."""
    with ctx.db.session(ctx.actor) as s:
        s.execute(update(Installation).where(Installation.is_self.is_(True)).values(
            signing_key=None, age_recipient=None, recovery_recipient=None, fingerprint=None))
    shutil.rmtree(keys_dir(ctx.db.data_dir))


def test_ensure_identity_for_old_installations(office: Context, recorder: Context, tmp_path: Path) -> None:
    # recorder belongs to Perth (conftest ctx); the office is separate
    _forget_identity(recorder)
    with pytest.raises(KeysError, match="no keys"):
        trust.my_identity(recorder)
    with pytest.raises(PermissionDenied):
        ensure_identity(recorder)
    admin = Context(recorder.db, recorder.installation, trust_admin(recorder))
    assert ensure_identity(admin) is None  # an establishment has no recovery key
    me = trust.my_identity(admin)
    assert self_row(admin).fingerprint == me.fingerprint
    assert trust.local_identity(admin).public == me
    assert ensure_identity(admin) is None and trust.my_identity(admin) == me  # nothing more to do

    _forget_identity(office)
    out = tmp_path / "rec.txt"
    assert ensure_identity(office, recovery_key_out=out) is None
    assert str(parse_age_key_text(out.read_text()).to_public()) == trust.my_identity(office).recovery_recipient
    _forget_identity(office)
    key = ensure_identity(office)
    assert key and str(parse_age_key_text(key).to_public()) == trust.my_identity(office).recovery_recipient


def trust_admin(ctx: Context):  # noqa: ANN201
    from srcdesk.services.users import authenticate

    return authenticate(ctx.db, "ann", PASSWORD)


# --------------------------------------------------------------------------- fingerprints


def test_fingerprint_is_sha256_of_the_canonical_text(ctx: Context) -> None:
    me = trust.my_identity(ctx)
    text = (f"srcdesk-identity/1\n{me.installation_id}\nestablishment\n{me.signing_key}\n"
            f"{me.age_recipient}\n\n")
    code = base64.b32encode(hashlib.sha256(text.encode()).digest()[:20]).decode()
    assert me.fingerprint == " ".join(code[i:i + 4] for i in range(0, 32, 4))
    assert [len(g) for g in me.fingerprint.split(" ")] == [4] * 8  # read out by phone: 8 groups of 4
    assert trust.my_identity(ctx).fingerprint == me.fingerprint  # stable
    digest = hashlib.sha256(text.encode()).hexdigest().upper()
    assert me.old_fingerprint == " ".join(digest[i:i + 4] for i in range(0, 64, 4))


def test_fingerprint_changes_with_every_key(office: Context) -> None:
    me = trust.my_identity(office)
    other = fake_identity(me).public
    variants = [
        PublicIdentity(other.installation_id[:-1] + ("0" if other.installation_id[-1] != "0" else "1"), me.role,
                       None, me.name, me.signing_key, me.age_recipient, me.recovery_recipient),
        PublicIdentity(me.installation_id, "establishment", None, me.name, me.signing_key, me.age_recipient,
                       me.recovery_recipient),
        PublicIdentity(me.installation_id, me.role, None, me.name, other.signing_key, me.age_recipient,
                       me.recovery_recipient),
        PublicIdentity(me.installation_id, me.role, None, me.name, me.signing_key, other.age_recipient,
                       me.recovery_recipient),
        PublicIdentity(me.installation_id, me.role, None, me.name, me.signing_key, me.age_recipient,
                       other.recovery_recipient),
        PublicIdentity(me.installation_id, me.role, None, me.name, me.signing_key, me.age_recipient, None),
    ]
    prints = {v.fingerprint for v in variants} | {me.fingerprint}
    assert len(prints) == len(variants) + 1


def test_normalise_fingerprint() -> None:
    code = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    spaced = " ".join(code[i:i + 4] for i in range(0, 32, 4))
    assert format_fingerprint(code) == spaced
    for typed in (code, spaced, spaced.lower(), spaced.replace(" ", "-"), spaced.replace(" ", " - ").lower()):
        assert normalise_fingerprint(typed) == code
    # Base32 has no 0, 1 or 8: typed (or heard) they are O, I and B.
    assert normalise_fingerprint(code.replace("O", "0").replace("I", "1").replace("B", "8")) == code
    hex64 = "0123456789abcdef" * 4  # srcdesk's old form is still understood
    assert normalise_fingerprint(" ".join(hex64[i:i + 4] for i in range(0, 64, 4))) == hex64.upper()
    for bad in ("", code[:-1], code + "A"):
        with pytest.raises(ValueError, match="8 groups of 4"):
            normalise_fingerprint(bad)
    with pytest.raises(ValueError, match="only letters A to Z and digits 2 to 7; check group 1 of 8"):
        normalise_fingerprint("Ｆ" * 32)
    with pytest.raises(ValueError, match="check group 3 of 8"):
        normalise_fingerprint(code[:9] + "9" + code[10:])
    assert is_fingerprint(spaced) and not is_fingerprint(code) and not is_fingerprint(spaced.lower())
    assert is_fingerprint(" ".join(["ABCD"] * 16))  # the old form, in trust lists from older PCs


def test_a_mismatch_says_which_group_to_read_again() -> None:
    code = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    assert differing_groups(code, code) == []
    assert differing_groups(code[:5] + "Z" + code[6:], code) == [2]
    assert describe_mismatch([2]) == "group 2 of 8 differs: have group 2 read out again"
    assert describe_mismatch([2, 7]) == "groups 2 and 7 of 8 differ: have groups 2 and 7 read out again"
    assert "6 of its 8 groups differ" in describe_mismatch([1, 2, 3, 4, 5, 6])


# --------------------------------------------------------------------------- enrolment cards


def test_card_round_trip(ctx: Context, office: Context, tmp_path: Path) -> None:
    for c in (ctx, office):
        data = card_of(c, tmp_path, f"{c.installation.role}.card")
        assert read_card(data) == trust.my_identity(c)
        body, sig = split_card(data)
        assert body["format"] == "srcdesk-enrolment/1"
        assert body["fingerprint"] == trust.my_identity(c).fingerprint
        assert body["establishment"] == c.installation.establishment_code
        assert sig.decode().splitlines()[2] == f"trusted comment: srcdesk-enrolment/1 installation={c.installation.id}"
        assert data.count(b"\n") == 5
    with pytest.raises(KeysError, match="already exists"):
        trust.export_card(ctx, tmp_path / "establishment.card")


def _tampered_values(key: str, value: object) -> list[object]:
    if key == "fingerprint":
        return [value.replace(value[0], "0" if value[0] != "0" else "1", 1), value.replace(" ", ""), None]
    if key == "minisign_public_key":
        return [SigningKey.generate().public().line(), value[:-2] + "==", 7]
    if key in ("age_recipient", "recovery_recipient"):
        return [str(x25519.Identity.generate().to_public()), (value or "age1x") + "q", "AGE1" + (value or "")[4:], 1]
    if key == "installation_id":
        return [value[:-1] + ("0" if value[-1] != "0" else "1"), value.upper(), None]
    if key == "created":
        return ["2025-02-30T00:00:00Z", "2025-01-01 00:00:00", 0, None]
    if key == "establishment":
        return ["GLE", None, "per", 5]
    if key == "role":
        return ["office" if value == "establishment" else "establishment", "admin", None]
    if key == "format":
        return ["srcdesk-enrolment/2", None]
    return [value + "x", "", 3, None]  # name


@pytest.mark.parametrize("which", ["establishment", "office"])
def test_every_tampered_field_is_refused(ctx: Context, office: Context, tmp_path: Path, which: str) -> None:
    data = card_of(ctx if which == "establishment" else office, tmp_path)
    body, sig = split_card(data)
    assert len(body) == 10
    for key, value in body.items():
        for new in _tampered_values(key, value):
            if new == value:
                continue
            with pytest.raises(BundleRefused):
                read_card(join_card({**body, key: new}, sig))
    # missing and extra fields
    for key in body:
        with pytest.raises(BundleRefused):
            read_card(join_card({k: v for k, v in body.items() if k != key}, sig))
    with pytest.raises(BundleRefused, match="fields are wrong"):
        read_card(join_card({**body, "comment": "hi"}, sig))


def test_broken_cards_are_refused_with_reasons(ctx: Context, tmp_path: Path) -> None:
    data = card_of(ctx, tmp_path)
    line, _, sig = data.partition(b"\n")
    sig_lines = sig.split(b"\n")
    body = json.loads(line)
    other_key = SigningKey.generate()
    cases = {
        b"": "empty",
        b"x" * (16 * 1024 + 1): "larger than",
        line: "no signature",
        data.replace(b"\n", b"\r\n"): "Windows line endings",
        b"\xef\xbb\xbf" + data: "byte-order mark",
        line[:-1] + b',"format":"srcdesk-enrolment/1"}\n' + sig: "duplicate key",
        json.dumps(body, indent=1).replace("\n", "").encode() + b"\n" + sig: "canonical",
        b"[1]\n" + sig: "not a JSON object",
        b"\xff" + data[1:]: "UTF-8",
        line + b"\n": "signature file",
        line + b"\n" + sig + b"extra\n": "lines",
        line + b"\n" + b"\n".join([sig_lines[0], sig_lines[1], b"trusted comment: something else",
                                   sig_lines[3], b""]): "trusted comment",
        line + b"\n" + other_key.sign_bytes(line, f"srcdesk-enrolment/1 installation={body['installation_id']}")
        .encode(): "different key",
        line + b"\n" + trust.local_identity(ctx).signing_key.sign_bytes(line, "srcdesk-enrolment/1").encode():
            "trusted comment",
    }
    for bad, reason in cases.items():
        with pytest.raises(BundleRefused, match=reason):
            read_card(bad)
    # a legacy (Ed) signature is refused even though it is otherwise well formed
    legacy = bytearray(base64.b64decode(sig_lines[1]))
    legacy[:2] = b"Ed"
    bad_sig = b"\n".join([sig_lines[0], base64.b64encode(bytes(legacy)), *sig_lines[2:]])
    with pytest.raises(BundleRefused, match="legacy"):
        read_card(line + b"\n" + bad_sig)


def test_card_fuzz_only_ever_refuses(ctx: Context, office: Context, tmp_path: Path) -> None:
    """Random damage is refused with BundleRefused, or (only in the unsigned untrusted comment)
    changes nothing: the card still states exactly the original identity."""
    cards = {card_of(ctx, tmp_path, "a"): trust.my_identity(ctx), card_of(office, tmp_path, "b"): trust.my_identity(office)}
    rng = random.Random(4)
    refused = 0
    for _ in range(400):
        original = rng.choice(list(cards))
        data = bytearray(original)
        for _ in range(rng.randint(1, 4)):
            op = rng.random()
            at = rng.randrange(len(data))
            if op < 0.5:
                data[at] = rng.randrange(256)
            elif op < 0.75:
                del data[at:at + rng.randint(1, 20)]
            else:
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        try:
            identity = read_card(bytes(data))
        except BundleRefused:
            refused += 1
            continue
        assert identity == cards[original], bytes(data)
    assert refused > 300


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=600))
def test_arbitrary_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(BundleRefused):
        read_card(data)


# --------------------------------------------------------------------------- enrolment


def test_enrol_both_ways(enrolled: tuple[Context, Context]) -> None:
    per, office = enrolled
    [seen_by_office] = trust.trusted_installations(office)
    assert seen_by_office.installation_id == per.installation.id
    assert seen_by_office.status == "enrolled" and seen_by_office.establishment_code == "PER"
    assert seen_by_office.public == trust.my_identity(per)
    assert seen_by_office.fingerprint == trust.my_identity(per).fingerprint
    assert seen_by_office.enrolled_by == office.user.id and seen_by_office.last_received_seq == 0
    with office.read() as s:
        assert s.get(Installation, per.installation.id).establishment_id == per.installation.establishment_id
    [seen_by_per] = trust.trusted_installations(per)
    assert seen_by_per.role == "office" and seen_by_per.public == trust.my_identity(office)
    assert seen_by_per.recovery_recipient == trust.my_identity(office).recovery_recipient


def test_typed_fingerprint_must_match(ctx: Context, office: Context, tmp_path: Path) -> None:
    data = card_of(ctx, tmp_path)
    before = table_dump(office)
    with pytest.raises(BundleRefused, match="does not match this card .*do not enrol it"):
        trust.enrol(office, data, trust.my_identity(office).fingerprint)
    with pytest.raises(ValidationError, match="8 groups of 4"):
        trust.enrol(office, data, "1234")
    fp = trust.my_identity(ctx).fingerprint
    groups = fp.split()
    misheard = " ".join([*groups[:4], groups[4][::-1] if groups[4] != groups[4][::-1] else "ZZZZ", *groups[5:]])
    with pytest.raises(BundleRefused, match=r"\(group 5 of 8 differs: have group 5 read out again\)"):
        trust.enrol(office, data, misheard)
    assert table_dump(office) == before
    # spaces, dashes and case don't matter
    assert trust.enrol(office, data, fp.lower().replace(" ", "-")).installation_id == ctx.installation.id


def test_the_old_hex_fingerprint_and_cards_carrying_it_still_enrol(ctx: Context, office: Context, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    me = trust.my_identity(ctx)
    with monkeypatch.context() as m:  # a card written by an older srcdesk: 16 groups of hex on it
        m.setattr(PublicIdentity, "fingerprint", property(lambda self: self.old_fingerprint))
        old_card = card_of(ctx, tmp_path)
    assert split_card(old_card)[0]["fingerprint"] == me.old_fingerprint
    assert trust.enrol(office, old_card, me.old_fingerprint).installation_id == me.installation_id
    assert trust.enrol(office, old_card, me.fingerprint).installation_id == me.installation_id
    shown = [t for t in trust.trusted_installations(office) if t.installation_id == me.installation_id]
    assert shown[0].fingerprint == me.fingerprint  # shown in today's form


def test_forged_card_with_attackers_keys_fails_the_fingerprint(ctx: Context, office: Context) -> None:
    genuine = trust.my_identity(ctx)
    forged = card_bytes(fake_identity(genuine))
    assert read_card(forged).installation_id == genuine.installation_id  # well formed and self-signed ...
    with pytest.raises(BundleRefused, match="does not match this card"):  # ... but not the PC read out by phone
        trust.enrol(office, forged, genuine.fingerprint)


def test_own_card_is_refused(ctx: Context, tmp_path: Path) -> None:
    data = card_of(ctx, tmp_path)
    with pytest.raises(BundleRefused, match="own enrolment card"):
        trust.enrol(ctx, data, trust.my_identity(ctx).fingerprint)


def test_reenrolling_the_same_card_changes_nothing(enrolled: tuple[Context, Context], tmp_path: Path) -> None:
    per, office = enrolled
    before = table_dump(office)
    again = trust.enrol(office, card_of(per, tmp_path, "again"), trust.my_identity(per).fingerprint)
    assert again.status == "enrolled"
    assert table_dump(office) == before


def test_same_installation_with_different_keys_is_refused(enrolled: tuple[Context, Context]) -> None:
    per, office = enrolled
    impostor = fake_identity(trust.my_identity(per))
    before = table_dump(office)
    with pytest.raises(BundleRefused, match="already enrolled with different keys"):
        trust.enrol(office, card_bytes(impostor), impostor.public.fingerprint)
    assert table_dump(office) == before


def test_reused_keys_under_another_id_are_refused(enrolled: tuple[Context, Context], tmp_path: Path) -> None:
    per, office = enrolled
    local = trust.local_identity(per)
    twin_public = PublicIdentity("01900000-0000-7000-8000-000000000001", "establishment", "PER", "Twin",
                                 local.public.signing_key, local.public.age_recipient, None)
    twin = LocalIdentity(local.signing_key, local.age_identity, twin_public, Path("unused"))
    with pytest.raises(BundleRefused, match="already belong to installation"):
        trust.enrol(office, card_bytes(twin), twin_public.fingerprint)


def test_revoked_installation_can_never_be_enrolled_again(enrolled: tuple[Context, Context],
                                                          tmp_path: Path) -> None:
    per, office = enrolled
    trust.revoke(office, per.installation.id, "PC stolen")
    with pytest.raises(BundleRefused, match="revoked .* never be enrolled again"):
        trust.enrol(office, card_of(per, tmp_path, "again"), trust.my_identity(per).fingerprint)
    fresh = fake_identity(trust.my_identity(per))  # even with new keys
    with pytest.raises(BundleRefused, match="never be enrolled again"):
        trust.enrol(office, card_bytes(fresh), fresh.public.fingerprint)


def test_role_rules(ctx: Context, office: Context, tmp_path: Path) -> None:
    gle = make_establishment(tmp_path / "gle", "GLE")
    try:
        gle_card, gle_fp = card_of(gle, tmp_path, "gle.card"), trust.my_identity(gle).fingerprint
        with pytest.raises(BundleRefused, match="only enrols the SRC office"):
            trust.enrol(ctx, gle_card, gle_fp)
        # the office enrols establishments it knows, not other offices or unknown codes
        other_office = fake_identity(trust.my_identity(office),
                                     installation_id="01900000-0000-7000-8000-00000000000f")
        with pytest.raises(BundleRefused, match="only enrols establishments"):
            trust.enrol(office, card_bytes(other_office), other_office.public.fingerprint)
        unknown = fake_identity(trust.my_identity(gle), installation_id="01900000-0000-7000-8000-0000000000aa",
                                establishment_code="ZZZ")
        with pytest.raises(BundleRefused, match="'ZZZ', which this PC does not know"):
            trust.enrol(office, card_bytes(unknown), unknown.public.fingerprint)
        assert trust.enrol(office, gle_card, gle_fp).establishment_code == "GLE"
        # an establishment trusts one office at a time
        office_card, office_fp = card_of(office, tmp_path, "office.card"), trust.my_identity(office).fingerprint
        trust.enrol(ctx, office_card, office_fp)
        second = fake_identity(trust.my_identity(office), installation_id="01900000-0000-7000-8000-0000000000bb")
        with pytest.raises(BundleRefused, match="already trusts the SRC office"):
            trust.enrol(ctx, card_bytes(second), second.public.fingerprint)
        trust.revoke(ctx, office.installation.id, "office PC replaced")
        assert trust.enrol(ctx, card_bytes(second), second.public.fingerprint).status == "enrolled"
    finally:
        gle.db.close()


def test_permissions(ctx: Context, recorder: Context, office: Context, tmp_path: Path) -> None:
    card = card_of(office, tmp_path)
    fp = trust.my_identity(office).fingerprint
    with pytest.raises(PermissionDenied):
        trust.enrol(recorder, card, fp)
    with pytest.raises(PermissionDenied):
        trust.export_card(recorder, tmp_path / "r.card")
    trust.enrol(ctx, card, fp)
    with pytest.raises(PermissionDenied):
        trust.revoke(recorder, office.installation.id, "no")
    assert trust.my_identity(recorder) == trust.my_identity(ctx)
    assert [t.installation_id for t in trust.trusted_installations(recorder)] == [office.installation.id]
    with pytest.raises(PermissionDenied):
        trust.my_identity(Context(ctx.db, ctx.installation, None))


# --------------------------------------------------------------------------- revocation


def test_revoke_records_the_last_received_seq(enrolled: tuple[Context, Context]) -> None:
    per, office = enrolled
    add_received(office, per.installation.id, 1, 2, 5)
    add_received(office, "01900000-0000-7000-8000-0000000000cc", 9)  # another origin doesn't count
    assert trust.trusted_installations(office)[0].last_received_seq == 5
    t = trust.revoke(office, per.installation.id, "  PC stolen  ")
    assert t.status == "revoked" and t.is_revoked
    assert t.revoked_after_seq == 5 and t.revoked_reason == "PC stolen"
    assert t.revoked_by == office.installation.id
    assert abs(t.revoked_at - dt.datetime.now(dt.UTC).replace(tzinfo=None)) < dt.timedelta(minutes=1)
    assert t.revoked_at.tzinfo is None
    with pytest.raises(ValidationError, match="already revoked"):
        trust.revoke(office, per.installation.id, "again")


def test_revoke_without_bundles_is_seq_zero(enrolled: tuple[Context, Context]) -> None:
    per, office = enrolled
    assert trust.revoke(per, office.installation.id, "office PC replaced").revoked_after_seq == 0


def test_revoke_refusals(enrolled: tuple[Context, Context]) -> None:
    per, office = enrolled
    with pytest.raises(ValidationError, match="own keys"):
        trust.revoke(office, office.installation.id, "oops")
    with pytest.raises(NotFound):
        trust.revoke(office, "01900000-0000-7000-8000-0000000000dd", "who?")
    with pytest.raises(ValidationError, match="reason"):
        trust.revoke(office, per.installation.id, "   ")
    assert trust.trusted_installations(office)[0].status == "enrolled"


def test_revocations_travel_between_installations(enrolled: tuple[Context, Context], tmp_path: Path) -> None:
    per, office = enrolled
    gle = make_establishment(tmp_path / "gle", "GLE")
    try:
        trust.enrol(gle, card_of(office, tmp_path, "office2.card"), trust.my_identity(office).fingerprint)
        trust.enrol(office, card_of(gle, tmp_path, "gle.card"), trust.my_identity(gle).fingerprint)
        add_received(office, per.installation.id, 1, 2, 3)
        trust.revoke(office, per.installation.id, "PC stolen")
        with office.read() as s:
            records = trust.revocations_for_bundle(s)
        [record] = records
        assert set(record) == {"installation_id", "role", "name", "fingerprint", "revoked_at",
                               "revoked_after_seq", "reason", "revoked_by"}
        assert record["revoked_after_seq"] == 3 and record["revoked_by"] == office.installation.id
        # through a bundle: canonical JSON, read back strictly
        received = strictjson.loads(canonical_json({"revocations": records}), what="test")["revocations"]
        with gle.db.session(gle.actor) as s:
            assert trust.apply_revocations(s, received, from_installation=office.installation.id) == 1
        with gle.db.session(gle.actor) as s:
            assert trust.apply_revocations(s, received, from_installation=office.installation.id) == 0
        revoked = {t.installation_id: t for t in trust.trusted_installations(gle)}[per.installation.id]
        assert revoked.status == "revoked" and revoked.revoked_after_seq == 3
        assert revoked.revoked_reason == "PC stolen" and revoked.fingerprint == trust.my_identity(per).fingerprint
        assert revoked.signing_key is None and revoked.enrolled_at is None
        with pytest.raises(NotFound):
            revoked.public  # noqa: B018
        # Glenochil can now never enrol Perth, whatever card it is shown
        with pytest.raises(BundleRefused, match="never be enrolled again"):
            trust.enrol(gle, card_of(per, tmp_path, "per.card2"), trust.my_identity(per).fingerprint)
        # revocations of the receiver itself or of the sender are not for a bundle to decide
        own = {**record, "installation_id": gle.installation.id}
        sender = {**record, "installation_id": office.installation.id}
        with gle.db.session(gle.actor) as s:
            assert trust.apply_revocations(s, [own, sender], from_installation=office.installation.id) == 0
        assert self_row(gle).revoked_at is None
        # Perth learns nothing new about itself, but the office's list round-trips as is
        with gle.db.session(gle.actor) as s:
            assert trust.revocations_for_bundle(s) == records
    finally:
        gle.db.close()


def test_apply_revocations_marks_a_known_installation(enrolled: tuple[Context, Context], tmp_path: Path) -> None:
    per, office = enrolled
    gle = make_establishment(tmp_path / "gle", "GLE")
    try:
        trust.enrol(office, card_of(gle, tmp_path, "gle.card"), trust.my_identity(gle).fingerprint)
        # the office learns (e.g. from another office bundle) that Glenochil was revoked
        record = {"installation_id": gle.installation.id, "role": "establishment", "name": "HMP Glenochil",
                  "fingerprint": trust.my_identity(gle).fingerprint, "revoked_at": "2025-03-01T10:00:00",
                  "revoked_after_seq": 7, "reason": "", "revoked_by": per.installation.id}
        with office.db.session(office.actor) as s:
            assert trust.apply_revocations(s, [record], from_installation=per.installation.id) == 1
        t = {t.installation_id: t for t in trust.trusted_installations(office)}[gle.installation.id]
        assert t.revoked_at == dt.datetime(2025, 3, 1, 10) and t.revoked_after_seq == 7
        assert t.signing_key == trust.my_identity(gle).signing_key  # keys kept, trust withdrawn
        assert t.revoked_reason and t.revoked_by == per.installation.id
    finally:
        gle.db.close()


def _good_record() -> dict:
    return {"installation_id": "01900000-0000-7000-8000-0000000000ee", "role": "establishment",
            "name": "HMP Nowhere", "fingerprint": " ".join(["ABCD"] * 16), "revoked_at": "2025-01-02T03:04:05.123456",
            "revoked_after_seq": 0, "reason": "lost", "revoked_by": "01900000-0000-7000-8000-0000000000ff"}


BAD_REVOCATIONS = [
    "not a list",
    [1],
    [{**_good_record(), "extra": 1}],
    [{k: v for k, v in _good_record().items() if k != "reason"}],
    [{**_good_record(), "installation_id": "../../etc"}],
    [{**_good_record(), "installation_id": None}],
    [{**_good_record(), "revoked_by": 5}],
    [{**_good_record(), "role": "king"}],
    [{**_good_record(), "name": ""}],
    [{**_good_record(), "name": "x" * 121}],
    [{**_good_record(), "name": "a\nb"}],
    [{**_good_record(), "reason": "r" * 1001}],
    [{**_good_record(), "reason": None}],
    [{**_good_record(), "fingerprint": "ABCD"}],
    [{**_good_record(), "fingerprint": "abcd" * 16}],
    [{**_good_record(), "revoked_after_seq": -1}],
    [{**_good_record(), "revoked_after_seq": True}],
    [{**_good_record(), "revoked_after_seq": 1.0}],
    [{**_good_record(), "revoked_after_seq": 2**80}],
    [{**_good_record(), "revoked_at": "yesterday"}],
    [{**_good_record(), "revoked_at": "2025-02-30T00:00:00"}],
    [{**_good_record(), "revoked_at": "2025-01-01T00:00:00+05:00"}],
    [_good_record(), _good_record()],
    [_good_record()] * 10_001,
    [_good_record(), {**_good_record(), "installation_id": "01900000-0000-7000-8000-000000000abc", "role": 1}],
]


def test_bad_revocations_are_refused_and_change_nothing(ctx: Context) -> None:
    before = table_dump(ctx)
    for bad in BAD_REVOCATIONS:
        with pytest.raises(BundleRefused), ctx.db.session(ctx.actor) as s:
            trust.apply_revocations(s, bad, from_installation="01900000-0000-7000-8000-0000000000ff")
        assert table_dump(ctx) == before, bad


def test_good_revocation_record_is_accepted(ctx: Context) -> None:
    with ctx.db.session(ctx.actor) as s:
        assert trust.apply_revocations(s, [_good_record()], from_installation=ctx.installation.id) == 1
    [t] = trust.trusted_installations(ctx)
    assert t.status == "revoked" and t.name == "HMP Nowhere"


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SRCDESK_PASSWORD", PASSWORD)
    monkeypatch.delenv("SRCDESK_USER", raising=False)
    monkeypatch.delenv("SRCDESK_HOME", raising=False)


@pytest.mark.usefixtures("cli_env")
def test_cli_keys_show_json_has_exactly_the_keys(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    per, off = str(tmp_path / "per"), str(tmp_path / "off")
    assert run_cli(capsys, "--data-dir", per, "init", "--establishment", "PER", "--admin", "ann")[0] == 0
    code, out, err = run_cli(capsys, "--data-dir", off, "init", "--office", "--admin", "phr")
    assert code == 0, err
    assert "Anyone with this key can read every bundle sent to the office" in out
    assert out.count("AGE-SECRET-KEY-1") == 1

    code, out, err = run_cli(capsys, "--data-dir", per, "--user", "ann", "keys", "show", "--format", "json")
    assert code == 0, err
    shown = json.loads(out)
    assert set(shown) == {"installation_id", "role", "establishment", "minisign_public_key", "age_recipient",
                          "fingerprint"}
    assert shown["role"] == "establishment" and shown["establishment"] == "PER"
    row = PublicIdentity(shown["installation_id"], "establishment", "PER", "HMP Perth",
                         shown["minisign_public_key"], shown["age_recipient"], None)
    assert shown["fingerprint"] == row.fingerprint

    code, out, _ = run_cli(capsys, "--data-dir", off, "--user", "phr", "keys", "show", "--format", "json")
    shown = json.loads(out)
    assert set(shown) == {"installation_id", "role", "establishment", "minisign_public_key", "age_recipient",
                          "fingerprint", "recovery_recipient"}
    assert shown["establishment"] is None and shown["recovery_recipient"].startswith("age1")

    code, out, _ = run_cli(capsys, "--data-dir", off, "--user", "phr", "keys", "show")
    assert code == 0 and shown["fingerprint"] in out and shown["minisign_public_key"] in out
    assert "AGE-SECRET-KEY" not in out


@pytest.mark.usefixtures("cli_env")
def test_cli_export_enrol_list_revoke(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    per, off = str(tmp_path / "per"), str(tmp_path / "off")
    run_cli(capsys, "--data-dir", per, "init", "--establishment", "PER", "--admin", "ann")
    run_cli(capsys, "--data-dir", off, "init", "--office", "--admin", "phr",
            "--recovery-key-out", str(tmp_path / "rec.txt"))
    P, OFF = ("--data-dir", per, "--user", "ann"), ("--data-dir", off, "--user", "phr")  # noqa: N806
    card = tmp_path / "per.card"
    code, out, err = run_cli(capsys, *P, "keys", "export", "--to", str(card))
    assert code == 0, err
    fp = json.loads(run_cli(capsys, *P, "keys", "show", "--format", "json")[1])["fingerprint"]
    assert fp in out
    code, _, err = run_cli(capsys, *P, "keys", "export", "--to", str(card))
    assert code == 1 and "already exists" in err

    code, _, err = run_cli(capsys, *OFF, "keys", "enrol", str(card), "--fingerprint", "A" * 32)
    assert code == 1 and "does not match this card" in err and "8 groups differ" in err
    code, _, err = run_cli(capsys, *OFF, "keys", "enrol", str(card), "--fingerprint", fp[:-4] + "ZZZZ")
    assert code == 1 and "group 8 of 8 differs" in err and err.count("\n") == 1
    code, out, err = run_cli(capsys, *OFF, "keys", "enrol", str(card), "--fingerprint", fp)
    assert code == 0 and out.startswith("Enrolled: HMP Perth (PER)"), err
    code, out, _ = run_cli(capsys, *OFF, "keys", "enrol", str(card), "--fingerprint", fp.replace(" ", ""))
    assert code == 0 and out.startswith("Already enrolled")
    code, _, err = run_cli(capsys, *OFF, "keys", "enrol", str(tmp_path / "missing.card"), "--fingerprint", fp)
    assert code == 1 and "missing.card does not exist" in err
    big = tmp_path / "big.card"
    big.write_bytes(b"{" * (1 << 20))
    code, _, err = run_cli(capsys, *OFF, "keys", "enrol", str(big), "--fingerprint", fp)
    assert code == 1 and "larger than any enrolment card (at most 16 KB)" in err

    per_id = read_card(card.read_bytes()).installation_id
    code, out, _ = run_cli(capsys, *OFF, "keys", "list")
    assert code == 0 and per_id in out and "enrolled" in out and fp in out
    code, out, err = run_cli(capsys, *OFF, "keys", "revoke", per_id)
    assert code == 0 and "Revoked HMP Perth" in out, err
    code, out, _ = run_cli(capsys, *OFF, "keys", "list")
    assert "revoked" in out
    with Database.open(Path(off)) as db, db.read() as s:
        assert s.get(Installation, per_id).revoked_reason == "revoked by phr"
    code, _, err = run_cli(capsys, *OFF, "keys", "revoke", per_id)
    assert code == 1 and "already revoked" in err

    code, out, _ = run_cli(capsys, *P, "keys", "list")
    assert code == 0 and "does not trust any other installation" in out


@pytest.mark.usefixtures("cli_env")
def test_cli_keys_makes_missing_identity_for_old_installation(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    off = tmp_path / "off"
    run_cli(capsys, "--data-dir", str(off), "init", "--office", "--admin", "phr")
    c = open_installation(off)
    try:
        _forget_identity(c)
    finally:
        c.db.close()
    code, out, err = run_cli(capsys, "--data-dir", str(off), "--user", "phr", "keys", "show")
    assert code == 0, err
    assert "OFFICE RECOVERY KEY" in out and "Fingerprint:" in out
    code, out, _ = run_cli(capsys, "--data-dir", str(off), "--user", "phr", "keys", "show")
    assert "RECOVERY KEY" not in out


# --------------------------------------------------------------------------- stock tools


@pytest.mark.skipif(AGE is None, reason="stock age not installed")
def test_stock_age_decrypts_with_the_installation_key(ctx: Context, data_dir: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_bytes(b"health information\n" * 100)
    enc = tmp_path / "plain.age"
    subprocess.run([AGE, "-r", trust.my_identity(ctx).age_recipient, "-o", str(enc), str(plain)], check=True)
    out = subprocess.run([AGE, "-d", "-i", str(keys_dir(data_dir) / AGE_KEY_FILE), str(enc)],
                         check=True, capture_output=True)
    assert out.stdout == plain.read_bytes()
    # and pyrage with the loaded identity agrees
    from pyrage import decrypt

    assert decrypt(enc.read_bytes(), [trust.local_identity(ctx).age_identity]) == plain.read_bytes()


@pytest.mark.skipif(MINISIGN is None, reason="stock minisign not installed")
def test_stock_minisign_verifies_the_card(ctx: Context, tmp_path: Path) -> None:
    data = card_of(ctx, tmp_path)
    line, _, sig = data.partition(b"\n")
    (tmp_path / "card-line").write_bytes(line)
    (tmp_path / "card-line.minisig").write_bytes(sig)
    key = trust.my_identity(ctx).signing_key
    result = subprocess.run([MINISIGN, "-Vm", str(tmp_path / "card-line"), "-P", key], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"srcdesk-enrolment/1 installation={ctx.installation.id}" in result.stdout
    (tmp_path / "card-line").write_bytes(line.replace(b"HMP Perth", b"HMP Perth "))
    bad = subprocess.run([MINISIGN, "-Vm", str(tmp_path / "card-line"), "-P", key], capture_output=True)
    assert bad.returncode != 0


@pytest.mark.skipif(AGE is None or not POSIX, reason="stock age and POSIX permissions")
@pytest.mark.usefixtures("cli_env")
def test_cli_init_office_recovery_key_file_works_with_age(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    off, rec = tmp_path / "off", tmp_path / "recovery.key"
    code, out, err = run_cli(capsys, "--data-dir", str(off), "init", "--office", "--admin", "phr",
                             "--recovery-key-out", str(rec))
    assert code == 0, err
    assert "AGE-SECRET-KEY" not in out and str(rec) in out and "Anyone with this key" in out
    assert stat.S_IMODE(rec.stat().st_mode) == 0o600
    shown = json.loads(run_cli(capsys, "--data-dir", str(off), "--user", "phr", "keys", "show", "--format",
                               "json")[1])
    (tmp_path / "m.txt").write_text("for the office\n")
    subprocess.run([AGE, "-r", shown["recovery_recipient"], "-o", str(tmp_path / "m.age"), str(tmp_path / "m.txt")],
                   check=True)
    result = subprocess.run([AGE, "-d", "-i", str(rec), str(tmp_path / "m.age")], capture_output=True, check=True)
    assert result.stdout == b"for the office\n"
    # the office's own key can't open what was encrypted only to the recovery key, and vice versa
    denied = subprocess.run([AGE, "-d", "-i", str(keys_dir(off) / AGE_KEY_FILE), str(tmp_path / "m.age")],
                            capture_output=True)
    assert denied.returncode != 0
    # refusing an establishment --recovery-key-out
    code, _, err = run_cli(capsys, "--data-dir", str(tmp_path / "p"), "init", "--establishment", "PER",
                           "--admin", "ann", "--recovery-key-out", str(tmp_path / "x.key"))
    assert code == 1 and "Only the office" in err and not (tmp_path / "p" / "keys").exists()


def test_module_has_no_qt() -> None:
    code = ("import sys, srcdesk.services.trust, srcdesk.sync.identity; "
            "sys.exit(any(m.startswith('PySide6') for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
