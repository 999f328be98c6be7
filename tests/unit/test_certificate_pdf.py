"""The certificate PDF (srcdesk.reports.certificates): its QR code read back by a real decoder
off a rasterised page and verified, its text, its embedded fonts, fitting long names and titles,
and batches that are cancelled leave nothing behind."""

from __future__ import annotations

import datetime as dt
import struct
import subprocess
import zlib
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp

from srcdesk.errors import Cancelled
from srcdesk.reports import certificates as pdf
from srcdesk.reports.certificate_content import Signatory
from srcdesk.reports.certificate_samples import KINDS, sample_content
from srcdesk.sync import certcode
from srcdesk.sync.minisign import SigningKey

KEY = SigningKey.generate()


def png(width: int, height: int) -> bytes:
    """A grey-ramp PNG (8-bit greyscale), made by hand: a logo."""
    rows = b"".join(b"\x00" + bytes(x * 255 // max(width - 1, 1) for x in range(width)) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PNG = png(120, 60)


def rasterise(path: Path, page: int = 0, dpi: int = 200) -> tuple[memoryview, int, int]:
    doc = pdfium.PdfDocument(str(path))
    try:
        bitmap = doc[page].render(scale=dpi / 72, grayscale=True)
        data = bytes(bitmap.buffer)
        return memoryview(data).cast("B", (bitmap.height, bitmap.stride)), bitmap.width, bitmap.height
    finally:
        doc.close()


def qr_texts(path: Path, page: int = 0, dpi: int = 200) -> list[str]:
    image, _w, _h = rasterise(path, page, dpi)
    return [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


def pdftotext(path: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(["pdftotext", "-layout", *pages, str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def page_count(path: Path) -> int:
    doc = pdfium.PdfDocument(str(path))
    try:
        return len(doc)
    finally:
        doc.close()


@pytest.mark.parametrize("kind", range(len(KINDS)))
def test_the_qr_code_read_off_the_printed_page_is_the_signed_code(tmp_path: Path, kind: int) -> None:
    content = sample_content(KEY, 7, kind=kind)
    path = pdf.write_pdf([content], pdf.NO_DESIGN, tmp_path / "one.pdf")
    assert qr_texts(path) == [content.code]
    code = certcode.decode(qr_texts(path)[0])
    assert code.verifies(KEY.public()) and code.serial == content.serial and code.name_matches(content.name)
    assert not code.verifies(SigningKey.generate().public())


def test_every_page_of_a_batch_carries_its_own_code(tmp_path: Path) -> None:
    contents = [sample_content(KEY, n) for n in range(1, 6)]
    path = pdf.write_pdf(contents, pdf.Design(logo_left=PNG, logo_right=PNG), tmp_path / "batch.pdf")
    assert page_count(path) == 5
    for number, content in enumerate(contents):
        assert qr_texts(path, number, dpi=150) == [content.code]


def test_the_qr_code_is_at_least_35_mm_with_its_quiet_zone() -> None:
    assert pdf.QR_SIZE >= 35 / 25.4 * 72
    matrix = pdf.qr_matrix(sample_content(KEY, 1).code)
    assert len(matrix) <= 4 * 9 + 17  # version 9 at most (8 in practice), error correction M


def test_the_page_says_who_what_when_where_and_the_serial(tmp_path: Path) -> None:
    content = sample_content(KEY, 2, kind=1)  # a module
    path = pdf.write_pdf([content], pdf.NO_DESIGN, tmp_path / "module.pdf")
    words = " ".join(pdftotext(path).split())
    for shown in (content.name, content.title, content.detail, content.statement, content.serial,
                  "3 December 2026", "HMP Perth", "Morag Fleming", "Prison and Healthcare Recovery Officer",
                  content.footer, "CERTIFICATE OF COMPLETION"):
        assert shown in words, shown
    assert "None" not in words and "2026-12-03" not in words


def test_a_certificate_without_signatories_footer_or_detail_prints_no_gaps_of_none(tmp_path: Path) -> None:
    content = sample_content(KEY, 3, kind=2, signatories=(), footer="")
    content = type(content)(**{**content.__dict__, "detail": ""})
    path = pdf.write_pdf([content], pdf.NO_DESIGN, tmp_path / "bare.pdf")
    words = " ".join(pdftotext(path).split())
    assert content.name in words and "CERTIFICATE OF ACHIEVEMENT" in words
    assert "None" not in words and "Morag" not in words
    assert qr_texts(path) == [content.code]


def test_the_fonts_are_embedded(tmp_path: Path) -> None:
    path = pdf.write_pdf([sample_content(KEY, 1)], pdf.NO_DESIGN, tmp_path / "fonts.pdf")
    listing = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout
    rows = [line.split() for line in listing.splitlines()[2:] if line.strip()]
    assert len(rows) >= 3  # serif, its bold and italic, sans
    for row in rows:
        assert "DejaVu" in row[0] or "Srcdesk" in row[0], row
        # columns: name type encoding emb sub uni object ID  (type is two words: "CID TrueType")
        assert row[-5] == "yes", f"font not embedded: {row}"


@pytest.mark.parametrize(("name", "size"), [
    ("Alexandra Catriona Montgomery-Fitzwilliam MacDonald-Stewart of Auchtermuchty and Kirkcudbright", 18),
    # one word of 104 letters: no line break in it, so it shrinks instead
    ("Wolfeschlegelsteinhausenbergerdorffwelchevoralternwarengewissenhaftschaferswessenschafewarenwohlgepflegt", 9),
])
def test_long_names_and_titles_fit_inside_the_border(tmp_path: Path, name: str, size: float) -> None:
    content = sample_content(KEY, 4, kind=3, name=name)
    blocks = pdf._body(content)
    for block in blocks:
        for line in block.lines:
            assert pdf.pdfmetrics.stringWidth(line, block.font, block.size) <= pdf._BODY_WIDTH
    name_block = blocks[1]
    assert name_block.size >= size and len(name_block.lines) <= 2
    assert " ".join(name_block.lines) == name  # all of it, nothing cut
    path = pdf.write_pdf([content], pdf.NO_DESIGN, tmp_path / "long.pdf")
    assert qr_texts(path) == [content.code]  # the QR code is still clear of the text
    text = " ".join(pdftotext(path).split())
    assert content.serial in text and "3 December 2026" in text


def test_a_short_name_is_printed_large_on_one_line() -> None:
    name_block = pdf._body(sample_content(KEY, 1, kind=0))[1]
    assert name_block.lines == ["Jamie Robertson"] and name_block.size == pdf.NAME_FIT[0][0]


def test_the_same_content_makes_the_same_pdf() -> None:
    content = sample_content(KEY, 1)
    assert pdf.pdf_bytes([content]) == pdf.pdf_bytes([content])


def test_a_cancelled_batch_leaves_no_file_and_keeps_the_old_one(tmp_path: Path) -> None:
    contents = [sample_content(KEY, n) for n in range(1, 11)]
    target = tmp_path / "batch.pdf"
    seen: list[tuple[int, int]] = []
    with pytest.raises(Cancelled):
        pdf.write_pdf(contents, pdf.NO_DESIGN, target, progress=lambda d, t: seen.append((d, t)),
                      cancelled=lambda: len(seen) >= 4)
    assert seen == [(1, 10), (2, 10), (3, 10), (4, 10)]
    assert list(tmp_path.iterdir()) == []
    target.write_bytes(b"the earlier print")
    with pytest.raises(Cancelled):
        pdf.write_pdf(contents, pdf.NO_DESIGN, target, cancelled=lambda: True)
    assert list(tmp_path.iterdir()) == [target] and target.read_bytes() == b"the earlier print"


def test_progress_counts_every_page(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    pdf.write_pdf([sample_content(KEY, n) for n in range(1, 4)], pdf.NO_DESIGN, tmp_path / "b.pdf",
                  progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_one_file_per_certificate_named_by_serial(tmp_path: Path) -> None:
    contents = [sample_content(KEY, n) for n in range(1, 4)]
    written = pdf.write_folder(contents, pdf.NO_DESIGN, tmp_path / "out")
    assert [p.name for p in written] == [f"{c.serial}.pdf" for c in contents]
    for path, content in zip(written, contents, strict=True):
        assert page_count(path) == 1 and qr_texts(path) == [content.code]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in written)


def test_a_cancelled_folder_removes_only_what_it_made(tmp_path: Path) -> None:
    contents = [sample_content(KEY, n) for n in range(1, 6)]
    out = tmp_path / "out"
    out.mkdir()
    earlier = out / pdf.file_name(contents[0])
    earlier.write_bytes(b"printed last week")
    calls = []
    with pytest.raises(Cancelled):
        pdf.write_folder(contents, pdf.NO_DESIGN, out, cancelled=lambda: calls.append(1) or len(calls) > 3)
    assert [p.name for p in out.iterdir()] == [earlier.name]  # the one that was there stays


def test_file_names_are_safe_whatever_the_serial() -> None:
    content = sample_content(KEY, 1)
    odd = type(content)(**{**content.__dict__, "serial": "../SRC/PER:2026*1"})
    assert pdf.file_name(odd) == "SRC_PER_2026_1.pdf"


def test_logos_are_drawn_once_per_file_not_once_per_page() -> None:
    one = pdf.pdf_bytes([sample_content(KEY, 1)], pdf.Design(logo_left=PNG))
    many = pdf.pdf_bytes([sample_content(KEY, n) for n in range(1, 21)], pdf.Design(logo_left=PNG))
    assert one.count(b"/Subtype /Image") == many.count(b"/Subtype /Image") == 1


def test_dates_are_british_and_in_words(tmp_path: Path) -> None:
    content = sample_content(KEY, 1, issued_on=dt.date(2027, 1, 9))
    words = " ".join(pdftotext(pdf.write_pdf([content], pdf.NO_DESIGN, tmp_path / "d.pdf")).split())
    assert "9 January 2027" in words and "09 January" not in words


def test_signatories_print_their_names_and_roles(tmp_path: Path) -> None:
    people = (Signatory("Fiona Campbell", "Governor"),)
    content = sample_content(KEY, 1, signatories=people)
    words = " ".join(pdftotext(pdf.write_pdf([content], pdf.NO_DESIGN, tmp_path / "s.pdf")).split())
    assert "Fiona Campbell" in words and "Governor" in words and "Morag" not in words


def test_names_beyond_latin_1_print_as_typed(tmp_path: Path) -> None:
    content = sample_content(KEY, 1, name="Łukasz Wójcik-Ó Dónaill")
    words = " ".join(pdftotext(pdf.write_pdf([content], pdf.NO_DESIGN, tmp_path / "u.pdf")).split())
    assert "Łukasz Wójcik-Ó Dónaill" in words


def test_a_pdf_that_can_t_be_saved_is_said_in_words_and_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "taken.pdf").mkdir()  # like a file open in a PDF viewer on Windows: can't be replaced
    with pytest.raises(pdf.NotSaved, match="could not be saved as .*taken.pdf"):
        pdf.write_pdf([sample_content(KEY, 1)], pdf.NO_DESIGN, tmp_path / "taken.pdf")
    assert [p.name for p in tmp_path.iterdir()] == ["taken.pdf"]
    with pytest.raises(pdf.NotSaved):
        pdf.write_pdf([sample_content(KEY, 1)], pdf.NO_DESIGN, tmp_path / "no such folder" / "c.pdf")
