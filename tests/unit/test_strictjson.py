"""Strict JSON: one meaning per document or a refusal that says why, and fast JSON Lines."""

from __future__ import annotations

import json
import random
import sys
import time

import pytest

from srcdesk.sync.errors import BundleRefused
from srcdesk.sync.strictjson import iter_jsonl, loads

WHAT = "manifest.json in the payload"


def refused(data, match: str, **kwargs) -> str:
    with pytest.raises(BundleRefused, match=match) as info:
        loads(data, what=WHAT, **kwargs)
    return str(info.value)


def jsonl_refused(chunks, match: str, **kwargs) -> str:
    with pytest.raises(BundleRefused, match=match) as info:
        list(iter_jsonl(chunks, what="data/people.jsonl", **kwargs))
    return str(info.value)


DOCUMENT = {"format": 1, "name": "Perth ✓ 𝄞", "files": [{"path": "data/a.jsonl", "size": 12, "ok": True}],
            "nothing": None, "ratio": 0.25, "big": 2**63, "neg": -5, "text": "quote \" back \\ nl \n tab \t"}


def test_valid_input_round_trips() -> None:
    for text in (json.dumps(DOCUMENT), json.dumps(DOCUMENT, indent=2, ensure_ascii=False)):
        assert loads(text, what=WHAT) == DOCUMENT
        assert loads(text.encode(), what=WHAT) == DOCUMENT
    assert loads(b"  [1, 2]\n", what=WHAT) == [1, 2]
    assert loads("3", what=WHAT) == 3
    assert loads(memoryview(b'"x"'), what=WHAT) == "x"


def test_duplicate_keys_refused() -> None:
    message = refused(b'{"seq": 1, "seq": 2}', "duplicate key")
    assert message == "manifest.json in the payload has a duplicate key 'seq'."
    refused(b'{"a": {"b": 1, "b": 1}}', "duplicate key 'b'")
    refused(b'[{"ok": 1}, {"x": 1, "\\u0078": 2}]', "duplicate key 'x'")  # same key, spelled differently
    assert json.loads('{"seq": 1, "seq": 2}') == {"seq": 2}  # what plain json would have done


@pytest.mark.parametrize("text", ["NaN", "[1, Infinity]", '{"a": -Infinity}'])
def test_nan_and_infinity_refused(text: str) -> None:
    refused(text, "which is not a number")


def test_overflowing_number_refused() -> None:
    assert json.loads("1e400") == float("inf")
    refused("[1e400]", "too large")
    refused("-1e999", "too large")


def test_huge_integer_refused() -> None:
    if not hasattr(sys, "get_int_max_str_digits"):
        pytest.skip("this Python converts integers of any length")
    refused("1" * 5000, "not valid JSON")


def test_bom_refused() -> None:
    refused(b"\xef\xbb\xbf{}", "byte-order mark")
    refused("\ufeff{}", "byte-order mark")


def test_invalid_utf8_refused() -> None:
    refused(b'{"name": "caf\xe9"}', "not valid UTF-8")
    refused(b'"\xed\xa0\x80"', "not valid UTF-8")  # an encoded surrogate
    refused(b"\xff\xfe{\x00}\x00", "not valid UTF-8")  # UTF-16


def test_lone_surrogate_refused() -> None:
    refused('{"name": "\\ud800"}', "lone surrogate")
    refused('["\\udc00x"]', "lone surrogate")
    assert loads('"\\ud834\\udd1e"', what=WHAT) == "𝄞"  # a proper pair is one character


def test_nesting_deeper_than_the_limit_refused() -> None:
    assert loads("[" * 8 + "]" * 8, what=WHAT) == [[[[[[[[]]]]]]]]
    refused("[" * 9 + "]" * 9, "nests deeper than 8 levels")
    refused('{"a":' * 9 + "1" + "}" * 9, "nests deeper than 8")
    refused("[" * 3 + "]" * 3, "nests deeper than 2", max_depth=2)
    # far deeper than the interpreter's recursion limit: refused, no RecursionError
    refused("[" * 200_000 + "]" * 200_000, "nests deeper than 8")
    refused("[" * 200_000, "nests deeper than 8")
    # brackets inside strings are text, not nesting
    assert loads(json.dumps(["[[[[[[[[[[{{{{{{{{{{"]), what=WHAT) == ["[[[[[[[[[[{{{{{{{{{{"]
    assert loads('["\\"[[[[", [1]]', what=WHAT, max_depth=2) == ['"[[[[', [1]]
    refused('["\\"[[[[", [[1]]]', "nests deeper than 2", max_depth=2)


