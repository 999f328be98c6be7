"""Render every main screen with national-scale sample data, offscreen, into docs/screenshots/.

``make screenshots`` (or ``QT_QPA_PLATFORM=offscreen python tools/screenshots.py [OUT_DIR]``).
The data is the establishment HMP Perth with ``demo --scale national``; "today" is set inside
the sample data's range so the Today page has a week to show. Nothing is written outside a
temporary folder and OUT_DIR.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Two offscreen screens: a big one for the main screens, and a small PC's 1024x600 beside it,
# where dialogs show that they fit (their buttons stay on the screen).
SMALL_SCREEN = (1024, 600)
_SCREENS = {"screens": [
    {"name": "big", "x": 0, "y": 0, "width": 1920, "height": 1200, "logicalDpi": 96, "logicalBaseDpi": 96},
    {"name": "small", "x": 1920, "y": 0, "width": SMALL_SCREEN[0], "height": SMALL_SCREEN[1],
     "logicalDpi": 96, "logicalBaseDpi": 96},
]}
if os.environ["QT_QPA_PLATFORM"] == "offscreen":
    import json

    _config = Path(tempfile.mkdtemp(prefix="srcdesk-screens-")) / "screens.json"
    _config.write_text(json.dumps(_SCREENS), encoding="utf-8")
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={_config}"

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QSettings, QThreadPool  # noqa: E402
from PySide6.QtWidgets import QApplication, QLabel, QWidget  # noqa: E402

PASSWORD = "password123"
TODAY = dt.date(2026, 10, 28)  # inside the sample data (it ends on 31 Oct 2026)
SIZE = (1280, 800)


def settle(app: QApplication, seconds: float = 0.3) -> None:
    """Let background loading finish and the widgets repaint."""
    from srcdesk.ui.tasks import pending_tasks

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        QThreadPool.globalInstance().waitForDone(10)
        app.processEvents()
        if pending_tasks() == 0:
            break
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def save(app: QApplication, widget: QWidget, out: Path, name: str) -> None:
    settle(app)
    path = out / f"{name}.png"
    widget.grab().save(str(path))
    print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="srcdesk-shots-"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "settings"))
    app = QApplication(sys.argv[:1])
    app.setStyle("Fusion")

    from srcdesk.services.demo import DEMO_END, generate_demo
    from srcdesk.services.setup import init_installation
    from srcdesk.services.users import add_user
    from srcdesk.ui.app import configure_application

    configure_application(app)
    _freeze_today()
    shoot_certificate(tmp, out)

    from srcdesk.ui.setup_dialog import FirstRunDialog

    first_run = FirstRunDialog(tmp / "new")
    first_run.show()
    save(app, first_run, out, "01-first-run")
    first_run.close()

    print("making national-scale sample data for HMP Perth…", flush=True)
    ctx = init_installation(tmp / "perth", establishment="PER", office=False, admin_username="admin",
                            admin_name="Alex Admin", admin_password=PASSWORD)
    generate_demo(ctx, scale="national", end=DEMO_END)
    add_user(ctx, "colin", "Colin Coordinator", "coordinator", PASSWORD)
    add_user(ctx, "rita", "Rita Recorder", "recorder", PASSWORD)

    from srcdesk.ui.login_dialog import LoginDialog

    login = LoginDialog(tmp / "perth", ctx)
    login.username.setText("colin")
    login.show()
    save(app, login, out, "02-sign-in")
    login.close()

    from srcdesk.services.users import authenticate
    from srcdesk.ui.main_window import MainWindow

    ctx = ctx.signed_in(authenticate(ctx.db, "admin", PASSWORD))
    window = MainWindow(ctx, QSettings(str(tmp / "window.ini"), QSettings.Format.IniFormat))
    window.resize(*SIZE)
    window.show()
    for number, key in enumerate(window.pages, start=3):
        window.show_page(key)
        save(app, window, out, f"{number:02d}-{key}")
    for name, shoot in EXTRA_SHOTS:
        print(f"{name}:")
        shoot(app, ctx, window, lambda widget, n, name=name: save(app, widget, out, n))
    shoot_liberation(app, ctx, window, tmp, out)
    window.lock()
    save(app, window.lock_screen, out, "99-locked")
    window._force_close = True
    window.close()
    settle(app)
    ctx.db.close()
    shoot_office(app, tmp, out)
    return 0


def render_pdf_pages(path: Path, out: Path, stem: str, pages: list[int], dpi: int = 80) -> None:
    """Pages of a PDF as PNGs (pypdfium2, the app's one renderer): ``{stem}-{n}.png`` (pages it
    does not have are left out)."""
    import pypdfium2 as pdfium
    from PySide6.QtGui import QImage

    doc = pdfium.PdfDocument(str(path))
    try:
        for n in (n for n in pages if n <= len(doc)):
            bitmap = doc[n - 1].render(scale=dpi / 72, rev_byteorder=True)
            data = bytes(bitmap.buffer)
            image = QImage(data, bitmap.width, bitmap.height, bitmap.stride, QImage.Format.Format_RGB888).copy()
            target = out / f"{stem}-{n}.png"
            image.save(str(target))
            print(f"  {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
    finally:
        doc.close()


def shoot_office(app: QApplication, tmp: Path, out: Path) -> None:
    """The national picture at the SRC office (national-scale sample data for every establishment):
    the dashboard, a drill-down, the workplan, the report and export dialogs, and the Steering
    Group report's pages."""
    from srcdesk.reports.periods import parse_period
    from srcdesk.services import steering
    from srcdesk.services.demo import DEMO_END, generate_demo
    from srcdesk.services.setup import init_installation
    from srcdesk.services.users import authenticate
    from srcdesk.ui.main_window import MainWindow

    print("making national-scale sample data for the SRC office…", flush=True)
    ctx = init_installation(tmp / "office", establishment=None, office=True, admin_username="admin",
                            admin_name="Alex Admin", admin_password=PASSWORD)
    generate_demo(ctx, scale="national", end=DEMO_END)
    ctx = ctx.signed_in(authenticate(ctx.db, "admin", PASSWORD))
    window = MainWindow(ctx, QSettings(str(tmp / "office-window.ini"), QSettings.Format.IniFormat))
    window.resize(*SIZE)
    window.show()
    page = window.show_page("dashboard")
    page.set_period("2026-Q2")  # the last whole quarter of the sample data
    settle(app, 0.6)
    save(app, window, out, "26-dashboard-national")
    page.drill_down("people")
    settle(app)
    save(app, window, out, "27-dashboard-drill-down")
    page.back()
    page.tabs.setCurrentWidget(page.workplan_tab)
    settle(app)
    save(app, window, out, "28-dashboard-workplan")
    page.tabs.setCurrentIndex(0)
    dialog = page.open_report()
    dialog.notes.setPlainText("The group met on 4 December. RAT reached every recruit cohort this year.")
    settle(app)
    save(app, dialog, out, "36-steering-report-dialog")
    dialog.close()
    export = page.export_button.open_dialog()
    settle(app)
    save(app, export, out, "37-export-dialog")
    export.close()
    pathways = window.show_page("pathways")
    initiatives = pathways.show_tab("initiativesTab")
    settle(app)
    initiatives.show_map.setChecked(True)
    save(app, window, out, "38-pathways-initiatives-map")
    pathways.show_tab("organisationsTab")
    save(app, window, out, "39-pathways-organisations")
    pathways.show_tab("referralsTab")
    save(app, window, out, "40-pathways-referrals")
    print("the Steering Group report, plan year 2025-26:", flush=True)
    pdf = steering.write_report(ctx, parse_period("2025-26"), tmp / "steering.pdf",
                                notes="The group met on 4 December 2026.")
    render_pdf_pages(pdf, out, "steering-report", [1, 2, 3])
    window._force_close = True
    window.close()
    settle(app)
    ctx.db.close()


