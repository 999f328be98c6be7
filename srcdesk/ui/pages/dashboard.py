"""Dashboard: the national picture (at the SRC office, every establishment, with a filter; at an
establishment, its own) for a plan year or a quarter.

Tiles with the period's headline figures and the change from the period before; a bar chart by
establishment and a trend line by quarter with the workplan's target; sessions by programme,
module and activity, the ladder, and how fresh each establishment's data are. A tile, a bar or a
point opens the records behind the number (the drill-down); Back or Escape returns.

Everything is read through :mod:`srcdesk.services.dashboard` in the background; a load overtaken by
a newer one (another period chosen meanwhile) is dropped when it arrives.

The page's body is a tab widget whose first tab is "Figures" (:attr:`DashboardPage.tabs`); the row
above it (:attr:`DashboardPage.toolbar`) holds the period and establishment pickers and has room at
its right end for the page's buttons (reports, exports).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QModelIndex, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...reports.indicators import (
    INDICATOR_BY_CODE,
    INDICATORS,
    Behind,
    Figures,
    Freshness,
    Indicator,
    Ratio,
    ReferralCounts,
    Value,
)
from ...reports.periods import Period, parse_period, period_containing, periods_offered
from ...services import dashboard as dashboard_service
from ...services.base import Context
from ...words import plural_of
from ..charts import Category, Chart, Series
from ..export import ExportButton
from ..steering_dialog import SteeringDialog
from ..table_model import RIGHT, Column, RowsTableModel, record_view
from ..tasks import run_task
from ..widgets import FieldError, StatusNote, describe_error, heading, hidden_unless, push_button
from ..workplan import WorkplanView
from . import Page
from . import today as today_page
from .today import open_register

TREND_QUARTERS = 8
YEARS_OFFERED = 10  # plan years in the period picker, this one and the nine before
TILE_COLUMNS = 5
DRILL_LIMIT = 500
CHOOSE_DELAY_MS = 150

# What a tile's number counts, for the drill-down's heading ("312 attendances at HMP Perth …").
COUNTED = {
    "sessions": "session held",
    "attendances": "attendance",
    "people": "person taking part",
    "new_people": "new person",
    "signoffs": "ladder sign-off",
    "certificates_issued": "certificate issued",
    "certificates_revoked": "certificate revoked",
    "rat_coverage": "recruit cohort",
    "facilitator_hours": "session with facilitators",
}
COUNTED_MANY = {"people": "people taking part", "new_people": "new people",
                "certificates_issued": "certificates issued", "certificates_revoked": "certificates revoked",
                "sessions": "sessions held", "facilitator_hours": "sessions with facilitators"}


# -- what a load brings back ----------------------------------------------------------------------

@dataclass(frozen=True)
class Place:
    id: str
    code: str
    name: str


@dataclass(frozen=True)
class Trend:
    code: str
    quarters: list[Period]
    values: list[Value | None]
    targets: list[float | None]  # the workplan's target for each quarter (None: none set)


@dataclass(frozen=True)
class Overview:
    period: Period
    establishment_id: str | None
    figures: Figures
    previous: Figures
    places: list[Place]
    freshness: list[Freshness] = field(default_factory=list)  # office only
    focus: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Charts:
    period: Period
    establishment_id: str | None
    by_establishment: dict[str, dict[str, Value]]  # office only
    trend: Trend
    referrals: ReferralCounts | None = None  # Early Release to Residential Rehabilitation, by stage


def _place(row: Any) -> Place:
    if isinstance(row, Place):
        return row
    if isinstance(row, tuple):
        return Place(*row[:3])
    return Place(row.id, row.code, row.name)


def trend_quarters(period: Period, count: int = TREND_QUARTERS) -> list[Period]:
    """The ``count`` quarters ending with the period's last quarter."""
    last = period_containing(period.end)
    quarters = [last]
    while len(quarters) < count:
        quarters.insert(0, quarters[0].previous())
    return quarters


def quarter_target(indicator: Indicator, year_target: float) -> float:
    """A plan year's target as a quarter's share of it (counts and hours a quarter; ratios as set)."""
    return year_target if indicator.unit == "ratio" else year_target / 4


def load_trend(ctx: Context, period: Period, establishment_id: str | None, code: str) -> Trend:
    svc = dashboard_service
    quarters = trend_quarters(period)
    today = today_page.today()
    values = [None if q.start > today else v  # a quarter still to come has no figure yet, not 0
              for q, v in zip(quarters, svc.trend(ctx, code, quarters, establishment_id), strict=True)]
    indicator = INDICATOR_BY_CODE[code]
    by_year: dict[int, float | None] = {}
    for q in quarters:
        if q.plan_year not in by_year:
            wanted = [t for t in svc.targets(ctx, q, establishment_id)
                      if t[0] == code and t[1] == establishment_id and t[2] is not None]
            by_year[q.plan_year] = float(wanted[0][2]) if wanted else None
    targets = [None if by_year[q.plan_year] is None else quarter_target(indicator, by_year[q.plan_year])
               for q in quarters]
    return Trend(code, quarters, values, targets)


