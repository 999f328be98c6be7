"""minisign signatures: our prehashed ED signatures, strict parsing, and interop with stock minisign."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from srcdesk.sync.errors import BundleRefused
from srcdesk.sync.minisign import (
    LEGACY_REASON,
    MAX_COMMENT_BYTES,
    MAX_UNTRUSTED_COMMENT_SIGN_BYTES,
    PublicKey,
    Signature,
    SigningKey,
    blake2b_bytes,
    blake2b_file,
    parse_signature,
    verify_bytes,
    verify_digest,
    verify_file,
)

DATA = b"bundle payload \x00\xff" * 100
COMMENT = "srcdesk-bundle-v1 origin=PER seq=7"

# One key for the whole module: keys are cheap, but a fixed key keeps failures reproducible per run.
KEY = SigningKey.generate()
OTHER = SigningKey.generate()


def _sig(data: bytes = DATA, comment: str = COMMENT, key: SigningKey = KEY) -> bytes:
    return key.sign_bytes(data, comment).encode()


def _lines(raw: bytes) -> list[bytes]:
    assert raw.endswith(b"\n")
    return raw[:-1].split(b"\n")


def _join(lines: list[bytes]) -> bytes:
    return b"\n".join(lines) + b"\n"


def _refused(raw: bytes, match: str, key: SigningKey = KEY, data: bytes = DATA) -> None:
    with pytest.raises(BundleRefused, match=match):
        verify_bytes(key.public(), raw, data)


def _legacy_sig(key: SigningKey, data: bytes, comment: str) -> bytes:
    """A genuine legacy minisign signature, built by hand: Ed25519 over the raw data, algorithm "Ed"."""
    sk = Ed25519PrivateKey.from_private_bytes(key.seed)
    sig = sk.sign(data)
    global_sig = sk.sign(sig + comment.encode())
    return (
        b"untrusted comment: legacy\n"
        + base64.b64encode(b"Ed" + key.key_id + sig)
        + f"\ntrusted comment: {comment}\n".encode()
        + base64.b64encode(global_sig)
        + b"\n"
    )


# --------------------------------------------------------------------------- hashing and round trips


def test_blake2b_matches_hashlib_across_chunk_boundaries(tmp_path: Path) -> None:
    data = os.urandom((5 << 20) // 2 + 3)  # 2.5 MiB + 3: several 1 MiB chunks and a ragged tail
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    expected = hashlib.blake2b(data, digest_size=64).digest()
    assert blake2b_bytes(data) == expected
    assert blake2b_file(path) == expected
    assert blake2b_file(str(path)) == expected
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert blake2b_file(empty) == hashlib.blake2b(b"", digest_size=64).digest()


def test_round_trip_bytes() -> None:
    raw = _sig()
    assert verify_bytes(KEY.public(), raw, DATA) == COMMENT
    assert verify_digest(KEY.public(), raw, blake2b_bytes(DATA)) == COMMENT


def test_signature_layout_is_prehashed_ed() -> None:
    text = KEY.sign_bytes(DATA, COMMENT, "my note")
    lines = text.split("\n")
    assert len(lines) == 5 and lines[4] == "" and text.endswith("\n")
    assert lines[0] == "untrusted comment: my note"
    assert lines[2] == f"trusted comment: {COMMENT}"
    blob = base64.b64decode(lines[1], validate=True)
    assert blob[:2] == b"ED" and blob[2:10] == KEY.key_id and len(blob) == 74
    assert len(base64.b64decode(lines[3], validate=True)) == 64
    parsed = parse_signature(text.encode())
    assert parsed == Signature(KEY.key_id, blob[10:], COMMENT, base64.b64decode(lines[3]), "my note")
    # The signature really is Ed25519 over BLAKE2b-512 of the data (checked independently).
    KEY.public()._verifier.verify(parsed.sig, hashlib.blake2b(DATA, digest_size=64).digest())


def test_default_untrusted_comment() -> None:
    assert parse_signature(_sig()).untrusted_comment == "signature from srcdesk"


def test_round_trip_file_streamed(tmp_path: Path) -> None:
    data = os.urandom((3 << 20) + 17)
    path = tmp_path / "payload.age"
    path.write_bytes(data)
    text = KEY.sign_file(path, COMMENT)
    # Ed25519 is deterministic: streaming must give exactly the in-memory signature.
    assert text == KEY.sign_bytes(data, COMMENT)
    assert verify_file(KEY.public(), text.encode(), path) == COMMENT
    assert verify_file(KEY.public(), text.encode(), str(path)) == COMMENT


def test_unicode_and_tab_in_comments_round_trip() -> None:
    comment = "Perth — café ✓\tseq 3"
    raw = KEY.sign_bytes(DATA, comment, "naïve note").encode()
    assert verify_bytes(KEY.public(), raw, DATA) == comment
    assert parse_signature(raw).untrusted_comment == "naïve note"


def test_empty_trusted_comment_allowed() -> None:
    assert verify_bytes(KEY.public(), _sig(comment=""), DATA) == ""


def test_final_newline_is_optional() -> None:
    raw = _sig()
    assert verify_bytes(KEY.public(), raw.rstrip(b"\n"), DATA) == COMMENT


def test_bytearray_and_memoryview_accepted() -> None:
    raw = _sig()
    assert verify_bytes(KEY.public(), bytearray(raw), DATA) == COMMENT
    assert parse_signature(memoryview(raw)).trusted_comment == COMMENT


# --------------------------------------------------------------------------- authenticity failures


def test_wrong_key_refused_by_key_id() -> None:
    with pytest.raises(BundleRefused, match=r"signed by a different key \(key id ") as err:
        verify_bytes(OTHER.public(), _sig(), DATA)
    assert KEY.public().key_id_hex() in str(err.value)


def test_wrong_key_with_same_key_id_refused() -> None:
    impostor = SigningKey(KEY.key_id, OTHER.seed)
    _refused(_sig(key=impostor), "does not match the file")


def test_tampered_data_refused(tmp_path: Path) -> None:
    raw = _sig()
    tampered = bytearray(DATA)
    tampered[500] ^= 1
    _refused(raw, "does not match the file", data=bytes(tampered))
    _refused(raw, "does not match the file", data=DATA + b"x")
    path = tmp_path / "f"
    path.write_bytes(bytes(tampered))
    with pytest.raises(BundleRefused, match="does not match the file"):
        verify_file(KEY.public(), raw, path)


def test_tampered_trusted_comment_refused() -> None:
    lines = _lines(_sig())
    lines[2] = lines[2].replace(b"seq=7", b"seq=8")
    _refused(_join(lines), "trusted comment or its signature was changed")


def test_trusted_comment_from_another_signature_refused() -> None:
    """Splicing the signed trusted comment of another file's signature (same key) fails: the global
    signature binds the comment to this file's signature."""
    a, b = _lines(_sig(comment="seq=1")), _lines(_sig(data=DATA + b"other", comment="seq=2"))
    spliced = [a[0], a[1], b[2], b[3]]
    _refused(_join(spliced), "trusted comment or its signature was changed")


