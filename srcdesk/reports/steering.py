"""The Recovery Strategy Steering Group report as a PDF (A4 portrait), drawn with ReportLab.

Pure: no Qt, no database. :mod:`srcdesk.services.steering` gathers a :class:`SteeringData` (the
figures through :mod:`srcdesk.services.dashboard`, so they are the dashboard's numbers) and this
module lays it out: a cover, the headline figures with the change from the previous period, charts
(ReportLab's own ``graphics.charts``: vector, a bar chart by establishment and a trend line by
quarter with the workplan's target drawn), a table by establishment with every indicator, the
workplan's progress (focus establishments, targets against actual), the data's freshness, and the
notes the officer typed.

Small numbers. Anything meant to leave SRC shows a count of 1–9 people as "<10" (Public Health
Scotland's disclosure practice; :func:`srcdesk.reports.indicators.suppress` decides, for the
indicators that are about people). That holds for the charts too: a bar or a point for a
suppressed figure is drawn at 10 — the top of the range the figure lies in, the same for every
suppressed figure — as an empty dashed outline (a hollow marker on a line) labelled "<10", so
nobody can measure it; the change from the previous period is not given when either figure is
suppressed (a difference would give the hidden figure away). ``suppressed=False`` is for use
inside SRC: every page then says :data:`NOT_FOR_CIRCULATION`.

Fonts: the DejaVu fonts shipped in ``resources/fonts`` (embedded as subsets), as the certificates
use them; every string of the charts names one, so no unembedded Helvetica creeps in.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.validators import Auto
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from ..dates import day_month_year, long_date
from ..errors import Cancelled
from . import indicators
from .certificates import SANS, SERIF, SERIF_BOLD, SERIF_ITALIC, NotSaved, register_fonts, write_atomically
from .indicators import INDICATOR_BY_CODE, INDICATORS, STALE_DAYS, Ratio, Value, is_stale
from .periods import Period

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
FRAME_WIDTH = PAGE_WIDTH - 2 * MARGIN

TITLE = "Recovery Strategy Steering Group"
SUBTITLE = "Recovery in Scotland's prisons: progress on the workplan"
ORGANISATIONS = ("Scottish Recovery Consortium", "Scottish Prison Service")
NOT_FOR_CIRCULATION = "Not for circulation outside SRC"
SUPPRESSED = "<10"
WITHHELD = "*"  # a figure of 10 or more not shown, so that a "<10" beside it cannot be worked out
WITHHELD_NOTE = ("* Not shown: when only one establishment's figure is “<10”, the next smallest is not shown "
                 "either, so the hidden one cannot be worked out from the total.")
SUPPRESSION_NOTE = ("Counts of 1 to 9 people (and their attendances, sign-offs and certificates) are shown as "
                    "“<10”, as Public Health Scotland does, so that nobody can be recognised from them. A "
                    "change from the previous period is not given when either figure is hidden.")
CHART_NOTE = ("In the charts, a figure shown as “<10” is drawn at 10, the top of the range it lies in, as an "
              "empty dashed bar or a hollow point: every such figure looks the same, so none can be measured.")
UNSUPPRESSED_NOTE = ("Small numbers are NOT hidden in this copy: it is for use inside SRC only and must not "
                     "be circulated outside SRC.")

#: An establishment whose last bundle reached the office more than this many days before the report
#: was made may have figures missing from it.
#: Indicators charted by establishment (national report) and as trends when no target names one.
BAR_CODES = ("people", "sessions")
TREND_DEFAULT = ("people", "sessions")
MAX_TRENDS = 4

Progress = Callable[[int, int, str], object]


@dataclass(frozen=True)
class EstablishmentFigures:
    code: str
    name: str
    values: dict[str, Value]  # INDICATORS code -> value for the period
    focus: bool = False  # a focus establishment of the plan year


@dataclass(frozen=True)
class TargetProgress:
    code: str  # INDICATORS code
    establishment: str | None  # the establishment's name; None: the national target
    target: float | None  # None: a workplan item without a number
    actual: Value | None  # the period's figure (None: not an indicator srcdesk counts)
    description: str = ""


@dataclass(frozen=True)
class Staleness:
    name: str
    last_bundle_at: dt.datetime | None  # None: no bundle received yet
    days: int | None


@dataclass(frozen=True)
class SteeringData:
    """Everything the report shows (the service gathers it; nothing here reads the database)."""

    period: Period
    scope: str  # "All establishments" or the establishment's name
    national: bool  # the office's national report (False: one establishment's)
    prepared_by: str
    prepared_on: dt.date
    figures: dict[str, Value]  # INDICATORS code -> value, this period
    previous: dict[str, Value]  # the same for period.previous()
    establishments: list[EstablishmentFigures] = field(default_factory=list)
    sessions_by_programme: list[tuple[str, int]] = field(default_factory=list)  # programmes and activities
    quarters: list[Period] = field(default_factory=list)  # the trend's quarters, oldest first
    trends: dict[str, list[Value | None]] = field(default_factory=dict)  # code -> a value per quarter
    trend_targets: dict[str, float] = field(default_factory=dict)  # code -> the plan year's target
    targets: list[TargetProgress] = field(default_factory=list)
    focus: list[str] = field(default_factory=list)  # the plan year's focus establishments' names
    plan_year: str = ""  # "Plan year 2025-26" the targets belong to
    freshness: list[Staleness] = field(default_factory=list)
    notes: str = ""
    scope_code: str | None = None  # the establishment's code, for one establishment's report


def file_name(period: Period, scope_code: str | None = None) -> str:
    """``steering-group-2025-Q3.pdf`` (``steering-group-2025-26-PER.pdf`` for one establishment)."""
    return f"steering-group-{period.code}{'-' + scope_code if scope_code else ''}.pdf"


# -- figures as text -------------------------------------------------------------------------------


class Shown:
    """How the report shows figures: suppressed or not (one rule, from the indicators)."""

    def __init__(self, suppressed: bool) -> None:
        self.suppressed = suppressed

    def text(self, code: str, value: Value | None) -> str:
        if value is None:
            return "–"
        about_people = self.suppressed and INDICATOR_BY_CODE[code].about_people
        return indicators.suppress(value, about_people=about_people)

    def hidden(self, code: str, value: Value | None) -> bool:
        """Whether the figure is shown as "<10" (and must not be drawn or differenced)."""
        if value is None or not self.suppressed or not INDICATOR_BY_CODE[code].about_people:
            return False
        return indicators.suppress(value, about_people=True) != indicators.suppress(value, about_people=False)

    def column(self, code: str, values: list[Value | None]) -> list[str]:
        """The establishments' figures of one indicator, as shown. When exactly one is hidden, the
        next smallest is hidden too (:data:`WITHHELD`), or the national total less the others would
        give the hidden one away."""
        texts = [self.text(code, v) for v in values]
        hidden = [i for i, v in enumerate(values) if self.hidden(code, v)]
        if len(hidden) == 1:
            others = [(number(v), i) for i, v in enumerate(values)
                      if i not in hidden and v is not None and number(v)]
            if others:
                texts[min(others)[1]] = WITHHELD
        return texts

    def change(self, code: str, now: Value | None, before: Value | None) -> str:
        """``+12 (+8%)``, ``−3.5``, ``+6 points``; "–" when either is missing or hidden."""
        if now is None or before is None or self.hidden(code, now) or self.hidden(code, before):
            return "–"
        a, b = number(now), number(before)
        if a is None or b is None:
            return "–"
        if isinstance(now, Ratio):
            points = round(a - b)
            return "no change" if points == 0 else f"{_signed(points, 0)} points"
        diff = a - b
        if diff == 0:
            return "no change"
        decimals = 1 if INDICATOR_BY_CODE[code].unit == "hours" else 0
        if not b:
            return _signed(diff, decimals)
        pct = diff * 100 / b
        return f"{_signed(diff, decimals)} ({_signed(pct, 0 if abs(pct) >= 10 else 1)}%)"


def _signed(x: float, decimals: int) -> str:
    text = f"{abs(x):,.{decimals}f}"
    return ("+" if x > 0 else "−") + text


def number(value: Value | None) -> float | None:
    """A figure as a plain number for a chart (a ratio as a percentage)."""
    if value is None:
        return None
    if isinstance(value, Ratio):
        return None if value.value is None else value.value * 100
    return float(value)


# -- styles ----------------------------------------------------------------------------------------


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=SANS, fontSize=9.5, leading=13, spaceAfter=4)
    return {
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=7.5, leading=9.5, textColor=colors.HexColor("#333333")),
        "cell": ParagraphStyle("cell", parent=body, fontSize=8, leading=9.5, spaceAfter=0),
        "head": ParagraphStyle("head", parent=body, fontSize=7.5, leading=9, spaceAfter=0),
        "tiny": ParagraphStyle("tiny", parent=body, fontSize=6.5, leading=7.5, spaceAfter=0),
        "h1": ParagraphStyle("h1", fontName=SERIF_BOLD, fontSize=15, leading=19, spaceBefore=4, spaceAfter=8),
        "h2": ParagraphStyle("h2", fontName=SERIF_BOLD, fontSize=11.5, leading=15, spaceBefore=8, spaceAfter=4),
        "org": ParagraphStyle("org", fontName=SERIF, fontSize=13, leading=17, alignment=TA_CENTER),
        "title": ParagraphStyle("title", fontName=SERIF_BOLD, fontSize=24, leading=30, alignment=TA_CENTER),
        "subtitle": ParagraphStyle("subtitle", fontName=SERIF_ITALIC, fontSize=13, leading=18, alignment=TA_CENTER),
        "period": ParagraphStyle("period", fontName=SERIF_BOLD, fontSize=16, leading=22, alignment=TA_CENTER),
        "centre": ParagraphStyle("centre", parent=body, alignment=TA_CENTER),
    }


_GRID = colors.HexColor("#999999")
_SHADE = colors.HexColor("#EEEEEE")
_INK = colors.HexColor("#1F4E79")  # dark blue: prints as a dark grey on a black-and-white printer
_INK2 = colors.HexColor("#8C8C8C")


def _table(rows: list[list], widths: list[float], *, numeric_from: int = 1, header_rows: int = 1,
           zebra: bool = True) -> Table:
    t = Table(rows, colWidths=widths, repeatRows=header_rows, hAlign="LEFT")
    style = [
        ("FONT", (0, 0), (-1, -1), SANS, 8),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (numeric_from, header_rows), (-1, -1), "RIGHT"),
        ("LINEBELOW", (0, header_rows - 1), (-1, header_rows - 1), 0.8, colors.black),
        ("LINEBELOW", (0, header_rows), (-1, -1), 0.25, _GRID),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if zebra:
        style += [("BACKGROUND", (0, r), (-1, r), _SHADE) for r in range(header_rows + 1, len(rows), 2)]
    t.setStyle(TableStyle(style))
    return t


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


# -- the sections ----------------------------------------------------------------------------------


def _cover(data: SteeringData, st: dict[str, ParagraphStyle], shown: Shown) -> list:
    out: list = [Spacer(1, 22 * mm)]
    out += [_p(name, st["org"]) for name in ORGANISATIONS]
    out += [Spacer(1, 38 * mm), _p(TITLE, st["title"]), Spacer(1, 4 * mm), _p(SUBTITLE, st["subtitle"]),
            Spacer(1, 18 * mm), _p(data.period.label, st["period"]), Spacer(1, 3 * mm),
            _p(data.scope, st["centre"]), Spacer(1, 36 * mm),
            _p(f"Prepared by {data.prepared_by}, Scottish Recovery Consortium, {long_date(data.prepared_on)}",
               st["centre"]),
            Spacer(1, 30 * mm)]
    out.append(_p(SUPPRESSION_NOTE if shown.suppressed else UNSUPPRESSED_NOTE, st["small"]))
    out.append(PageBreak())
    return out


def _headlines(data: SteeringData, st: dict[str, ParagraphStyle], shown: Shown) -> list:
    before = data.period.previous()
    out: list = [_p("Headline figures", st["h1"]),
                 _p(f"{data.scope}, {data.period.label}, against {before.label}.", st["body"])]
    rows: list[list] = [[_p("Indicator", st["head"]), _p(data.period.short_label, st["head"]),
                         _p(before.short_label, st["head"]), _p("Change", st["head"]),
                         _p("What is counted", st["head"])]]
    for ind in INDICATORS:
        rows.append([ind.label, _narrow(shown.text(ind.code, data.figures.get(ind.code))),
                     _narrow(shown.text(ind.code, data.previous.get(ind.code))),
                     shown.change(ind.code, data.figures.get(ind.code), data.previous.get(ind.code)),
                     _p(ind.description, st["cell"])])
    t = _table(rows, [34 * mm, 21 * mm, 21 * mm, 25 * mm, FRAME_WIDTH - 101 * mm], numeric_from=1)
    t.setStyle(TableStyle([("ALIGN", (4, 1), (4, -1), "LEFT")]))
    out.append(t)
    stale = [f for f in data.freshness if is_stale(f.days)]
    if stale:
        out += [Spacer(1, 3 * mm), _p(
            f"{len(stale)} establishment{'s' if len(stale) != 1 else ''}' figures may be incomplete: "
            f"no bundle has reached the office for more than {STALE_DAYS} days (see Data freshness).",
            st["body"])]
    return out


def _drawing(height: float) -> Drawing:
    d = Drawing(FRAME_WIDTH, height)
    d.initialFontName = SANS  # else ReportLab starts each drawing in Helvetica, a font not embedded
    return d


def _bar_chart(rows: list[tuple[str, Value | None]], code: str, shown: Shown, title: str) -> Drawing:
    """A horizontal bar per row; a hidden figure drawn at 10 as an empty dashed bar labelled "<10", a
    withheld one (:data:`WITHHELD`) not drawn at all."""
    n = max(len(rows), 1)
    bar_h = 13 if n <= 16 else 9
    height = n * bar_h + 46
    d = _drawing(height)
    d.add(String(0, height - 11, title, fontName=SERIF_BOLD, fontSize=10))
    chart = HorizontalBarChart()
    chart.x, chart.y = 62 * mm, 16
    chart.width, chart.height = FRAME_WIDTH - 62 * mm - 24, n * bar_h
    plotted, labels = [], []
    for (_name, value), text in zip(rows, shown.column(code, [v for _n, v in rows]), strict=True):
        if text == SUPPRESSED:
            plotted.append(10.0)
        elif text == WITHHELD:
            plotted.append(0.0)
        else:
            plotted.append(number(value) or 0.0)
        labels.append(text)
    chart.data = [list(reversed(plotted))]  # the first row at the top
    chart.barLabelArray = [list(reversed(labels))]
    chart.categoryAxis.categoryNames = [_fit(name, 7.5, 62 * mm - 8) for name, _v in reversed(rows)]
    chart.categoryAxis.labels.fontName = SANS
    chart.categoryAxis.labels.fontSize = 7.5
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.labels.dx = -4
    chart.categoryAxis.tickLeft = 0
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontName = SANS
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.forceZero = 1
    chart.valueAxis.visibleGrid = 1
    chart.valueAxis.gridStrokeColor = colors.HexColor("#DDDDDD")
    chart.valueAxis.gridStrokeWidth = 0.3
    if max(plotted, default=0) <= 0:
        chart.valueAxis.valueMax = 10
    chart.bars[0].fillColor = _INK
    chart.bars[0].strokeColor = None
    chart.barWidth = 8
    chart.groupSpacing = 3
    chart.barLabels.fontName = SANS
    chart.barLabels.fontSize = 7
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 3
    chart.barLabelFormat = "values"  # the labels come from barLabelArray (never the plotted 10)
    for i, label in enumerate(reversed(labels)):
        if label == SUPPRESSED:
            chart.bars[(0, i)].fillColor = None
            chart.bars[(0, i)].strokeColor = colors.black
            chart.bars[(0, i)].strokeWidth = 0.6
            chart.bars[(0, i)].strokeDashArray = [2, 1.5]
    d.add(chart)
    return d


def _fit(text: str, size: float, width: float) -> str:
    """``text`` shortened with "…" to fit ``width`` points in the sans font at ``size``."""
    if stringWidth(text, SANS, size) <= width:
        return text
    while text and stringWidth(text + "…", SANS, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _trend_chart(data: SteeringData, code: str, shown: Shown) -> Drawing:
    """The indicator by quarter, with the plan year's target (a quarter's share of it, for counts)."""
    ind = INDICATOR_BY_CODE[code]
    values = data.trends.get(code, [])
    height = 58 * mm
    d = _drawing(height)
    unit = " (%)" if ind.unit == "ratio" else " (hours)" if ind.unit == "hours" else ""
    d.add(String(0, height - 11, f"{ind.label}{unit} by quarter", fontName=SERIF_BOLD, fontSize=10))
    chart = HorizontalLineChart()
    chart.x, chart.y = 14 * mm, 14 * mm
    chart.width, chart.height = FRAME_WIDTH - 20 * mm, height - 30 * mm
    plotted: list[float | None] = []
    labels: list[str] = []
    hidden: list[int] = []
    for i, v in enumerate(values):
        if shown.hidden(code, v):
            plotted.append(10.0)
            labels.append(SUPPRESSED)
            hidden.append(i)
        else:
            plotted.append(number(v))
            if v is None or plotted[-1] is None:
                labels.append("")
            elif ind.unit == "ratio":  # the share only: "100% (27 of 27)" at each point would run together
                labels.append(f"{plotted[-1]:.0f}%")
            else:
                labels.append(shown.text(code, v))
    present = [i for i, v in enumerate(plotted) if v is not None]  # ReportLab numbers the drawn points
    series = [plotted]
    label_rows = [[labels[i] for i in present]]
    target = data.trend_targets.get(code)
    target_line = None
    if target is not None:
        target_line = (target * 100 if target <= 1 else target) if ind.unit == "ratio" else target / 4
        series.append([target_line] * len(plotted))
        label_rows.append([""] * len(plotted))
    if hidden:  # drawn last, over the filled points: a hollow point at 10 for each hidden figure
        series.append([10.0 if i in hidden else None for i in range(len(plotted))])
        label_rows.append([""] * len(hidden))
        n = len(series) - 1
        chart.lines[n].strokeColor = None
        chart.lines[n].symbol = makeMarker("Circle", size=5.5, fillColor=colors.white, strokeColor=_INK,
                                           strokeWidth=0.9)
    chart.data = series
    # Join the points of a line only where there are two or more: ReportLab draws a line with no
    # points (no quarter with a figure, e.g. no recruit cohort started) as a polyline it then refuses.
    chart.joinedLines = 0
    for i, row in enumerate(series):
        if sum(v is not None for v in row) >= 2:
            chart.lines[i].lineStyle = "joinedLine"
    chart.lineLabelArray = label_rows
    chart.lineLabelFormat = "values"
    chart.lineLabels.fontName = SANS
    chart.lineLabels.fontSize = 6.5
    chart.lineLabels.dy = 6
    chart.categoryAxis.categoryNames = [q.short_label for q in data.quarters]
    chart.categoryAxis.labels.fontName = SANS
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.dy = -2
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontName = SANS
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.visibleGrid = 1
    chart.valueAxis.gridStrokeColor = colors.HexColor("#DDDDDD")
    chart.valueAxis.gridStrokeWidth = 0.3
    top = max([v for v in plotted if v is not None] + [target_line or 0, 0])
    if top <= 0:
        chart.valueAxis.valueMax = 10
    chart.lines[0].strokeColor = _INK
    chart.lines[0].strokeWidth = 1.4
    chart.lines[0].symbol = makeMarker("FilledCircle", size=4, fillColor=_INK, strokeColor=_INK)
    if target_line is not None:
        chart.lines[1].strokeColor = colors.black
        chart.lines[1].strokeWidth = 0.8
        chart.lines[1].strokeDashArray = [4, 2]
    d.add(chart)
    chart.lines[0].name = f"{ind.label}, each quarter"
    if target_line is not None:
        chart.lines[1].name = (f"Workplan: target {_percent(target)}" if ind.unit == "ratio"
                               else f"Workplan: a quarter of the year's target of {target:,.0f}")
    if hidden:
        chart.lines[len(series) - 1].name = "Shown as <10 (drawn at 10)"
    legend = Legend()
    legend.colorNamePairs = Auto(obj=chart)  # the lines' own swatches: the target's dashes, the hollow point
    legend.fontName = SANS
    legend.fontSize = 7
    legend.x, legend.y = 14 * mm, 5
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.deltax = 150
    legend.dxTextSpace = 4
    legend.dx = 16
    legend.dy = 4
    legend.boxAnchor = "sw"
    d.add(legend)
    return d


def _percent(target: float) -> str:
    return f"{target * 100:.0f}%" if target <= 1 else f"{target:.0f}%"


def _charts(data: SteeringData, st: dict[str, ParagraphStyle], shown: Shown) -> list:
    out: list = [PageBreak(), _p("Charts", st["h1"])]
    if data.national and data.establishments:
        for code in BAR_CODES:
            ind = INDICATOR_BY_CODE[code]
            rows = [(e.name, e.values.get(code)) for e in data.establishments]
            out += [_bar_chart(rows, code, shown, f"{ind.label} by establishment, {data.period.short_label}"),
                    Spacer(1, 4 * mm)]
    elif data.sessions_by_programme:
        rows = [(name, n) for name, n in data.sessions_by_programme[:16]]
        out += [_bar_chart(rows, "sessions", shown,
                           f"Sessions held by programme and activity, {data.period.short_label}"), Spacer(1, 4 * mm)]
    for code in _trend_codes(data):
        out += [CondPageBreak(60 * mm), _trend_chart(data, code, shown), Spacer(1, 3 * mm)]
    if shown.suppressed:
        withheld = " A figure marked * is not drawn (see the table by establishment)." if data.establishments else ""
        out.append(_p(CHART_NOTE + withheld, st["small"]))
    if any(c in data.trend_targets for c in _trend_codes(data)):
        out.append(_p("For a count, the dashed line is a quarter of the plan year's target; for a share, the "
                      "target itself.", st["small"]))
    return out


def _trend_codes(data: SteeringData) -> list[str]:
    codes = [c for c in data.trend_targets if c in data.trends]
    codes += [c for c in TREND_DEFAULT if c in data.trends and c not in codes]
    return codes[:MAX_TRENDS]


def _by_establishment(data: SteeringData, st: dict[str, ParagraphStyle], shown: Shown) -> list:
    if not data.establishments:
        return []
    out: list = [PageBreak(), _p("Figures by establishment", st["h1"]),
                 _p(f"{data.period.label}. Every indicator for each establishment; ★ marks the plan year's "
                    "focus establishments.", st["body"])]
    head = [_p("Establishment", st["tiny"])] + [_p(i.label, st["tiny"]) for i in INDICATORS]
    rows: list[list] = [head]
    columns = [shown.column(i.code, [e.values.get(i.code) for e in data.establishments]) for i in INDICATORS]
    for n, e in enumerate(data.establishments):
        rows.append([_p(("★ " if e.focus else "") + e.name, st["cell"])] + [_narrow(c[n]) for c in columns])
    rows.append([_p("All establishments", st["cell"])]
                + [_narrow(shown.text(i.code, data.figures.get(i.code))) for i in INDICATORS])
    first = 31 * mm
    rest = (FRAME_WIDTH - first) / len(INDICATORS)
    t = _table(rows, [first] + [rest] * len(INDICATORS))
    t.setStyle(TableStyle([("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black),
                           ("FONT", (1, 1), (-1, -1), SANS, 7.5, 8.5),
                           ("LEFTPADDING", (0, 0), (-1, -1), 2), ("RIGHTPADDING", (0, 0), (-1, -1), 2)]))
    out.append(t)
    out.append(Spacer(1, 2 * mm))
    if any(WITHHELD in c for c in columns):
        out.append(_p(WITHHELD_NOTE, st["small"]))
    out.append(_p("People taking part and new people are counted once in each establishment where they took "
                  "part, so the establishments' figures may add up to more than the national one.", st["small"]))
    return out


def _narrow(text: str) -> str:
    """A ratio's "83% (5 of 6)" on two lines, for the narrow columns."""
    return text.replace(" (", "\n(")


