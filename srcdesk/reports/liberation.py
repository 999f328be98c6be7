"""The liberation record as PDF: A4, the person's own, warm and plain.

Pure: no Qt, no database. It prints the frozen content of a record (a dict, see
:mod:`srcdesk.reports.liberation_content`) and nothing else, so a reprint is the first print.
"My recovery journey": their own words, what they did (sessions, programmes and modules
completed), the steps they reached on the recovery ladder, their certificates with serials and
QR codes (and how anyone can check them), and the recovery communities near the area they go to.
Never an offence or a prison number: the content holds none.

DejaVu fonts embedded as subsets (the certificates' registration), "Page n of N" at the foot,
the file replaced only once it is whole (:func:`srcdesk.reports.certificates.write_atomically`).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from ..dates import long_date
from ..words import plural
from .certificates import (
    SANS,
    SERIF,
    SERIF_BOLD,
    SERIF_ITALIC,
    NotSaved,
    draw_qr,
    register_fonts,
    write_atomically,
)
from .liberation_content import file_name as file_name

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 20 * mm
FRAME_WIDTH = PAGE_WIDTH - 2 * MARGIN
QR_SIZE = 30 * mm  # quiet zone included: a phone reads it from the page
TITLE = "My recovery journey"
_INK = colors.HexColor("#1F4E79")  # dark blue: a dark grey on a black-and-white printer
_SOFT = colors.HexColor("#555555")
_RULE = colors.HexColor("#9DB7D0")

HOW_TO_CHECK = (
    "Every certificate has its own serial and a QR code. Anyone you show one to (an employer, a college, "
    "a recovery service) can check that it is genuine with the Scottish Recovery Consortium: they scan the "
    "QR code, or give the serial, and are told whether it is valid."
)
CLOSING = "Recovery is possible, and your recovery pathway carries on in your community."
CLOSING_PEERS = " The recovery communities above are run by people who have been there too: they are there for you."


def _day(iso: str | None) -> str:
    return long_date(dt.date.fromisoformat(iso)) if iso else ""


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=SANS, fontSize=10.5, leading=15, spaceAfter=5)
    return {
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=9, leading=12.5, textColor=_SOFT),
        "cell": ParagraphStyle("cell", parent=body, fontSize=10, leading=13.5, spaceAfter=0),
        "serial": ParagraphStyle("serial", parent=body, fontName=SANS, fontSize=10, leading=13.5, spaceAfter=0),
        "words": ParagraphStyle("words", fontName=SERIF_ITALIC, fontSize=11.5, leading=17, spaceAfter=7,
                                leftIndent=6 * mm, rightIndent=4 * mm),
        "title": ParagraphStyle("title", fontName=SERIF_BOLD, fontSize=28, leading=34, textColor=_INK, spaceAfter=4),
        "name": ParagraphStyle("name", fontName=SERIF, fontSize=18, leading=24, spaceAfter=6),
        "h2": ParagraphStyle("h2", fontName=SERIF_BOLD, fontSize=14, leading=19, textColor=_INK, spaceBefore=10,
                             spaceAfter=5),
        "h3": ParagraphStyle("h3", fontName=SERIF_BOLD, fontSize=11.5, leading=16, spaceBefore=4, spaceAfter=2),
        "org": ParagraphStyle("org", fontName=SERIF_BOLD, fontSize=12, leading=16, spaceAfter=1),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _bold(text: str) -> str:
    """Text in the bold face (DejaVu Sans is embedded without one: the serif's bold stands in)."""
    return f'<font name="{SERIF_BOLD}">{escape(text)}</font>'


class _Qr(Flowable):
    """A certificate's signed code as a QR code (the certificates' own drawing)."""

    def __init__(self, code: str, size: float = QR_SIZE) -> None:
        super().__init__()
        self.code, self.size = code, size

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:  # noqa: ARG002
        return self.size, self.size

    def draw(self) -> None:
        draw_qr(self.canv, self.code, 0, 0, self.size)


class _Rule(Flowable):
    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:  # noqa: ARG002
        self.width = available_width
        return available_width, 4 * mm

    def draw(self) -> None:
        self.canv.setStrokeColor(_RULE)
        self.canv.setLineWidth(1.2)
        self.canv.line(0, 2 * mm, self.width, 2 * mm)


def _bullets(items: list[str], st: dict[str, ParagraphStyle]) -> list:
    style = ParagraphStyle("bullet", parent=st["body"], leftIndent=6 * mm, bulletIndent=1.5 * mm, spaceAfter=2)
    return [Paragraph(escape(item), style, bulletText="•") for item in items]


def _opening(c: dict[str, Any], st: dict[str, ParagraphStyle]) -> list:
    places = c.get("establishments") or []
    where = (", ".join(places[:-1]) + " and " + places[-1]) if len(places) > 1 else (places[0] if places else "")
    intro = (f"This is the record of the recovery journey you made{' at ' + where if where else ''}. "
             f"It is yours: take it with you to {c['area']}, and show it to whoever you choose.")
    return [_p(TITLE, st["title"]), _p(c["name"], st["name"]), _Rule(), _p(intro, st["body"]),
            _p(f"Made with you on {_day(c['made_on'])} at {c['made_at']}.", st["small"])]


def _own_words(c: dict[str, Any], st: dict[str, ParagraphStyle]) -> list:
    words = (c.get("own_words") or "").strip()
    if not words:
        return []
    out: list = [_p("In my own words", st["h2"])]
    for para in re.split(r"\n\s*\n", words):
        out.append(Paragraph(escape(para.strip()).replace("\n", "<br/>"), st["words"]))
    return out


def _what_i_did(c: dict[str, Any], st: dict[str, ParagraphStyle]) -> list:
    out: list = [_p("What I did", st["h2"])]
    sessions = c["sessions"]
    if sessions["count"]:
        span = (f"on {_day(sessions['first'])}" if sessions["first"] == sessions["last"]
                else f"between {_day(sessions['first'])} and {_day(sessions['last'])}")
        out.append(_p(f"I took part in {plural(sessions['count'], 'recovery session')} {span}.", st["body"]))
    else:
        out.append(_p("No sessions are recorded yet.", st["body"]))
    if c["programmes"]:
        out.append(_p("Programmes I completed", st["h3"]))
        out += _bullets([p["name"] + (f", {_day(p['completed_on'])}" if p["completed_on"] else "")
                         for p in c["programmes"]], st)
    if c["modules"]:
        out.append(_p("Modules I completed", st["h3"]))
        by_programme: dict[str, list[dict[str, Any]]] = {}
        for m in c["modules"]:
            by_programme.setdefault(m["programme"], []).append(m)
        rows = []
        for programme, modules in by_programme.items():
            rows.append([Paragraph(f'<font name="{SERIF_ITALIC}">{escape(programme)}</font>', st["cell"]), ""])
            rows += [[Paragraph(escape(m["name"]), st["cell"]), _p(_day(m["completed_on"]), st["cell"])]
                     for m in modules]
        # the date column fits "30 September 2026" on one line
        t = Table(rows, colWidths=[FRAME_WIDTH - 46 * mm, 46 * mm], hAlign="LEFT")
        t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (0, -1), 6 * mm),
                               ("LEFTPADDING", (1, 0), (1, -1), 2 * mm),
                               ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#DDDDDD"))]))
        out.append(t)
    return out