def test_tampered_global_signature_refused() -> None:
    lines = _lines(_sig())
    g = bytearray(base64.b64decode(lines[3]))
    g[10] ^= 0x40
    lines[3] = base64.b64encode(bytes(g))
    _refused(_join(lines), "trusted comment or its signature was changed")


def test_tampered_signature_refused() -> None:
    lines = _lines(_sig())
    blob = bytearray(base64.b64decode(lines[1]))
    blob[40] ^= 1
    lines[1] = base64.b64encode(bytes(blob))
    _refused(_join(lines), "does not match the file")


def test_swapped_key_id_refused() -> None:
    lines = _lines(_sig())
    blob = base64.b64decode(lines[1])
    lines[1] = base64.b64encode(blob[:2] + OTHER.key_id + blob[10:])
    raw = _join(lines)
    # Against the real signer: the key id no longer matches.
    _refused(raw, "signed by a different key")
    # Against the key it now claims: the signature does not verify.
    _refused(raw, "does not match the file", key=OTHER)


def test_untrusted_comment_is_not_covered() -> None:
    """By design (minisign): the untrusted comment may change without breaking the signature."""
    lines = _lines(_sig())
    lines[0] = b"untrusted comment: anything at all"
    assert verify_bytes(KEY.public(), _join(lines), DATA) == COMMENT