def _workplan(data: SteeringData, st: dict[str, ParagraphStyle], shown: Shown) -> list:
    out: list = [CondPageBreak(80 * mm), _p("Workplan progress", st["h1"])]
    if not data.focus and not data.targets:
        year = data.plan_year or "this plan year"
        out.append(_p(f"No workplan has been set for {year}." if data.national else
                      f"The workplan for {year} sets no targets for {data.scope}, and does not name it a focus "
                      "establishment.", st["body"]))
        return out
    if data.focus:
        out.append(_p(f"Focus establishments, {data.plan_year}: {', '.join(data.focus)}.", st["body"]))
    if data.targets:
        rows: list[list] = [[_p(h, st["head"]) for h in ("Indicator", "Where", "Target", data.period.short_label,
                                                          "Of target", "Target set")]]
        for t in data.targets:
            ind = INDICATOR_BY_CODE.get(t.code)
            label = ind.label if ind else "Workplan item"
            if t.target is None:
                target_text = "–"
            elif ind and ind.unit == "ratio":
                target_text = _percent(t.target)
            else:
                target_text = f"{t.target:,.0f}" if float(t.target).is_integer() else f"{t.target:,.1f}"
            actual = _narrow(shown.text(t.code, t.actual)) if ind else "not counted"
            share = "–"
            if ind and t.target and t.actual is not None and not shown.hidden(t.code, t.actual):
                a = number(t.actual)
                goal = t.target * 100 if ind.unit == "ratio" and t.target <= 1 else t.target
                if a is not None and goal:
                    share = f"{a * 100 / goal:.0f}%"
            rows.append([_p(label, st["cell"]), _p(t.establishment or "National", st["cell"]), target_text, actual,
                         share, _p(t.description, st["cell"])])
        tbl = _table(rows, [30 * mm, 30 * mm, 15 * mm, 20 * mm, 14 * mm, FRAME_WIDTH - 109 * mm], numeric_from=2)
        tbl.setStyle(TableStyle([("ALIGN", (5, 1), (5, -1), "LEFT")]))
        out.append(tbl)
        if data.period.kind == "quarter":
            out.append(_p("The targets are for the plan year; a quarter's figure is measured against the whole "
                          "year's target.", st["small"]))
    return out


