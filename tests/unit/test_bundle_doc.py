"""docs/bundle-format.md, followed to the letter with the stock tools on bundles srcdesk exported.

The commands the document gives are run as written (their text must appear in the document):
``minisign`` and ``age`` are the real programs; where the document says ``unzip``, ``sha256sum``,
``head``/``tail`` or ``jq``, Python's zipfile, hashlib and json do the same. In CI (``CI`` set) a
missing ``minisign`` or ``age`` fails the test; elsewhere it is skipped.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from srcdesk.db import head_revision
from srcdesk.services import certificate_verify, people, sync, trust
from srcdesk.sync import bundle as fmt
from srcdesk.sync import identity
from srcdesk.sync.hlc import physical_ms

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "bundle-format.md"
DOC = DOC_PATH.read_text(encoding="utf-8")

# The command lines of the document, exactly as it prints them.
OUTER_VERIFY = 'minisign -Vm payload.age -P "$KEY"'
OUTER_VERIFY_PREHASHED = 'minisign -VHm payload.age -P "$KEY"'
DECRYPT = 'age -d -i "$IDENTITY" payload.age > payload.zip'
RECOVERY_DECRYPT = "age -d -i recovery.key payload.age > payload.zip"
MANIFEST_VERIFY = 'minisign -Vm manifest.json -P "$KEY"'
CARD_FIRST_LINE = "head -n 1 PER.card | tr -d '\\n' > card.json"
CARD_SIGNATURE = "tail -n +2 PER.card > card.json.minisig"
CARD_VERIFY = 'minisign -Vm card.json -P "$(jq -r .minisign_public_key card.json)"'
NO_RECIPIENT = "age: error: no identity matched any of the recipients"

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_FILE_NAME = re.compile(r"^(?:(?P<from>[A-Z0-9]{2,8})-to-office|office-to-(?P<to>[A-Z0-9]{2,8}))-(?P<short>[0-9a-f]{8})"
                        r"-(?P<seq>[0-9]{8})\.srcbundle$")
_COMMENT = re.compile(r"^srcdesk-bundle/1 origin=(?P<origin>\S+) seq=(?P<seq>[0-9]+) bundle=(?P<bundle>\S+)$")


# -- the document ----------------------------------------------------------------------------


def doc_table(marker: str) -> list[str]:
    """The back-quoted first cells of the table after ``<!-- doc-test: marker -->``."""
    lines = DOC.split(f"<!-- doc-test: {marker} -->\n", 1)[1].splitlines()
    rows = []
    for line in lines[2:]:  # past the header and the |---| line
        if not line.startswith("|"):
            break
        rows.append(re.match(r"^\| `([^`]+)` \|", line)[1])
    assert rows, f"no table after the {marker} marker"
    return rows


def doc_code_after(phrase: str) -> str:
    """The first fenced code block after ``phrase``."""
    rest = DOC.split(phrase, 1)[1]
    return rest.split("```\n", 2)[1]


def test_the_document_names_what_the_code_writes() -> None:
    assert doc_table("outer-entries") == [fmt.PAYLOAD, fmt.PAYLOAD_SIG]
    assert set(doc_table("inner-entries")) == {fmt.MANIFEST, fmt.MANIFEST_SIG, *fmt.DATA_FILES, *fmt.OPTIONAL_FILES}
    assert set(doc_table("manifest-keys")) == fmt._MANIFEST_KEYS
    assert set(doc_table("change-keys")) == fmt._RECORD_KEYS
    assert set(doc_table("revocation-keys")) == trust._REVOCATION_KEYS
    assert set(doc_table("certificate-issuer-keys")) == certificate_verify._ISSUER_KEYS
    assert set(doc_table("certificate-status-keys")) == certificate_verify._STATUS_KEYS
    card = DOC.split("**An enrolment card**", 1)[1].split("To check a card", 1)[0]
    assert set(re.findall(r"`([a-z_]+)`", card)) >= identity._CARD_KEYS
    assert f"`{identity.CARD_FORMAT}`" in DOC and identity.FINGERPRINT_DOMAIN in DOC
    assert fmt.trusted_comment("<origin installation id>", 0, "<bundle id>").replace(
        "seq=0", "seq=<n>") in DOC
    assert f"more than **{sync.MAX_SEQ_JUMP:,}**" in DOC
    assert fmt.FUTURE_SLACK == dt.timedelta(days=1) and "more than **one day** ahead" in DOC
    for number in (fmt.MAX_CHANGES, fmt.MAX_REVOCATIONS, fmt.MAX_TEXT):
        assert f"{number:,}" in DOC
    assert f"at most {fmt.MAX_BASE_VERSIONS} versions" in DOC
    assert fmt.MAX_BUNDLE_BYTES == fmt.MAX_PAYLOAD_BYTES == 1 << 30 and "larger than 1 GiB" in DOC
    for line in (OUTER_VERIFY, OUTER_VERIFY_PREHASHED, DECRYPT, RECOVERY_DECRYPT, MANIFEST_VERIFY,
                 CARD_FIRST_LINE, CARD_SIGNATURE, CARD_VERIFY, NO_RECIPIENT):
        assert line in DOC, f"the document no longer says {line!r}"


# -- stock tools -----------------------------------------------------------------------------


def stock_tool(name: str) -> str:
    path = f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"stock {name} is not installed; CI must install it (apt-get install {name})")
        pytest.skip(f"stock {name} is not installed")
    return path


def run_as_documented(line: str, cwd: Path, values: dict[str, str]) -> subprocess.CompletedProcess:
    """Run one command line of the document: ``$WORD`` tokens take ``values``, ``> FILE`` writes
    standard output to FILE in ``cwd``."""
    assert line in DOC, f"the document does not say {line!r}"
    words = shlex.split(line)
    target = None
    if ">" in words:
        at = words.index(">")
        words, target = words[:at], cwd / words[at + 1]
    words = [values[w] if w.startswith("$") else w for w in words]
    words[0] = stock_tool(words[0])
    if target is None:
        return subprocess.run(words, cwd=cwd, capture_output=True, text=True, timeout=120)
    with target.open("wb") as out:
        done = subprocess.run(words, cwd=cwd, stdout=out, stderr=subprocess.PIPE, timeout=120)
    return subprocess.CompletedProcess(done.args, done.returncode, "", done.stderr.decode(errors="replace"))


def verified_comment(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, done.stderr
    assert "Signature and comment signature verified" in done.stdout
    found = re.findall(r"^Trusted comment: (.*)$", done.stdout, re.MULTILINE)
    assert len(found) == 1, done.stdout
    return found[0]


def unzip(archive: Path, dest: Path, documented: list[str]) -> list[zipfile.ZipInfo]:
    """What ``unzip`` does in the document: list (exactly the documented entries), then extract."""
    with zipfile.ZipFile(archive) as z:
        infos = z.infolist()
        assert sorted(i.filename for i in infos) == sorted(documented)
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
        z.extractall(dest)
    return infos


# -- following the document on one bundle -----------------------------------------------------


def follow_the_document(bundle: Path, work: Path, *, key: str, code: str, origin_id: str, recipient_id: str,
                        identities: list[Path], strangers: list[Path], recovery_recipient: str | None,
                        ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Steps 1-9 of "Checking a bundle, step by step"; returns (manifest, changes, revocations)."""
    # 1. The file name.
    name = _FILE_NAME.match(bundle.name)
    assert name is not None, bundle.name
    if name["from"]:  # from an establishment PC: its code and its id
        assert name["from"] == code and name["short"] == origin_id.replace("-", "")[-8:]
    else:  # from the office: the code and id of the PC it is for
        assert name["to"] == code and name["short"] == recipient_id.replace("-", "")[-8:]

    # 2. The outer zip: exactly two entries, stored.
    outer = work / "outer"
    outer.mkdir(parents=True)
    infos = unzip(bundle, outer, doc_table("outer-entries"))
    assert all(i.compress_type == zipfile.ZIP_STORED for i in infos)

    # 3. The outer signature: ED, and the trusted comment names origin, seq and bundle.
    comment = verified_comment(run_as_documented(OUTER_VERIFY, outer, {"$KEY": key}))
    assert verified_comment(run_as_documented(OUTER_VERIFY_PREHASHED, outer, {"$KEY": key})) == comment
    sig_lines = (outer / fmt.PAYLOAD_SIG).read_bytes().split(b"\n")
    assert len(sig_lines) == 5 and sig_lines[4] == b"" and sig_lines[1].startswith(b"RU")
    assert sig_lines[0] == b"untrusted comment: srcdesk bundle: verify with minisign -Vm payload.age"
    header = _COMMENT.match(comment)
    assert header is not None, comment
    assert header["origin"] == origin_id and int(header["seq"]) == int(name["seq"])

    # 4. Decrypt, with every key the document says opens it; nobody else's key does.
    plain = None
    for key_file in identities:
        done = run_as_documented(DECRYPT, outer, {"$IDENTITY": str(key_file)})
        assert done.returncode == 0, done.stderr
        got = (outer / "payload.zip").read_bytes()
        assert plain is None or got == plain
        plain = got
    for key_file in strangers:
        done = run_as_documented(DECRYPT, outer, {"$IDENTITY": str(key_file)})
        assert done.returncode != 0 and NO_RECIPIENT in done.stderr
    (outer / "payload.zip").write_bytes(plain)
    age_header = (outer / fmt.PAYLOAD).read_bytes().split(b"\n---", 1)[0].split(b"\n")
    assert age_header[0] == b"age-encryption.org/v1"
    x25519_stanzas = sum(1 for line in age_header if line.startswith(b"-> X25519 "))

    # 5. The payload zip: exactly the documented entries (the two certificate files from the office only).
    payload = outer / "payload"
    from_office = not name["from"]
    unzip(outer / "payload.zip", payload,
          [e for e in doc_table("inner-entries") if from_office or e not in fmt.OPTIONAL_FILES])

    # 6. The manifest's signature: the same trusted comment.
    assert verified_comment(run_as_documented(MANIFEST_VERIFY, payload, {"$KEY": key})) == comment
    assert (payload / fmt.MANIFEST_SIG).read_bytes().startswith(b"untrusted comment: srcdesk bundle manifest\n")
    manifest = json.loads((payload / fmt.MANIFEST).read_bytes())
    assert set(manifest) == set(doc_table("manifest-keys"))
    assert manifest["format"] == "srcdesk-bundle/1" and manifest["schema"] == head_revision()
    assert (manifest["bundle_id"], manifest["seq"]) == (header["bundle"], int(header["seq"]))
    assert manifest["origin"]["installation_id"] == origin_id and set(manifest["origin"]) == {
        "installation_id", "role", "establishment", "name"}
    created = dt.datetime.strptime(manifest["created"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs(created - dt.datetime.now(dt.UTC).replace(tzinfo=None)) < dt.timedelta(hours=1)
    recipients = {(r["installation_id"], r["kind"]): r["age_recipient"] for r in manifest["recipients"]}
    expected = {(recipient_id, "installation")} | ({(recipient_id, "recovery")} if recovery_recipient else set())
    assert set(recipients) == expected and x25519_stanzas == len(expected)
    if recovery_recipient:
        assert recipients[(recipient_id, "recovery")] == recovery_recipient

    # 7. Every file against the manifest (sha256sum).
    assert sorted(f["name"] for f in manifest["files"]) == sorted(
        [*fmt.DATA_FILES, *(fmt.OPTIONAL_FILES if from_office else ())])
    for f in manifest["files"]:
        data = (payload / f["name"]).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (f["size"], f["sha256"])

    # 8. data/changes.jsonl: canonical lines, exactly the documented keys, in order.
    raw = (payload / fmt.CHANGES).read_bytes()
    assert raw == b"" or raw.endswith(b"\n")
    changes = []
    keys = set(doc_table("change-keys"))
    for line in raw.decode("utf-8").splitlines():
        rec = json.loads(line)
        assert set(rec) == keys, rec
        assert json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=False) == line
        assert rec["p"] in ("insert", "update", "delete") and _UUID.match(rec["o"])
        # The HLC: milliseconds since the epoch << 16 | counter.
        stamp = dt.datetime.fromtimestamp((rec["h"] >> 16) / 1000, dt.UTC).replace(tzinfo=None)
        assert rec["h"] >> 16 == physical_ms(rec["h"]) and 0 <= rec["h"] & 0xFFFF < 1 << 16
        if rec["o"] != "00000000-0000-0000-0000-000000000000":
            assert abs(stamp - created) < dt.timedelta(hours=1), (stamp, created)
        if rec["p"] == "insert":
            assert rec["b"] is None and set(rec["f"]) == set(fmt.SCHEMA[rec["t"]])
        else:
            assert rec["f"] and set(rec["f"]) <= set(fmt.SCHEMA[rec["t"]])
            for versions in (rec["b"] or {}).values():
                assert versions == sorted(versions) and len(versions) <= fmt.MAX_BASE_VERSIONS
                assert all(type(h) is int and _UUID.match(o) for h, o in versions)
        if rec["p"] == "delete":
            assert rec["f"]["deleted_hlc"] == rec["h"] and rec["f"]["deleted_by"] == rec["u"]
        changes.append(rec)
    order = [(c["t"], c["r"], c["h"], c["o"]) for c in changes]
    assert order == sorted(set(order))
    tables: dict[str, int] = {}
    for c in changes:
        tables[c["t"]] = tables.get(c["t"], 0) + 1
    assert manifest["records"]["changes"] == len(changes) and manifest["records"]["tables"] == tables

    # 9. data/revocations.jsonl.
    revocations = [json.loads(line) for line in (payload / fmt.REVOCATIONS).read_text("utf-8").splitlines()]
    assert all(set(r) == set(doc_table("revocation-keys")) for r in revocations)
    assert manifest["records"]["revocations"] == len(revocations)

    # 10. The certificate keys and statuses (from the office only).
    for data_file, marker in ((fmt.CERTIFICATE_ISSUERS, "certificate-issuer-keys"),
                              (fmt.CERTIFICATE_STATUS, "certificate-status-keys")):
        if not from_office:
            assert fmt.OPTIONAL_FILES[data_file] not in manifest["records"]
            continue
        lines = [json.loads(line) for line in (payload / data_file).read_text("utf-8").splitlines()]
        assert all(set(r) == set(doc_table(marker)) for r in lines)
        assert manifest["records"][fmt.OPTIONAL_FILES[data_file]] == len(lines)

    # If payload.age changes by one byte, the check of step 3 fails.
    tampered = work / "tampered"
    shutil.copytree(outer, tampered, ignore=shutil.ignore_patterns("payload", "payload.zip"))
    data = bytearray((tampered / fmt.PAYLOAD).read_bytes())
    data[len(data) // 2] ^= 0x01
    (tampered / fmt.PAYLOAD).write_bytes(bytes(data))
    assert run_as_documented(OUTER_VERIFY, tampered, {"$KEY": key}).returncode != 0
    return manifest, changes, revocations


def test_stock_tools_check_bundles_as_the_document_says(world: Any, tmp_path: Path) -> None:
    per, office, bar = world["PER"], world.office, world["BAR"]
    jo = people.create_person(per, given_name="Jo", family_name="Bloggs")
    sam = people.create_person(per, given_name="Sam", family_name="Smith")
    world.send(per, office)
    people.update_person(per, jo.id, notes="Attends the Tuesday group")
    people.delete_person(per, sam.id, "registered twice")
    to_office = world.export(per)
    trust.revoke(office, bar.installation.id, "PC replaced")
    to_per = world.export(office, per)
    recovery_key = world.root / "recovery.key"
    office_me, per_me = trust.my_identity(office), trust.my_identity(per)

    # A bundle for the office opens with the office's age.key and with the recovery key.
    manifest, changes, revocations = follow_the_document(
        to_office, tmp_path / "to-office", key=per_me.signing_key, code="PER", origin_id=per.installation.id,
        recipient_id=office.installation.id,
        identities=[office.db.data_dir / "keys" / "age.key", recovery_key],
        strangers=[bar.db.data_dir / "keys" / "age.key"], recovery_recipient=office_me.recovery_recipient,
    )
    assert manifest["seq"] == 2 and manifest["origin"]["establishment"] == "PER" and revocations == []
    by_op = {(c["t"], c["r"], c["p"]): c for c in changes}
    update = by_op[("person", jo.id, "update")]
    assert update["f"] == {"notes": "Attends the Tuesday group"} and list(update["b"]) == ["notes"]
    delete = by_op[("person", sam.id, "delete")]
    assert delete["f"]["deleted_reason"] == "registered twice"
    assert set(delete["b"]) == set(fmt.SCHEMA["person"])  # a delete names every version it saw
    keygen = Path(stock_tool("age")).with_name("age-keygen")
    if keygen.exists():  # the document's check that a recovery key belongs to the office
        shown = subprocess.run([str(keygen), "-y", str(recovery_key)], capture_output=True, text=True, timeout=60)
        assert shown.stdout.strip() == office_me.recovery_recipient

    # A bundle from the office to Perth: Perth's key only (not the recovery key), with the revocation.
    manifest, changes, revocations = follow_the_document(
        to_per, tmp_path / "to-per", key=office_me.signing_key, code="PER", origin_id=office.installation.id,
        recipient_id=per.installation.id, identities=[per.db.data_dir / "keys" / "age.key"],
        strangers=[recovery_key, bar.db.data_dir / "keys" / "age.key"], recovery_recipient=None,
    )
    assert manifest["origin"]["role"] == "office" and manifest["origin"]["establishment"] is None
    assert [r["installation_id"] for r in revocations] == [bar.installation.id]
    assert revocations[0]["reason"] == "PC replaced" and revocations[0]["revoked_by"] == office.installation.id
    assert not any(c["r"] == jo.id for c in changes)  # Perth's own edits are not sent back to it

    # The recovery key in the document's own words (a file called recovery.key).
    where = tmp_path / "recovery"
    where.mkdir()
    with zipfile.ZipFile(to_office) as z:
        z.extract(fmt.PAYLOAD, where)
    shutil.copy(recovery_key, where / "recovery.key")
    done = run_as_documented(RECOVERY_DECRYPT, where, {})
    assert done.returncode == 0, done.stderr
    assert (where / "payload.zip").read_bytes() == (tmp_path / "to-office" / "outer" / "payload.zip").read_bytes()

    check_cards_as_documented(world, tmp_path / "cards")


def check_cards_as_documented(world: Any, tmp_path: Path) -> None:
    """"Enrolment cards and fingerprints": the card's signature and its fingerprint, by hand."""
    template = doc_code_after("**The fingerprint** is SHA-256 over these exact bytes")
    for card_file, me in ((world.root / "per.card", trust.my_identity(world["PER"])),
                          (world.root / "office.card", trust.my_identity(world.office))):
        work = tmp_path / card_file.stem
        work.mkdir(parents=True)
        data = card_file.read_bytes()
        # head -n 1 PER.card | tr -d '\n' > card.json ; tail -n +2 PER.card > card.json.minisig
        first, rest = data.split(b"\n", 1)
        (work / "card.json").write_bytes(first)
        (work / "card.json.minisig").write_bytes(rest)
        card = json.loads(first)  # jq
        assert set(card) == identity._CARD_KEYS and card["format"] == "srcdesk-enrolment/1"
        comment = verified_comment(run_as_documented(
            CARD_VERIFY, work, {"$(jq -r .minisign_public_key card.json)": card["minisign_public_key"]}))
        assert comment == f"srcdesk-enrolment/1 installation={me.installation_id}"
        # The fingerprint: SHA-256 over the document's lines, its first 20 bytes in base32, in 8 groups of 4.
        canonical = (template.replace("<installation id>", card["installation_id"])
                     .replace("<role>", card["role"])
                     .replace("<minisign public key line>", card["minisign_public_key"])
                     .replace("<age recipient>", card["age_recipient"])
                     .replace("<recovery recipient, or nothing>", card["recovery_recipient"] or ""))
        code = base64.b32encode(hashlib.sha256(canonical.encode()).digest()[:20]).decode()
        grouped = " ".join(code[i:i + 4] for i in range(0, 32, 4))
        assert grouped == card["fingerprint"] == me.fingerprint
        assert card["minisign_public_key"] == me.signing_key
