"""Strict JSON for untrusted bundles: one meaning per document, or a refusal that says why.

Python's :mod:`json` is lenient where a bundle must not be: it keeps the *last* of duplicate
keys, accepts ``NaN``/``Infinity``, turns ``1e400`` into infinity, lets lone surrogates
(``"\\ud800"``) through and ignores a byte-order mark only sometimes. Here every one of those
raises :class:`~srcdesk.sync.errors.BundleRefused`, as do invalid UTF-8, nesting deeper than a
limit, trailing data and anything else that is not JSON.

:func:`loads` reads one document (the manifest); :func:`iter_jsonl` streams JSON Lines (the
data files) from byte chunks, fast: one decoder built once, the C scanner called directly,
and the per-line checks kept to a few C-level string operations.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from itertools import accumulate
from typing import Any

from .errors import BundleRefused

_BOM = "\ufeff"
_UTF8_BOM = b"\xef\xbb\xbf"
# A \u escape of a surrogate (D800-DFFF); a line with one is checked for *lone* surrogates.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
# A string (possessive, so never backtracking; an unterminated one runs to the end).
_STRINGS = re.compile(r'"(?:[^"\\]++|\\.)*+"?', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class _Refusal(Exception):
    """Raised inside the decoder's hooks; turned into BundleRefused with the document's name."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise _Refusal(f"has a duplicate key {_show(key)}")
            seen.add(key)
    return result