def _freshness(data: SteeringData, st: dict[str, ParagraphStyle]) -> list:
    out: list = [CondPageBreak(60 * mm), _p("Data freshness", st["h1"])]
    if not data.freshness:
        out.append(_p("No establishment's data is kept on this PC.", st["body"]))
        return out
    out.append(_p(f"When each establishment's last bundle reached the office. Figures for an establishment whose "
                  f"last bundle is more than {STALE_DAYS} days old may be incomplete.", st["body"]))
    rows: list[list] = [[_p(h, st["head"]) for h in ("Establishment", "Last bundle", "Days ago", "")]]
    for f in data.freshness:
        when = day_month_year(f.last_bundle_at.date()) if f.last_bundle_at else "never"
        ago = "–" if f.days is None else str(f.days)
        if f.days is None:
            note = "No bundle received here yet"
        elif is_stale(f.days):
            note = f"May be incomplete: last bundle {f.days} days ago"
        else:
            note = ""
        rows.append([_p(f.name, st["cell"]), when, ago, note])
    t = _table(rows, [58 * mm, 26 * mm, 16 * mm, FRAME_WIDTH - 100 * mm], numeric_from=2, zebra=True)
    t.setStyle(TableStyle([("ALIGN", (1, 1), (1, -1), "LEFT"), ("ALIGN", (3, 1), (3, -1), "LEFT")]))
    out.append(t)
    return out


