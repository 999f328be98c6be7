"""Certificates: a batch of 1,000 in one PDF with their QR codes, against the same batch without,
and the check of one scanned code.

1. 1,000 made-up certificates (srcdesk.reports.certificate_samples), signed with a new key; the
   signing is not timed.
2. The same batch written as one PDF without QR codes, then with them (segno with a fixed mask,
   drawn as one path), in the same run: the rates and their ratio (the target: with QR codes at
   least 1/8 of the rate without).
3. ReportLab's own QR widget on a smaller sample (it is slow), for comparison.
4. ``certcode.decode(text).verifies(key)`` of one code, the median of many (the target: 5 ms).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from . import benchmark

BATCH = 1000
WIDGET_SAMPLE = 50
VERIFY_RUNS = 2000


def _widget_qr(c, text: str, x: float, y: float, size: float) -> None:  # noqa: ANN001 - a Canvas
    """ReportLab's QR widget, the way its documentation draws one (the comparison only)."""
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing

    widget = QrCodeWidget(text, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, c, x, y)


def _rate(contents: list, folder: Path, name: str, **kwargs) -> float:  # noqa: ANN003
    from srcdesk.reports.certificates import NO_DESIGN, write_pdf

    started = time.perf_counter()
    path = write_pdf(contents, NO_DESIGN, folder / name, **kwargs)
    elapsed = time.perf_counter() - started
    size = path.stat().st_size
    rate = len(contents) / elapsed
    print(f"  {name:<22} {len(contents):>5} certificates in {elapsed:6.2f} s = {rate:7.1f} a second "
          f"({elapsed / len(contents) * 1000:5.2f} ms each), {size / 1e6:.1f} MB", flush=True)
    return rate


@benchmark("certificates")
def bench_certificates(opts: argparse.Namespace) -> None:
    from srcdesk.reports.certificate_samples import sample_contents
    from srcdesk.reports.certificates import register_fonts
    from srcdesk.sync import certcode
    from srcdesk.sync.minisign import SigningKey

    key = SigningKey.generate()
    contents = sample_contents(key, BATCH)
    register_fonts()
    with tempfile.TemporaryDirectory(prefix="srcdesk-cert-bench-") as tmp:
        folder = Path(tmp)
        _rate(contents[:20], folder, "warm-up.pdf")
        without = _rate(contents, folder, "without-qr.pdf", qr=None)
        with_qr = _rate(contents, folder, "with-qr.pdf")
        print(f"  with QR / without QR: 1/{without / with_qr:.1f} of the rate (target: at least 1/8)")
        sample = contents[:WIDGET_SAMPLE]
        widget = _rate(sample, folder, "reportlab-widget.pdf", qr=_widget_qr)
        print(f"  ReportLab's QR widget / without QR: 1/{without / widget:.0f} of the rate "
              f"(on {WIDGET_SAMPLE}); srcdesk's drawing is {with_qr / widget:.0f}x the widget's rate")

    public = key.public()
    texts = [c.code for c in contents]
    times = []
    for run in range(VERIFY_RUNS):
        text = texts[run % len(texts)]
        started = time.perf_counter()
        ok = certcode.decode(text).verifies(public)
        times.append(time.perf_counter() - started)
        if not ok:
            raise AssertionError("a sample code did not verify")
    print(f"  verify one scan (decode + signature): median {statistics.median(times) * 1000:.3f} ms, "
          f"95th percentile {sorted(times)[int(len(times) * 0.95)] * 1000:.3f} ms over {VERIFY_RUNS} "
          "(target: at most 5 ms)", flush=True)
