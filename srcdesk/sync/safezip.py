"""Zip archives from untrusted bytes, checked before a single entry is read; and deterministic writing.

A bundle is a zip holding a zip. Python's :mod:`zipfile` is made for friendly archives: it returns
the *last* of two entries with the same name, reads archives with junk before or after them,
ignores entry types and lets a lying size through as long as the checksum fits. :class:`StrictZip`
checks the archive's whole structure first (reading the end record, the central directory and
every local header itself with :mod:`struct`) and only then lets :mod:`zipfile` decompress,
counting every byte. Any problem raises :class:`~srcdesk.sync.errors.BundleRefused` with a
reason a person can act on. Nothing is ever extracted to disk.

What is refused: anything that is not exactly one zip from the first byte to the last (junk
before or after, an archive comment, truncation); zip64 and split archives; entry names that
are empty, too long, not UTF-8, not NFC, or contain control characters, backslashes, drive
letters, ``.``/``..``/empty parts or point at a folder; two names that are equal, or equal but
for case or Unicode normalisation; symbolic links, folders, devices; encryption, patched data,
compression other than stored/deflated; local headers that disagree with the central
directory; files that overlap or leave gaps between them; too many files, too much data, or a
compression ratio only a zip bomb has. While reading, an entry that inflates to more (or less)
than it declares, or fails its checksum, is refused.
"""

from __future__ import annotations

import copy
import io
import os
import re
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, BinaryIO

from ..untrusted import open_untrusted
from .errors import BundleRefused

_LOCAL_SIG = b"PK\x03\x04"
_CENTRAL_SIG = b"PK\x01\x02"
_END_SIG = b"PK\x05\x06"
_ZIP64_LOCATOR_SIG = b"PK\x06\x07"
_DESCRIPTOR_SIG = b"PK\x07\x08"

# signature, disk, disk with directory, entries on disk, entries, directory size, offset, comment length
_END = struct.Struct("<4s4H2LH")
# signature, made by, needed, flags, method, time, date, crc, compressed, size, name length,
# extra length, comment length, disk, internal attributes, external attributes, local header offset
_CENTRAL = struct.Struct("<4s6H3L5H2L")
# signature, needed, flags, method, time, date, crc, compressed, size, name length, extra length
_LOCAL = struct.Struct("<4s5H3L2H")
_EXTRA = struct.Struct("<2H")
_DESCRIPTOR = struct.Struct("<3L")

_MAX_COMMENT = 0xFFFF
_STORED, _DEFLATED = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED
_FLAG_ENCRYPTED = 0x0001
_FLAG_DEFLATE_OPTIONS = 0x0006  # compression level hints: harmless
_FLAG_DESCRIPTOR = 0x0008  # sizes and CRC follow the data (written to unseekable streams)
_FLAG_PATCHED = 0x0020
_FLAG_STRONG_ENCRYPTION = 0x0040
_FLAG_UTF8 = 0x0800
_FLAG_MASKED_HEADER = 0x2000
_FLAGS_ACCEPTED = _FLAG_DEFLATE_OPTIONS | _FLAG_DESCRIPTOR | _FLAG_UTF8
_ZIP64_EXTRA = 0x0001
# Extra fields that only carry times or owners; anything else (zip64, a second "Unicode path"
# that other tools would show instead of the checked name, ...) is refused.
_EXTRAS_ACCEPTED = {0x000A, 0x5455, 0x7875}
_MAX_VERSION_NEEDED = 20  # 2.0: deflate; zip64 (4.5) and everything later is refused
_ZIP64_VERSION = 45
_RATIO_FROM = 64 * 1024  # small entries may compress very well without being bombs
_DOS_DIRECTORY = 0x10
_DRIVE = re.compile(r"[A-Za-z]:")
_UNLIMITED = 1 << 62  # a declared size zipfile will never reach, so it never cuts data short