def shoot_liberation(app: QApplication, ctx, window, tmp: Path, out: Path) -> None:  # noqa: ANN001
    """Pathways at an establishment, Today's liberations, the liberation record dialog with the
    person going home soonest, and the record it prints (its pages as PNGs)."""
    from srcdesk.services import liberation
    from srcdesk.ui.liberation_dialog import LiberationDialog

    print("pathways and the liberation record:")
    pathways = window.show_page("pathways")
    pathways.show_tab("initiativesTab")
    save(app, window, out, "41-pathways-initiatives")
    going = liberation.upcoming_liberations(ctx, TODAY)[0]
    dialog = LiberationDialog(ctx, going.person_id, going.display_name, window, today=TODAY)
    dialog.show()
    settle(app)
    area, words = "Perth and Kinross", ("When I came in I didn't talk to anyone. The recovery café was the first "
                                        "place I felt listened to, and now I help set it up on Thursdays.")
    dialog.area.setCurrentText(area)
    dialog.words.setPlainText(words)
    save(app, dialog, out, "42-liberation-dialog")
    dialog.close()
    pdf = tmp / "liberation.pdf"
    liberation.make_record(ctx, going.person_id, area=area, own_words=words, consent_on=TODAY, today=TODAY,
                           write_to=pdf)
    render_pdf_pages(pdf, out, "liberation-record", [1, 2])