def _refuse_constant(name: str) -> Any:
    raise _Refusal(f"contains {name}, which is not a number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refusal(f"contains the number {_show(text)}, which is too large")
    return value


_DECODER = json.JSONDecoder(object_pairs_hook=_pairs_hook, parse_constant=_refuse_constant,
                            parse_float=_finite_float)
_SCAN = _DECODER.scan_once


def _show(text: str, limit: int = 40) -> str:
    """A short, printable quotation of untrusted text for a message."""
    shown = text if len(text) <= limit else text[:limit] + "…"
    return repr(shown)


def _cap(text: str) -> str:
    """Start a sentence: "the payload" becomes "The payload"; a file name ("manifest.json") stays as it is."""
    return text[:1].upper() + text[1:] if text.split(" ", 1)[0].isalpha() else text


def _refused(what: str, reason: str) -> BundleRefused:
    return BundleRefused(f"{_cap(what)} {reason}.")


def _too_deep(text: str, max_depth: int) -> bool:
    """Whether arrays and objects in JSON ``text`` nest deeper than ``max_depth``.

    A linear scan made before parsing, so that the recursive C parser never meets deep input
    (a worker thread's stack may be far smaller than the interpreter's recursion limit assumes):
    strings are cut out, then everything but brackets, then the brackets are counted.
    """
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > max_depth


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _json_error(error: json.JSONDecodeError) -> str:
    return f"is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"


def _decode_text(text: str, what: str, max_depth: int, *, fast: bool) -> Any:
    """Parse one complete document held in ``text`` with every strictness check.

    ``fast`` (JSON Lines) calls the C scanner directly and refuses leading or trailing white
    space; otherwise white space around the document is allowed, as JSON allows.
    """
    if text.startswith(_BOM):
        raise _refused(what, "starts with a byte-order mark")
    # Fewer brackets than the limit cannot nest deeper than it (brackets in strings only add).
    if text.count("{") + text.count("[") > max_depth and _too_deep(text, max_depth):
        raise _refused(what, f"nests deeper than {max_depth} levels")
    try:
        if fast:
            try:
                value, end = _SCAN(text, 0)
            except StopIteration:
                _DECODER.decode(text)  # raises with a useful message unless the value follows white space
                raise _refused(what, "is not valid JSON: white space before the value") from None
            if end != len(text):
                raise _refused(what, f"is not valid JSON: unexpected data after the value (column {end + 1})")
        else:
            value = _DECODER.decode(text)
    except _Refusal as refusal:
        raise _refused(what, refusal.reason) from None
    except json.JSONDecodeError as error:
        raise _refused(what, _json_error(error)) from None
    except RecursionError:  # cannot happen after the depth check; kept so it never escapes
        raise _refused(what, f"nests deeper than {max_depth} levels") from None
    except ValueError as error:  # e.g. an integer with more digits than Python converts
        raise _refused(what, f"is not valid JSON: {str(error)[:80]}") from None
    if "\\u" in text and _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        raise _refused(what, "contains a broken Unicode character (a lone surrogate)")
    return value


def loads(data: bytes | bytearray | memoryview | str, *, what: str, max_depth: int = 8) -> Any:
    """Parse one untrusted JSON document, refusing anything ambiguous or malformed.

    ``what`` names the document in messages, e.g. ``"manifest.json in the payload"``.
    """
    if isinstance(data, str):
        text = data
    else:
        raw = bytes(data)
        if raw.startswith(_UTF8_BOM):
            raise _refused(what, "starts with a byte-order mark")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _refused(what, f"is not valid UTF-8 (at byte {error.start})") from None
    return _decode_text(text, what, max_depth, fast=False)


def iter_jsonl(chunks: Iterable[bytes], *, what: str, max_line: int = 1 << 20, max_depth: int = 6,
               max_records: int | None = None) -> Iterator[Any]:
    """Yield the records of untrusted JSON Lines arriving as byte chunks split anywhere.

    Lines end with ``\\n`` only: a carriage return, an empty line, a line longer than
    ``max_line`` bytes, a last line without its newline, or more than ``max_records`` records
    is refused, as is any line :func:`loads` would refuse (and white space around a record).
    A line is never buffered beyond ``max_line`` bytes.
    """
    pending: list[bytes] = []  # the start of a line continued in the next chunk
    pending_size = 0
    line_no = 0  # lines completed so far
    records = 0
    limit = max_records if max_records is not None else -1
    scan = _SCAN
    surrogate_escape = _SURROGATE_ESCAPE.search
    for chunk in chunks:
        if not chunk:
            continue
        chunk = bytes(chunk)
        if b"\r" in chunk:
            before = b"".join(pending) + chunk[: chunk.index(b"\r")]
            bad_line = line_no + before.count(b"\n") + 1
            raise _refused(f"line {bad_line} of {what}", "contains a carriage return (a Windows line ending)")
        last_newline = chunk.rfind(b"\n")
        if last_newline < 0:
            pending_size += len(chunk)
            if pending_size > max_line:
                raise _refused(f"line {line_no + 1} of {what}", f"is longer than {max_line} bytes")
            pending.append(chunk)
            continue
        block = chunk[: last_newline + 1]
        if pending:
            first_newline = chunk.index(b"\n")
            if pending_size + first_newline > max_line:
                raise _refused(f"line {line_no + 1} of {what}", f"is longer than {max_line} bytes")
            pending.append(block)
            block = b"".join(pending)
        rest = chunk[last_newline + 1:]
        if len(rest) > max_line:
            bad_line = line_no + block.count(b"\n") + 1
            raise _refused(f"line {bad_line} of {what}", f"is longer than {max_line} bytes")
        pending = [rest] if rest else []
        pending_size = len(rest)
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError as error:
            bad_line = line_no + block.count(b"\n", 0, error.start) + 1
            if bad_line == 1 and block.startswith(_UTF8_BOM):
                raise _refused(f"line 1 of {what}", "starts with a byte-order mark") from None
            raise _refused(f"line {bad_line} of {what}", "is not valid UTF-8") from None
        lines = text.split("\n")
        lines.pop()  # the block ends with a newline: the last piece is empty
        if len(block) > max_line:  # otherwise no line in the block can be too long
            shortest_too_long = max_line // 4  # a character is at most 4 bytes of UTF-8
            for index, line in enumerate(lines):
                if len(line) > shortest_too_long and len(line.encode("utf-8")) > max_line:
                    raise _refused(f"line {line_no + index + 1} of {what}", f"is longer than {max_line} bytes")
        for line in lines:
            line_no += 1
            records += 1
            if records > limit >= 0:
                raise _refused(what, f"has more than {max_records} records")
            # The fast path: a line with few brackets cannot nest too deep, so the C scanner
            # with the strict hooks may read it; if it reads the whole line and there is no
            # surrogate escape (so no lone surrogate) the record is good. Anything else goes the
            # slow way, which checks the depth first and says what is wrong.
            if line.count("{") + line.count("[") <= max_depth:
                try:
                    value, end = scan(line, 0)
                except (StopIteration, ValueError, RecursionError, _Refusal):
                    end = -1
                if end == len(line) and ("\\u" not in line or not surrogate_escape(line)):
                    yield value
                    continue
            if not line:
                raise _refused(f"line {line_no} of {what}", "is empty")
            yield _decode_text(line, f"line {line_no} of {what}", max_depth, fast=True)
    if pending:
        raise _refused(what, "does not end with a newline (the last line is incomplete)")