def test_legacy_ed_signature_refused() -> None:
    raw = _legacy_sig(KEY, DATA, COMMENT)
    with pytest.raises(BundleRefused) as err:
        parse_signature(raw)
    assert str(err.value) == LEGACY_REASON
    _refused(raw, "legacy Ed signature: srcdesk only accepts prehashed ED signatures")


def test_unknown_algorithm_refused() -> None:
    lines = _lines(_sig())
    blob = base64.b64decode(lines[1])
    for alg in (b"XX", b"ed", b"\x00\x00"):
        lines[1] = base64.b64encode(alg + blob[2:])
        _refused(_join(lines), "unknown algorithm")


# --------------------------------------------------------------------------- strict parsing


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda r: b"", "empty"),
        (lambda r: r.replace(b"\n", b"\r\n"), "CR or CRLF"),
        (lambda r: r.replace(b"\n", b"\r\n", 1), "CR or CRLF"),
        (lambda r: r[:-1] + b"\r\n", "CR or CRLF"),
        (lambda r: r + b"\n", "has 5 lines instead of 4"),  # blank extra line
        (lambda r: r + b"untrusted comment: again\n", "has 5 lines instead of 4"),
        (lambda r: _join(_lines(r)[:3]), "has 3 lines instead of 4"),  # missing global signature
        (lambda r: _join([_lines(r)[0], *_lines(r)[2:]]), "has 3 lines instead of 4"),
        (lambda r: b"\n" + r, "has 5 lines instead of 4"),
        (lambda r: r + b" " * 5000, "too large"),
        (lambda r: b"\xef\xbb\xbf" + r, "control character"),  # UTF-8 BOM
        (lambda r: r.replace(b"trusted comment: srcdesk", b"trusted comment: \xffsrcdesk"), "not UTF-8"),
        (lambda r: r.replace(b"from srcdesk", b"from \xc3(srcdesk"), "not UTF-8"),
    ],
)
def test_malformed_files_refused(mutate, match: str) -> None:  # noqa: ANN001
    _refused(mutate(_sig()), match)


@pytest.mark.parametrize(
    "char", ["\x00", "\x07", "\x1b", "\x0b", "\x0c", "\x7f", "\x85", "\u2028", "\u2029", "\u202e", "\ufeff"]
)
@pytest.mark.parametrize("line", [0, 2])
def test_control_characters_in_comments_refused(char: str, line: int) -> None:
    lines = _lines(_sig())
    lines[line] = lines[line] + char.encode()
    _refused(_join(lines), "control character")


def test_tab_in_comment_allowed_but_checked_by_signature() -> None:
    lines = _lines(_sig())
    lines[0] = lines[0] + b"\tnote"
    assert verify_bytes(KEY.public(), _join(lines), DATA) == COMMENT
    lines[2] = lines[2] + b"\t"
    _refused(_join(lines), "trusted comment or its signature was changed")


@pytest.mark.parametrize(
    ("line", "replacement", "match"),
    [
        (0, b"comment: x", 'does not start with "untrusted comment:"'),
        (0, b"untrusted comment:x", 'does not start with "untrusted comment:"'),
        (0, b"Untrusted comment: x", 'does not start with "untrusted comment:"'),
        (2, b"trusted comment:" + COMMENT.encode(), 'does not start with "trusted comment:"'),
        (2, b"untrusted comment: " + COMMENT.encode(), 'does not start with "trusted comment:"'),
        (2, b" trusted comment: " + COMMENT.encode(), 'does not start with "trusted comment:"'),
    ],
)
def test_bad_prefixes_refused(line: int, replacement: bytes, match: str) -> None:
    lines = _lines(_sig())
    lines[line] = replacement
    _refused(_join(lines), match)


def test_swapped_lines_refused() -> None:
    a, b, c, d = _lines(_sig())
    _refused(_join([c, b, a, d]), "does not start with")
    _refused(_join([a, d, c, b]), "signature in the signature file is 64 bytes long instead of 74")