def test_trailing_garbage_refused() -> None:
    refused('{"a": 1} x', "not valid JSON")
    refused('{"a": 1}{"b": 2}', "not valid JSON")


@pytest.mark.parametrize("text", ["", "   ", "{", "{'a': 1}", "[1,]", "{\"a\" 1}", "undefined", '"tab\there"',
                                  "01", "True", "/* comment */ 1"])
def test_not_json_refused(text: str) -> None:
    message = refused(text, "is not valid JSON")
    assert message.startswith("manifest.json in the payload is not valid JSON: ")


# -- JSON Lines ---------------------------------------------------------------------------------------

RECORDS = [{"id": i, "name": f"Person {i} ✓", "tags": ["a", {"b": None}], "note": "x" * (i % 50),
            "escaped": "é\u2028\\\"", "score": i / 7} for i in range(500)]
LINES = "".join(json.dumps(record, ensure_ascii=i % 2 == 0) + "\n" for i, record in enumerate(RECORDS)).encode()


def _split(data: bytes, rng: random.Random, most: int) -> list[bytes]:
    pieces, at = [], 0
    while at < len(data):
        size = rng.randint(0, most)
        pieces.append(data[at:at + size])
        at += size
    return pieces


def test_jsonl_round_trips_whatever_the_chunk_boundaries() -> None:
    assert list(iter_jsonl([LINES], what="x")) == RECORDS
    first_100 = b"".join(LINES.splitlines(keepends=True)[:100])
    rng = random.Random(4)
    for most in (1, 2, 3, 7, 64, 1000, 100_000):
        # tiny chunks over the first records only, to keep the test quick
        data, expected = (LINES, RECORDS) if most > 3 else (first_100, RECORDS[:100])
        for _ in range(3):
            chunks = _split(data, rng, most)
            assert list(iter_jsonl(iter(chunks), what="x")) == expected
    # a chunk boundary inside a multi-byte character
    text = '{"name":"é𝄞"}\n'.encode()
    for cut in range(1, len(text)):
        assert list(iter_jsonl([text[:cut], text[cut:]], what="x")) == [{"name": "é𝄞"}]


def test_jsonl_empty_input_has_no_records() -> None:
    assert list(iter_jsonl([], what="x")) == []
    assert list(iter_jsonl([b"", b""], what="x")) == []


def test_jsonl_crlf_refused() -> None:
    message = jsonl_refused([b'{"a":1}\n{"a":2}\r\n'], "carriage return")
    assert message.startswith("Line 2 of data/people.jsonl")
    jsonl_refused([b'{"a":1}\n{"a":2}', b"\r", b"\n"], "Line 2 of .* carriage return")


def test_jsonl_missing_final_newline_refused() -> None:
    jsonl_refused([b'{"a":1}\n{"a":2}'], "does not end with a newline")
    jsonl_refused([b'{"a":1}'], "does not end with a newline")


def test_jsonl_empty_line_refused() -> None:
    jsonl_refused([b'{"a":1}\n\n{"a":2}\n'], "Line 2 of data/people.jsonl is empty")
    jsonl_refused([b"\n"], "Line 1 .* is empty")


def test_jsonl_white_space_around_a_record_refused() -> None:
    jsonl_refused([b' {"a":1}\n'], "white space")
    jsonl_refused([b'{"a":1} \n'], "not valid JSON")