@dataclass(frozen=True)
class Limits:
    """What an archive may hold. Sizes are uncompressed bytes."""

    max_entries: int = 64
    max_entry_size: int = 2 * 1024**3
    max_total_size: int = 4 * 1024**3
    max_ratio: int = 200  # uncompressed / compressed, for entries over 64 KiB
    max_name_len: int = 200  # bytes of the UTF-8 name


@dataclass(frozen=True)
class _Entry:
    raw_name: bytes
    name: str
    version_needed: int
    flags: int
    method: int
    crc: int
    compressed: int
    size: int
    extra: bytes
    comment_length: int
    disk: int
    external_attr: int
    offset: int


def _cap(text: str) -> str:
    """Start a sentence: "the payload" becomes "The payload"; a file name ("manifest.json") stays as it is."""
    return text[:1].upper() + text[1:] if text.split(" ", 1)[0].isalpha() else text


def _show(name: str, limit: int = 60) -> str:
    """An untrusted name quoted for a message: escapes visible, length bounded."""
    return repr(name if len(name) <= limit else name[:limit] + "…")


class _Memory(io.RawIOBase):
    """A read-only, seekable file over a buffer, without copying it."""

    def __init__(self, buffer: bytes | bytearray | memoryview) -> None:
        super().__init__()
        self._view = memoryview(buffer).cast("B")
        self._pos = 0

    def __len__(self) -> int:
        return len(self._view)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET and offset < 0:
            raise ValueError(f"negative seek position {offset}")
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._view)}[whence]
        self._pos = max(0, base + offset)  # as io.BytesIO does (zipfile relies on it)
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else min(self._pos + size, len(self._view))
        data = bytes(self._view[self._pos:end]) if end > self._pos else b""
        self._pos = max(self._pos, end)
        return data

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._view.release()
        super().close()