def _ladder(c: dict[str, Any], st: dict[str, ParagraphStyle]) -> list:
    if not c["ladder"]:
        return []
    out: list = [_p("My steps on the recovery ladder", st["h2"]),
                 _p("The levels I reached on the peer-volunteer ladder, from taking part to helping others in "
                    "their recovery:", st["body"])]
    out += _bullets([f"Level {x['level']}: {x['name']}, {_day(x['achieved_on'])}" for x in c["ladder"]], st)
    return out


def _certificates(c: dict[str, Any], st: dict[str, ParagraphStyle]) -> list:
    if not c["certificates"]:
        return []
    out: list = [CondPageBreak(QR_SIZE + 30 * mm), _p("My certificates", st["h2"]), _p(HOW_TO_CHECK, st["small"])]
    for cert in c["certificates"]:
        text = [_p(cert["title"], st["h3"]),
                _p(f"Issued on {_day(cert['issued_on'])}", st["cell"]),
                Paragraph(f"Serial: {_bold(cert['serial'])}", st["serial"])]
        qr: Any = _Qr(cert["code"]) if cert.get("code") else ""
        t = Table([[qr, text]], colWidths=[QR_SIZE + 4 * mm, FRAME_WIDTH - QR_SIZE - 4 * mm], hAlign="LEFT")
        t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (0, 0), 0),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#DDDDDD")),
                               ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]))
        out.append(t)
    return out


