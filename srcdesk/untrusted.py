"""Reading files that come from outside: bundles, enrolment cards, key files, later imports.

Every such file is opened once, checked to be a regular file on the open descriptor (not a
folder, a device such as ``/dev/zero``, or a pipe), and read with a hard size cap taken from the
descriptor before a byte is read. ``O_NONBLOCK`` is used where it exists, so opening a FIFO with
no writer returns at once instead of hanging; a regular file ignores it. Symbolic links are
followed: what is checked is what they point to. On Windows (no ``O_NONBLOCK``, and a folder can't
be opened) the same checks hold through ``fstat`` and the open's own refusal.

A refusal is one sentence (``str(error)``) naming the file by its name alone; callers choose the
error class their users see (a bundle's refusal, a form's field error, a key's damage).
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .errors import SrcdeskError


class UnreadableFile(SrcdeskError):
    """A file from outside was refused before it was read; ``str()`` says why."""


Refuse = Callable[[str], Exception]

_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
CHUNK = 1 << 20


def _size_text(size: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
        if size >= scale:
            return f"{size / scale:.0f} {unit}" if size >= 10 * scale else f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def open_untrusted(path: str | os.PathLike[str], *, limit: int | None, what: str = "file",
                   refuse: Refuse = UnreadableFile) -> BinaryIO:
    """Open ``path`` for reading once: a regular file of at most ``limit`` bytes (None: any size).

    Returns the open binary file (the caller closes it; ``os.fstat(f.fileno()).st_size`` is the
    size that was checked). Anything else is refused with ``refuse(sentence)``.
    """
    path = Path(path)
    name = path.name or str(path)
    a_what = f"{'an' if what[:1] in 'aeiou' else 'a'} {what}"
    try:
        fd = os.open(path, _FLAGS)
    except FileNotFoundError:
        raise refuse(f"{name} does not exist; check its name, and that the drive is plugged in.") from None
    except IsADirectoryError:
        raise refuse(f"{name} is a folder, not {a_what}; choose the file itself.") from None
    except OSError as exc:
        if os.name == "nt" and path.is_dir():  # Windows refuses to open a folder at all
            raise refuse(f"{name} is a folder, not {a_what}; choose the file itself.") from None
        raise refuse(f"Can't read {name}: {exc.strerror or exc}.") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise refuse(f"{name} is a folder, not {a_what}; choose the file itself.")
        if not stat.S_ISREG(st.st_mode):
            raise refuse(f"{name} is not an ordinary file (a device or a pipe), so it can't be {a_what}.")
        if limit is not None and st.st_size > limit:
            raise refuse(f"{name} is {_size_text(st.st_size)}, larger than any {what} "
                         f"(at most {_size_text(limit)}); it was not read.")
        if hasattr(os, "set_blocking") and getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb", closefd=True)
    except BaseException:
        os.close(fd)
        raise


def read_untrusted(path: str | os.PathLike[str], *, limit: int, what: str = "file",
                   refuse: Refuse = UnreadableFile) -> bytes:
    """All the bytes of a regular file of at most ``limit`` bytes, read once (see
    :func:`open_untrusted`). A file that grows past the cap while it is read is refused too."""
    name = Path(path).name or str(path)
    with open_untrusted(path, limit=limit, what=what, refuse=refuse) as fh:
        try:
            data = read_capped(fh, limit)
        except OSError as exc:
            raise refuse(f"Can't read {name}: {exc.strerror or exc}.") from None
    if data is None:
        raise refuse(f"{name} grew past {_size_text(limit)} while it was read; it was not used.")
    return data


def read_capped(fh: BinaryIO, limit: int) -> bytes | None:
    """Up to ``limit`` bytes from ``fh``; None if there are more."""
    out = io.BytesIO()
    left = limit + 1
    while left > 0:
        chunk = fh.read(min(CHUNK, left))
        if not chunk:
            break
        out.write(chunk)
        left -= len(chunk)
    data = out.getvalue()
    return None if len(data) > limit else data


__all__ = ["UnreadableFile", "open_untrusted", "read_capped", "read_untrusted"]
