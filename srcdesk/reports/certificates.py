"""Certificates as PDF: A4 landscape, one page per certificate, drawn with ReportLab.

Pure: no Qt, no database. The caller gives the frozen content of each certificate
(:class:`~srcdesk.reports.certificate_content.CertificateContent`, stored at issue) and the
office's :class:`Design` (only its logos are read here: the signatories and the footer were
frozen into the content when the certificate was issued, so a reprint is the first print).

The design works on a basic black-and-white laser printer: no large fills, a fine double border,
DejaVu fonts (shipped in ``resources/fonts``, embedded as subsets), the person's name large,
and the signed code (:mod:`srcdesk.sync.certcode`) as a QR code of at least 35 mm with its serial
printed beside it in text.

The QR code: segno makes the matrix with a fixed mask (choosing the best of the eight masks is
most of segno's time, and any mask scans), and it is drawn as one filled path of rectangles,
one per run of dark modules in a row. ReportLab's own QR widget draws a rectangle per module
and costs about 30 ms a page (the bench: ``python -m bench --only certificates``).
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import segno
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from ..dates import long_date
from ..errors import Cancelled, SrcdeskError
from ..paths import resources_dir
from .certificate_content import CertificateContent, Signatory

PAGE_WIDTH, PAGE_HEIGHT = landscape(A4)

#: The QR code, quiet zone included, is this wide on paper (at least 35 mm: a phone or a USB
#: scanner reads it at arm's length, and a module is about 0.67 mm, 16 dots of a 600 dpi printer).
QR_SIZE = 38 * mm
QR_QUIET_MODULES = 4  # the quiet zone the QR standard asks for, in modules
QR_MASK = 0  # fixed: see the module's docstring
QR_ERROR = "m"

SERIF, SERIF_BOLD, SERIF_ITALIC, SANS = "SrcdeskSerif", "SrcdeskSerif-Bold", "SrcdeskSerif-Italic", "SrcdeskSans"
_FONT_FILES = {SERIF: "DejaVuSerif.ttf", SERIF_BOLD: "DejaVuSerif-Bold.ttf",
               SERIF_ITALIC: "DejaVuSerif-Italic.ttf", SANS: "DejaVuSans.ttf"}
_fonts_lock = threading.Lock()
_fonts_registered = False

#: The line at the top of the page, by the kind of certificate.
HEADINGS = {"programme": "Certificate of Completion", "module": "Certificate of Completion",
            "milestone": "Certificate of Achievement", "award": "Certificate of Achievement"}
INTRODUCTION = "This is to certify that"
SCAN_NOTE = "Check it with srcdesk"

# The page's frame (points from the paper's edges).
_BORDER_OUTER = 9 * mm
_BORDER_INNER = 11 * mm
_MARGIN = 22 * mm  # text stays this far in from the left and right edges
_LOGO_MAX_W, _LOGO_MAX_H = 46 * mm, 24 * mm
_LOGO_TOP = PAGE_HEIGHT - 17 * mm
_HEADING_Y = PAGE_HEIGHT - 36 * mm
_QR_X = PAGE_WIDTH - _MARGIN - QR_SIZE + 4 * mm  # the quiet zone reaches a little into the margin
_QR_Y = 21 * mm
_SIGNATURE_LINE_Y = 42 * mm
_FOOTER_Y = 15 * mm
_BOTTOM_LEFT_WIDTH = _QR_X - 8 * mm - _MARGIN  # what the signatures and the footer may use
_BODY_TOP = _HEADING_Y - 12 * mm
_BODY_BOTTOM = _SIGNATURE_LINE_Y + 16 * mm
_BODY_WIDTH = PAGE_WIDTH - 2 * _MARGIN - 20 * mm


class NotSaved(SrcdeskError):
    """The PDF could not be written where it was asked for (the message says where and why)."""


def _not_saved(path: Path, error: OSError) -> NotSaved:
    reason = error.strerror or type(error).__name__
    return NotSaved(f"The certificates could not be saved as {path} ({reason}). If that file is open in "
                    "another program, close it; or choose another folder. Then try again.")


@dataclass(frozen=True)
class Design:
    """The office's certificate design (the ``certificate_design`` table, see
    :mod:`srcdesk.services.certificate_design`). The PDF reads the logos only (PNG or JPEG
    bytes); the signatories and the footer are what the *next* certificates will have frozen
    into their content when issued."""

    signatory1_name: str = ""
    signatory1_role: str = ""
    signatory2_name: str = ""
    signatory2_role: str = ""
    footer: str = ""
    logo_left: bytes | None = None
    logo_right: bytes | None = None

    def signatories(self) -> tuple[Signatory, ...]:
        """The signatories with a name, left to right."""
        pairs = ((self.signatory1_name, self.signatory1_role), (self.signatory2_name, self.signatory2_role))
        return tuple(Signatory(name, role) for name, role in pairs if name)


NO_DESIGN = Design()

Progress = Callable[[int, int], object]
QrDrawer = Callable[[Canvas, str, float, float, float], None]


def register_fonts() -> None:
    """Register the shipped DejaVu fonts with ReportLab (once per process)."""
    global _fonts_registered
    with _fonts_lock:
        if _fonts_registered:
            return
        folder = resources_dir() / "fonts"
        for name, filename in _FONT_FILES.items():
            pdfmetrics.registerFont(TTFont(name, str(folder / filename)))
        _fonts_registered = True


# -- the QR code ---------------------------------------------------------------------------------


def qr_matrix(text: str) -> tuple[bytearray, ...]:
    """The QR code's modules (rows of 0 light / 1 dark, no quiet zone), error correction M."""
    return segno.make_qr(text, error=QR_ERROR, mask=QR_MASK, boost_error=False).matrix