def shoot_certificate(tmp: Path, out: Path) -> None:
    """A made-up certificate (srcdesk.reports.certificate_samples, nobody real), as printed: the
    PDF rasterised by pypdfium2, the app's one renderer."""
    import pypdfium2 as pdfium
    from PySide6.QtGui import QImage

    from srcdesk.reports.certificate_samples import sample_content
    from srcdesk.reports.certificates import NO_DESIGN, write_pdf
    from srcdesk.sync.minisign import SigningKey

    path = write_pdf([sample_content(SigningKey.generate(), 1, kind=0)], NO_DESIGN, tmp / "certificate.pdf")
    doc = pdfium.PdfDocument(str(path))
    try:
        bitmap = doc[0].render(scale=80 / 72, rev_byteorder=True)
        data = bytes(bitmap.buffer)
        image = QImage(data, bitmap.width, bitmap.height, bitmap.stride, QImage.Format.Format_RGB888).copy()
    finally:
        doc.close()
    target = out / "certificate.png"
    image.save(str(target))
    print(f"  {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")


def _freeze_today() -> None:
    """Pages that show "this week" ask a module-level today(); point it inside the data."""
    import importlib

    for module in ("srcdesk.ui.pages.today",):
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        if hasattr(mod, "today"):
            mod.today = lambda: TODAY


def _busiest_session(ctx):  # noqa: ANN001, ANN202
    from srcdesk.services.sessions import list_sessions

    rows = list_sessions(ctx, date_to=TODAY, date_from=TODAY - dt.timedelta(days=14), limit=50).items
    return max((r for r in rows if not r.cancelled), key=lambda r: r.on_register)


def shoot_session_dialog(app, ctx, window, save) -> None:  # noqa: ANN001
    from srcdesk.ui.session_dialog import SessionDialog

    dialog = SessionDialog(ctx, _busiest_session(ctx).id, parent=window)
    dialog.show()
    save(dialog, "30-session-dialog")
    dialog._force_close = True
    dialog.hide()
    dialog.deleteLater()


def small_screen(app: QApplication):  # noqa: ANN201
    """The 1024x600 screen, if there is one (see _SCREENS)."""
    return next((s for s in app.screens() if (s.size().width(), s.size().height()) == SMALL_SCREEN), None)