def load_overview(ctx: Context, period: Period, establishment_id: str | None) -> Overview:
    """The tiles, the small tables and the freshness list (shown first)."""
    svc = dashboard_service
    figures = svc.figures(ctx, period, establishment_id)
    previous = svc.figures(ctx, period.previous(), establishment_id)
    places = [_place(e) for e in svc.establishments(ctx)]
    fresh = list(svc.freshness(ctx, today_page.today())) if ctx.installation.is_office else []
    focus = frozenset(svc.focus(ctx, period))
    return Overview(period, establishment_id, figures, previous, places, fresh, focus)


def load_charts(ctx: Context, period: Period, establishment_id: str | None, code: str) -> Charts:
    """The bars by establishment (at the office) and the trend (loaded once the tiles are shown)."""
    by_est = dashboard_service.by_establishment(ctx, period) if ctx.installation.is_office else {}
    return Charts(period, establishment_id, by_est, load_trend(ctx, period, establishment_id, code),
                  dashboard_service.referrals_by_stage(ctx, period, establishment_id))


def load_behind(ctx: Context, period: Period, code: str, establishment_id: str | None) -> Behind:
    return dashboard_service.behind(ctx, period, code, establishment_id, limit=DRILL_LIMIT)


# -- words ------------------------------------------------------------------------------------------

def number(value: Value | None) -> float | None:
    """A value as a chart plots it (ratios as a percentage)."""
    if value is None:
        return None
    if isinstance(value, Ratio):
        return None if value.value is None else round(value.value * 100, 1)
    return float(value)


def show_value(indicator: Indicator, value: Value | None) -> str:
    """312, 1,204, 12.5 hours or 75% (3 of 4)."""
    if value is None:
        return "–"
    if isinstance(value, Ratio):
        if value.value is None:
            return "none started"
        return f"{value.value * 100:.0f}% ({value.numerator:,} of {value.denominator:,})"
    if indicator.unit == "hours":
        return f"{value:,.1f}"
    return f"{int(value):,}"


def axis_value(indicator: Indicator, value: float | None) -> str:
    if value is None:
        return ""
    if indicator.unit == "ratio":
        return f"{value:.0f}%"
    if indicator.unit == "hours" and not float(value).is_integer():
        return f"{value:,.1f}"
    return f"{int(round(value)):,}"


def change(indicator: Indicator, now: Value | None, before: Value | None, previous: Period) -> str:
    """"↑ 24 from Q2 2025-26", "↓ 5 points from …", "no change from …", or "" with nothing to compare."""
    a, b = number(now), number(before)
    if a is None or b is None:
        return ""
    when = previous.short_label if previous.kind == "quarter" else previous.code
    delta = a - b
    if abs(delta) < 1e-9:
        return f"no change from {when}"
    arrow = "↑" if delta > 0 else "↓"
    size = abs(delta)
    if indicator.unit == "ratio":
        amount = f"{size:.0f} points"
    elif indicator.unit == "hours":
        amount = f"{size:,.1f}"
    else:
        amount = f"{int(size):,}"
    return f"{arrow} {amount} from {when}"


def freshness_text(f: Freshness) -> str:
    """"HMP Barlinnie: last bundle 41 days ago" or "…: no bundle yet"."""
    if f.days is None:
        return f"{f.name}: no bundle yet"
    if f.days == 0:
        return f"{f.name}: last bundle today"
    return f"{f.name}: last bundle {f.days} {'day' if f.days == 1 else 'days'} ago"


def what_counted(code: str, n: int) -> str:
    one = COUNTED.get(code, "record")
    return one if n == 1 else COUNTED_MANY.get(code, plural_of(one))


# -- widgets --------------------------------------------------------------------------------------

