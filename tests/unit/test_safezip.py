"""StrictZip refuses every hostile archive with its own reason, before reading a byte of content.

Hostile archives are built by hand: zipfile with tweaks, or valid archives whose central
directory, local headers or end record are patched with struct.
"""

from __future__ import annotations

import io
import json
import stat
import struct
import unicodedata
import warnings
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from srcdesk.sync import strictjson
from srcdesk.sync.errors import BundleRefused
from srcdesk.sync.safezip import Limits, StrictZip, write_zip

MANIFEST = json.dumps({"format": 1, "files": {"data/people.jsonl": 2}}).encode()
PEOPLE = b'{"id":"a","name":"Ann"}\n{"id":"b","name":"Bob"}\n'

# Field offsets in a central directory header and a local file header.
CD_FLAGS, CD_METHOD, CD_CRC, CD_COMPRESSED, CD_SIZE, CD_EXTERNAL, CD_OFFSET, CD_NAME = 8, 10, 16, 20, 24, 38, 42, 46
LH_FLAGS, LH_METHOD, LH_CRC, LH_COMPRESSED, LH_SIZE, LH_NAME = 6, 8, 14, 18, 22, 30


# -- building hostile archives ------------------------------------------------------------------

def build(entries: list[tuple[str, bytes]] | None = None, *, compress: bool = True) -> bytes:
    out = io.BytesIO()
    write_zip(out, entries if entries is not None else [("manifest.json", MANIFEST),
                                                         ("data/people.jsonl", PEOPLE)], compress=compress)
    return out.getvalue()


def with_zipfile(build_entries, **zip_kwargs) -> bytes:
    """An archive written by zipfile itself, for tweaks write_zip would never make."""
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name"
        with zipfile.ZipFile(out, "w", **zip_kwargs) as archive:
            build_entries(archive)
    return out.getvalue()


def headers(data: bytes) -> list[tuple[int, int]]:
    """(central directory header offset, local header offset) for every entry, in order."""
    end = len(data) - 22
    assert data[end:end + 4] == b"PK\x05\x06"
    count, _size, at = struct.unpack_from("<HLL", data, end + 10)
    found = []
    for _ in range(count):
        name_length, extra_length, comment_length = struct.unpack_from("<3H", data, at + 28)
        found.append((at, struct.unpack_from("<L", data, at + CD_OFFSET)[0]))
        at += 46 + name_length + extra_length + comment_length
    return found


def patch(data: bytes, at: int, fmt: str, *values: int) -> bytes:
    patched = bytearray(data)
    struct.pack_into("<" + fmt, patched, at, *values)
    return bytes(patched)


def patch_both(data: bytes, index: int, central_field: int, local_field: int | None, fmt: str, value: int) -> bytes:
    """Set a field in entry ``index``'s central header and (if given) its local header alike."""
    central, local = headers(data)[index]
    data = patch(data, central + central_field, fmt, value)
    return patch(data, local + local_field, fmt, value) if local_field is not None else data


def rename(data: bytes, index: int, raw: bytes, *, utf8: bool | None = None) -> bytes:
    """Give entry ``index`` the raw name ``raw`` (same length as its current name), everywhere."""
    central, local = headers(data)[index]
    length = struct.unpack_from("<H", data, central + 28)[0]
    assert len(raw) == length, "rename keeps the length"
    patched = bytearray(data)
    patched[central + CD_NAME:central + CD_NAME + length] = raw
    patched[local + LH_NAME:local + LH_NAME + length] = raw
    data = bytes(patched)
    if utf8 is None:
        utf8 = not raw.isascii()
    flags = struct.unpack_from("<H", data, central + CD_FLAGS)[0]
    flags = flags | 0x800 if utf8 else flags & ~0x800
    return patch_both(data, index, CD_FLAGS, LH_FLAGS, "H", flags)