def shoot_session_dialog_small(app, ctx, window, save) -> None:  # noqa: ANN001
    """A new session refused (nothing chosen under What) on a 1024x600 screen: the message is
    shown, the dialog fits the screen, Save and Close are in view. Saved with the screen around it."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QColor, QPainter, QPixmap

    from srcdesk.ui.session_dialog import SessionDialog

    screen = small_screen(app)
    if screen is None:
        print("  (no 1024x600 screen: run offscreen)")
        return
    area = screen.availableGeometry()
    dialog = SessionDialog(ctx, on_date=TODAY)
    dialog.move(area.topLeft())
    dialog.show()
    settle(app)
    dialog.location.setText("Chapel")
    dialog.notes.setPlainText("Long notes, as people write them.\n" * 3)
    dialog.submit()
    settle(app)
    geometry = dialog.frameGeometry()
    assert area.contains(geometry), f"the dialog {geometry} does not fit the screen {area}"
    box = dialog.buttons
    buttons = QRect(box.mapToGlobal(box.rect().topLeft()), box.size())
    assert area.contains(buttons) and dialog.what_error.isVisible()
    picture = QPixmap(area.size())
    picture.fill(QColor("#2b2b2b"))  # the rest of the small screen, so that the fit can be seen
    painter = QPainter(picture)
    painter.drawPixmap(geometry.topLeft() - area.topLeft(), dialog.grab())
    painter.end()
    frame = QLabel()
    frame.setPixmap(picture)
    frame.resize(picture.size())
    save(frame, "35-session-dialog-error-1024x600")
    dialog._closing = True
    dialog.hide()
    dialog.deleteLater()


def shoot_register(app, ctx, window, save) -> None:  # noqa: ANN001
    from srcdesk.ui.register_dialog import RegisterDialog

    dialog = RegisterDialog(ctx, _busiest_session(ctx).id, parent=window)
    dialog.resize(1000, 720)
    dialog.show()
    save(dialog, "31-register")
    dialog.hide()
    dialog.deleteLater()


def shoot_person(app, ctx, window, save) -> None:  # noqa: ANN001
    from srcdesk.services import ladder

    person = ladder.eligible_people(ctx, limit=1)[0]
    window.show_page("people")
    window.pages["people"].show_person(person.person_id)
    save(window, "32-person")
    window.pages["people"].show_list()
    window.show_page("volunteers")
    window.pages["volunteers"].show_person(person.person_id)
    save(window, "33-volunteer-progress")

    from srcdesk.ui.signoff_dialog import SignOffDialog

    dialog = SignOffDialog(ctx, person.person_id, person.definition_id, parent=window)
    dialog.show()
    save(dialog, "34-sign-off")
    dialog.hide()
    dialog.deleteLater()


def shoot_certificates(app, ctx, window, save) -> None:  # noqa: ANN001
    from srcdesk.services import certificates
    from srcdesk.ui.certificate_dialogs import IssueCertificateDialog, RevokeCertificateDialog

    row = certificates.list_certificates(ctx, status="valid", limit=1).items[0]
    window.show_page("people")
    people = window.pages["people"]
    people.show_person(row.person_id)
    settle(app)
    view = people.person_view
    view.tabs.setCurrentIndex(view.tabs.indexOf(view.certificate_table.parentWidget()))
    save(window, "22-person-certificates")
    dialog = IssueCertificateDialog(ctx, row.person_id, parent=window)
    dialog.show()
    settle(app)
    dialog.award.setCurrentIndex(0)
    save(dialog, "23-certificate-issue")
    dialog._closing = True
    dialog.hide()
    dialog.deleteLater()
    people.show_list()
    page = window.show_page("certificates")
    page.tabs.setCurrentWidget(page.eligible)
    settle(app)
    page.eligible.table.selectRow(0)
    save(window, "25-certificates-eligible")
    page.tabs.setCurrentIndex(0)
    dialog = RevokeCertificateDialog(ctx, row, parent=window)
    dialog.reason.setPlainText("Issued for the wrong module")
    dialog.show()
    save(dialog, "24-certificate-revoke")
    dialog._closing = True
    dialog.hide()
    dialog.deleteLater()


#: (name, shoot(app, ctx, window, save(widget, file_name))) for dialogs and detail views.
EXTRA_SHOTS: list[tuple[str, Callable]] = [
    ("session dialog", shoot_session_dialog),
    ("session dialog with an error on a 1024x600 screen", shoot_session_dialog_small),
    ("register", shoot_register),
    ("a person", shoot_person),
    ("certificates", shoot_certificates),
]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