def _organisations(c: dict[str, Any], st: dict[str, ParagraphStyle]) -> list:
    out: list = [CondPageBreak(50 * mm), _p(f"Recovery communities near you in {c['area']}", st["h2"])]
    if not c["organisations"]:
        out.append(_p(f"We don't know of a recovery community in {c['area']} yet. The Scottish Recovery Consortium "
                      "can put you in touch with one near where you live.", st["body"]))
        return out
    out.append(_p("Lived Experience Recovery Organisations (LEROs) and recovery communities are run by people in "
                  "recovery themselves. Get in touch: you will be welcome.", st["body"]))
    for org in c["organisations"]:
        block = [_p(org["name"], st["org"]), _p(org["kind_label"], st["small"])]
        if org.get("offers"):
            block.append(Paragraph(f"{_bold('What they offer:')} {escape(org['offers'])}", st["body"]))
        if org.get("contact"):
            block.append(Paragraph(f"{_bold('How to reach them:')} {escape(org['contact'])}".replace("\n", "<br/>"),
                                   st["body"]))
        block.append(Spacer(1, 2 * mm))
        out.append(KeepTogether(block))
    return out


def story(content: dict[str, Any]) -> list:
    st = _styles()
    out = _opening(content, st) + _own_words(content, st) + _what_i_did(content, st) + _ladder(content, st)
    out += _certificates(content, st) + _organisations(content, st)
    peers = any(o["kind"] in ("lero", "recovery_community") for o in content["organisations"])
    out += [Spacer(1, 4 * mm), _Rule(), _p(CLOSING + (CLOSING_PEERS if peers else ""), st["words"])]
    return out


def _canvas_maker(name: str) -> type[Canvas]:
    class NumberedCanvas(Canvas):
        """Keeps each page until the end, then draws its foot: the name and "Page n of N"."""

        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            self._kept: list[dict] = []

        def showPage(self) -> None:  # noqa: N802 - ReportLab's name
            self._kept.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._kept)
            for number, state in enumerate(self._kept, 1):
                self.__dict__.update(state)
                self.saveState()
                self.setFont(SANS, 8)
                self.setFillColor(_SOFT)
                self.drawString(MARGIN, 11 * mm, f"{TITLE}: {name}")
                self.drawRightString(PAGE_WIDTH - MARGIN, 11 * mm, f"Page {number} of {total}")
                self.restoreState()
                super().showPage()
            super().save()

    return NumberedCanvas


def _build(content: dict[str, Any], target: str | io.BytesIO) -> None:
    register_fonts()
    doc = SimpleDocTemplate(target, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN + 2 * mm, title=f"{TITLE}: {content['name']}",
                            author="Scottish Recovery Consortium", creator="srcdesk", invariant=1,
                            pageCompression=1, initialFontName=SANS, initialFontSize=10)
    doc.build(story(content), canvasmaker=_canvas_maker(content["name"]))


def pdf_bytes(content: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    _build(content, buffer)
    return buffer.getvalue()


def write_pdf(content: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write the record to ``path``, replacing it only once the new file is whole."""
    return write_atomically(Path(path), lambda partial: _build(content, partial), _not_saved)


def _not_saved(path: Path, error: OSError) -> NotSaved:
    reason = error.strerror or type(error).__name__
    return NotSaved(f"The liberation record could not be saved as {path} ({reason}). If that file is open in "
                    "another program, close it; or choose another folder. Then try again.")