class StrictZip:
    """A zip opened from an in-memory buffer (bytes/memoryview) or a path, checked before use.

    ``what`` names the archive in messages ("the bundle file", "the payload"). ``allowed``
    decides which names may appear; every name in ``required`` must. All structural checks run
    here, before any entry is read; reading then refuses data that breaks what was declared.

    The source must not change while the archive is open: pass ``bytes`` (immutable) when the
    same bytes must be both verified and used; a path is read again on every access.
    """

    names: list[str]

    def __init__(self, source: bytes | bytearray | memoryview | str | os.PathLike[str], *, what: str,
                 allowed: Callable[[str], bool] | None = None, required: Iterable[str] = (),
                 limits: Limits = Limits()) -> None:  # noqa: B008 - frozen, so a safe default
        self._what = what
        self._limits = limits
        self._zip: zipfile.ZipFile | None = None
        self._fp: IO[bytes]
        if isinstance(source, (str, os.PathLike)):
            try:
                # kept open until close(); a folder, device or pipe is refused before any read
                self._fp = open_untrusted(source, limit=None, what=what, refuse=BundleRefused)
                self._size = os.fstat(self._fp.fileno()).st_size
            except OSError as error:
                self.close()
                raise self._refused(f"could not be read ({error.strerror or error})") from None
        else:
            memory = _Memory(source)
            self._fp, self._size = memory, len(memory)
        try:
            entries = self._check()
            self._entries = {entry.name: entry for entry in entries}
            self.names = [entry.name for entry in entries]
            self._infos = self._open_zipfile(entries)
            for name in self.names:
                if allowed is not None and not allowed(name):
                    raise BundleRefused(f"Unexpected file {_show(name)} in {what}.")
            for name in required:
                if name not in self._entries:
                    raise self._refused(f"has no {name}")
        except BaseException:
            self.close()
            raise

    # -- messages -------------------------------------------------------------------------

    def _refused(self, reason: str) -> BundleRefused:
        return BundleRefused(f"{_cap(self._what)} {reason}.")

    def _entry_refused(self, name: str, reason: str) -> BundleRefused:
        return BundleRefused(f"{_show(name)} in {self._what} {reason}.")

    # -- structure ------------------------------------------------------------------------

    def _read_at(self, offset: int, length: int) -> bytes:
        if offset < 0 or offset + length > self._size:
            raise self._refused("is truncated or damaged")
        self._fp.seek(offset)
        data = self._fp.read(length)
        if len(data) != length:
            raise self._refused("is truncated or damaged")
        return data

    def _find_end(self) -> int:
        """The offset of the end-of-central-directory record, which must end the file exactly."""
        size = self._size
        if size == 0:
            raise self._refused("is empty")
        if size >= _END.size:
            tail = self._read_at(size - _END.size, _END.size)
            if tail[:4] == _END_SIG and _END.unpack(tail)[7] == 0:
                return size - _END.size
        # Not a clean end: find out why, to say so.
        window_start = max(0, size - _END.size - _MAX_COMMENT)
        window = self._read_at(window_start, size - window_start)
        # The last signature with room for a whole record after it.
        at = window.rfind(_END_SIG, 0, len(window) - _END.size + 4) if len(window) >= _END.size else -1
        if at >= 0:
            comment_length = _END.unpack_from(window, at)[7]
            end = window_start + at + _END.size + comment_length
            if comment_length and end == size:
                raise self._refused("has an archive comment, which srcdesk never writes")
            if end < size:
                raise self._refused("has data after the end of the archive")
            raise self._refused("is truncated or damaged")
        if self._read_at(0, min(4, size)) == _LOCAL_SIG:
            raise self._refused("is truncated or damaged (it has no end-of-archive record)")
        raise self._refused("is not a zip file")

    def _check(self) -> list[_Entry]:
        limits = self._limits
        end_at = self._find_end()
        (_sig, disk, directory_disk, on_disk, count, directory_size, directory_at,
         _comment) = _END.unpack(self._read_at(end_at, _END.size))
        if 0xFFFF in (disk, directory_disk, on_disk, count) or 0xFFFFFFFF in (directory_size, directory_at):
            raise self._refused("uses the zip64 extension, which srcdesk never writes")
        if disk or directory_disk or on_disk != count:
            raise self._refused("is split across several disks, which srcdesk does not accept")
        if directory_at + directory_size != end_at:
            if end_at >= 20 and self._read_at(end_at - 20, 4) == _ZIP64_LOCATOR_SIG:
                raise self._refused("uses the zip64 extension, which srcdesk never writes")
            if directory_at + directory_size < end_at:
                concat = end_at - directory_at - directory_size
                if (concat >= _END.size and self._read_at(0, 4) == _LOCAL_SIG
                        and self._read_at(concat - _END.size, 4) == _END_SIG):
                    # What comes before is itself a whole archive: this one was appended to it.
                    raise self._refused("has data after the end of the archive (a second archive)")
                raise self._refused("has data before the start of the archive")
            raise self._refused("is truncated or damaged (its directory is out of place)")
        if count > limits.max_entries:
            raise self._refused(f"has {count} files; srcdesk accepts at most {limits.max_entries}")
        if count == 0 and end_at != 0:
            raise self._refused("has data before the start of the archive")

        entries = self._read_directory(directory_at, directory_size, count)
        self._check_names(entries)
        total = 0
        for entry in entries:
            self._check_entry(entry)
            total += entry.size
        if total > limits.max_total_size:
            raise self._refused(f"holds {total} bytes of data; srcdesk accepts at most {limits.max_total_size}")
        self._check_layout(entries, directory_at)
        return entries

    def _read_directory(self, directory_at: int, directory_size: int, count: int) -> list[_Entry]:
        entries = []
        at = directory_at
        end = directory_at + directory_size
        for _ in range(count):
            if at + _CENTRAL.size > end:
                raise self._refused("is damaged (its directory is shorter than it says)")
            fields = _CENTRAL.unpack(self._read_at(at, _CENTRAL.size))
            (sig, _made_by, needed, flags, method, _time, _date, crc, compressed, size, name_length,
             extra_length, comment_length, disk, _internal, external, offset) = fields
            if sig != _CENTRAL_SIG:
                raise self._refused("is damaged (its directory is broken)")
            variable = name_length + extra_length + comment_length
            if at + _CENTRAL.size + variable > end:
                raise self._refused("is damaged (its directory is shorter than it says)")
            raw_name = self._read_at(at + _CENTRAL.size, name_length)
            extra = self._read_at(at + _CENTRAL.size + name_length, extra_length)
            entries.append(_Entry(raw_name, self._decode_name(raw_name, flags), needed, flags, method, crc,
                                  compressed, size, extra, comment_length, disk, external, offset))
            at += _CENTRAL.size + variable
        if at != end:
            raise self._refused("is damaged (its directory holds more than it says)")
        return entries

    def _decode_name(self, raw: bytes, flags: int) -> str:
        if flags & _FLAG_UTF8:
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                raise self._refused("has a file name that is not UTF-8 text") from None
        if not raw.isascii():  # the legacy code page: refused, as names must mean one thing
            raise self._refused("has a file name that is not UTF-8 text")
        return raw.decode("ascii")

    def _check_names(self, entries: list[_Entry]) -> None:
        seen: dict[str, str] = {}
        for entry in entries:
            name = entry.name
            normal = unicodedata.normalize("NFC", name)
            key = unicodedata.normalize("NFC", normal.casefold())
            other = seen.get(key)
            if other is None:
                seen[key] = name
            elif other == name:
                raise self._refused(f"has two files called {_show(name)}")
            elif unicodedata.normalize("NFC", other) == normal:
                raise self._refused(f"has two files whose names differ only in Unicode normalisation: "
                                    f"{_show(other)} and {_show(name)}")
            else:
                raise self._refused(f"has two files whose names differ only in upper or lower case: "
                                    f"{_show(other)} and {_show(name)}")
        for entry in entries:
            self._check_name(entry.name, len(entry.raw_name))

    def _check_name(self, name: str, raw_length: int) -> None:
        if not name:
            raise self._refused("has a file with no name")
        if raw_length > self._limits.max_name_len:
            raise self._refused(f"has a file name longer than {self._limits.max_name_len} bytes: {_show(name)}")
        for char in name:
            if unicodedata.category(char)[0] == "C" or unicodedata.category(char) in ("Zl", "Zp"):
                raise self._refused(f"has a file name with a control character: {_show(name)}")
        if unicodedata.normalize("NFC", name) != name:
            raise self._refused(f"has a file name that is not in Unicode normal form (NFC): {_show(name)}")
        if _DRIVE.match(name):
            raise self._refused(f"has a file name with a drive letter: {_show(name)}")
        if "\\" in name:
            raise self._refused(f"has a file name with a backslash: {_show(name)}")
        if name.startswith("/"):
            raise self._refused(f"has an absolute file name: {_show(name)}")
        if ":" in name:
            raise self._refused(f"has a file name with a colon: {_show(name)}")
        if name.endswith("/"):
            raise self._entry_refused(name, "is a folder, not a file")
        parts = name.split("/")
        if ".." in parts:
            raise self._refused(f"has a file name that points outside the archive ('..'): {_show(name)}")
        if "." in parts:
            raise self._refused(f"has a file name with a '.' part: {_show(name)}")
        if "" in parts:
            raise self._refused(f"has a file name with an empty part ('//'): {_show(name)}")

    def _check_extra(self, name: str, extra: bytes) -> None:
        at = 0
        while at < len(extra):
            if at + _EXTRA.size > len(extra):
                raise self._entry_refused(name, "is damaged (its extra information is broken)")
            kind, length = _EXTRA.unpack_from(extra, at)
            at += _EXTRA.size + length
            if at > len(extra):
                raise self._entry_refused(name, "is damaged (its extra information is broken)")
            if kind == _ZIP64_EXTRA:
                raise self._entry_refused(name, "uses the zip64 extension, which srcdesk never writes")
            if kind not in _EXTRAS_ACCEPTED:
                raise self._entry_refused(name, f"carries extra information srcdesk does not accept (type 0x{kind:04x})")

    def _check_entry(self, entry: _Entry) -> None:
        name, flags, limits = entry.name, entry.flags, self._limits
        mode = entry.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise self._entry_refused(name, "is a symbolic link, not a file")
        if stat.S_ISDIR(mode) or entry.external_attr & _DOS_DIRECTORY:
            raise self._entry_refused(name, "is a folder, not a file")
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
            raise self._entry_refused(name, "is not a regular file")
        if flags & _FLAG_ENCRYPTED:
            raise self._entry_refused(name, "is encrypted")
        if flags & _FLAG_STRONG_ENCRYPTION:
            raise self._entry_refused(name, "uses strong encryption")
        if flags & _FLAG_PATCHED:
            raise self._entry_refused(name, "holds compressed patch data, which srcdesk does not accept")
        if flags & _FLAG_MASKED_HEADER:
            raise self._entry_refused(name, "has a masked (encrypted) header")
        if flags & ~_FLAGS_ACCEPTED:
            raise self._entry_refused(name, f"uses zip features srcdesk does not accept (flags 0x{flags:04x})")
        if entry.method not in (_STORED, _DEFLATED):
            raise self._entry_refused(name, f"uses compression method {entry.method}, which srcdesk does not accept")
        self._check_extra(name, entry.extra)
        if 0xFFFFFFFF in (entry.compressed, entry.size, entry.offset) or entry.disk == 0xFFFF:
            raise self._entry_refused(name, "uses the zip64 extension, which srcdesk never writes")
        if entry.version_needed > _MAX_VERSION_NEEDED:
            if entry.version_needed == _ZIP64_VERSION:
                raise self._entry_refused(name, "uses the zip64 extension, which srcdesk never writes")
            raise self._entry_refused(name, f"needs zip version {entry.version_needed // 10}."
                                            f"{entry.version_needed % 10}, which srcdesk does not accept")
        if entry.disk:
            raise self._refused("is split across several disks, which srcdesk does not accept")
        if entry.comment_length:
            raise self._entry_refused(name, "has a comment, which srcdesk never writes")
        if entry.method == _STORED and entry.compressed != entry.size:
            larger = "larger" if entry.compressed > entry.size else "smaller"
            raise self._entry_refused(name, f"is {larger} than it declares, so it is damaged "
                                            "(its stored and declared sizes differ)")
        if entry.size > limits.max_entry_size:
            raise self._entry_refused(name, f"is {entry.size} bytes; srcdesk accepts at most {limits.max_entry_size}")
        if entry.size > _RATIO_FROM and entry.size > limits.max_ratio * entry.compressed:
            ratio = entry.size // max(entry.compressed, 1)
            raise self._entry_refused(name, f"would grow {ratio} times when unpacked, as a 'zip bomb' does "
                                            f"(srcdesk accepts at most {limits.max_ratio} times)")

    def _check_layout(self, entries: list[_Entry], directory_at: int) -> None:
        """Every local header agrees with the directory, and the entries tile the file exactly."""
        expected = 0  # where the next entry must start: right after the previous one
        for entry in sorted(entries, key=lambda e: e.offset):
            name = entry.name
            if entry.offset < expected:
                raise self._refused("has files that overlap each other, as a 'zip bomb' does")
            if entry.offset > expected:
                if expected == 0:
                    raise self._refused("has data before the start of the archive")
                raise self._refused("has data between its files that belongs to none of them")
            if entry.offset + _LOCAL.size > directory_at:
                raise self._entry_refused(name, "is damaged (its header is missing)")
            (sig, _needed, flags, method, _time, _date, crc, compressed, size, name_length,
             extra_length) = _LOCAL.unpack(self._read_at(entry.offset, _LOCAL.size))
            if sig != _LOCAL_SIG:
                if entry.offset == 0:
                    raise self._refused("has data before the start of the archive")
                raise self._entry_refused(name, "is damaged (its header is missing)")
            data_at = entry.offset + _LOCAL.size + name_length + extra_length
            if data_at > directory_at:
                raise self._entry_refused(name, "is damaged (its header runs into the directory)")
            local_name = self._read_at(entry.offset + _LOCAL.size, name_length)
            disagrees = []
            if local_name != entry.raw_name:
                disagrees.append("name")
            if method != entry.method:
                disagrees.append("compression method")
            if flags != entry.flags:
                disagrees.append("flags")
            values = (crc, compressed, size)
            if values != (entry.crc, entry.compressed, entry.size) and not (
                    entry.flags & _FLAG_DESCRIPTOR and values == (0, 0, 0)):
                disagrees.append("sizes or checksum")
            if disagrees:
                raise self._entry_refused(name, "has a local header that disagrees with the archive's directory "
                                                f"({', '.join(disagrees)})")
            self._check_extra(name, self._read_at(entry.offset + _LOCAL.size + name_length, extra_length))
            expected = data_at + entry.compressed
            if entry.flags & _FLAG_DESCRIPTOR:
                expected = self._check_descriptor(entry, expected, directory_at)
            if expected > directory_at:
                raise self._entry_refused(name, "is damaged (its data runs into the directory)")
        if expected != directory_at:
            raise self._refused("has data between its files that belongs to none of them")

    def _check_descriptor(self, entry: _Entry, at: int, directory_at: int) -> int:
        """Check the data descriptor at ``at``; return where it ends."""
        if at + 4 <= directory_at and self._read_at(at, 4) == _DESCRIPTOR_SIG:
            at += 4
        if at + _DESCRIPTOR.size > directory_at:
            raise self._entry_refused(entry.name, "is damaged (its data descriptor is missing)")
        if _DESCRIPTOR.unpack(self._read_at(at, _DESCRIPTOR.size)) != (entry.crc, entry.compressed, entry.size):
            raise self._entry_refused(entry.name, "has a data descriptor that disagrees with the archive's directory")
        return at + _DESCRIPTOR.size

    def _open_zipfile(self, entries: list[_Entry]) -> dict[str, zipfile.ZipInfo]:
        """Open with zipfile for decompression, and make sure it sees what was checked."""
        try:
            self._zip = zipfile.ZipFile(self._fp)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, ValueError, EOFError,
                struct.error, OSError) as error:
            raise self._refused(f"is damaged ({error})") from None
        if len(infos) != len(entries) or any(
                (info.orig_filename, info.header_offset, info.file_size, info.compress_size, info.CRC,
                 info.compress_type, info.flag_bits)
                != (entry.name, entry.offset, entry.size, entry.compressed, entry.crc, entry.method, entry.flags)
                for info, entry in zip(infos, entries, strict=False)):
            raise self._refused("is damaged (zipfile reads it differently)")
        return {entry.name: info for entry, info in zip(entries, infos, strict=True)}

    # -- reading --------------------------------------------------------------------------

    def _entry(self, name: str) -> _Entry:
        if self._zip is None:
            raise ValueError("the archive is closed")
        try:
            return self._entries[name]
        except KeyError:
            raise self._refused(f"has no {name}") from None

    def size(self, name: str) -> int:
        """The uncompressed size ``name`` declares (reading refuses any other size)."""
        return self._entry(name).size

    def _reader(self, name: str) -> _EntryReader:
        entry = self._entry(name)
        # zipfile stops at the declared size, hiding any surplus; give it a size it never reaches
        # and count the bytes here instead.
        info = copy.copy(self._infos[name])
        info.file_size = _UNLIMITED
        assert self._zip is not None
        try:
            stream = self._zip.open(info)
        except (zipfile.BadZipFile, NotImplementedError, ValueError, EOFError, struct.error) as error:
            raise self._entry_refused(name, f"is damaged ({error})") from None
        return _EntryReader(stream, entry.size, name, self._what)

    def open(self, name: str) -> BinaryIO:
        """A streaming reader for ``name``; it refuses data larger or smaller than declared, or damaged."""
        return io.BufferedReader(self._reader(name), buffer_size=64 * 1024)  # type: ignore[return-value]

    def read(self, name: str, max_size: int) -> bytes:
        """All of ``name``, refused if it declares more than ``max_size`` bytes."""
        declared = self._entry(name).size
        if declared > max_size:
            raise self._entry_refused(name, f"is {declared} bytes; srcdesk accepts at most {max_size}")
        return b"".join(self.iter_chunks(name))

    def iter_chunks(self, name: str, chunk: int = 1 << 20) -> Iterator[bytes]:
        """``name`` in pieces of at most ``chunk`` bytes; the last piece arrives only once it is verified."""
        reader = self._reader(name)
        try:
            while data := reader.next_piece(chunk):
                yield data
        finally:
            reader.close()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None
        fp = getattr(self, "_fp", None)
        if fp is not None:
            fp.close()

    def __enter__(self) -> StrictZip:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _EntryReader(io.RawIOBase):
    """Decompressed bytes of one entry, counted against its declared size and checked at the end."""

    _ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, struct.error)

    def __init__(self, stream: IO[bytes], declared: int, name: str, what: str) -> None:
        super().__init__()
        self._stream = stream
        self._declared = declared
        self._count = 0
        self._done = False
        self._name = name
        self._what = what

    def _refused(self, reason: str) -> BundleRefused:
        return BundleRefused(f"{_show(self._name)} in {self._what} {reason}.")

    def readable(self) -> bool:
        return True

    def next_piece(self, limit: int) -> bytes:
        """Up to ``limit`` bytes; b"" only after the end was verified (size and CRC)."""
        if self._done or limit <= 0:
            return b""
        want = min(limit, self._declared - self._count)
        try:
            data = self._stream.read(want) if want else b""
            if want and not data:
                raise self._refused("is smaller than it declares")
            self._count += len(data)
            if self._count == self._declared:
                # Everything declared has arrived: there must be nothing more, and reading on to
                # the end makes zipfile check the CRC, before the last piece is handed out.
                if self._stream.read(1):
                    raise self._refused("is larger than it declares")
                self._done = True
        except self._ERRORS as error:
            detail = "its checksum is wrong" if "CRC" in str(error) else str(error) or type(error).__name__
            raise self._refused(f"is damaged ({detail})") from None
        return data

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.next_piece(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
        super().close()


def write_zip(target: str | os.PathLike[str] | BinaryIO,
              entries: Iterable[tuple[str, bytes | str | os.PathLike[str]]], *, compress: bool = True) -> None:
    """Write a zip that is the same bytes for the same input (and that :class:`StrictZip` accepts).

    Values are the entry's content: ``bytes`` as they are, ``str`` as UTF-8, and a path
    (``os.PathLike``) is streamed from that file in 1 MiB pieces. Dates, permissions and the
    compression level are fixed; zip64 is never used.
    """
    method = _DEFLATED if compress else _STORED
    written: set[str] = set()
    with zipfile.ZipFile(target, "w", compression=method, allowZip64=False) as archive:
        for name, value in entries:
            if name in written:
                raise ValueError(f"write_zip was given {name!r} twice")
            written.add(name)
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            info.external_attr = 0o600 << 16
            info.create_system = 3
            if compress:
                if hasattr(info, "compress_level"):  # Python 3.13 and later
                    info.compress_level = 6
                else:
                    info._compresslevel = 6  # type: ignore[attr-defined]
            with archive.open(info, "w") as out:
                if isinstance(value, (bytes, bytearray, memoryview)):
                    out.write(value)
                elif isinstance(value, str):
                    out.write(value.encode("utf-8"))
                else:
                    with open(value, "rb") as source:
                        while piece := source.read(1 << 20):
                            out.write(piece)