def draw_qr(c: Canvas, text: str, x: float, y: float, size: float) -> None:
    """Draw ``text`` as a QR code of ``size`` points square (quiet zone included) with its lower
    left corner at ``x, y``: one filled path, a rectangle per run of dark modules in a row."""
    matrix = qr_matrix(text)
    count = len(matrix)
    module = size / (count + 2 * QR_QUIET_MODULES)
    c.saveState()
    c.translate(x + QR_QUIET_MODULES * module, y + size - QR_QUIET_MODULES * module)
    c.scale(module, -module)  # one unit a module, rows downwards
    # The path's operators are written as text (whole numbers): ReportLab's path object formats
    # every number as a float, which was most of a page's time.
    rects = []
    for row_number, row in enumerate(matrix):
        start = row.find(1)
        while start >= 0:
            end = row.find(0, start)
            if end < 0:
                end = count
            rects.append(f"{start} {row_number} {end - start} 1 re")
            start = row.find(1, end)
    c.setFillColorRGB(0, 0, 0)
    rects.append("f")
    c.addLiteral("\n".join(rects))
    c.restoreState()


# -- text that fits --------------------------------------------------------------------------------


def _widest(lines: list[str], font: str, size: float) -> float:
    return max((pdfmetrics.stringWidth(line, font, size) for line in lines), default=0.0)


def fit_text(text: str, font: str, width: float, tries: tuple[tuple[float, float, int], ...],
             smallest: float = 6.0) -> tuple[float, list[str]]:
    """The largest size and the lines at which ``text`` fits ``width``: each of ``tries`` is
    (largest size, smallest size, lines) and is tried in turn, a point at a time; if none fits,
    the last number of lines at ever smaller sizes (down to ``smallest``)."""
    one_point = pdfmetrics.stringWidth(text, font, 1.0)
    for largest, least, lines in tries:
        if lines == 1:
            if one_point * least <= width:
                return min(largest, int(width / one_point * 2) / 2), [text]
            continue
        size = largest
        while size >= least:
            split = simpleSplit(text, font, size, width)
            if len(split) <= lines and _widest(split, font, size) <= width:
                return size, split
            size -= 1
    lines = tries[-1][2]
    size = tries[-1][1]
    while size > smallest:
        size -= 0.5
        split = simpleSplit(text, font, size, width)
        if len(split) <= lines and _widest(split, font, size) <= width:
            return size, split
    # Still too long (one endless word): the smallest size, each line cut to the width.
    split = simpleSplit(text, font, smallest, width)
    return smallest, [_cut(line, font, smallest, width) for line in split]


def _cut(line: str, font: str, size: float, width: float) -> str:
    while line and pdfmetrics.stringWidth(line, font, size) > width:
        line = line[:-2] + "…"
    return line