def named(*names: str) -> bytes:
    """An archive holding files with exactly these names (placeholders patched, so no tool rewrites them)."""
    raws = [name.encode("utf-8") for name in names]
    data = build([(f"{i}".ljust(len(raw), "x"), b"content %d" % i) for i, raw in enumerate(raws)])
    for index, raw in enumerate(raws):
        data = rename(data, index, raw)
    return data


def refused(source, match: str, **kwargs) -> str:
    with pytest.raises(BundleRefused, match=match) as info:
        StrictZip(source, what="the payload", **kwargs)
    return str(info.value)


def read_all(source, **kwargs) -> dict[str, bytes]:
    with StrictZip(source, what="the payload", **kwargs) as archive:
        return {name: archive.read(name, 1 << 30) for name in archive.names}


def test_a_valid_archive_is_read() -> None:
    data = build()
    assert read_all(data) == {"manifest.json": MANIFEST, "data/people.jsonl": PEOPLE}
    assert read_all(memoryview(data)) == read_all(bytearray(data))
    with StrictZip(data, what="the payload") as archive:
        assert archive.names == ["manifest.json", "data/people.jsonl"]
        assert archive.size("data/people.jsonl") == len(PEOPLE)
        with archive.open("data/people.jsonl") as stream:
            assert stream.readline() == PEOPLE.split(b"\n")[0] + b"\n"
            assert stream.read() == PEOPLE.split(b"\n", 1)[1]
        assert b"".join(archive.iter_chunks("data/people.jsonl", chunk=5)) == PEOPLE
        assert all(len(piece) <= 5 for piece in archive.iter_chunks("data/people.jsonl", chunk=5))


# -- the archive as a whole ---------------------------------------------------------------------

def test_not_a_zip() -> None:
    refused(b"this is a letter, not an archive" * 10, "The payload is not a zip file")
    refused(b"", "The payload is empty")


def test_truncated() -> None:
    data = build()
    refused(data[:-1], "truncated or damaged")
    refused(data[: len(data) // 2], "truncated or damaged")
    big = build([("data/x.jsonl", bytes(range(256)) * 1000)], compress=False)  # longer than a comment can be
    refused(big[: len(big) // 2], "truncated or damaged")
    refused(big[1000:], "truncated or damaged")  # the start cut off
    refused(bytes(range(256)) * 1000, "is not a zip file")


def test_empty_archive() -> None:
    empty = build([])
    assert len(empty) == 22
    assert read_all(empty) == {}
    refused(empty, "The payload has no manifest.json", required=["manifest.json"])
    refused(b"junk" + empty, "data before the start")


def test_junk_before_the_archive() -> None:
    refused(b"MZ junk" + build(), "data before the start of the archive")


def test_junk_before_with_offsets_adjusted() -> None:
    """A self-extractor-style prefix whose offsets were fixed up (concat 0) is refused as well."""
    original = build()
    data = b"#!/bin/sh\n" + original
    for central, local in headers(original):
        data = patch(data, central + 10 + CD_OFFSET, "L", local + 10)
    end = len(data) - 22
    data = patch(data, end + 16, "L", struct.unpack_from("<L", data, end + 16)[0] + 10)
    refused(data, "data before the start of the archive")


def test_junk_after_the_archive() -> None:
    refused(build() + b"trailing", "data after the end of the archive")
    refused(build() + build([("other", b"x")]), r"data after the end of the archive \(a second archive\)")


def test_stored_entry_whose_sizes_differ() -> None:
    data = build(compress=False)
    refused(patch_both(data, 1, CD_SIZE, LH_SIZE, "L", len(PEOPLE) - 10), "larger than it declares, so it is damaged")
    refused(patch_both(data, 1, CD_SIZE, LH_SIZE, "L", len(PEOPLE) + 10), "smaller than it declares")


def test_archive_comment() -> None:
    def entries(archive: zipfile.ZipFile) -> None:
        archive.writestr("manifest.json", MANIFEST)
        archive.comment = b"hello"
    refused(with_zipfile(entries), "archive comment")


def test_data_hidden_between_entries() -> None:
    data = build()
    cut = headers(data)[1][1]  # the second local header
    hidden = data[:cut] + b"HIDDEN" + data[cut:]
    for central, local in headers(data):
        hidden = patch(hidden, central + 6 + CD_OFFSET, "L", local + (6 if local >= cut else 0))
    end = len(hidden) - 22
    hidden = patch(hidden, end + 16, "L", struct.unpack_from("<L", hidden, end + 16)[0] + 6)
    refused(hidden, "data between its files")


def test_overlapping_entries() -> None:
    data = build([("aaaa", b"first"), ("bbbb", b"second")])
    central, _local = headers(data)[1]
    refused(patch(data, central + CD_OFFSET, "L", 0), "overlap")


def test_zip64_refused() -> None:
    def entries(archive: zipfile.ZipFile) -> None:
        with archive.open("manifest.json", "w", force_zip64=True) as out:
            out.write(MANIFEST)
    refused(with_zipfile(entries), "zip64")
    end = len(build()) - 22
    refused(patch(build(), end + 10, "H", 0xFFFF), "zip64")


def test_multi_disk_refused() -> None:
    end = len(build()) - 22
    refused(patch(build(), end + 4, "H", 1), "split across several disks")


# -- entry names --------------------------------------------------------------------------------

def stored_by_hand(raw_name: bytes, content: bytes) -> bytes:
    """A one-file stored archive assembled with struct, for names zipfile refuses to write."""
    crc = zlib.crc32(content)
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 10, 0, 0, 0, 33, crc, len(content), len(content),
                        len(raw_name), 0) + raw_name + content
    central = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 0x314, 10, 0, 0, 0, 33, crc, len(content), len(content),
                          len(raw_name), 0, 0, 0, 0, 0o600 << 16, 0) + raw_name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local), 0)
    return local + central + end