def _notes(data: SteeringData, st: dict[str, ParagraphStyle]) -> list:
    text = (data.notes or "").strip()
    if not text:
        return []
    out: list = [CondPageBreak(40 * mm), _p("Notes", st["h1"])]
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if block.strip():
            out.append(Paragraph("<br/>".join(escape(line) for line in block.strip().split("\n")), st["body"]))
    return out


def _story(data: SteeringData, shown: Shown, charts: bool = True) -> list:
    st = _styles()
    story = _cover(data, st, shown)
    story += _headlines(data, st, shown)
    story += _charts(data, st, shown) if charts else []
    story += _by_establishment(data, st, shown)
    story += [PageBreak()] + _workplan(data, st, shown)
    story += _freshness(data, st)
    story += _notes(data, st)
    return [KeepTogether(x) if isinstance(x, list) else x for x in story]


# -- the pages -------------------------------------------------------------------------------------


def _canvas_maker(title: str, suppressed: bool, progress: Progress | None,
                  cancelled: Callable[[], bool] | None) -> type[Canvas]:
    class NumberedCanvas(Canvas):
        """Keeps each page until the end, then draws "Page n of N" (and, unsuppressed, the warning)."""

        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            self._kept: list[dict] = []

        def showPage(self) -> None:  # noqa: N802 - ReportLab's name
            if cancelled is not None and cancelled():
                raise Cancelled("Making the Steering Group report was cancelled; no file was saved.")
            self._kept.append(dict(self.__dict__))
            self._startPage()
            if progress is not None:
                progress(len(self._kept), 0, f"Drawing page {len(self._kept)}…")

        def save(self) -> None:
            total = len(self._kept)
            for number_, state in enumerate(self._kept, 1):
                self.__dict__.update(state)
                self._furniture(number_, total)
                super().showPage()
            super().save()

        def _furniture(self, page: int, total: int) -> None:
            self.saveState()
            self.setFont(SANS, 7.5)
            self.setFillColor(colors.HexColor("#444444"))
            self.drawRightString(PAGE_WIDTH - MARGIN, 10 * mm, f"Page {page} of {total}")
            if page > 1:
                self.drawString(MARGIN, 10 * mm, title)
            if not suppressed:
                self.setFont(SANS, 9)
                self.setFillColor(colors.black)
                self.drawCentredString(PAGE_WIDTH / 2, PAGE_HEIGHT - 10 * mm, NOT_FOR_CIRCULATION.upper())
                self.drawCentredString(PAGE_WIDTH / 2, 14.5 * mm, NOT_FOR_CIRCULATION)
            self.restoreState()

    return NumberedCanvas