NAME_FIT = ((40, 24, 1), (28, 18, 2))
TITLE_FIT = ((24, 17, 1), (21, 15, 2), (16, 11, 3))
DETAIL_FIT = ((13, 10, 1), (12, 9, 2))
STATEMENT_FIT = ((14, 10, 1), (12, 9, 2))
LINE_FIT = ((12, 9, 1), (11, 8, 2))


# -- one page ------------------------------------------------------------------------------------------


@dataclass
class _Block:
    font: str
    size: float
    lines: list[str]
    gap_before: float
    leading: float = 1.2
    char_space: float = 0.0

    @property
    def height(self) -> float:
        return self.gap_before + self.size * self.leading * len(self.lines)


def _body(content: CertificateContent) -> list[_Block]:
    """The centred lines between the heading and the signatures, top to bottom."""
    blocks = [_Block(SERIF_ITALIC, 13, [INTRODUCTION], 0)]
    size, lines = fit_text(content.name, SERIF_BOLD, _BODY_WIDTH, NAME_FIT)
    blocks.append(_Block(SERIF_BOLD, size, lines, 7 * mm, 1.15))
    if content.statement:
        size, lines = fit_text(content.statement, SERIF_ITALIC, _BODY_WIDTH, STATEMENT_FIT)
        blocks.append(_Block(SERIF_ITALIC, size, lines, 9 * mm))
    size, lines = fit_text(content.title, SERIF_BOLD, _BODY_WIDTH, TITLE_FIT)
    blocks.append(_Block(SERIF_BOLD, size, lines, 4 * mm, 1.18))
    if content.detail:
        size, lines = fit_text(content.detail, SERIF, _BODY_WIDTH, DETAIL_FIT)
        blocks.append(_Block(SERIF, size, lines, 2.5 * mm))
    where = f"{content.place} \u00b7 {long_date(content.issued_on)}" if content.place else long_date(content.issued_on)
    size, lines = fit_text(where, SERIF, _BODY_WIDTH, LINE_FIT)
    blocks.append(_Block(SERIF, size, lines, 8 * mm))
    return blocks


def _draw_blocks(c: Canvas, blocks: list[_Block]) -> None:
    total = sum(b.height for b in blocks)
    room = _BODY_TOP - _BODY_BOTTOM
    top = _BODY_TOP - max(0.0, (room - total) / 2)  # the body centred in its room
    centre = PAGE_WIDTH / 2
    for number, block in enumerate(blocks):
        top -= block.gap_before
        c.setFont(block.font, block.size)
        for line in block.lines:
            baseline = top - block.size * 0.92
            c.drawCentredString(centre, baseline, line, charSpace=block.char_space)
            top -= block.size * block.leading
        if number == 1:  # a short rule under the name
            c.setLineWidth(0.5)
            c.line(centre - 30 * mm, top - 2.5 * mm, centre + 30 * mm, top - 2.5 * mm)


def _draw_signatures(c: Canvas, signatories: tuple[Signatory, ...]) -> None:
    if not signatories:
        return
    slot = _BOTTOM_LEFT_WIDTH / len(signatories)
    line_width = min(68 * mm, slot - 10 * mm)
    c.setLineWidth(0.5)
    for number, person in enumerate(signatories):
        centre = _MARGIN + slot * (number + 0.5)
        c.line(centre - line_width / 2, _SIGNATURE_LINE_Y, centre + line_width / 2, _SIGNATURE_LINE_Y)
        size, lines = fit_text(person.name, SERIF, slot - 6 * mm, ((12, 8, 1),))
        c.setFont(SERIF, size)
        c.drawCentredString(centre, _SIGNATURE_LINE_Y - 5 * mm, lines[0])
        if person.role:
            size, lines = fit_text(person.role, SERIF_ITALIC, slot - 6 * mm, ((10, 7, 1), (9, 7, 2)))
            c.setFont(SERIF_ITALIC, size)
            for number_of_line, line in enumerate(lines):
                c.drawCentredString(centre, _SIGNATURE_LINE_Y - 9.5 * mm - number_of_line * size * 1.15, line)