def test_empty_name() -> None:
    assert read_all(stored_by_hand(b"x", b"content")) == {"x": b"content"}
    refused(stored_by_hand(b"", b"content"), "a file with no name")


def test_name_too_long() -> None:
    refused(build([("d" * 201, b"x")]), "longer than 200 bytes")
    assert read_all(build([("d" * 200, b"x")]))
    refused(build([("data/x.jsonl", b"x")]), "longer than 5 bytes", limits=Limits(max_name_len=5))


def test_name_not_utf8() -> None:
    refused(rename(named("data/x.jsonl"), 0, b"data/\xff.jsonl", utf8=True), "not UTF-8")
    # Without the UTF-8 flag a name is cp437 to zipfile and something else to other tools.
    refused(rename(named("data/x.jsonl"), 0, "data/é.jsonl".encode()[:12], utf8=False), "not UTF-8")


def test_name_not_nfc() -> None:
    refused(named(unicodedata.normalize("NFD", "café.jsonl")), "not in Unicode normal form")
    assert read_all(named(unicodedata.normalize("NFC", "café.jsonl")))


@pytest.mark.parametrize("name", ["a\x01b", "a\x00b", "new\nline", "a\x7fb", "evil\u202etxt", "a\u2028b"])
def test_name_with_a_control_character(name: str) -> None:
    refused(named(name), "control character")


def test_name_with_a_backslash() -> None:
    refused(named("data\\people.jsonl"), "backslash")
    refused(named("..\\evil"), "backslash")


def test_absolute_name() -> None:
    refused(named("/etc/passwd"), "absolute file name")


@pytest.mark.parametrize("name", ["C:/Windows/x", "C:\\Windows\\x", "c:x"])
def test_name_with_a_drive_letter(name: str) -> None:
    refused(named(name), "drive letter")