def _bad_b64_cases(line: bytes) -> list[bytes]:
    return [
        line[:-2] + b"!=",  # character outside the alphabet
        line.rstrip(b"="),  # padding removed
        line[:20] + b" " + line[20:],  # whitespace inside
        line + b" ",  # trailing space
        b" " + line,  # leading space
        line[:-4],  # truncated (still a multiple of 4)
        b"",  # nothing
        line.replace(b"+", b"-").replace(b"/", b"_") if (b"+" in line or b"/" in line) else b"-" + line[1:],
    ]


@pytest.mark.parametrize("index", [1, 3])
def test_bad_base64_refused(index: int) -> None:
    lines = _lines(_sig())
    for bad in _bad_b64_cases(lines[index]):
        mutated = list(lines)
        mutated[index] = bad
        with pytest.raises(BundleRefused, match="not valid base64|bytes long instead of"):
            parse_signature(_join(mutated))


@pytest.mark.parametrize("index", [1, 3])
def test_non_canonical_base64_refused(index: int) -> None:
    """Set the unused low bits before the padding: b64decode accepts it, we (and libsodium) do not."""
    lines = _lines(_sig())
    line = lines[index]
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    pos = len(line.rstrip(b"=")) - 1
    value = alphabet.index(line[pos : pos + 1])
    tweaked = line[:pos] + alphabet[value | 1 : (value | 1) + 1] + line[pos + 1 :]
    if tweaked == line:
        tweaked = line[:pos] + alphabet[value ^ 1 : (value ^ 1) + 1] + line[pos + 1 :]
    assert tweaked != line and base64.b64decode(tweaked) == base64.b64decode(line)
    lines[index] = tweaked
    with pytest.raises(BundleRefused, match="not valid base64"):
        parse_signature(_join(lines))


def test_wrong_lengths_refused() -> None:
    lines = _lines(_sig())
    blob = base64.b64decode(lines[1])
    g = base64.b64decode(lines[3])
    for index, value, match in [
        (1, blob + b"\x00", "75 bytes long instead of 74"),
        (1, blob[:-1], "73 bytes long instead of 74"),
        (3, g + b"\x00", "65 bytes long instead of 64"),
        (3, g[:-3], "61 bytes long instead of 64"),
    ]:
        mutated = list(lines)
        mutated[index] = base64.b64encode(value)
        with pytest.raises(BundleRefused, match=match):
            parse_signature(_join(mutated))