def document_title(data: SteeringData) -> str:
    scope = "" if data.national else f", {data.scope}"
    return f"{TITLE}: {data.period.label}{scope}"


def _build(data: SteeringData, target: str, *, suppressed: bool, progress: Progress | None,
           cancelled: Callable[[], bool] | None, charts: bool = True) -> None:
    register_fonts()
    title = document_title(data)
    doc = SimpleDocTemplate(target, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN + 4 * mm, title=title, author="Scottish Recovery Consortium",
                            creator="srcdesk", subject=data.scope, invariant=1, pageCompression=1,
                            initialFontName=SANS, initialFontSize=10)
    story = _story(data, Shown(suppressed), charts)
    doc.build(story, canvasmaker=_canvas_maker(title, suppressed, progress, cancelled))


def write_pdf(data: SteeringData, path: str | os.PathLike[str], *, suppressed: bool = True,
              progress: Progress | None = None, cancelled: Callable[[], bool] | None = None,
              before_replace: Callable[[], object] | None = None, charts: bool = True) -> Path:
    """Write the report to ``path``, replacing it only once the new file is whole (a temporary
    file beside it, then ``os.replace``). ``progress(done, 0, what)`` after each page; ``cancelled()``
    is asked before each page and stops with :class:`~srcdesk.errors.Cancelled`, leaving nothing.
    ``before_replace()`` runs once the file is whole, before it takes its name (the export record:
    if it fails, no file is left). ``charts=False`` leaves the charts out (the bench's baseline)."""
    return write_atomically(
        Path(path), lambda partial: _build(data, partial, suppressed=suppressed, progress=progress,
                                           cancelled=cancelled, charts=charts),
        _not_saved, before_replace)


def pdf_bytes(data: SteeringData, *, suppressed: bool = True) -> bytes:
    import io

    buffer = io.BytesIO()
    _build(data, buffer, suppressed=suppressed, progress=None, cancelled=None)  # type: ignore[arg-type]
    return buffer.getvalue()


def _not_saved(path: Path, error: OSError) -> NotSaved:
    reason = error.strerror or type(error).__name__
    return NotSaved(f"The Steering Group report could not be saved as {path} ({reason}). If that file is open "
                    "in another program, close it; or choose another folder. Then try again.")