@pytest.mark.parametrize("name", ["../evil", "data/../../evil", "data/..", ".."])
def test_name_with_dot_dot(name: str) -> None:
    refused(named(name), r"outside the archive \('\.\.'\)")


@pytest.mark.parametrize("name", ["./manifest.json", "data/./x", "."])
def test_name_with_dot(name: str) -> None:
    refused(named(name), r"a '\.' part")


def test_name_with_an_empty_part() -> None:
    refused(named("data//people.jsonl"), "empty part")


def test_trailing_slash_is_a_folder() -> None:
    refused(named("data/"), "is a folder, not a file")


def test_duplicate_names() -> None:
    refused(named("data/x.jsonl", "data/x.jsonl"), "has two files called 'data/x.jsonl'")
    # zipfile itself silently returns the last of the two
    assert zipfile.ZipFile(io.BytesIO(named("aa", "aa"))).read("aa") == b"content 1"


def test_names_differing_only_by_case() -> None:
    refused(named("data/People.jsonl", "data/people.jsonl"), "differ only in upper or lower case")
    refused(named("STRASSE", "straße"), "differ only in upper or lower case")


def test_names_differing_only_by_normalisation() -> None:
    nfc = unicodedata.normalize("NFC", "café")
    nfd = unicodedata.normalize("NFD", "café")
    assert nfc != nfd
    refused(named(nfc, nfd), "differ only in Unicode normalisation")


def test_allowed_and_required() -> None:
    data = build()
    assert read_all(data, allowed=lambda name: name == "manifest.json" or name.startswith("data/"),
                    required=["manifest.json"])
    message = refused(data, "Unexpected file 'data/people.jsonl' in the payload",
                      allowed=lambda name: name == "manifest.json")
    assert message == "Unexpected file 'data/people.jsonl' in the payload."
    assert refused(data, "has no", required=["manifest.json.minisig"]) == \
        "The payload has no manifest.json.minisig."


# -- entry types and flags ----------------------------------------------------------------------

def test_symlink_refused() -> None:
    def entries(archive: zipfile.ZipFile) -> None:
        link = zipfile.ZipInfo("data/people.jsonl")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    refused(with_zipfile(entries), "symbolic link")


def test_directory_refused() -> None:
    refused(with_zipfile(lambda archive: archive.mkdir("data")), "is a folder")
    data = patch_both(build(), 1, CD_EXTERNAL, None, "L", (stat.S_IFDIR | 0o755) << 16)
    refused(data, "'data/people.jsonl' in the payload is a folder, not a file")
    refused(patch_both(build(), 1, CD_EXTERNAL, None, "L", 0x10), "is a folder")  # MS-DOS attribute


def test_device_refused() -> None:
    refused(patch_both(build(), 0, CD_EXTERNAL, None, "L", (stat.S_IFCHR | 0o600) << 16), "not a regular file")


def test_regular_file_modes_accepted() -> None:
    assert read_all(patch_both(build(), 0, CD_EXTERNAL, None, "L", (stat.S_IFREG | 0o644) << 16))
    assert read_all(patch_both(build(), 0, CD_EXTERNAL, None, "L", 0))


def test_encrypted_entry_refused() -> None:
    refused(patch_both(build(), 0, CD_FLAGS, LH_FLAGS, "H", 0x1), "is encrypted")


def test_strong_encryption_refused() -> None:
    refused(patch_both(build(), 0, CD_FLAGS, LH_FLAGS, "H", 0x41), "is encrypted")
    refused(patch_both(build(), 0, CD_FLAGS, LH_FLAGS, "H", 0x40), "strong encryption")


def test_compressed_patched_data_refused() -> None:
    refused(patch_both(build(), 0, CD_FLAGS, LH_FLAGS, "H", 0x20), "patch data")


def test_unknown_flag_refused() -> None:
    refused(patch_both(build(), 0, CD_FLAGS, LH_FLAGS, "H", 0x4000), "zip features srcdesk does not accept")