def test_comment_length_limits() -> None:
    at_limit = "é" * (MAX_COMMENT_BYTES // 2)  # 1024 bytes in UTF-8
    assert verify_bytes(KEY.public(), _sig(comment=at_limit), DATA) == at_limit
    lines = _lines(_sig())
    lines[2] = b"trusted comment: " + "é".encode() * (MAX_COMMENT_BYTES // 2) + b"x"
    _refused(_join(lines), "trusted comment in the signature file is longer than 1024 bytes")
    lines = _lines(_sig())
    lines[0] = b"untrusted comment: " + b"u" * (MAX_COMMENT_BYTES + 1)
    _refused(_join(lines), "untrusted comment in the signature file is longer than 1024 bytes")
    lines[0] = b"untrusted comment: " + b"u" * MAX_COMMENT_BYTES
    assert parse_signature(_join(lines)).untrusted_comment == "u" * MAX_COMMENT_BYTES


def test_oversized_refused_before_anything_else() -> None:
    with pytest.raises(BundleRefused, match="too large"):
        parse_signature(b"\r\n" * 3000)
    # Exactly one byte over 4 KiB, every line otherwise well formed.
    raw = _sig()
    lines = _lines(raw)
    lines[0] += b"u" * (4097 - len(raw))
    assert len(_join(lines)) == 4097
    with pytest.raises(BundleRefused, match="too large"):
        parse_signature(_join(lines))


def test_parse_refuses_non_bytes() -> None:
    with pytest.raises(TypeError):
        parse_signature(_sig().decode())  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_fuzz_random_bytes_only_ever_refused(junk: bytes) -> None:
    try:
        verify_bytes(KEY.public(), junk, DATA)
    except BundleRefused:
        return
    raise AssertionError("random bytes verified")


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_fuzz_mutated_signature_only_refused_or_identical(data: st.DataObject) -> None:
    raw = bytearray(_sig())
    n = data.draw(st.integers(1, 4))
    for _ in range(n):
        op = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        pos = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if op == "flip" and raw:
            raw[pos] ^= data.draw(st.integers(1, 255))
        elif op == "insert":
            raw[pos:pos] = bytes([data.draw(st.integers(0, 255))])
        elif raw:
            del raw[pos]
    try:
        comment = verify_bytes(KEY.public(), bytes(raw), DATA)
    except BundleRefused:
        return
    # Only changes that leave the signed content alone may pass: the untrusted comment, or a
    # dropped final newline.
    parsed = parse_signature(bytes(raw))
    assert comment == COMMENT
    assert parsed.sig == parse_signature(_sig()).sig


# --------------------------------------------------------------------------- programming errors


@pytest.mark.parametrize("bad", ["two\nlines", "cr\r", "nul\x00", "esc\x1b[31m", "ls\u2028", "bidi\u202e"])
def test_sign_refuses_bad_comments(bad: str, tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(DATA)
    with pytest.raises(ValueError, match="newline or control character"):
        KEY.sign_bytes(DATA, bad)
    with pytest.raises(ValueError, match="newline or control character"):
        KEY.sign_bytes(DATA, COMMENT, bad)
    with pytest.raises(ValueError, match="newline or control character"):
        KEY.sign_file(path, bad)
    with pytest.raises(ValueError, match="newline or control character"):
        KEY.sign_digest(blake2b_bytes(DATA), COMMENT, bad)


def test_sign_refuses_overlong_comments_and_bad_digest() -> None:
    with pytest.raises(ValueError, match="limit is 1024"):
        KEY.sign_bytes(DATA, "x" * (MAX_COMMENT_BYTES + 1))
    with pytest.raises(ValueError, match=f"limit is {MAX_UNTRUSTED_COMMENT_SIGN_BYTES}"):
        KEY.sign_bytes(DATA, COMMENT, "x" * (MAX_UNTRUSTED_COMMENT_SIGN_BYTES + 1))
    with pytest.raises(ValueError, match="64 bytes"):
        KEY.sign_digest(hashlib.sha256(DATA).digest(), COMMENT)
    with pytest.raises(ValueError, match="64 bytes"):
        verify_digest(KEY.public(), _sig(), hashlib.sha256(DATA).digest())


# --------------------------------------------------------------------------- keys


def test_signing_key_text_round_trip() -> None:
    text = KEY.to_text()
    assert text.endswith("\n") and text.count("\n") == 1
    tag, kid, seed = text[:-1].split(" ")
    assert tag == "srcdesk-ed25519-v1"
    assert base64.b64decode(kid) == KEY.key_id and base64.b64decode(seed) == KEY.seed
    again = SigningKey.from_text(text)
    assert again == KEY and again.public() == KEY.public()
    assert SigningKey.from_text(text[:-1]) == KEY
    # The restored key signs identically (Ed25519 is deterministic).
    assert again.sign_bytes(DATA, COMMENT) == KEY.sign_bytes(DATA, COMMENT)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: "",
        lambda t: "junk",
        lambda t: t.replace("srcdesk-ed25519-v1", "srcdesk-ed25519-v2"),
        lambda t: t + "\n",
        lambda t: " " + t,
        lambda t: t.replace(" ", "  ", 1),
        lambda t: t.replace(" ", "\t"),
        lambda t: t[:-1] + " extra\n",
        lambda t: t[:-4] + "\n",  # seed truncated
        lambda t: t[:-2] + "!\n",  # bad base64
        lambda t: t.replace("\n", "\r\n"),
        lambda t: t.rstrip("\n").rsplit(" ", 1)[0] + " " + base64.b64encode(bytes(31)).decode() + "\n",
        lambda t: "srcdesk-ed25519-v1 " + base64.b64encode(bytes(7)).decode() + " " + t.split(" ")[2],
    ],
)
def test_signing_key_from_text_strict(mutate) -> None:  # noqa: ANN001
    with pytest.raises(ValueError):
        SigningKey.from_text(mutate(KEY.to_text()))


def test_signing_key_basics() -> None:
    a, b = SigningKey.generate(), SigningKey.generate()
    assert len(a.key_id) == 8 and len(a.seed) == 32
    assert a.key_id != b.key_id and a.seed != b.seed
    assert a.seed.hex() not in repr(a) and repr(a.seed) not in repr(a)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.key_id = b.key_id  # type: ignore[misc]
    with pytest.raises(ValueError):
        SigningKey(bytes(7), a.seed)
    with pytest.raises(ValueError):
        SigningKey(a.key_id, bytes(31))
    pub = a.public()
    assert pub is a.public()  # built once, not per call
    assert pub.key == Ed25519PrivateKey.from_private_bytes(a.seed).public_key().public_bytes_raw()


def test_public_key_line_round_trip() -> None:
    pub = KEY.public()
    line = pub.line()
    assert len(line) == 56
    raw = base64.b64decode(line)
    assert raw == b"Ed" + KEY.key_id + pub.key
    assert PublicKey.from_line(line) == pub
    text = pub.pub_file_text()
    assert text == f"untrusted comment: minisign public key {pub.key_id_hex()}\n{line}\n"
    assert PublicKey.from_pub_file_text(text) == pub
    assert pub.pub_file_text("my key") == f"untrusted comment: my key\n{line}\n"
    with pytest.raises(ValueError):
        pub.pub_file_text("two\nlines")


def test_key_id_hex_is_little_endian() -> None:
    pub = PublicKey(bytes.fromhex("4fdee80c0354b547"), KEY.public().key)
    assert pub.key_id_hex() == "47B554030CE8DE4F"
    # Like stock minisign 0.11 (printf "%" PRIX64): no leading zeros.
    assert PublicKey(bytes.fromhex("7db4e1df2ae21d0e"), KEY.public().key).key_id_hex() == "E1DE22ADFE1B47D"
    assert PublicKey(bytes.fromhex("0100000000000000"), KEY.public().key).key_id_hex() == "1"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: "",
        lambda s: s + "\n",
        lambda s: s + " ",
        lambda s: " " + s,
        lambda s: s[:-1],
        lambda s: s + "AAAA",
        lambda s: s[:-1] + "!",
        lambda s: base64.b64encode(b"ED" + base64.b64decode(s)[2:]).decode(),  # signature alg, not key
        lambda s: base64.b64encode(b"RW" + base64.b64decode(s)[2:]).decode(),
        lambda s: base64.b64encode(base64.b64decode(s)[:-1]).decode(),
        lambda s: "é" * 56,
        lambda s: s.replace("+", "-").replace("/", "_") if ("+" in s or "/" in s) else "-" + s[1:],
    ],
)
def test_public_key_from_line_strict(mutate) -> None:  # noqa: ANN001
    line = KEY.public().line()
    with pytest.raises(BundleRefused):
        PublicKey.from_line(mutate(line))