class Tile(QPushButton):
    """One headline figure: its label, the number, the change from the period before. A click or
    Enter opens the records behind it."""

    def __init__(self, indicator: Indicator, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.indicator = indicator
        self.setObjectName(f"tile_{indicator.code}")
        self.setAutoDefault(False)
        self.setToolTip(indicator.description)
        self.setMinimumHeight(64)
        self.caption = QLabel(indicator.label)
        self.value = QLabel("…")
        font = self.value.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.value.setFont(font)
        self.delta = QLabel("")
        for label in (self.caption, self.delta):  # a narrow tile wraps its words, never cuts them
            label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(1)
        for label in (self.caption, self.value, self.delta):
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            layout.addWidget(label)
        self.setAccessibleName(indicator.label)

    def show_figure(self, value: Value | None, delta: str) -> None:
        self.value.setText(show_value(self.indicator, value))
        self.delta.setText(delta)
        self.setAccessibleName(f"{self.indicator.label}: {self.value.text()}" + (f", {delta}" if delta else ""))
        self.setAccessibleDescription(f"{self.indicator.description} Press Enter to see the records behind it.")

    def sizeHint(self) -> QSize:  # noqa: N802
        return self.layout().sizeHint()

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(self.fontMetrics().averageCharWidth() * 16, self.layout().minimumSize().height())

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.click()
            event.accept()
            return
        super().keyPressEvent(event)


class TileGrid(QWidget):
    """The tiles in as many columns as the width allows (five on a wide screen, two at the least)."""

    def __init__(self, tiles: Sequence[Tile], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tiles = list(tiles)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(8)
        self.columns = 0
        self._arrange(TILE_COLUMNS)

    def _arrange(self, columns: int) -> None:
        if columns == self.columns:
            return
        self.columns = columns
        for tile in self.tiles:
            self.grid.removeWidget(tile)
        for n, tile in enumerate(self.tiles):
            self.grid.addWidget(tile, n // columns, n % columns)
        for c in range(TILE_COLUMNS):
            self.grid.setColumnStretch(c, 1 if c < columns else 0)

    def resizeEvent(self, event: Any) -> None:  # noqa: N802
        wanted = max(1, self.fontMetrics().averageCharWidth() * 24)
        self._arrange(max(2, min(TILE_COLUMNS, (event.size().width() + 8) // wanted)))
        super().resizeEvent(event)


def _small_table(name: str, accessible: str, columns: Sequence[Column],
                 parent: QWidget) -> tuple[QTableView, RowsTableModel]:
    model = RowsTableModel(columns, parent)
    view = record_view(model, name, accessible, stretch=0)
    view.setMinimumHeight(120)
    return view, model


class DashboardPage(Page):
    key = "dashboard"
    title = "Dashboard"
    needs = "report.read"
    topics = frozenset({"sessions", "attendance", "people", "ladder", "catalogue", "sync"})

    personRequested = Signal(str)  # a person behind a number: shown on the People page
    figuresShown = Signal()  # the tiles of the period chosen are on the screen (tests, benchmark)
    painted = Signal()  # … and the charts too: everything the Figures tab shows

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.office = ctx.installation.is_office
        self.home_id: str | None = None if self.office else ctx.installation.establishment_id
        self.overview: Overview | None = None
        self.charts: Charts | None = None
        self.behind: Behind | None = None
        self.drill: tuple[Period, str, str | None] | None = None  # what the drill-down shows
        self._generation = 0  # of the overview: a load overtaken by a newer one is dropped
        self._trend_generation = 0
        self._drill_generation = 0
        self._return_focus: QWidget | None = None
        self.places: dict[str, Place] = {}

        where = "every establishment (choose one to see its own)" if self.office else \
            (ctx.installation.name or "this establishment")
        self.subtitle = QLabel(f"Figures for {where}, and the records behind them.")
        self.subtitle.setWordWrap(True)

        # -- the toolbar row: what the figures are of; buttons of other areas go at its right end --
        self.period_combo = QComboBox()
        self.period_combo.setObjectName("periodPicker")
        self.period_combo.setAccessibleName("Period")
        for p in periods_offered(today_page.today(), YEARS_OFFERED):
            self.period_combo.addItem(p.label if p.kind == "quarter" else f"{p.label} (April–March)", p.code)
        self.period_combo.setCurrentIndex(self.period_combo.findData(period_containing(today_page.today()).code))
        period_label = QLabel("&Period:")
        period_label.setBuddy(self.period_combo)
        self.earlier_button = push_button("◀", "earlierPeriod", self.earlier, accessible="Earlier period")
        self.later_button = push_button("▶", "laterPeriod", self.later, accessible="Later period")
        for b in (self.earlier_button, self.later_button):
            b.setToolTip(b.accessibleName())
            b.setMaximumWidth(b.fontMetrics().horizontalAdvance("▶") * 4)
        self.toolbar = QHBoxLayout()
        self.toolbar.addWidget(period_label)
        self.toolbar.addWidget(self.earlier_button)
        self.toolbar.addWidget(self.period_combo)
        self.toolbar.addWidget(self.later_button)
        self.establishment_combo: QComboBox | None = None
        if self.office:
            self.establishment_combo = QComboBox()
            self.establishment_combo.setObjectName("establishmentFilter")
            self.establishment_combo.setAccessibleName("Establishment")
            self.establishment_combo.addItem("All establishments", None)
            place_label = QLabel("&Establishment:")
            place_label.setBuddy(self.establishment_combo)
            self.toolbar.addSpacing(12)
            self.toolbar.addWidget(place_label)
            self.toolbar.addWidget(self.establishment_combo)
            self.establishment_combo.currentIndexChanged.connect(lambda _i: self._choice_changed())
        self.toolbar.addStretch(1)
        self.period_combo.currentIndexChanged.connect(lambda _i: self._choice_changed())
        # The figures as a workbook (one row per establishment), and the Steering Group report.
        self.status = StatusNote()
        self.status.setObjectName("status")
        self.export_button = ExportButton(ctx, "indicators", self.export_filters, say=self.status.say, parent=self)
        self.report_button = push_button("Steering Group rep&ort…", "steeringReportButton", self.open_report)
        refusal = ctx.refusal("report.steering")
        self.report_button.setEnabled(not refusal)
        self.report_button.setToolTip(refusal or "Make the Recovery Strategy Steering Group report (PDF) for "
                                                 "the period and establishment chosen")

        # -- Figures: the overview ----------------------------------------------------------------
        self.tiles: dict[str, Tile] = {}
        for indicator in INDICATORS:
            tile = Tile(indicator)
            tile.clicked.connect(lambda _c=False, code=indicator.code: self.drill_down(code))
            self.tiles[indicator.code] = tile
        self.tile_grid = TileGrid(list(self.tiles.values()))

        self.chart_combo = QComboBox()
        self.chart_combo.setObjectName("chartIndicator")
        self.chart_combo.setAccessibleName("Indicator in the charts")
        for indicator in INDICATORS:
            self.chart_combo.addItem(indicator.label, indicator.code)
        self.chart_combo.setCurrentIndex(self.chart_combo.findData("attendances"))
        self.chart_combo.currentIndexChanged.connect(lambda _i: self._chart_indicator_changed())
        chart_label = QLabel("&Chart:")
        chart_label.setBuddy(self.chart_combo)
        chart_row = QHBoxLayout()
        chart_row.addWidget(chart_label)
        chart_row.addWidget(self.chart_combo)
        chart_row.addStretch(1)

        self.bar_chart = Chart("bars", title="By establishment")
        self.bar_chart.setObjectName("establishmentChart")
        self.bar_chart.activated.connect(self._bar_activated)
        hidden_unless(self.bar_chart, self.office)
        self.trend_chart = Chart("lines", title="By quarter")
        self.trend_chart.setObjectName("trendChart")
        self.trend_chart.activated.connect(self._point_activated)
        charts = QHBoxLayout()
        charts.addWidget(self.bar_chart, 1)
        charts.addWidget(self.trend_chart, 1)

        self.sessions_by = QComboBox()
        self.sessions_by.setObjectName("sessionsBy")
        self.sessions_by.setAccessibleName("Sessions by")
        for text, kind in (("Programme", "programme"), ("Module", "module"), ("Activity type", "activity")):
            self.sessions_by.addItem(text, kind)
        self.sessions_by.currentIndexChanged.connect(lambda _i: self._show_breakdown())
        self.breakdown, self.breakdown_model = _small_table(
            "sessionsByTable", "Sessions by programme, module or activity",
            [Column("Name", lambda r: r[0]), Column("Sessions", lambda r: f"{r[1]:,}", align=RIGHT)], self)
        by_box = QGroupBox("Sessions by")
        by_layout = QVBoxLayout(by_box)
        by_layout.addWidget(self.sessions_by)
        by_layout.addWidget(self.breakdown, 1)

        self.ladder, self.ladder_model = _small_table(
            "ladderTable", "The ladder: people on each level and sign-offs in the period",
            [Column("Level", lambda r: r[0]), Column("People", lambda r: f"{r[1]:,}", align=RIGHT),
             Column("Sign-offs", lambda r: f"{r[2]:,}", align=RIGHT)], self)
        ladder_box = QGroupBox("The ladder")
        QVBoxLayout(ladder_box).addWidget(self.ladder)

        self.freshness_list = QListWidget()
        self.freshness_list.setObjectName("freshnessList")
        self.freshness_list.setAccessibleName("When each establishment's last bundle arrived")
        self.freshness_list.setMinimumHeight(120)
        self.freshness_list.setWordWrap(True)
        self.freshness_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.freshness_box = QGroupBox("Data from each establishment")
        QVBoxLayout(self.freshness_box).addWidget(self.freshness_list)
        hidden_unless(self.freshness_box, self.office)

        # Early Release to Residential Rehabilitation referrals by stage: now, and in the period
        # (loaded with the charts, after the tiles; small numbers shown as they are: internal).
        self.referrals_table, self.referrals_model = _small_table(
            "referralsByStageTable", "Early Release to Residential Rehabilitation referrals by stage",
            [Column("Stage", lambda r: r.label, tooltip=lambda r: r.label),
             Column("Now", lambda r: "" if r.now is None else f"{r.now:,}", align=RIGHT,
                    tooltip=lambda r: None if r.now is None else "Referrals at this stage today"),
             Column("In period", lambda r: f"{r.in_period:,}", align=RIGHT,
                    tooltip=lambda r: "Reached this stage in the period" if r.now is not None
                    else "Closed this way in the period")], self)
        self.referrals_box = QGroupBox("Referrals by stage")  # narrow: it shares the row (at 1024×600 too)
        self.referrals_box.setToolTip("Early Release to Residential Rehabilitation referrals by stage")
        self.referrals_box.setObjectName("referralsByStageBox")
        referrals_layout = QVBoxLayout(self.referrals_box)
        self.referrals_note = QLabel("Loading…")
        self.referrals_note.setObjectName("referralsByStageNote")
        self.referrals_note.setWordWrap(True)
        referrals_layout.addWidget(self.referrals_note)
        referrals_layout.addWidget(self.referrals_table, 1)

        tables = QHBoxLayout()
        tables.addWidget(by_box, 3)
        tables.addWidget(ladder_box, 3)
        tables.addWidget(self.referrals_box, 3)
        tables.addWidget(self.freshness_box, 3)

        self.note = QLabel("Loading…")
        self.note.setObjectName("figuresNote")
        self.note.setWordWrap(True)
        self.error = FieldError(self.note)
        self.error.setObjectName("figuresError")

        self.overview_page = QWidget()
        self.overview_page.setObjectName("overview")
        overview = QVBoxLayout(self.overview_page)
        overview.setContentsMargins(8, 8, 8, 8)
        overview.addWidget(self.note)
        overview.addWidget(self.error)
        overview.addWidget(self.tile_grid)
        overview.addLayout(chart_row)
        overview.addLayout(charts, 3)
        overview.addLayout(tables, 2)

        # -- Figures: the drill-down ----------------------------------------------------------
        self.back_button = push_button("◀ &Back to the figures", "backToFigures", self.back,
                                       accessible="Back to the figures")
        self.drill_heading = heading("", scale=1.1)
        self.drill_heading.setObjectName("drillHeading")
        self.drill_heading.setWordWrap(True)
        self.drill_model = RowsTableModel([], self)
        self.drill_table = record_view(self.drill_model, "drillTable", "The records behind the number")
        # widths from the first rows only: measuring all 500 would take longer than reading them
        self.drill_table.horizontalHeader().setResizeContentsPrecision(40)
        self.drill_table.activated.connect(self._record_activated)
        self.drill_hint = QLabel("")
        self.drill_hint.setObjectName("drillHint")
        self.drill_error = FieldError(self.drill_table)
        self.drill_page = QWidget()
        self.drill_page.setObjectName("drillDown")
        drill = QVBoxLayout(self.drill_page)
        drill.setContentsMargins(8, 8, 8, 8)
        top = QHBoxLayout()
        top.addWidget(self.back_button)
        top.addStretch(1)
        drill.addLayout(top)
        drill.addWidget(self.drill_heading)
        drill.addWidget(self.drill_table, 1)
        drill.addWidget(self.drill_error)
        drill.addWidget(self.drill_hint)
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self.drill_page)
        escape.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        escape.activated.connect(self.back)

        self.figures_stack = QStackedWidget()
        self.figures_stack.setObjectName("figuresStack")
        self.figures_stack.addWidget(self.overview_page)
        self.figures_stack.addWidget(self.drill_page)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("dashboardTabs")
        self.tabs.setAccessibleName("Dashboard views")
        self.tabs.tabBar().setAccessibleName("Dashboard views")
        self.tabs.addTab(self.figures_stack, "Figures")  # no mnemonic: Alt+F is the File menu
        # The workplan (plan years, focus, targets and progress) is built when first chosen, so its
        # loading never delays the figures' first paint.
        self.workplan_tab = QWidget()
        self.workplan_tab.setObjectName("workplanTab")
        QVBoxLayout(self.workplan_tab).setContentsMargins(0, 0, 0, 0)
        self.workplan: WorkplanView | None = None
        self.report_dialog: SteeringDialog | None = None
        self.tabs.addTab(self.workplan_tab, "&Workplan")
        self.tabs.currentChanged.connect(self._tab_chosen)
        # At the tabs' right: the period's row stays narrow enough for a 1024-pixel screen.
        corner = QWidget()
        corner_row = QHBoxLayout(corner)
        corner_row.setContentsMargins(0, 0, 0, 2)
        corner_row.addWidget(self.export_button)
        corner_row.addWidget(self.report_button)
        self.tabs.setCornerWidget(corner, Qt.Corner.TopRightCorner)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 18)
        layout.addWidget(heading(self.title, scale=1.6))
        layout.addWidget(self.subtitle)
        layout.addLayout(self.toolbar)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.status)

        chain = [self.earlier_button, self.period_combo, self.later_button]
        if self.establishment_combo is not None:
            chain.append(self.establishment_combo)
        chain += [self.export_button, self.report_button, *self.tiles.values(), self.chart_combo, self.bar_chart, self.trend_chart, self.sessions_by,
                  self.breakdown, self.ladder, self.freshness_list]
        for first, second in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(first, second)
        self._choose_timer = QTimer(self)
        self._choose_timer.setSingleShot(True)
        self._choose_timer.setInterval(CHOOSE_DELAY_MS)
        self._choose_timer.timeout.connect(self.refresh)
        self._update_period_buttons()

    # -- the workplan, the report and the export ---------------------------------------------------

    def _tab_chosen(self, index: int) -> None:
        if self.tabs.widget(index) is self.workplan_tab and self.workplan is None:
            self.workplan = WorkplanView(self.ctx, self.workplan_tab, today=today_page.today)
            self.workplan_tab.layout().addWidget(self.workplan)
            self.workplan.setFocus()

    def export_filters(self) -> dict[str, Any]:
        """What "Export…" writes: the period chosen, by establishment (the one chosen, or all)."""
        return {"period": self.period, "establishment_id": self.establishment_id}

    def open_report(self) -> SteeringDialog:
        """The Steering Group report for the period and establishment on the screen (one at a time)."""
        if self.report_dialog is not None and self.report_dialog.isVisible():
            self.report_dialog.raise_()
            self.report_dialog.activateWindow()
            return self.report_dialog
        self.report_dialog = SteeringDialog(self.ctx, self.period, self.establishment_id, self)
        self.report_dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.report_dialog.destroyed.connect(lambda *_: setattr(self, "report_dialog", None))
        self.report_dialog.open()
        return self.report_dialog

    # -- what is shown -----------------------------------------------------------------------------

    @property
    def period(self) -> Period:
        """The period chosen."""
        return parse_period(self.period_combo.currentData())

    @property
    def establishment_id(self) -> str | None:
        """The establishment the figures are of (None: every establishment, at the office)."""
        if self.establishment_combo is None:
            return self.home_id
        return self.establishment_combo.currentData()

    @property
    def chart_code(self) -> str:
        return self.chart_combo.currentData()

    def set_period(self, code: str) -> None:
        index = self.period_combo.findData(parse_period(code).code)
        if index < 0:
            raise ValueError(f"{code!r} is not offered")
        self.period_combo.setCurrentIndex(index)

    def set_establishment(self, establishment_id: str | None) -> None:
        if self.establishment_combo is not None:
            self.establishment_combo.setCurrentIndex(max(0, self.establishment_combo.findData(establishment_id)))

    def earlier(self) -> None:
        self._step(self.period.previous())

    def later(self) -> None:
        self._step(self.period.next())

    def _step(self, period: Period) -> None:
        index = self.period_combo.findData(period.code)
        if index >= 0:
            self.period_combo.setCurrentIndex(index)

    def _update_period_buttons(self) -> None:
        p = self.period
        self.earlier_button.setEnabled(self.period_combo.findData(p.previous().code) >= 0)
        self.later_button.setEnabled(self.period_combo.findData(p.next().code) >= 0)

    def where(self, establishment_id: str | None) -> str:
        """"at HMP Perth", "at all establishments"."""
        if establishment_id is None:
            return "at all establishments"
        place = self.places.get(establishment_id)
        if place is not None:
            return f"at {place.name}"
        return f"at {self.ctx.installation.name}" if establishment_id == self.home_id and \
            self.ctx.installation.name else "at this establishment"

    # -- loading -------------------------------------------------------------------------------------

    def _choice_changed(self) -> None:
        """Another period or establishment: load it once the choosing stops (holding ◀ down
        steps through the quarters without starting a load for each)."""
        self._update_period_buttons()
        if self.figures_stack.currentWidget() is self.drill_page:
            self.back()
        self.note.setText(f"Loading the figures for {self.period.label}…")
        self._choose_timer.start()

    def refresh(self) -> None:
        """Load the figures of the period chosen (in the background); an older load still running
        is dropped when it arrives."""
        self._choose_timer.stop()
        self._generation += 1
        self._trend_generation += 1  # the charts' load brings its own trend
        generation = self._generation
        self.note.setText(f"Loading the figures for {self.period.label}…")
        self.note.show()
        self.error.clear_error()
        run_task(load_overview, self.ctx, self.period, self.establishment_id, owner=self,
                 name="load the dashboard",
                 on_result=lambda overview: self._arrived(generation, overview),
                 on_error=lambda error: self._failed(generation, error))
        if self.drill is not None and self.figures_stack.currentWidget() is self.drill_page:
            self._load_drill(*self.drill)

    def _failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        self.note.hide()
        self.error.show_error(describe_error(error))

    def _arrived(self, generation: int, overview: Overview) -> None:
        if generation != self._generation:
            return  # another period or establishment was chosen meanwhile
        self.overview = overview
        self.places = {p.id: p for p in overview.places}
        self._fill_establishments(overview.places)
        figures, previous = overview.figures, overview.previous
        for indicator in INDICATORS:
            self.tiles[indicator.code].show_figure(
                figures.values.get(indicator.code),
                change(indicator, figures.values.get(indicator.code), previous.values.get(indicator.code),
                       previous.period))
        self._show_breakdown()
        self.ladder_model.set_rows(list(figures.ladder))
        self._show_freshness()
        held = number(figures.values.get("sessions")) or 0
        where = self.where(overview.establishment_id)
        so_far = " so far" if overview.period.contains(today_page.today()) else ""
        self.note.setText(f"{overview.period.label}{so_far}, {where}." if held else
                          f"No sessions {where} in {overview.period.label}{so_far}.")
        self.figuresShown.emit()
        # then the charts, one load after the other (they would only compete for the database)
        if self.charts is None or (self.charts.period, self.charts.establishment_id) != \
                (overview.period, overview.establishment_id):
            for chart in (self.bar_chart, self.trend_chart):
                chart.set_data([], [], empty_text="Loading…")
        run_task(load_charts, self.ctx, overview.period, overview.establishment_id, self.chart_code, owner=self,
                 name="load the dashboard's charts",
                 on_result=lambda charts: self._charts_arrived(generation, charts),
                 on_error=lambda error: self._failed(generation, error))

    def _charts_arrived(self, generation: int, charts: Charts) -> None:
        if generation != self._generation:
            return
        self.charts = charts
        self._show_bars()
        self._show_trend(charts.trend)
        self._show_referrals(charts.referrals)
        if charts.trend.code != self.chart_code:  # another indicator was chosen meanwhile
            self._chart_indicator_changed()
        self.painted.emit()

    def _show_referrals(self, counts: ReferralCounts | None) -> None:
        self.referrals_model.set_rows(counts.rows if counts is not None else [])
        if counts is not None:
            self.referrals_note.setText(f"Early Release to Residential Rehabilitation: {counts.open_now:,} not closed "
                                        f"today, {counts.in_placement_now:,} of them in placement.")

    def _fill_establishments(self, places: list[Place]) -> None:
        combo = self.establishment_combo
        if combo is None:
            return
        have = [combo.itemData(i) for i in range(1, combo.count())]
        if have == [p.id for p in places]:
            return
        chosen = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        combo.addItem("All establishments", None)
        for p in places:
            combo.addItem(p.name, p.id)
        combo.setCurrentIndex(max(0, combo.findData(chosen)))
        combo.blockSignals(False)

    def _show_breakdown(self) -> None:
        if self.overview is None:
            return
        self.breakdown_model.set_rows(list(self.overview.figures.sessions_by.get(self.sessions_by.currentData(), [])))

    def _show_freshness(self) -> None:
        self.freshness_list.clear()
        if self.overview is None:
            return
        for f in self.overview.freshness:
            item = QListWidgetItem(("⚠ " if f.stale else "") + freshness_text(f))
            item.setData(Qt.ItemDataRole.UserRole, f.establishment_id)
            item.setData(Qt.ItemDataRole.AccessibleTextRole,
                         freshness_text(f) + (" (stale)" if f.stale else ""))
            self.freshness_list.addItem(item)

    def _stale_places(self) -> dict[str, Freshness]:
        if self.overview is None:
            return {}
        return {f.establishment_id: f for f in self.overview.freshness if f.stale}

    def _show_bars(self) -> None:
        overview, charts = self.overview, self.charts
        if overview is None or charts is None or not self.office:
            return
        indicator = INDICATOR_BY_CODE[self.chart_code]
        stale = self._stale_places()
        categories, values = [], []
        for p in overview.places:
            f = stale.get(p.id)
            categories.append(Category(p.id, p.code, p.name, stale=f is not None,
                                       note=freshness_text(f).split(": ", 1)[1] if f is not None else "",
                                       highlight=p.id in overview.focus))
            values.append(number(charts.by_establishment.get(p.id, {}).get(indicator.code)))
        self.bar_chart.formatter = lambda v, i=indicator: axis_value(i, v)
        self.bar_chart.whole_numbers = indicator.unit == "count"
        self.bar_chart.set_data(categories, [Series(indicator.label, values)],
                                title=f"{indicator.label} by establishment, {overview.period.short_label}",
                                empty_text=f"No {indicator.label.lower()} in this period")
        self.bar_chart.set_marked(overview.establishment_id)

    def _show_trend(self, trend: Trend) -> None:
        indicator = INDICATOR_BY_CODE[trend.code]
        today = today_page.today()
        # A quarter still going on is marked: its point is lower because it is not over, not a fall.
        going_on = [q.contains(today) for q in trend.quarters]
        categories = [Category(q.code, q.short_label + ("*" if now else ""), q.label + (" so far" if now else ""))
                      for q, now in zip(trend.quarters, going_on, strict=True)]
        self.trend_chart.formatter = lambda v, i=indicator: axis_value(i, v)
        self.trend_chart.whole_numbers = indicator.unit == "count"
        where = self.where(self.overview.establishment_id if self.overview else self.establishment_id)
        has_target = any(t is not None for t in trend.targets)
        self.trend_chart.set_data(
            categories, [Series(indicator.label, [number(v) for v in trend.values])],
            target=trend.targets if has_target else None,
            target_label="Target" if indicator.unit == "ratio" else "Quarter's target",
            title=f"{indicator.label} by quarter {where}" + (" (* so far)" if any(going_on) else ""),
            empty_text=f"No {indicator.label.lower()} in these {len(trend.quarters)} quarters")

    def _chart_indicator_changed(self) -> None:
        self._show_bars()
        if self.charts is None:
            return
        self._trend_generation += 1
        generation = self._trend_generation
        run_task(load_trend, self.ctx, self.charts.period, self.charts.establishment_id, self.chart_code,
                 owner=self, name="load the dashboard's trend",
                 on_result=lambda trend: self._trend_arrived(generation, trend),
                 on_error=lambda error: self._failed(self._generation, error)
                 if generation == self._trend_generation else None)

    def _trend_arrived(self, generation: int, trend: Trend) -> None:
        if generation == self._trend_generation and self.charts is not None:
            self.charts = Charts(self.charts.period, self.charts.establishment_id, self.charts.by_establishment, trend)
            self._show_trend(trend)

    # -- drill-down ------------------------------------------------------------------------------------

    def _bar_activated(self, establishment_id: str) -> None:
        self.drill_down(self.chart_code, establishment_id=establishment_id, from_widget=self.bar_chart)

    def _point_activated(self, quarter_code: str) -> None:
        self.drill_down(self.chart_code, period=parse_period(quarter_code), from_widget=self.trend_chart)

    _UNSET: Any = object()

    def drill_down(self, code: str, *, period: Period | None = None, establishment_id: Any = _UNSET,
                   from_widget: QWidget | None = None) -> None:
        """Show the records behind one number (a tile's, a bar's or a point's)."""
        period = period or self.period
        if establishment_id is self._UNSET:
            establishment_id = self.establishment_id
        self._return_focus = from_widget or self.tiles.get(code)
        self.drill = (period, code, establishment_id)
        self.behind = None
        self.drill_model.set_rows([])
        indicator = INDICATOR_BY_CODE[code]
        self.drill_heading.setText(f"{indicator.label} {self.where(establishment_id)} in {period.label}: loading…")
        self.drill_hint.setText("")
        self.drill_error.clear_error()
        self.figures_stack.setCurrentWidget(self.drill_page)
        self.back_button.setFocus()
        self._load_drill(period, code, establishment_id)

    def _load_drill(self, period: Period, code: str, establishment_id: str | None) -> None:
        self._drill_generation += 1
        generation = self._drill_generation
        run_task(load_behind, self.ctx, period, code, establishment_id, owner=self, name="load a drill-down",
                 on_result=lambda behind: self._behind_arrived(generation, behind),
                 on_error=lambda error: self._drill_failed(generation, error))

    def _drill_failed(self, generation: int, error: BaseException) -> None:
        if generation == self._drill_generation:
            self.drill_heading.setText("")
            self.drill_error.show_error(describe_error(error))

    def _behind_arrived(self, generation: int, behind: Behind) -> None:
        if generation != self._drill_generation or self.drill is None:
            return
        period, code, establishment_id = self.drill
        self.behind = behind
        columns = [Column(title, lambda r, n=n: r[0][n]) for n, title in enumerate(behind.columns)]
        self.drill_model.columns = columns
        self.drill_model.set_rows(list(zip(behind.rows, behind.ids, strict=True)))
        shown = len(behind.rows)
        if behind.total:
            self.drill_heading.setText(f"{behind.total:,} {what_counted(code, behind.total)} "
                                       f"{self.where(establishment_id)} in {period.label}; showing {shown:,}")
        else:
            self.drill_heading.setText(f"No {what_counted(code, 0)} {self.where(establishment_id)} in {period.label}.")
        self.drill_table.setAccessibleName(self.drill_heading.text())
        if behind.kind in ("session", "person"):
            what = "the session's register" if behind.kind == "session" else "the person"
            self.drill_hint.setText(f"Enter or double-click opens {what}; Escape goes back.")
        else:
            self.drill_hint.setText("Escape goes back to the figures.")
        if shown:
            self.drill_table.setCurrentIndex(self.drill_model.index(0, 0))
            if self.back_button.hasFocus():
                self.drill_table.setFocus()

    def _record_activated(self, index: QModelIndex) -> None:
        row = self.drill_model.row(index)
        if row is None or self.behind is None:
            return
        record_id = row[1]
        if self.behind.kind == "session":
            self.register_dialog = open_register(self, self.ctx, record_id, self.status)
        elif self.behind.kind == "person":
            self.personRequested.emit(record_id)

    register_dialog: QWidget | None = None

    @property
    def drilling(self) -> bool:
        return self.figures_stack.currentWidget() is self.drill_page

    def back(self) -> None:
        """From the drill-down back to the figures, to what was activated."""
        self._drill_generation += 1  # a drill-down still loading is dropped
        self.drill = None
        self.figures_stack.setCurrentWidget(self.overview_page)
        target = self._return_focus
        self._return_focus = None
        if target is not None:
            target.setFocus()
