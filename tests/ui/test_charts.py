"""The QPainter chart widget, tested by rendering it (pixels where bars and lines should be) and by
driving it with the mouse and the keyboard."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage

from srcdesk.ui.charts import EMPTY_TEXT, SERIES_COLOURS, TARGET_COLOUR, Category, Chart, Series, nice_ticks

W, H = 600, 320


def _chart(qtbot, kind="bars", **kwargs) -> Chart:  # noqa: ANN001
    chart = Chart(kind, title=kwargs.pop("title", "Attendances by establishment"), **kwargs)
    qtbot.addWidget(chart)
    chart.resize(W, H)
    chart.show()
    qtbot.waitExposed(chart)
    return chart


def _image(chart: Chart) -> QImage:
    """The chart as painted, at one device pixel per logical pixel."""
    image = chart.grab().toImage()
    ratio = image.devicePixelRatio()
    if ratio != 1:
        image = image.scaled(round(image.width() / ratio), round(image.height() / ratio))
    return image.convertToFormat(QImage.Format.Format_RGB32)


def _close(a: QColor, b: QColor, tolerance: int = 40) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a.getRgb()[:3], b.getRgb()[:3], strict=True))


def _column_height(image: QImage, x: int, colour: QColor) -> int:
    """How many pixels of this column are the colour."""
    return sum(1 for y in range(image.height()) if _close(image.pixelColor(x, y), colour, 30))


PRISONS = [Category("PER", "PER", "HMP Perth"), Category("BAR", "BAR", "HMP Barlinnie"),
           Category("EDI", "EDI", "HMP Edinburgh")]


def test_nice_ticks_are_round() -> None:
    assert nice_ticks(312) == [0, 100, 200, 300, 400]
    assert nice_ticks(95) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(7) == [0, 2, 4, 6, 8]
    assert nice_ticks(0.8, whole=False) == [0, 0.2, 0.4, 0.6, 0.8]
    assert nice_ticks(0) == [0, 1]
    assert nice_ticks(3) == [0, 1, 2, 3]


def test_bars_are_drawn_where_they_should_be_with_proportional_heights(qtbot) -> None:  # noqa: ANN001
    chart = _chart(qtbot)
    chart.set_data(PRISONS, [Series("Attendances", [300, 150, 75])])
    image = _image(chart)
    blue = QColor(SERIES_COLOURS[0])
    heights = []
    for i in range(3):
        rect = chart.bar_rect(i)
        assert rect.isValid()
        centre = rect.center().toPoint()
        assert _close(image.pixelColor(centre), blue), (i, image.pixelColor(centre).name())
        heights.append(_column_height(image, centre.x(), blue))
        # nothing of the bar's colour outside the bars: between the first and second bar
    gap_x = int((chart.bar_rect(0).right() + chart.bar_rect(1).left()) / 2)
    assert _column_height(image, gap_x, blue) == 0
    assert heights[0] > 50
    assert abs(heights[1] - heights[0] / 2) <= 2 and abs(heights[2] - heights[0] / 4) <= 2, heights
    # the top of the highest bar is at 300 on the axis, whose top tick is 400
    assert abs(chart.bar_rect(0).top() - chart.value_y(300)) <= 1
    assert chart.value_y(0) > chart.value_y(400)


def test_grouped_bars_keep_their_series_side_by_side(qtbot) -> None:  # noqa: ANN001
    chart = _chart(qtbot)
    chart.set_data(PRISONS, [Series("Sessions", [40, 20, 10]), Series("People", [20, 40, 10])])
    image = _image(chart)
    first, second = chart.bar_rect(0, 0), chart.bar_rect(0, 1)
    assert first.right() <= second.left() + 1
    assert _close(image.pixelColor(first.center().toPoint()), QColor(SERIES_COLOURS[0]))
    assert _close(image.pixelColor(second.center().toPoint()), QColor(SERIES_COLOURS[1]))
    assert first.height() == pytest.approx(2 * second.height(), abs=2)


def test_a_stale_category_is_hatched_not_solid(qtbot) -> None:  # noqa: ANN001
    chart = _chart(qtbot)
    stale = Category("BAR", "BAR", "HMP Barlinnie", stale=True, note="last bundle 41 days ago")
    chart.set_data([PRISONS[0], stale], [Series("Attendances", [200, 200])])
    image = _image(chart)
    blue = QColor(SERIES_COLOURS[0])
    solid, hatched = chart.bar_rect(0), chart.bar_rect(1)
    x0, x1 = int(solid.center().x()), int(hatched.center().x())
    rows = range(int(solid.top()) + 3, int(solid.bottom()) - 3)
    assert all(_close(image.pixelColor(x0, y), blue) for y in rows)
    hatched_blue = sum(1 for y in rows if _close(image.pixelColor(x1, y), blue))
    assert 0 < hatched_blue < len(rows) / 2  # stripes, with the pale fill between them
    assert "HMP Barlinnie: 200 (last bundle 41 days ago)" in chart.accessibleDescription()


def test_the_target_line_is_dashed_at_the_targets_height(qtbot) -> None:  # noqa: ANN001
    chart = _chart(qtbot, "lines", title="Attendances by quarter")
    quarters = [Category(f"2025-Q{q}", f"Q{q} 25-26") for q in (1, 2, 3, 4)]
    chart.set_data(quarters, [Series("Attendances", [100, 180, 240, 320])], target=200,
                   target_label="Target")
    image = _image(chart)
    red = QColor(TARGET_COLOUR)
    y = int(chart.target_y(0))
    assert y == pytest.approx(chart.value_y(200), abs=1)
    lay_left = int(chart.slot(0).left()) + 2
    lay_right = int(chart.slot(3).right()) - 2
    run = [_close(image.pixelColor(x, y), red) for x in range(lay_left, lay_right)]
    assert 0.3 * len(run) < sum(run) < 0.9 * len(run)  # dashes: red, with gaps
    above = [_close(image.pixelColor(x, y - 8), red) for x in range(lay_left, lay_left + 100)]
    assert not any(above)
    # the points are where their values are, and the line joins them
    blue = QColor(SERIES_COLOURS[0])
    for i in range(4):
        pt = chart.point(i).toPoint()
        assert _close(image.pixelColor(pt), blue), i
    assert chart.point(0).y() > chart.point(3).y()
    assert "target 200" in chart.accessibleDescription()
    chart.setFocus()  # the keys start on the latest point
    qtbot.waitUntil(chart.hasFocus, timeout=1000)
    assert chart.current == 3


def test_a_target_only_for_some_quarters(qtbot) -> None:  # noqa: ANN001
    chart = _chart(qtbot, "lines")
    quarters = [Category(q, q) for q in ("a", "b", "c", "d")]
    chart.set_data(quarters, [Series("Sessions", [5, 6, 7, 8])], target=[None, None, 10, 10])
    image = _image(chart)
    red = QColor(TARGET_COLOUR)
    y = int(chart.target_y(2))
    assert chart.target_y(0) is None
    first = [_close(image.pixelColor(x, y), red) for x in range(int(chart.slot(0).left()), int(chart.slot(1).right()))]
    last = [_close(image.pixelColor(x, y), red) for x in range(int(chart.slot(2).left()), int(chart.slot(3).right()))]
    assert not any(first) and any(last)


def test_empty_state_says_so(qtbot) -> None:  # noqa: ANN001
    chart = _chart(qtbot)
    chart.set_data(PRISONS, [Series("Sessions", [0, 0, None])])
    assert chart.is_empty
    assert chart.accessibleDescription() == f"Attendances by establishment: {EMPTY_TEXT}."
    image = _image(chart)
    blue = QColor(SERIES_COLOURS[0])
    assert not any(_close(image.pixelColor(x, y), blue) for x in range(0, W, 7) for y in range(0, H, 7))
    # some text, in the middle, and nothing at the corners
    middle = [image.pixelColor(x, H // 2 + dy) for x in range(W // 4, 3 * W // 4) for dy in range(-6, 7)]
    background = image.pixelColor(3, 3)
    assert any(not _close(c, background, 60) for c in middle)


def test_text_alternative_names_every_category_and_value(qtbot) -> None:  # noqa: ANN001
    chart = _chart(qtbot)
    chart.set_data(PRISONS, [Series("Attendances", [1312, 0, None])])
    assert chart.accessibleDescription() == ("Attendances by establishment. HMP Perth: 1\u2009312; "
                                             "HMP Barlinnie: 0; HMP Edinburgh: no figure.")


def test_click_on_a_bar_activates_its_key(qtbot) -> None:  # noqa: ANN001
    chart = _chart(qtbot)
    chart.set_data(PRISONS, [Series("Attendances", [300, 150, 75])])
    with qtbot.waitSignal(chart.activated, timeout=1000) as blocker:
        qtbot.mouseClick(chart, Qt.MouseButton.LeftButton, pos=chart.bar_rect(1).center().toPoint())
    assert blocker.args == ["BAR"]
    assert chart.current == 1
    with qtbot.assertNotEmitted(chart.activated):
        qtbot.mouseClick(chart, Qt.MouseButton.LeftButton, pos=QPoint(2, 2))


def test_keys_move_between_bars_and_enter_activates(qtbot) -> None:  # noqa: ANN001
    chart = _chart(qtbot)
    chart.set_data(PRISONS, [Series("Attendances", [300, 150, 75])])
    chart.setFocus()
    qtbot.waitUntil(chart.hasFocus, timeout=1000)
    assert chart.current == 0
    assert chart.accessibleName() == "Attendances by establishment, HMP Perth: 300"
    qtbot.keyClick(chart, Qt.Key.Key_Right)
    qtbot.keyClick(chart, Qt.Key.Key_Right)
    qtbot.keyClick(chart, Qt.Key.Key_Right)  # stays on the last
    assert chart.current == 2
    assert chart.accessibleName().endswith("HMP Edinburgh: 75")
    qtbot.keyClick(chart, Qt.Key.Key_Left)
    with qtbot.waitSignal(chart.activated, timeout=1000) as blocker:
        qtbot.keyClick(chart, Qt.Key.Key_Return)
    assert blocker.args == ["BAR"]
    qtbot.keyClick(chart, Qt.Key.Key_Home)
    assert chart.current == 0


def test_keys_visit_each_bar_of_a_group(qtbot) -> None:  # noqa: ANN001
    chart = _chart(qtbot)
    chart.set_data(PRISONS[:2], [Series("Sessions", [4, 2]), Series("People", [2, 4])])
    chart.setFocus()
    qtbot.waitUntil(chart.hasFocus, timeout=1000)
    seen = []
    for _ in range(4):
        seen.append((chart.current, chart.current_series))
        qtbot.keyClick(chart, Qt.Key.Key_Right)
    assert seen == [(0, 0), (0, 1), (1, 0), (1, 1)]


@pytest.mark.parametrize("ratio", [1.0, 1.5, 2.0])
def test_bar_edges_fall_on_whole_device_pixels(qtbot, monkeypatch, ratio: float) -> None:  # noqa: ANN001
    """At 150 % or 200 % the bars' edges still fall on whole device pixels (no blurred seams)."""
    chart = _chart(qtbot)
    monkeypatch.setattr(chart, "devicePixelRatioF", lambda: ratio)
    chart.set_data(PRISONS, [Series("Attendances", [300, 151, 77])])
    for i in range(3):
        rect = chart.bar_rect(i)
        for edge in (rect.left(), rect.right(), rect.top(), rect.bottom()):
            assert edge * ratio == pytest.approx(round(edge * ratio), abs=1e-6), (i, edge)


def test_mismatched_data_is_refused(qtbot) -> None:  # noqa: ANN001
    chart = _chart(qtbot)
    with pytest.raises(ValueError, match="2 values for 3 categories"):
        chart.set_data(PRISONS, [Series("Attendances", [1, 2])])


def test_the_chosen_category_is_marked_by_a_band(qtbot) -> None:  # noqa: ANN001
    chart = _chart(qtbot)
    chart.set_data(PRISONS, [Series("Attendances", [300, 150, 75])])
    chart.set_marked("BAR")
    assert chart.current == 1
    image = _image(chart)
    y = int(chart.value_y(250))  # above the second and third bars
    marked = image.pixelColor(int(chart.slot(1).left()) + 3, y)
    plain = image.pixelColor(int(chart.slot(2).left()) + 3, y)
    assert not _close(marked, plain, 5)
    chart.set_marked(None)
    image = _image(chart)
    assert _close(image.pixelColor(int(chart.slot(1).left()) + 3, y), plain, 5)