def test_public_key_from_line_refuses_non_text() -> None:
    with pytest.raises(BundleRefused):
        PublicKey.from_line(None)  # type: ignore[arg-type]
    with pytest.raises(BundleRefused):
        PublicKey.from_line(KEY.public().line().encode())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "RWQ\n",
        "untrusted comment: x\n",
        "comment: x\n{line}\n",
        "untrusted comment: x\n{line}\n\n",
        "untrusted comment: x\n{line}\nextra\n",
        "untrusted comment: x\r\n{line}\r\n",
    ],
)
def test_pub_file_text_strict(text: str) -> None:
    with pytest.raises(BundleRefused):
        PublicKey.from_pub_file_text(text.replace("{line}", KEY.public().line()))


# --------------------------------------------------------------------------- interop with stock minisign


@pytest.fixture(scope="module")
def minisign() -> str:
    path = shutil.which("minisign") or ("/usr/bin/minisign" if Path("/usr/bin/minisign").exists() else None)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("stock minisign is not installed; CI must install it (apt-get install minisign)")
        pytest.skip("stock minisign is not installed")
    return path


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL, check=False
    )


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"minisign failed ({result.returncode}): {result.stdout}{result.stderr}"
    return result.stdout


@pytest.fixture
def stock_keys(minisign: str, tmp_path: Path) -> tuple[Path, Path, str]:
    """A key pair made by stock minisign (no password); returns (pk, sk, output of -G)."""
    out = _ok(_run([minisign, "-G", "-W", "-p", "pk", "-s", "sk"], tmp_path))
    return tmp_path / "pk", tmp_path / "sk", out


