"""A small chart widget of our own, painted with QPainter: grouped bars, or lines by quarter with a
dashed target line.

QtCharts is in the 170 MB Addons wheel and deprecated since Qt 6.10; pyqtgraph or matplotlib cost
half a second of import. What the dashboard needs is small::

    chart = Chart("bars", title="Attendances by establishment")
    chart.set_data([Category("PER", "PER", "HMP Perth"), Category("BAR", "BAR", "HMP Barlinnie",
                    stale=True, note="last bundle 41 days ago")],
                   [Series("Attendances", [312, 41])])
    chart.activated.connect(drill_down)            # a category's key, on click or Enter

    trend = Chart("lines", title="Attendances by quarter")
    trend.set_data(quarters, [Series("Attendances", values)], target=[300] * 8)

Values are plain numbers (``None``: nothing to show). What a value means and how small numbers
are shown is the caller's business: give ``formatter`` to write values (ticks, labels, text).

Accessible: the accessible description is a text alternative (each category and its values in
words); the chart takes keyboard focus, Left/Right (Home/End) move between bars or points, and
Enter or a click emits :attr:`Chart.activated` with the category's key.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

# Okabe–Ito: told apart by people with any common colour blindness.
SERIES_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
TARGET_COLOUR = "#B00020"
STALE_COLOUR = "#8A5A00"
EMPTY_TEXT = "No sessions in this period"


@dataclass(frozen=True)
class Category:
    """One bar group, or one point on the x axis."""

    key: Any  # what :attr:`Chart.activated` carries
    label: str  # under the axis (short: "PER", "Q3 25-26")
    name: str = ""  # in words, for the text alternative and the tooltip ("HMP Perth")
    stale: bool = False  # its data are old: hatched bars, label in the warning colour
    note: str = ""  # said after its values ("last bundle 41 days ago")
    highlight: bool = False  # e.g. a focus establishment: the label in bold


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    colour: str | None = None


@dataclass(frozen=True)
class _Layout:
    plot: QRectF
    top: float  # the value at the top of the plot
    ticks: list[float] = field(default_factory=list)
    legend: list[tuple[QRectF, str, str, str]] = field(default_factory=list)  # (swatch, text, colour, kind)


def nice_ticks(top: float, count: int = 5, *, whole: bool = True) -> list[float]:
    """Round ticks from 0 to at least ``top`` (0, 50, 100, 150 …), about ``count`` of them."""
    if not top or top <= 0 or not math.isfinite(top):
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if whole:
        step = max(1.0, math.ceil(step))
    n = math.ceil(top / step - 1e-9)
    return [round(i * step, 10) for i in range(n + 1)]


def plain_number(value: float | None) -> str:
    """12 345, 12.5 or nothing."""
    if value is None:
        return ""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", "\u2009")
    return f"{value:,.1f}".replace(",", "\u2009")


class Chart(QWidget):
    """Grouped bars (``kind="bars"``) or lines by quarter (``kind="lines"``)."""

    activated = Signal(object)  # the key of the category clicked or entered
    currentChanged = Signal(int)  # the category now current (keyboard or click)

    def __init__(self, kind: str = "bars", *, title: str = "", unit: str = "",
                 formatter: Callable[[float | None], str] = plain_number,
                 whole_numbers: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if kind not in ("bars", "lines"):
            raise ValueError(f"kind {kind!r} is not 'bars' or 'lines'")
        self.kind = kind
        self.title = title
        self.unit = unit
        self.formatter = formatter
        self.whole_numbers = whole_numbers
        self.categories: list[Category] = []
        self.series: list[Series] = []
        self.target: list[float | None] = []
        self.target_label = "Target"
        self.empty_text = EMPTY_TEXT
        self._current = -1  # the category with keyboard focus
        self.marked: Any = None  # the key of a category shown as chosen (a light band behind it)
        self._current_series = 0
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self.setAccessibleName(title or "Chart")
        self.setAccessibleDescription(self.text_alternative())

    # -- data ------------------------------------------------------------------------------------

    def set_data(self, categories: Sequence[Category], series: Sequence[Series], *,
                 target: float | Sequence[float | None] | None = None, target_label: str = "Target",
                 empty_text: str = EMPTY_TEXT, title: str | None = None) -> None:
        """What to draw. ``target`` is one value for every category, or one per category (None: no
        target there); it is drawn dashed and labelled ``target_label``."""
        for s in series:
            if len(s.values) != len(categories):
                raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(categories)} categories")
        self.categories = list(categories)
        self.series = list(series)
        if target is None:
            self.target = []
        elif isinstance(target, (int, float)):
            self.target = [float(target)] * len(self.categories)
        else:
            self.target = [None if t is None else float(t) for t in target]
            if len(self.target) != len(self.categories):
                raise ValueError("one target per category, or one for all")
        self.target_label = target_label
        self.empty_text = empty_text
        if title is not None:
            self.title = title
        if self._current >= len(self.categories):
            self._current = len(self.categories) - 1
        self._current_series = min(self._current_series, max(0, len(self.series) - 1))
        self._update_accessible()
        self.update()

    def set_marked(self, key: Any) -> None:
        """Show one category as the chosen one (None: none), e.g. the establishment looked at."""
        self.marked = key
        index = self.index_of(key)
        if index >= 0:
            self.set_current(index)
        self.update()

    def index_of(self, key: Any) -> int:
        return next((i for i, c in enumerate(self.categories) if c.key == key), -1) if key is not None else -1

    @property
    def is_empty(self) -> bool:
        """Nothing to draw: no categories, or no value above zero."""
        return not any(v for s in self.series for v in s.values if v)

    @property
    def current(self) -> int:
        return self._current

    def set_current(self, index: int, series: int | None = None) -> None:
        if not self.categories:
            return
        index = max(0, min(index, len(self.categories) - 1))
        if series is not None:
            self._current_series = max(0, min(series, len(self.series) - 1))
        if index != self._current or series is not None:
            self._current = index
            self._update_accessible()
            self.update()
            self.currentChanged.emit(index)

    def colour(self, series_index: int) -> QColor:
        s = self.series[series_index] if series_index < len(self.series) else None
        return QColor(s.colour if s is not None and s.colour else SERIES_COLOURS[series_index % len(SERIES_COLOURS)])

    # -- words -----------------------------------------------------------------------------------

    def describe(self, index: int) -> str:
        """One category in words: "HMP Perth: 312" (several series: "Attendances 312, People 80")."""
        c = self.categories[index]
        name = c.name or c.label
        if len(self.series) == 1:
            values = self._say(self.series[0].values[index])
        else:
            values = ", ".join(f"{s.name} {self._say(s.values[index])}" for s in self.series)
        text = f"{name}: {values}"
        if self.target and self.target[index] is not None:
            text += f" ({self.target_label.lower()} {self.formatter(self.target[index])})"
        if c.note:
            text += f" ({c.note})"
        return text

    def _say(self, value: float | None) -> str:
        return "no figure" if value is None else (self.formatter(value) + (f" {self.unit}" if self.unit else ""))

    def text_alternative(self) -> str:
        """The whole chart in words, for screen readers (the accessible description)."""
        if self.is_empty:
            return f"{self.title}: {self.empty_text}." if self.title else f"{self.empty_text}."
        parts = [self.describe(i) for i in range(len(self.categories))]
        head = f"{self.title}. " if self.title else ""
        return head + "; ".join(parts) + "."

    def _update_accessible(self) -> None:
        self.setAccessibleDescription(self.text_alternative())
        name = self.title or "Chart"
        if 0 <= self._current < len(self.categories) and not self.is_empty:
            name = f"{name}, {self.describe(self._current)}"
        self.setAccessibleName(name)

    # -- geometry --------------------------------------------------------------------------------

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(520, 260)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(260, 160)

    def _font(self, scale: float = 1.0, bold: bool = False) -> QFont:
        font = QFont(self.font())
        if scale != 1.0:
            font.setPointSizeF(max(6.0, font.pointSizeF() * scale))
        font.setBold(bold)
        return font

    def _layout(self) -> _Layout:
        small = QFontMetricsF(self._font(0.9))
        values = [v for s in self.series for v in s.values if v is not None]
        values += [t for t in self.target if t is not None]
        top_value = max(values, default=0.0)
        ticks = nice_ticks(top_value, 5, whole=self.whole_numbers)
        left = max(small.horizontalAdvance(self.formatter(t)) for t in ticks) + 10
        line = small.height()
        # legend: one swatch per series, and the target
        entries = [(s.name, self.colour(i).name(), "series") for i, s in enumerate(self.series)]
        if any(t is not None for t in self.target):
            entries.append((self.target_label, TARGET_COLOUR, "target"))
        legend: list[tuple[QRectF, str, str, str]] = []
        top = 4.0
        if self.title:  # the title, in bold, above everything
            top += QFontMetricsF(self._font(0.95, bold=True)).height() + 4
        if len(entries) > 1 or self.target:
            x = left
            for text, colour, kind in entries:
                w = small.horizontalAdvance(text) + line + 6
                if x + w > self.width() - 6 and x > left:
                    x = left
                    top += line + 4
                legend.append((QRectF(x, top + line * 0.2, line * 0.8, line * 0.6), text, colour, kind))
                x += w + 14
            top += line + 8
        top += line * (1.4 if self.kind == "bars" else 0.6)  # room for the top bar's value label
        bottom = self.height() - line - 10
        right = self.width() - 10
        plot = QRectF(left, top, max(10.0, right - left), max(10.0, bottom - top))
        return _Layout(plot, ticks[-1], ticks, legend)

    def value_y(self, value: float, layout: _Layout | None = None) -> float:
        """Where a value is on the y axis (widget coordinates, logical pixels)."""
        lay = layout or self._layout()
        return lay.plot.bottom() - (value / lay.top) * lay.plot.height() if lay.top else lay.plot.bottom()

    def slot(self, index: int, layout: _Layout | None = None) -> QRectF:
        """The horizontal band of one category (its bars or its point)."""
        lay = layout or self._layout()
        n = max(1, len(self.categories))
        w = lay.plot.width() / n
        return QRectF(lay.plot.left() + index * w, lay.plot.top(), w, lay.plot.height())

    def bar_rect(self, index: int, series: int = 0, layout: _Layout | None = None) -> QRectF:
        """The rectangle of one bar (bars charts); empty when it has no value."""
        lay = layout or self._layout()
        slot = self.slot(index, lay)
        group = slot.width() * 0.72
        width = group / max(1, len(self.series))
        x = slot.left() + (slot.width() - group) / 2 + series * width
        value = self.series[series].values[index]
        if value is None or value <= 0:
            return QRectF()
        y = self.value_y(value, lay)
        return self._snap(QRectF(x + 1, y, width - 2, lay.plot.bottom() - y))

    def point(self, index: int, series: int = 0, layout: _Layout | None = None) -> QPointF | None:
        """Where one point is (lines charts); None when it has no value."""
        lay = layout or self._layout()
        value = self.series[series].values[index]
        if value is None:
            return None
        return QPointF(self.slot(index, lay).center().x(), self.value_y(value, lay))

    def target_y(self, index: int = 0) -> float | None:
        """Where the target line is drawn at a category (None: no target there)."""
        if not self.target or self.target[index] is None:
            return None
        return float(round(self.value_y(self.target[index])))

    def _snap(self, rect: QRectF) -> QRectF:
        """Edges on whole device pixels, so bars stay crisp at any scale."""
        ratio = self.devicePixelRatioF() or 1.0

        def s(v: float) -> float:
            return round(v * ratio) / ratio

        left, top, right, bottom = s(rect.left()), s(rect.top()), s(rect.right()), s(rect.bottom())
        return QRectF(left, top, max(1 / ratio, right - left), bottom - top)

    def category_at(self, pos: QPointF) -> int:
        """The category under a point, or -1."""
        if not self.categories or self.is_empty:
            return -1
        lay = self._layout()
        if not (lay.plot.left() <= pos.x() <= lay.plot.right()
                and lay.plot.top() - 20 <= pos.y() <= self.height()):
            return -1
        n = len(self.categories)
        return max(0, min(n - 1, int((pos.x() - lay.plot.left()) / (lay.plot.width() / n))))

    def _series_at(self, index: int, pos: QPointF) -> int:
        if self.kind != "bars" or len(self.series) < 2:
            return 0
        lay = self._layout()
        for s in range(len(self.series)):
            r = self.bar_rect(index, s, lay)
            if r.isValid() and r.left() <= pos.x() <= r.right():
                return s
        return self._current_series

    # -- painting --------------------------------------------------------------------------------

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        try:
            p.setRenderHint(QPainter.RenderHint.Antialiasing, self.kind == "lines")
            p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
            palette = self.palette()
            text = palette.color(QPalette.ColorRole.WindowText)
            self._paint_title(p, text)
            if self.is_empty:
                p.setFont(self._font(1.1))
                p.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
                p.drawText(QRectF(self.rect()), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                           self.empty_text)
                self._paint_focus(p, QRectF(self.rect()).adjusted(1, 1, -1, -1))
                return
            lay = self._layout()
            marked = self.index_of(self.marked)
            if marked >= 0:
                band = QColor(palette.color(QPalette.ColorRole.Highlight))
                band.setAlpha(45)
                p.fillRect(self.slot(marked, lay), band)
            self._paint_axis(p, lay, text, palette)
            if self.kind == "bars":
                self._paint_bars(p, lay, text)
            else:
                self._paint_lines(p, lay, text)
            self._paint_target(p, lay)
            self._paint_labels(p, lay, text)
            self._paint_legend(p, lay, text)
            if self.hasFocus() and 0 <= self._current < len(self.categories):
                around = self.slot(self._current, lay).adjusted(1, -4, -1, 4)
                if self.kind == "bars" and len(self.series) > 1:  # the bar the keys are on
                    bar = self.bar_rect(self._current, self._current_series, lay)
                    if bar.isValid():
                        around = bar.adjusted(-3, -3 - QFontMetricsF(self._font(0.85)).height(), 3, 3)
                self._paint_focus(p, around)
        finally:
            p.end()

    def _paint_title(self, p: QPainter, text: QColor) -> None:
        if not self.title:
            return
        font = self._font(0.95, bold=True)
        p.setFont(font)
        p.setPen(text)
        fm = QFontMetricsF(font)
        p.drawText(QRectF(4, 4, self.width() - 8, fm.height()), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                   fm.elidedText(self.title, Qt.TextElideMode.ElideRight, self.width() - 8))

    def _paint_axis(self, p: QPainter, lay: _Layout, text: QColor, palette: QPalette) -> None:
        grid = QColor(palette.color(QPalette.ColorRole.Mid))
        grid.setAlpha(90)
        p.setFont(self._font(0.9))
        fm = QFontMetricsF(p.font())
        for t in lay.ticks:
            y = round(self.value_y(t, lay)) + 0.5
            p.setPen(QPen(grid, 1))
            p.drawLine(QPointF(lay.plot.left(), y), QPointF(lay.plot.right(), y))
            p.setPen(text)
            label = QRectF(0, y - fm.height() / 2, lay.plot.left() - 6, fm.height())
            p.drawText(label, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, self.formatter(t))
        p.setPen(QPen(text, 1))
        base = round(lay.plot.bottom()) + 0.5
        p.drawLine(QPointF(lay.plot.left(), base), QPointF(lay.plot.right(), base))

    def _paint_bars(self, p: QPainter, lay: _Layout, text: QColor) -> None:
        p.setFont(self._font(0.85))
        fm = QFontMetricsF(p.font())
        for i, c in enumerate(self.categories):
            for s in range(len(self.series)):
                r = self.bar_rect(i, s, lay)
                if not r.isValid():
                    if self.series[s].values[i] == 0:  # a nought is a figure too: said on the axis
                        x = self.slot(i, lay).center().x()
                        p.setPen(text)
                        p.drawText(QRectF(x - 40, lay.plot.bottom() - fm.height() - 1, 80, fm.height()),
                                   Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, self.formatter(0))
                    continue
                colour = self.colour(s)
                if c.stale:  # old data: hatched over a pale fill
                    pale = QColor(colour)
                    pale.setAlpha(70)
                    p.fillRect(r, pale)
                    p.fillRect(r, QBrush(colour, Qt.BrushStyle.BDiagPattern))
                    p.setPen(QPen(colour, 1))
                    p.drawRect(r.adjusted(0.5, 0.5, -0.5, -0.5))
                else:
                    p.fillRect(r, colour)
                label = self.formatter(self.series[s].values[i])
                room = self.slot(i, lay).width() / len(self.series) - 2  # else the tooltip and the text say it
                if fm.horizontalAdvance(label) <= room:
                    p.setPen(text)
                    box = QRectF(r.center().x() - 40, r.top() - fm.height() - 1, 80, fm.height())
                    p.drawText(box, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, label)

    def _paint_lines(self, p: QPainter, lay: _Layout, text: QColor) -> None:
        p.setFont(self._font(0.85))
        fm = QFontMetricsF(p.font())
        for s in range(len(self.series)):
            colour = self.colour(s)
            path = QPainterPath()
            started = False
            points = []
            for i in range(len(self.categories)):
                pt = self.point(i, s, lay)
                if pt is None:
                    started = False
                    continue
                points.append((i, pt))
                if started:
                    path.lineTo(pt)
                else:
                    path.moveTo(pt)
                    started = True
            p.setPen(QPen(colour, 2.2, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPath(path)
            p.setBrush(colour)
            for i, pt in points:
                radius = 4.5 if i == self._current and self.hasFocus() else 3.2
                p.drawEllipse(pt, radius, radius)
                if len(self.series) == 1:
                    p.setPen(text)
                    label = self.formatter(self.series[s].values[i])
                    p.drawText(QRectF(pt.x() - 40, pt.y() - fm.height() - 5, 80, fm.height()),
                               Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, label)
                    p.setPen(QPen(colour, 2.2))

    def _paint_target(self, p: QPainter, lay: _Layout) -> None:
        if not any(t is not None for t in self.target):
            return
        pen = QPen(QColor(TARGET_COLOUR), 2, Qt.PenStyle.DashLine)
        pen.setCapStyle(Qt.PenCapStyle.FlatCap)
        p.setPen(pen)
        last = None
        for i, t in enumerate(self.target):
            if t is None:
                continue
            slot = self.slot(i, lay)
            y = float(round(self.value_y(t, lay)))  # a 2 px pen on a pixel boundary: two whole rows
            p.drawLine(QPointF(slot.left(), y), QPointF(slot.right(), y))
            last = (slot, y, t)
        if last is not None:  # labelled once, at its right end
            slot, y, t = last
            p.setFont(self._font(0.85, bold=True))
            fm = QFontMetricsF(p.font())
            label = f"{self.target_label} {self.formatter(t)}"
            w = fm.horizontalAdvance(label) + 4
            p.setPen(QColor(TARGET_COLOUR))
            p.drawText(QRectF(lay.plot.right() - w, y - fm.height() - 2, w, fm.height()),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom, label)

    def _paint_labels(self, p: QPainter, lay: _Layout, text: QColor) -> None:
        n = len(self.categories)
        if not n:
            return
        fm_plain = QFontMetricsF(self._font(0.9, bold=True))
        width = lay.plot.width() / n

        def every(mark: bool) -> int:  # too narrow for every label: every second one …
            widest = max(fm_plain.horizontalAdvance(("⚠ " if mark and c.stale else "") + c.label)
                         for c in self.categories) + 6
            return max(1, math.ceil(widest / width))

        mark = every(True) == every(False)  # the warning sign only where it costs no label
        step = every(mark)
        current = self._current if self.hasFocus() and step > 1 else -1
        for i in range(n):
            if i % step == 0 and i != current:
                self._paint_label(p, lay, text, i, mark, width * step, fill=False)
        if current >= 0:  # the one the keys are on, over its neighbours' labels
            self._paint_label(p, lay, text, current, mark, width * step, fill=True)

    def _paint_label(self, p: QPainter, lay: _Layout, text: QColor, i: int, mark: bool, width: float, *,
                     fill: bool) -> None:
        c = self.categories[i]
        font = self._font(0.9, bold=c.highlight)
        fm = QFontMetricsF(font)
        label = ("⚠ " if c.stale and mark else "") + c.label
        centre = self.slot(i, lay).center().x()
        box = QRectF(centre - width / 2, lay.plot.bottom() + 3, width, fm.height() + 4)
        if fill:
            w = fm.horizontalAdvance(label) + 8
            box = QRectF(centre - w / 2, box.top(), w, box.height())
            p.fillRect(box, self.palette().color(QPalette.ColorRole.Window))
        p.setFont(font)
        p.setPen(QColor(STALE_COLOUR) if c.stale else text)
        p.drawText(box, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                   label if fill else fm.elidedText(label, Qt.TextElideMode.ElideRight, box.width()))

    def _paint_legend(self, p: QPainter, lay: _Layout, text: QColor) -> None:
        p.setFont(self._font(0.9))
        fm = QFontMetricsF(p.font())
        for swatch, label, colour, kind in lay.legend:
            if kind == "target":
                pen = QPen(QColor(colour), 2, Qt.PenStyle.DashLine)
                p.setPen(pen)
                y = swatch.center().y()
                p.drawLine(QPointF(swatch.left(), y), QPointF(swatch.right() + 4, y))
            else:
                p.fillRect(swatch, QColor(colour))
            p.setPen(text)
            p.drawText(QPointF(swatch.right() + 6, swatch.center().y() + fm.ascent() / 2 - 1), label)

    def _paint_focus(self, p: QPainter, rect: QRectF) -> None:
        if not self.hasFocus():
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(self.palette().color(QPalette.ColorRole.Highlight), 2, Qt.PenStyle.DotLine))
        p.drawRect(rect)

    # -- input -----------------------------------------------------------------------------------

    def focusInEvent(self, event: Any) -> None:  # noqa: N802
        if self._current < 0 and self.categories and not self.is_empty:
            # bars from the first; a line from its latest point (the period being looked at)
            self._current = 0 if self.kind == "bars" else len(self.categories) - 1
            self._update_accessible()
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event: Any) -> None:  # noqa: N802
        super().focusOutEvent(event)
        self.update()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if not self.categories or self.is_empty:
            super().keyPressEvent(event)
            return
        n_series = max(1, len(self.series)) if self.kind == "bars" else 1
        flat = max(0, self._current) * n_series + self._current_series
        last = len(self.categories) * n_series - 1
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Home, Qt.Key.Key_End):
            flat = {Qt.Key.Key_Left: max(0, flat - 1), Qt.Key.Key_Right: min(last, flat + 1),
                    Qt.Key.Key_Home: 0, Qt.Key.Key_End: last}[key]
            self.set_current(flat // n_series, flat % n_series)
            event.accept()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            if self._current < 0:
                self.set_current(0)
            self.activated.emit(self.categories[self._current].key)
            event.accept()
        else:
            super().keyPressEvent(event)

    @property
    def current_series(self) -> int:
        return self._current_series

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        index = self.category_at(event.position())
        if index >= 0 and event.button() == Qt.MouseButton.LeftButton:
            self.setFocus(Qt.FocusReason.MouseFocusReason)
            self.set_current(index, self._series_at(index, event.position()))
            self.activated.emit(self.categories[index].key)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        index = self.category_at(event.position())
        self.setCursor(Qt.CursorShape.PointingHandCursor if index >= 0 else Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(event)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            index = self.category_at(QPointF(event.pos()))
            if index >= 0:
                QToolTip.showText(event.globalPos(), self.describe(index), self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)