def test_unknown_compression_refused() -> None:
    refused(patch_both(build(), 0, CD_METHOD, LH_METHOD, "H", 12), "compression method 12")


def test_unknown_extra_field_refused() -> None:
    def entries(archive: zipfile.ZipFile) -> None:
        info = zipfile.ZipInfo("manifest.json")
        info.extra = struct.pack("<HH", 0x7075, 5) + b"\x01abcd"  # Info-ZIP Unicode path: a second name
        archive.writestr(info, MANIFEST)
    refused(with_zipfile(entries), "extra information")


def test_entry_comment_refused() -> None:
    def entries(archive: zipfile.ZipFile) -> None:
        info = zipfile.ZipInfo("manifest.json")
        info.comment = b"psst"
        archive.writestr(info, MANIFEST)
    refused(with_zipfile(entries), "has a comment")


# -- local headers that lie ----------------------------------------------------------------------

def test_local_header_name_disagrees() -> None:
    data = build([("good.json", b"{}"), ("data/x.jsonl", b"")])
    _central, local = headers(data)[0]
    lying = data[:local + LH_NAME] + b"evil.json" + data[local + LH_NAME + 9:]
    assert zipfile.ZipFile(io.BytesIO(lying)).namelist() == ["good.json", "data/x.jsonl"]
    refused(lying, r"local header that disagrees with the archive's directory \(name\)")


def test_local_header_method_disagrees() -> None:
    _central, local = headers(build())[1]
    refused(patch(build(), local + LH_METHOD, "H", 0), r"disagrees .*\(compression method\)")


def test_local_header_flags_disagree() -> None:
    _central, local = headers(build())[0]
    refused(patch(build(), local + LH_FLAGS, "H", 0x1), r"disagrees .*\(flags\)")


def test_local_header_sizes_disagree() -> None:
    _central, local = headers(build())[0]
    refused(patch(build(), local + LH_SIZE, "L", 3), "sizes or checksum")


def test_data_descriptors_accepted() -> None:
    """An archive written to an unseekable stream carries sizes after the data; that is fine."""

    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b) -> int:  # type: ignore[no-untyped-def, override]
            self.data += b
            return len(b)

    pipe = Pipe()
    write_zip(pipe, [("manifest.json", MANIFEST), ("data/people.jsonl", PEOPLE)])
    data = bytes(pipe.data)
    assert struct.unpack_from("<H", data, headers(data)[0][0] + CD_FLAGS)[0] & 0x8
    assert read_all(data) == {"manifest.json": MANIFEST, "data/people.jsonl": PEOPLE}
    # ...but the descriptor must agree with the directory
    descriptor = headers(data)[1][1] - 16
    refused(patch(data, descriptor + 4, "L", 0), "data descriptor that disagrees")


# -- sizes, counts and bombs ---------------------------------------------------------------------

def test_too_many_entries() -> None:
    entries = [(f"data/{i}.jsonl", b"") for i in range(4)]
    refused(build(entries), "has 4 files; srcdesk accepts at most 3", limits=Limits(max_entries=3))
    assert read_all(build(entries), limits=Limits(max_entries=4))
    refused(build([(f"f{i}", b"") for i in range(65)]), "at most 64")


def test_entry_too_large() -> None:
    refused(build([("data/x.jsonl", b"x" * 11)]), "is 11 bytes; srcdesk accepts at most 10",
            limits=Limits(max_entry_size=10))


def test_total_too_large() -> None:
    data = build([("a", b"x" * 8), ("b", b"y" * 8)])
    refused(data, "holds 16 bytes", limits=Limits(max_total_size=15))
    assert read_all(data, limits=Limits(max_total_size=16))