@pytest.mark.parametrize("size", [0, 1000, (1 << 20) + 123])
def test_stock_minisign_verifies_ours(minisign: str, tmp_path: Path, size: int) -> None:
    payload = tmp_path / "payload.age"
    payload.write_bytes(os.urandom(size))
    comment = "srcdesk-bundle-v1\torigin=PER — seq=7 ✓"
    (tmp_path / "payload.age.minisig").write_text(KEY.sign_file(payload, comment), encoding="utf-8")
    out = _ok(_run([minisign, "-Vm", "payload.age", "-P", KEY.public().line()], tmp_path))
    assert f"Trusted comment: {comment}\n" in out
    (tmp_path / "key.pub").write_text(KEY.public().pub_file_text(), encoding="utf-8")
    out = _ok(_run([minisign, "-Vm", "payload.age", "-p", "key.pub"], tmp_path))
    assert f"Trusted comment: {comment}\n" in out
    # -H: minisign itself insists the signature is prehashed.
    _ok(_run([minisign, "-H", "-Vm", "payload.age", "-P", KEY.public().line()], tmp_path))
    # And stock minisign notices tampering with our signed file.
    payload.write_bytes(payload.read_bytes() + b"!")
    bad = _run([minisign, "-Vm", "payload.age", "-P", KEY.public().line()], tmp_path)
    assert bad.returncode != 0 and "Signature verification failed" in bad.stderr