def test_jsonl_long_line_refused() -> None:
    line = b'{"a":"' + b"x" * 100 + b'"}\n'
    assert list(iter_jsonl([line], what="x", max_line=len(line) - 1)) == [{"a": "x" * 100}]  # newline not counted
    jsonl_refused([line], "Line 1 of data/people.jsonl is longer than 50 bytes", max_line=50)
    jsonl_refused([b'{"a":1}\n', line], "Line 2 .* longer than 50 bytes", max_line=50)
    jsonl_refused(_split(b'{"a":1}\n' + line, random.Random(1), 7), "Line 2 .* longer than 50", max_line=50)
    # bytes, not characters: 30 four-byte characters are 120 bytes
    jsonl_refused([('["' + "𝄞" * 30 + '"]\n').encode()], "longer than 100 bytes", max_line=100)


def test_jsonl_long_line_is_never_buffered_whole() -> None:
    """A line with no end is refused once it passes max_line, without reading the rest."""
    taken = 0

    def endless():
        nonlocal taken
        while True:
            taken += 1
            yield b"x" * 1000

    jsonl_refused(endless(), "longer than 10000 bytes", max_line=10_000)
    assert taken <= 11


def test_jsonl_too_many_records_refused() -> None:
    assert len(list(iter_jsonl([LINES], what="x", max_records=500))) == 500
    jsonl_refused([LINES], "has more than 499 records", max_records=499)


@pytest.mark.parametrize(("line", "match"), [
    (b'{"a":1,"a":2}', "Line 2 of data/people.jsonl has a duplicate key 'a'"),
    (b'{"a":{"b":[1,{"c":1,"c":2}]}}', "duplicate key 'c'"),
    (b'{"a":NaN}', "not a number"),
    (b'{"a":-Infinity}', "not a number"),
    (b'{"a":1e999}', "too large"),
    (b'{"a":"\\udfff"}', "lone surrogate"),
    (b'{"a":"caf\xe9"}', "Line 2 .* not valid UTF-8"),
    (b"[[[[[[[1]]]]]]]", "nests deeper than 6"),
    (b"[" * 100_000 + b"]" * 100_000, "nests deeper than 6"),
    (b'{"a":1}x', "not valid JSON"),
    (b"{'a':1}", "not valid JSON"),
    (b'{"a":1', "not valid JSON"),
    (b"\xef\xbb\xbf{}", "byte-order mark"),
])
def test_jsonl_lines_are_as_strict_as_loads(line: bytes, match: str) -> None:
    jsonl_refused([b'{"ok":1}\n' + line + b'\n{"ok":2}\n'], match, max_line=1 << 20)


def test_jsonl_bom_at_the_start_refused() -> None:
    jsonl_refused([b"\xef\xbb\xbf", b'{"a":1}\n'], "Line 1 .* byte-order mark")


def test_jsonl_depth_limit_is_exact() -> None:
    assert list(iter_jsonl([b"[[[[[[1]]]]]]\n"], what="x")) == [[[[[[[1]]]]]]]
    jsonl_refused([b"[[[[[[[1]]]]]]]\n"], "nests deeper than 6")
    assert list(iter_jsonl([b'["[[[[[[[[[["]\n'], what="x")) == [["[[[[[[[[[["]]


def test_jsonl_records_stream_before_the_end() -> None:
    """Records come out as their lines complete; a later problem is raised when reached."""
    records = iter_jsonl([b'{"a":1}\n{"a":2}\n', b"{broken\n"], what="x")
    assert next(records) == {"a": 1}
    assert next(records) == {"a": 2}
    with pytest.raises(BundleRefused, match="Line 3 of x is not valid JSON"):
        next(records)


def test_jsonl_speed() -> None:
    """Not a benchmark, a floor: a few hundred thousand lines a second on a dev machine; 20k here."""
    line = json.dumps({"id": "0b6f4e3c-8f0a-4d4e-9a4f-6b1f0c3e2d1a", "table": "people",
                       "hlc": "0001700000000000-0001", "fields": {"first_name": "Ann", "n": 1, "ok": True}},
                      separators=(",", ":")).encode() + b"\n"
    data = line * 50_000
    started = time.perf_counter()
    count = sum(1 for _ in iter_jsonl((data[i:i + (1 << 20)] for i in range(0, len(data), 1 << 20)), what="x"))
    elapsed = time.perf_counter() - started
    assert count == 50_000
    assert count / elapsed > 20_000, f"{count / elapsed:.0f} lines/s"