def _draw_footer(c: Canvas, footer: str) -> None:
    if not footer:
        return
    # Centred on the page when it passes left of the QR code so; else centred left of it.
    size, lines, centre = 8.5, [footer], PAGE_WIDTH / 2
    if pdfmetrics.stringWidth(footer, SANS, size) > 2 * (_QR_X - 4 * mm - PAGE_WIDTH / 2):
        size, lines = fit_text(footer, SANS, _BOTTOM_LEFT_WIDTH, ((8.5, 7, 1), (8, 6.5, 2)))
        centre = _MARGIN + _BOTTOM_LEFT_WIDTH / 2
    c.setFont(SANS, size)
    for number, line in enumerate(lines):
        c.drawCentredString(centre, _FOOTER_Y + (len(lines) - 1 - number) * size * 1.2, line)


def _draw_code(c: Canvas, content: CertificateContent, qr: QrDrawer | None) -> None:
    centre = _QR_X + QR_SIZE / 2
    if qr is not None and content.code:
        qr(c, content.code, _QR_X, _QR_Y, QR_SIZE)
        c.setFont(SANS, 6.5)
        c.drawCentredString(centre, _QR_Y + QR_SIZE + 0.5 * mm, SCAN_NOTE)
    size, lines = fit_text(content.serial, SANS, QR_SIZE + 8 * mm, ((8, 6, 1),))
    c.setFont(SANS, size)
    c.drawCentredString(centre, _QR_Y - 1.5 * mm, lines[0])


class _Frame:
    """What every page of one PDF shares: the border and the logos, each drawn once as a form
    (a PDF XObject) and placed on every page."""

    def __init__(self, c: Canvas, design: Design) -> None:
        self.forms = []
        c.beginForm("border")
        c.setLineWidth(0.9)
        c.rect(_BORDER_OUTER, _BORDER_OUTER, PAGE_WIDTH - 2 * _BORDER_OUTER, PAGE_HEIGHT - 2 * _BORDER_OUTER)
        c.setLineWidth(0.3)
        c.rect(_BORDER_INNER, _BORDER_INNER, PAGE_WIDTH - 2 * _BORDER_INNER, PAGE_HEIGHT - 2 * _BORDER_INNER)
        c.endForm()
        self.forms.append("border")
        for name, data, left in (("logo_left", design.logo_left, True), ("logo_right", design.logo_right, False)):
            if data:
                image = ImageReader(io.BytesIO(data))
                iw, ih = image.getSize()
                scale = min(_LOGO_MAX_W / iw, _LOGO_MAX_H / ih)
                w, h = iw * scale, ih * scale
                x = _MARGIN if left else PAGE_WIDTH - _MARGIN - w
                c.beginForm(name)
                c.drawImage(image, x, _LOGO_TOP - h, w, h, mask="auto")
                c.endForm()
                self.forms.append(name)

    def draw(self, c: Canvas) -> None:
        for name in self.forms:
            c.doForm(name)


def _draw_page(c: Canvas, frame: _Frame, content: CertificateContent, qr: QrDrawer | None) -> None:
    frame.draw(c)
    c.setFillColorRGB(0, 0, 0)
    c.setFont(SERIF, 15)
    c.drawCentredString(PAGE_WIDTH / 2, _HEADING_Y, HEADINGS.get(content.kind, "Certificate").upper(), charSpace=2.5)
    _draw_blocks(c, _body(content))
    _draw_signatures(c, content.signatories)
    _draw_footer(c, content.footer)
    _draw_code(c, content, qr)
    c.showPage()


def _canvas(target: str | io.BytesIO, title: str) -> Canvas:
    register_fonts()
    c = Canvas(target, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), pageCompression=1, invariant=1,
               initialFontName=SERIF, initialFontSize=12)  # else Helvetica, a font not embedded
    c.setTitle(title)
    c.setAuthor("Scottish Recovery Consortium")
    c.setCreator("srcdesk")
    return c


def _draw_all(c: Canvas, contents: list[CertificateContent], design: Design, *, qr: QrDrawer | None,
              progress: Progress | None, cancelled: Callable[[], bool] | None) -> None:
    frame = _Frame(c, design)
    total = len(contents)
    for done, content in enumerate(contents, 1):
        if cancelled is not None and cancelled():
            raise Cancelled("Printing the certificates was cancelled; no file was saved.")
        _draw_page(c, frame, content, qr)
        if progress is not None:
            progress(done, total)