def test_stock_minisign_reads_our_longest_comments(minisign: str, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(DATA)
    trusted = "t" * MAX_COMMENT_BYTES
    untrusted = "u" * MAX_UNTRUSTED_COMMENT_SIGN_BYTES
    (tmp_path / "f.minisig").write_text(KEY.sign_bytes(DATA, trusted, untrusted), encoding="utf-8")
    out = _ok(_run([minisign, "-Vm", "f", "-P", KEY.public().line()], tmp_path))
    assert f"Trusted comment: {trusted}\n" in out
    # One byte more in the untrusted comment and stock minisign can no longer read the file: the
    # limit we enforce when signing is the real one.
    lines = KEY.sign_bytes(DATA, trusted, untrusted).split("\n")
    lines[0] += "u"
    (tmp_path / "f.minisig").write_text("\n".join(lines), encoding="utf-8")
    assert _run([minisign, "-Vm", "f", "-P", KEY.public().line()], tmp_path).returncode != 0


def test_stock_minisign_refuses_our_tampered_trusted_comment(minisign: str, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(DATA)
    text = KEY.sign_bytes(DATA, COMMENT).replace("seq=7", "seq=8")
    (tmp_path / "f.minisig").write_text(text, encoding="utf-8")
    bad = _run([minisign, "-Vm", "f", "-P", KEY.public().line()], tmp_path)
    assert bad.returncode != 0 and "Comment signature verification failed" in bad.stderr


@pytest.mark.parametrize("size", [5, (2 << 20) + 7])
def test_we_verify_stock_minisign(minisign: str, stock_keys, tmp_path: Path, size: int) -> None:  # noqa: ANN001
    pk, sk, _ = stock_keys
    data = os.urandom(size)
    (tmp_path / "f.bin").write_bytes(data)
    _ok(_run([minisign, "-S", "-s", str(sk), "-m", "f.bin"], tmp_path))
    raw = (tmp_path / "f.bin.minisig").read_bytes()
    pub = PublicKey.from_line(pk.read_text().split("\n")[1])
    assert PublicKey.from_pub_file_text(pk.read_text()) == pub
    comment = verify_file(pub, raw, tmp_path / "f.bin")
    # minisign's default trusted comment (with its TABs) comes back exactly as minisign shows it.
    shown = _ok(_run([minisign, "-Vm", "f.bin", "-p", str(pk)], tmp_path))
    assert f"Trusted comment: {comment}\n" in shown
    assert re.fullmatch(r"timestamp:\d+\tfile:f\.bin\thashed", comment)
    assert verify_bytes(pub, raw, data) == comment
    with pytest.raises(BundleRefused, match="does not match the file"):
        verify_bytes(pub, raw, data + b"\x00")
    with pytest.raises(BundleRefused, match="signed by a different key"):
        verify_file(KEY.public(), raw, tmp_path / "f.bin")


def test_we_verify_stock_minisign_with_trusted_comment(minisign: str, stock_keys, tmp_path: Path) -> None:  # noqa: ANN001
    pk, sk, _ = stock_keys
    (tmp_path / "f").write_bytes(DATA)
    comment = "origin=PER seq=42 café"
    _ok(_run([minisign, "-S", "-s", str(sk), "-m", "f", "-t", comment, "-c", "hello"], tmp_path))
    raw = (tmp_path / "f.minisig").read_bytes()
    pub = PublicKey.from_line(pk.read_text().split("\n")[1])
    assert verify_file(pub, raw, tmp_path / "f") == comment
    assert parse_signature(raw).untrusted_comment == "hello"


def test_stock_legacy_signature_refused(minisign: str, stock_keys, tmp_path: Path) -> None:  # noqa: ANN001
    pk, sk, _ = stock_keys
    (tmp_path / "f").write_bytes(DATA)
    _ok(_run([minisign, "-S", "-l", "-s", str(sk), "-m", "f"], tmp_path))
    raw = (tmp_path / "f.minisig").read_bytes()
    # Stock minisign accepts it (it is a genuine signature) ...
    _ok(_run([minisign, "-Vm", "f", "-p", str(pk)], tmp_path))
    pub = PublicKey.from_line(pk.read_text().split("\n")[1])
    # ... we refuse it for being legacy, not for anything else.
    with pytest.raises(BundleRefused) as err:
        verify_file(pub, raw, tmp_path / "f")
    assert str(err.value) == LEGACY_REASON


def test_hand_built_legacy_signature_is_genuine(minisign: str, tmp_path: Path) -> None:
    """The legacy signature the unit test builds is one stock minisign accepts (not just junk)."""
    (tmp_path / "f").write_bytes(DATA)
    (tmp_path / "f.minisig").write_bytes(_legacy_sig(KEY, DATA, COMMENT))
    out = _ok(_run([minisign, "-Vm", "f", "-P", KEY.public().line()], tmp_path))
    assert f"Trusted comment: {COMMENT}\n" in out
    assert _run([minisign, "-H", "-Vm", "f", "-P", KEY.public().line()], tmp_path).returncode != 0


def test_key_id_hex_matches_stock_minisign(minisign: str, stock_keys, tmp_path: Path) -> None:  # noqa: ANN001
    pk, _, generate_output = stock_keys
    first, line = pk.read_text().split("\n")[:2]
    pub = PublicKey.from_line(line)
    assert first == f"untrusted comment: minisign public key {pub.key_id_hex()}"
    assert pub.pub_file_text() == pk.read_text()
    assert f"-P {line}" in generate_output
    # And for our keys, including ids whose top bytes are zero: minisign names them exactly as we do
    # when it meets our signature with a different key.
    (tmp_path / "f").write_bytes(DATA)
    seed = KEY.seed
    for key_id in (KEY.key_id, bytes.fromhex("0102030405060700"), bytes.fromhex("aabbccddeeff000e")):
        ours = SigningKey(key_id, seed)
        (tmp_path / "f.minisig").write_text(ours.sign_bytes(DATA, COMMENT), encoding="utf-8")
        result = _run([minisign, "-Vm", "f", "-p", str(pk)], tmp_path)
        assert result.returncode != 0
        assert (
            f"Signature key id in f.minisig is {ours.public().key_id_hex()}\n"
            f"but the key id in the public key is {pub.key_id_hex()}\n"
        ) in result.stderr, result.stderr