def test_read_refuses_more_than_asked_for() -> None:
    with StrictZip(build(), what="the payload") as archive:
        with pytest.raises(BundleRefused, match="at most 10"):
            archive.read("data/people.jsonl", 10)
        with pytest.raises(BundleRefused, match="The payload has no data/other.jsonl"):
            archive.open("data/other.jsonl")
        with pytest.raises(BundleRefused, match="has no"):
            archive.size("nope")


def _zeros_bomb(megabytes: int = 100) -> bytes:
    """100 MB of zeros, deflated, written in 1 MiB pieces (never held whole)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        info = zipfile.ZipInfo("data/people.jsonl", date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w") as stream:
            zeros = bytes(1 << 20)
            for _ in range(megabytes):
                stream.write(zeros)
    return out.getvalue()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return _zeros_bomb()


def test_zip_bomb_refused_by_its_ratio(bomb: bytes) -> None:
    assert len(bomb) < 200_000
    refused(bomb, "'zip bomb'")


def test_zip_bomb_with_lying_sizes_refused_while_reading(bomb: bytes) -> None:
    """Central and local sizes patched small: the checks pass, reading stops at the declared size."""
    lying = patch_both(bomb, 0, CD_SIZE, LH_SIZE, "L", 1000)
    with StrictZip(lying, what="the payload") as archive:
        assert archive.size("data/people.jsonl") == 1000
        with pytest.raises(BundleRefused, match="larger than it declares"):
            archive.read("data/people.jsonl", 1 << 30)
        with pytest.raises(BundleRefused, match="larger than it declares"):
            for _piece in archive.iter_chunks("data/people.jsonl"):
                pass
        with pytest.raises(BundleRefused, match="larger than it declares"):
            archive.open("data/people.jsonl").read()
    # Even with a checksum that fits the first 1000 bytes, plain zipfile would return them.
    crc = zlib.crc32(bytes(1000))
    sneaky = patch_both(lying, 0, CD_CRC, LH_CRC, "L", crc)
    assert zipfile.ZipFile(io.BytesIO(sneaky)).read("data/people.jsonl") == bytes(1000)
    with StrictZip(sneaky, what="the payload") as archive, pytest.raises(BundleRefused, match="larger"):
        archive.read("data/people.jsonl", 1 << 30)


def test_entry_smaller_than_declared() -> None:
    data = patch_both(build(), 1, CD_SIZE, LH_SIZE, "L", len(PEOPLE) + 5)
    with StrictZip(data, what="the payload") as archive, pytest.raises(BundleRefused, match="damaged|smaller"):
        archive.read("data/people.jsonl", 1 << 20)


def test_bad_checksum_refused_while_reading() -> None:
    for compress in (True, False):
        data = patch_both(build(compress=compress), 1, CD_CRC, LH_CRC, "L", 12345)
        with StrictZip(data, what="the payload") as archive:
            with pytest.raises(BundleRefused, match="checksum is wrong"):
                archive.read("data/people.jsonl", 1 << 20)
            # the last piece is handed out only after the checksum was checked
            with pytest.raises(BundleRefused, match="checksum is wrong"):
                list(archive.iter_chunks("data/people.jsonl"))


def test_damaged_compressed_data_refused_while_reading() -> None:
    data = build([("data/x.jsonl", json.dumps(list(range(2000))).encode())])
    _central, local = headers(data)[0]
    start = local + 30 + len("data/x.jsonl")
    broken = bytearray(data)
    for at in range(start + 5, start + 25):
        broken[at] ^= 0xFF
    with StrictZip(bytes(broken), what="the payload") as archive, pytest.raises(BundleRefused, match="damaged|larger|smaller"):
        archive.read("data/x.jsonl", 1 << 20)


# -- sources ---------------------------------------------------------------------------------------

def test_path_source(tmp_path: Path) -> None:
    path = tmp_path / "payload.zip"
    path.write_bytes(build())
    assert read_all(path) == read_all(str(path)) == read_all(build())
    refused(tmp_path / "missing.zip", "does not exist")
    (tmp_path / "junk.zip").write_bytes(b"junk" + build())
    refused(tmp_path / "junk.zip", "data before the start")


# -- writing ---------------------------------------------------------------------------------------

def test_write_zip_round_trip(tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    content = b"".join(b'{"n":%d}\n' % i for i in range(300_000))  # > 1 MiB, streamed in pieces
    big.write_bytes(content)
    for compress in (True, False):
        target = tmp_path / f"out-{compress}.zip"
        write_zip(target, [("manifest.json", MANIFEST), ("note.txt", "café ✓"), ("data/big.jsonl", big)],
                  compress=compress)
        assert read_all(target) == {"manifest.json": MANIFEST, "note.txt": "café ✓".encode(),
                                    "data/big.jsonl": content}
        for info in zipfile.ZipFile(target).infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.external_attr == 0o600 << 16
            assert info.create_system == 3
            assert info.compress_type == (zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED)


def test_write_zip_is_deterministic(tmp_path: Path) -> None:
    source = tmp_path / "data.jsonl"
    source.write_bytes(PEOPLE * 100)
    entries = [("manifest.json", MANIFEST), ("data/people.jsonl", source), ("x", "text")]
    first = io.BytesIO()
    write_zip(first, entries)
    write_zip(tmp_path / "second.zip", entries)
    assert first.getvalue() == (tmp_path / "second.zip").read_bytes()
    again = io.BytesIO()
    write_zip(again, [("manifest.json", MANIFEST), ("data/people.jsonl", PEOPLE * 100), ("x", b"text")])
    assert again.getvalue() == first.getvalue()
    other = io.BytesIO()
    write_zip(other, [("manifest.json", MANIFEST + b" ")])
    assert other.getvalue() != first.getvalue()


def test_write_zip_refuses_duplicate_names() -> None:
    with pytest.raises(ValueError, match="twice"):
        write_zip(io.BytesIO(), [("a", b"1"), ("a", b"2")])


# -- fuzz ------------------------------------------------------------------------------------------

def _seeds() -> list[bytes]:
    lines = b"".join(b'{"id":%d,"name":"n%d","tags":["a",{"b":null}]}\n' % (i, i) for i in range(40))
    return [build([("manifest.json", MANIFEST), ("data/people.jsonl", lines)], compress=True),
            build([("manifest.json", MANIFEST), ("data/people.jsonl", lines)], compress=False)]


SEEDS = _seeds()

_flip = st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(0, 255))
_truncate = st.tuples(st.just("truncate"), st.integers(0, 10**6), st.just(0))
_insert = st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=40))
_delete = st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 40))
_mutation = st.one_of(_flip, _flip, _flip, _truncate, _insert, _delete)


def _mutate(data: bytes, mutations: list[tuple]) -> bytes:
    out = bytearray(data)
    for kind, where, what in mutations:
        at = where % (len(out) + 1)
        if kind == "flip" and out:
            out[at % len(out)] = what
        elif kind == "truncate":
            del out[at:]
        elif kind == "insert":
            out[at:at] = what
        elif kind == "delete":
            del out[at:at + what]
    return bytes(out)


def _read_everything(data: bytes) -> None:
    with StrictZip(data, what="the payload") as archive:
        for name in archive.names:
            if name.endswith(".jsonl"):
                list(strictjson.iter_jsonl(archive.iter_chunks(name, chunk=97), what=name))
                with archive.open(name) as stream:
                    stream.read()
            else:
                strictjson.loads(archive.read(name, 1 << 20), what=name)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.tuples(st.sampled_from(range(len(SEEDS))), st.lists(_mutation, min_size=1, max_size=4)),
    st.binary(max_size=600),
))
def test_fuzz_only_bundle_refused_escapes(case) -> None:
    data = case if isinstance(case, bytes) else _mutate(SEEDS[case[0]], case[1])
    try:
        _read_everything(data)
    except BundleRefused:
        pass