def pdf_bytes(contents: Iterable[CertificateContent], design: Design = NO_DESIGN, *,
              qr: QrDrawer | None = draw_qr) -> bytes:
    """The PDF of ``contents`` (one page each) in memory."""
    contents = list(contents)
    buffer = io.BytesIO()
    c = _canvas(buffer, _title(contents))
    _draw_all(c, contents, design, qr=qr, progress=None, cancelled=None)
    c.save()
    return buffer.getvalue()


def _title(contents: list[CertificateContent]) -> str:
    return f"Certificate {contents[0].serial}" if len(contents) == 1 else f"Certificates ({len(contents)})"


def write_pdf(contents: Iterable[CertificateContent], design: Design, path: str | os.PathLike[str], *,
              progress: Progress | None = None, cancelled: Callable[[], bool] | None = None,
              qr: QrDrawer | None = draw_qr) -> Path:
    """Write one PDF with a page per certificate to ``path`` (replaced only once it is whole).

    ``progress(done, total)`` after each page; ``cancelled()`` is asked before each page, and if
    it says so, nothing is left behind (an existing file at ``path`` is untouched) and
    :class:`~srcdesk.errors.Cancelled` is raised. ``qr=None`` leaves the QR codes out (the bench)."""
    contents = list(contents)
    if not contents:
        raise ValueError("no certificates to print")

    def draw(partial: str) -> None:
        c = _canvas(partial, _title(contents))
        _draw_all(c, contents, design, qr=qr, progress=progress, cancelled=cancelled)
        c.save()

    return write_atomically(Path(path), draw, _not_saved)


def write_atomically(path: Path, write: Callable[[str], object], not_saved: Callable[[Path, OSError], Exception],
                     before_replace: Callable[[], object] | None = None) -> Path:
    """``write(partial)`` a file beside ``path``, then give it ``path``'s name (``os.replace``): an
    existing file is replaced only by a whole one. Anything raised (a cancel, a full disk) leaves
    no partial file behind; an ``OSError`` becomes ``not_saved(path, error)``. ``before_replace()``
    runs once the file is whole, before it takes its name (a record of it: if that fails, no file)."""
    try:
        fd, partial = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=f"{path.suffix}.part", dir=path.parent)
    except OSError as exc:
        raise not_saved(path, exc) from exc
    os.close(fd)
    try:
        write(partial)
        if before_replace is not None:
            before_replace()
        os.replace(partial, path)
    except OSError as exc:
        _remove(Path(partial))
        raise not_saved(path, exc) from exc
    except BaseException:
        _remove(Path(partial))
        raise
    return path


_UNSAFE_IN_FILE_NAMES = re.compile(r"[^A-Za-z0-9._-]+")


def file_name(content: CertificateContent) -> str:
    """``SRC-PER-2026-3F9A-000123.pdf``: the serial, safe as a file name on every system."""
    return (_UNSAFE_IN_FILE_NAMES.sub("_", content.serial).strip("._") or "certificate") + ".pdf"


def write_folder(contents: Iterable[CertificateContent], design: Design, folder: str | os.PathLike[str], *,
                 progress: Progress | None = None, cancelled: Callable[[], bool] | None = None,
                 qr: QrDrawer | None = draw_qr) -> list[Path]:
    """Write one PDF per certificate into ``folder`` (made if missing), named by serial
    (:func:`file_name`); a file of the same serial is replaced (its content is frozen: the same
    certificate). Cancelled: the files this call made are removed, and Cancelled is raised."""
    contents = list(contents)
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _not_saved(folder, exc) from exc
    written: list[Path] = []
    made: list[Path] = []
    total = len(contents)
    try:
        for done, content in enumerate(contents, 1):
            if cancelled is not None and cancelled():
                raise Cancelled("Printing the certificates was cancelled; the files made so far were removed.")
            target = folder / file_name(content)
            existed = target.exists()
            write_pdf([content], design, target, qr=qr)
            written.append(target)
            if not existed:
                made.append(target)
            if progress is not None:
                progress(done, total)
    except BaseException:
        for target in made:
            _remove(target)
        raise
    return written


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
