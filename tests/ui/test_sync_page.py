"""The Sync page: export, import with preview, history with gaps, trust, conflicts.

Each test uses the ``world`` fixture (the SRC office, HMP Perth and HMP Barlinnie, enrolled with
each other) and drives the page as a person would; the file choosers are replaced (they are
classmethods of the page made for that).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QComboBox, QLineEdit, QMessageBox, QWidget

from srcdesk.services import conflicts, people, sessions, sync, trust
from srcdesk.services.base import Context
from srcdesk.services.setup import init_installation
from srcdesk.services.sync import importing
from srcdesk.services.users import add_user
from srcdesk.sync.errors import BundleRefused
from srcdesk.ui.bus import data_bus
from srcdesk.ui.pages import registry
from srcdesk.ui.pages.sync import SyncPage
from srcdesk.ui.sync_dialogs import EnrolDialog, gap_sentence, seq_text
from srcdesk.ui.tasks import pending_tasks

from .conftest import PASSWORD, WAIT_MS, mnemonics, shot

PAGE_SIZE = tuple(int(n) for n in os.environ.get("SRCDESK_SYNC_PAGE_SIZE", "1100x720").split("x"))


def sync_page(qtbot, ctx: Context, settings: QSettings) -> SyncPage:  # noqa: ANN001
    page = SyncPage(ctx, settings=settings)
    qtbot.addWidget(page)
    page.resize(*PAGE_SIZE)
    page.show()
    page.activate()
    qtbot.waitUntil(lambda: page.idle, timeout=WAIT_MS)
    return page


def choose_folder(monkeypatch, folder: Path) -> list[str]:  # noqa: ANN001
    """The folder chooser answers ``folder``; returns the start folders it was asked with."""
    asked: list[str] = []

    def ask(_cls, _parent, start, on_chosen):  # noqa: ANN001, ANN202
        asked.append(start)
        on_chosen(folder)

    monkeypatch.setattr(SyncPage, "ask_folder", classmethod(ask))
    return asked


def choose_files(monkeypatch, *paths: Path) -> None:  # noqa: ANN001
    monkeypatch.setattr(SyncPage, "ask_files", classmethod(lambda _cls, _p, _s, on_chosen: on_chosen(list(paths))))


def import_files(qtbot, page: SyncPage, monkeypatch, *paths: Path, accept: bool = True):  # noqa: ANN001, ANN201
    """Import through the page, by keyboard: Alt+B on the Import tab, then Enter in the preview
    (``accept``; else the preview is left open, for the test to look at and close). Returns the
    preview dialog (or None if none was needed)."""
    tab = page.show_tab("import")
    tab.dialog = None
    tab.summary.hide()
    choose_files(monkeypatch, *paths)
    page.activateWindow()  # (a dialog closed before: the offscreen platform leaves no window active)
    qtbot.waitUntil(page.isActiveWindow, timeout=WAIT_MS)
    qtbot.keyClick(page, Qt.Key.Key_B, Qt.KeyboardModifier.AltModifier)  # Import &bundles…
    qtbot.waitUntil(lambda: (tab.dialog is not None and tab.dialog.isVisible()) or tab.summary.isVisible(),
                    timeout=WAIT_MS)
    dialog = tab.dialog
    if dialog is not None and accept:
        assert dialog.focusWidget() is dialog.view
        qtbot.keyClick(dialog.view, Qt.Key.Key_Return)  # Enter: the default button, Import
        qtbot.waitUntil(lambda: tab.summary.isVisible(), timeout=WAIT_MS)
    if dialog is None or accept:
        qtbot.waitUntil(lambda: page.idle and not tab.busy, timeout=WAIT_MS)
    return dialog


def cancel(qtbot, page: SyncPage, dialog) -> None:  # noqa: ANN001
    """Escape in the preview; the import ends without applying anything."""
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: page.idle and not page.import_tab.busy, timeout=WAIT_MS)


def unnamed(root) -> list[str]:  # noqa: ANN001
    """Focusable, visible controls without an accessible name (as tests/ui/test_app.py checks)."""
    return [f"{type(w).__name__}({w.objectName()!r})" for w in root.findChildren(QWidget)
            if w.focusPolicy() & Qt.FocusPolicy.TabFocus and w.isVisibleTo(root) and not w.accessibleName()
            and not (isinstance(w, QLineEdit) and isinstance(w.parent(), QComboBox))]


def cells(model, number: int) -> list[str]:  # noqa: ANN001
    return [model.index(number, c).data() for c in range(model.columnCount())]


# -- the page in the app ---------------------------------------------------------------------------

def test_the_page_is_registered_for_coordinators(world) -> None:  # noqa: ANN001
    assert SyncPage in registry.PAGES
    per = world["PER"]
    rita = add_user(per, "rita", "Rita Recorder", "recorder", PASSWORD)
    colin = add_user(per, "colin", "Colin Coordinator", "coordinator", PASSWORD)
    assert not SyncPage.allowed(Context(per.db, per.installation, rita))
    assert SyncPage.allowed(Context(per.db, per.installation, colin))
    assert SyncPage.allowed(per)


def test_small_helpers() -> None:
    assert seq_text([4, 5, 6, 9, 12, 13]) == "4–6, 9 and 12–13"
    assert gap_sentence("HMP Perth", [4, 5, 6]) == "Bundles 4–6 from HMP Perth have not been imported yet."
    assert gap_sentence("HMP Perth", [1]) == "Bundle 1 from HMP Perth has not been imported yet."


# -- export at an establishment, import at the office ---------------------------------------------

def test_export_at_perth_and_import_at_the_office(qtbot, world, settings, monkeypatch, tmp_path) -> None:  # noqa: ANN001
    per, office = world["PER"], world.office
    person = people.create_person(per, given_name="Jo", family_name="Bloggs")
    page = sync_page(qtbot, per, settings)
    export = page.export_tab
    assert export.button.isEnabled() and export.button.text() == "Export for the &office…"
    assert not export.missing.isVisible() and not export.target.isVisible()
    stick = tmp_path / "usb"
    stick.mkdir()
    choose_folder(monkeypatch, stick)
    qtbot.mouseClick(export.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: export.done_box.isVisible(), timeout=WAIT_MS)
    written = list(stick.glob("*.srcbundle"))
    assert len(written) == 1 and written[0].name.startswith("PER-")
    assert export.file_label.text() == written[0].name
    assert "For the SRC office: bundle 1, 2 changes" in export.result.text()
    assert str(stick) in export.result.text()
    assert export.show_button.isVisible()
    assert settings.value("sync/lastFolder") == str(stick)
    shot(page, "sync-export-establishment")

    # the history now lists it, as sent
    qtbot.waitUntil(lambda: page.idle, timeout=WAIT_MS)
    history = page.show_tab("history")
    qtbot.waitUntil(lambda: history.model.rowCount() == 1, timeout=WAIT_MS)
    row = cells(history.model, 0)
    assert row[0] == "HMP Perth (this PC)" and row[1] == "Sent to SRC office" and row[2] == "1"
    assert row[6] == written[0].name and row[7] == "Written" and not history.gap_warning.isVisible()

    # at the office: preview, then import
    office_page = sync_page(qtbot, office, settings)
    announced: list[frozenset] = []
    data_bus().changed.connect(announced.append)
    dialog = import_files(qtbot, office_page, monkeypatch, written[0], accept=False)
    assert dialog is not None and dialog.isVisible()
    assert [c.path for c in dialog.files] == written and dialog.import_button.isEnabled()
    details = dialog.details.text()
    assert "From HMP Perth (PER)" in details and "Bundle 1" in details
    # per kind of record, in people's words: the account travels only as the name of who recorded
    assert "It brings 2 records: 1 person, 1 staff name (who recorded)." in details
    assert "user account" not in details.lower() and cells(dialog.model, 0)[4] == "2"
    assert "1 bundle ready to import, bringing 2 records." in dialog.backup_note.text()
    assert "backing up the data now" in dialog.backup_note.text()
    assert cells(dialog.model, 0)[5] == "Ready"
    assert unnamed(dialog) == []
    shot(dialog, "sync-import-preview")
    tab = office_page.import_tab
    qtbot.keyClick(dialog.view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.summary.isVisible(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: office_page.idle, timeout=WAIT_MS)
    assert "Imported 1 bundle, 2 records: 2 new, 0 updated." in tab.summary.text() and "backed up" in tab.summary.text()
    assert cells(tab.model, 0)[1:3] == ["HMP Perth", "1"]
    assert cells(tab.model, 0)[3] == "Imported 2 records: 2 new, 0 updated"
    assert people.get_person(office, person.id).family_name == "Bloggs"
    assert any({"people", "sync"} <= topics for topics in announced)
    assert list((office.db.data_dir / "backups").glob("*before-import*"))
    shot(office_page, "sync-import-result")

    # the same bundle again: no preview needed, nothing changes
    again = import_files(qtbot, office_page, monkeypatch, written[0])
    assert again is None
    assert "already imported; nothing changed" in tab.summary.text()
    data_bus().changed.disconnect(announced.append)


def test_import_counts_records_per_kind_and_add_up(qtbot, world, settings, monkeypatch, tmp_path) -> None:  # noqa: ANN001
    """A real bundle whose records changed more than once: the preview counts records per kind (not
    changes), and the result's parts add up to the same number."""
    per, office = world["PER"], world.office
    person = people.create_person(per, given_name="Jo", family_name="Bloggs")
    people.update_person(per, person.id, notes="first")
    people.update_person(per, person.id, notes="second")  # one record, three changes
    sessions.save_session(per, date=dt.date.today(), start_time="10:00", end_time="11:00", location="Hall",
                          activity_type_id="act-cafe")
    [written] = sync.export_bundles(per, tmp_path)
    page = sync_page(qtbot, office, settings)
    dialog = import_files(qtbot, page, monkeypatch, written.path, accept=False)
    details = dialog.details.text()
    [checked] = dialog.files
    kinds = checked.records
    assert kinds == {"person": 1, "session": 1, "app_user": 1} and checked.record_total == sum(kinds.values()) == 3
    assert (f"It brings 3 records: 1 person, 1 session, 1 staff name (who recorded) ({written.changes} changes "
            "in all: a record can change more than once).") in details
    assert cells(dialog.model, 0)[4] == "3"
    tab = page.import_tab
    qtbot.keyClick(dialog.view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.summary.isVisible() and page.idle and not tab.busy, timeout=WAIT_MS)
    [outcome] = tab.outcomes
    assert outcome.result.records == checked.record_total  # what the preview said is what the result counts
    assert cells(tab.model, 0)[3] == "Imported 3 records: 3 new, 0 updated"
    assert tab.summary.text().startswith("Imported 1 bundle, 3 records: 3 new, 0 updated.")


def test_export_at_the_office_for_one_or_all_establishments(qtbot, world, settings, monkeypatch,  # noqa: ANN001
                                                            tmp_path) -> None:
    office = world.office
    page = sync_page(qtbot, office, settings)
    export = page.export_tab
    assert export.target.isVisible()
    assert [export.target.itemText(i) for i in range(export.target.count())] == [
        "All establishments (2)", "HMP Barlinnie (BAR)", "HMP Perth (PER)"]
    folder = tmp_path / "out"
    folder.mkdir()
    choose_folder(monkeypatch, folder)
    export.full.setChecked(True)
    qtbot.mouseClick(export.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: export.done_box.isVisible(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: page.idle, timeout=WAIT_MS)
    assert len(list(folder.glob("*.srcbundle"))) == 2
    assert export.file_label.text() == "2 bundles, one for each establishment"
    assert export.model.rowCount() == 2 and export.view.isVisible()
    assert [cells(export.model, i)[4] for i in range(2)] == sorted(p.name for p in folder.glob("*.srcbundle"))
    assert sorted(r.recipient_name for r in export.results) == ["HMP Barlinnie", "HMP Perth"]
    shot(page, "sync-export-office")

    # one establishment
    export.done_box.hide()
    export.target.setCurrentIndex(export.target.findText("HMP Perth (PER)"))
    qtbot.mouseClick(export.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: export.done_box.isVisible(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: page.idle, timeout=WAIT_MS)
    assert len(export.results) == 1 and export.results[0].recipient_name == "HMP Perth"
    assert export.file_label.text() == export.results[0].path.name and not export.view.isVisible()
    assert "For HMP Perth: bundle 2" in export.result.text()  # Perth's second bundle from the office


def test_no_recipient_enrolled_points_to_trust(qtbot, settings, tmp_path) -> None:  # noqa: ANN001
    lonely = init_installation(tmp_path / "dum", establishment="DUM", office=False, admin_username="dumadmin",
                               admin_name="DUM Admin", admin_password=PASSWORD)
    try:
        page = sync_page(qtbot, lonely, settings)
        export = page.export_tab
        assert not export.button.isEnabled()
        assert export.missing.isVisible() and "Trust tab" in export.missing.text()
        assert "not enrolled" in export.missing.text()
        shot(page, "sync-export-nobody")
        trust_tab = page.show_tab("trust")
        assert trust_tab.empty.isVisible() and "office is not enrolled" in trust_tab.empty.text()

        # the keyboard: Alt + the tab's letter, then the buttons' own letters; Escape closes a dialog
        for tab in (page.export_tab, page.import_tab, page.history_tab, page.trust_tab, page.conflicts_tab):
            page.tabs.setCurrentWidget(tab)
            keys = mnemonics(page.tabs.tabBar()) + mnemonics(tab)
            assert len(keys) == len(set(keys)), f"two controls share a letter on {tab.objectName()}: {keys}"
            assert not set(keys) & {"f", "h"}  # the File and Help menus
            assert unnamed(page) == [], tab.objectName()
        page.tabs.setCurrentIndex(0)
        page.tabs.setFocus()
        qtbot.keyClick(page, Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier)
        assert page.tabs.currentWidget() is page.history_tab
        qtbot.keyClick(page, Qt.Key.Key_T, Qt.KeyboardModifier.AltModifier)
        assert page.tabs.currentWidget() is trust_tab
        qtbot.keyClick(page, Qt.Key.Key_N, Qt.KeyboardModifier.AltModifier)  # E&nrol… (clicks after a moment)
        qtbot.waitUntil(lambda: trust_tab.dialog is not None, timeout=WAIT_MS)
        dialog = trust_tab.dialog
        assert isinstance(dialog, EnrolDialog) and dialog.isVisible()
        with qtbot.waitSignal(dialog.finished, timeout=WAIT_MS):
            qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    finally:
        lonely.db.close()


# -- refusals --------------------------------------------------------------------------------------

def test_a_tampered_bundle_is_refused_with_its_reason(qtbot, world, settings, monkeypatch, tmp_path,  # noqa: ANN001
                                                      table_hash) -> None:
    per, office = world["PER"], world.office
    people.create_person(per, given_name="Jo", family_name="Bloggs")
    good = world.export(per)
    bad = tmp_path / good.name
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0x01
    bad.write_bytes(bytes(data))
    junk = tmp_path / "notes.srcbundle"
    junk.write_text("not a bundle at all")
    try:
        sync.verify_bundle(office, bad)
    except BundleRefused as exc:
        reason = str(exc)
    else:
        raise AssertionError("the tampered bundle was accepted")
    before = table_hash(office)
    page = sync_page(qtbot, office, settings)
    tab = page.import_tab
    dialog = import_files(qtbot, page, monkeypatch, bad, junk)
    assert dialog is None  # nothing could be imported: no preview, the reasons at once
    assert reason in tab.summary.text() and f"{bad.name} was refused" in tab.summary.text()
    assert [cells(tab.model, i)[3].startswith("Refused: ") for i in range(2)] == [True, True]
    assert reason in cells(tab.model, 0)[3]
    assert tab.button.isEnabled()
    assert table_hash(office) == before
    shot(page, "sync-import-refused")

    # a good bundle with a refused one: the preview lists both; only the good one is imported
    dialog = import_files(qtbot, page, monkeypatch, good, bad, accept=False)
    assert dialog is not None and dialog.import_button.text() == "&Import 1 bundle"
    assert "Refused" in cells(dialog.model, 1)[5]
    qtbot.keyClick(dialog.view, Qt.Key.Key_Down)
    assert reason in dialog.details.text()
    qtbot.keyClick(dialog.view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.summary.isVisible() and page.idle and not tab.busy, timeout=WAIT_MS)
    assert "Imported 1 bundle" in tab.summary.text() and f"{bad.name} was refused" in tab.summary.text()
    assert tab.model.rowCount() == 2
    assert cells(tab.model, 0)[3].startswith("Imported 2 records: 2 new") and cells(tab.model, 1)[3].startswith("Refused: ")
    assert tab.model.index(1, 0).data(Qt.ItemDataRole.ForegroundRole) is not None  # the refusal in red


def test_cancelling_the_preview_imports_nothing(qtbot, world, settings, monkeypatch, table_hash) -> None:  # noqa: ANN001
    per, office = world["PER"], world.office
    people.create_person(per, given_name="Jo", family_name="Bloggs")
    path = world.export(per)
    before = table_hash(office)
    page = sync_page(qtbot, office, settings)
    dialog = import_files(qtbot, page, monkeypatch, path, accept=False)
    assert page.import_tab.busy and not page.idle  # the import waits for the answer
    cancel(qtbot, page, dialog)
    assert page.import_tab.status.text() == "Nothing was imported."
    assert table_hash(office) == before
    backups = office.db.data_dir / "backups"
    assert not backups.is_dir() or not any(backups.iterdir())  # the backup made meanwhile is not kept
    assert page.import_tab.button.isEnabled()


def test_the_page_imports_several_bundles_through_import_bundles_with_one_backup(  # noqa: ANN001
        qtbot, world, settings, monkeypatch) -> None:
    """Three files, one preview, one backup made while it is read (it can't finish before the test
    lets it: the preview is seen while it runs), the progress dialog back while it finishes."""
    per, bar, office = world["PER"], world["BAR"], world.office
    people.create_person(per, given_name="Jo", family_name="Bloggs")
    first = world.export(per)
    people.create_person(per, given_name="Sam", family_name="Smith")
    second = world.export(per)
    people.create_person(bar, given_name="Cal", family_name="Barr")
    third = world.export(bar)
    calls: list[tuple] = []
    real_import = sync.import_bundles

    def spy(ctx, paths, **kwargs):  # noqa: ANN001, ANN202
        calls.append((tuple(paths), sorted(kwargs)))
        return real_import(ctx, paths, **kwargs)

    events: list[str] = []
    release = threading.Event()
    real_backup = importing.timestamped_backup

    def backup(data_dir: Path, reason: str, **kw) -> Path:  # noqa: ANN003
        events.append("backup started")
        release.wait(WAIT_MS / 1000)
        made = real_backup(data_dir, reason, **kw)
        events.append("backup finished")
        return made

    monkeypatch.setattr(sync, "import_bundles", spy)
    monkeypatch.setattr(importing, "timestamped_backup", backup)
    page = sync_page(qtbot, office, settings)
    tab = page.import_tab
    dialog = import_files(qtbot, page, monkeypatch, second, third, first, accept=False)
    qtbot.waitUntil(lambda: events == ["backup started"], timeout=WAIT_MS)  # while the preview is read
    assert dialog.import_button.text() == "&Import 3 bundles" and "backing up" in tab.status.text()
    assert [cells(dialog.model, i)[5] for i in range(3)] == ["Ready"] * 3  # Perth's 1 comes with them
    qtbot.keyClick(dialog.view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.progress is not None and tab.progress.isVisible(), timeout=WAIT_MS)
    assert tab.progress.labelText() == "Finishing the backup of the data…" and "backup finished" not in events
    release.set()
    qtbot.waitUntil(lambda: tab.summary.isVisible() and page.idle and not tab.busy, timeout=WAIT_MS)
    assert calls == [((second, third, first), ["preview", "progress"])]
    assert events == ["backup started", "backup finished"]
    assert len(list((office.db.data_dir / "backups").glob("*before-import*"))) == 1
    assert tab.summary.text().startswith("Imported 3 bundles, 5 records: 5 new, 0 updated.")
    assert [cells(tab.model, i)[:3] for i in range(3)] == [
        [second.name, "HMP Perth", "2"], [third.name, "HMP Barlinnie", "1"], [first.name, "HMP Perth", "1"]]


def test_closing_the_preview_without_an_answer_ends_the_import(qtbot, world, settings, monkeypatch,  # noqa: ANN001
                                                               table_hash) -> None:
    """The app quitting hides the preview (it does not close it); a page deleted meanwhile takes it
    with it. Either way the import stops waiting, and nothing is applied."""
    per, office = world["PER"], world.office
    people.create_person(per, given_name="Jo", family_name="Bloggs")
    path = world.export(per)
    before = table_hash(office)
    page = sync_page(qtbot, office, settings)
    dialog = import_files(qtbot, page, monkeypatch, path, accept=False)
    dialog.hide()
    qtbot.waitUntil(lambda: page.idle and not page.import_tab.busy, timeout=WAIT_MS)
    assert page.import_tab.status.text() == "Nothing was imported."

    other = SyncPage(office, settings=settings)  # not kept by qtbot: deleted here
    other.show()
    other.activate()
    qtbot.waitUntil(lambda: other.idle, timeout=WAIT_MS)
    dialog = import_files(qtbot, other, monkeypatch, path, accept=False)
    assert dialog.isVisible()
    other.deleteLater()
    qtbot.waitUntil(lambda: pending_tasks() == 0, timeout=WAIT_MS)
    assert table_hash(office) == before


# -- held records: in the results and in the history --------------------------------------------------

REASON = ("session would end (10:30) before it starts (10:45): its times were changed on two PCs; "
          "set them again here to release it")


def test_held_records_are_shown_in_the_results_and_the_history(qtbot, world, settings, monkeypatch,  # noqa: ANN001
                                                               tmp_path) -> None:
    """Two PCs change a session's times: together it would end before it starts. The import holds
    it (with the reason) and applies the rest; the history lists it under its bundle until a person
    fixes it. A refused file sits beside it."""
    office, per = world.office, world["PER"]
    s = sessions.save_session(per, date=dt.date.today(), start_time="10:00", end_time="11:00",
                              activity_type_id="act-cafe").session
    other = people.create_person(per, given_name="Al", family_name="Other")
    world.send(per, office)
    sessions.save_session(office, s.id, end_time="10:30")
    sessions.save_session(per, s.id, start_time="10:45")
    people.update_person(per, other.id, notes="still applies")
    held_bundle = world.export(per)
    people.create_person(world["BAR"], given_name="Cal", family_name="Barr")
    good = world.export(world["BAR"])
    bad = tmp_path / good.name
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0x01
    bad.write_bytes(bytes(data))

    page = sync_page(qtbot, office, settings)
    tab = page.import_tab
    dialog = import_files(qtbot, page, monkeypatch, held_bundle, bad, accept=False)
    shot(dialog, "sync-import-preview-refusal")
    qtbot.keyClick(dialog.view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.summary.isVisible() and page.idle and not tab.busy, timeout=WAIT_MS)
    summary = tab.summary.text()
    assert summary.startswith("Imported 1 bundle, 2 records: 0 new, 1 updated, 1 held (can't be applied yet).")
    assert "1 record can't be applied yet and stays as it was: Session: " in summary
    assert REASON in summary and sync.HELD_RETRIED in summary
    assert f"{bad.name} was refused" in summary
    rows = [cells(tab.model, i) for i in range(tab.model.rowCount())]
    assert [r[0] for r in rows] == [held_bundle.name, rows[1][0], bad.name] and rows[1][0].startswith("Held: Session")
    assert rows[1][3] == f"Held: its {REASON}. Tried again at every import."
    assert rows[0][3].startswith("Imported 2 records: 0 new, 1 updated, 1 held")
    assert all(tab.model.index(i, 0).data(Qt.ItemDataRole.ForegroundRole) is not None for i in (1, 2))
    assert unnamed(page) == []
    shot(page, "sync-import-results")

    history = page.show_tab("history")
    qtbot.waitUntil(lambda: page.idle and history.model.rowCount() == 3, timeout=WAIT_MS)
    rows = [cells(history.model, i) for i in range(3)]
    assert [r[1:3] for r in rows] == [["Received", "2"], ["Held record", "2"], ["Received", "1"]]
    assert rows[0][7] == "2 records: 0 new, 1 updated, 1 held (can't be applied yet)"
    assert rows[1][7].startswith("Session: ") and rows[1][7].endswith(
        f" — its {REASON}; still held; tried again at every import.")
    assert history.held_warning.isVisible() and history.held_warning.text().startswith("1 record is held: ")
    assert history.model.index(1, 0).data(Qt.ItemDataRole.ForegroundRole) is not None
    history.view.setFocus()
    qtbot.keyClick(history.view, Qt.Key.Key_Home)
    qtbot.keyClick(history.view, Qt.Key.Key_Down)
    assert history.details.isVisible() and "Held from bundle 2 from HMP Perth" in history.details.text()
    shot(page, "sync-history-held")

    sessions.save_session(office, s.id, end_time="11:30")  # a person fixes it here: released
    data_bus().announce("sync")
    qtbot.waitUntil(lambda: page.idle and not history.held_warning.isVisible(), timeout=WAIT_MS)
    assert cells(history.model, 1)[7].endswith("; applied since.")
    assert history.model.index(1, 0).data(Qt.ItemDataRole.ForegroundRole) is None


# -- history with a gap ----------------------------------------------------------------------------

def test_history_shows_a_missing_bundle_until_it_arrives(qtbot, world, settings, monkeypatch) -> None:  # noqa: ANN001
    per, office = world["PER"], world.office
    people.create_person(per, given_name="Jo", family_name="Bloggs")
    first = world.export(per)
    people.create_person(per, given_name="Sam", family_name="Smith")
    second = world.export(per)
    page = sync_page(qtbot, office, settings)
    dialog = import_files(qtbot, page, monkeypatch, second, accept=False)
    assert "Bundle 1 from HMP Perth has not been imported yet." in dialog.details.text()
    assert cells(dialog.model, 0)[5] == "Ready (bundle 1 not here yet)"
    assert dialog.focusWidget() is dialog.view
    qtbot.keyClick(dialog.view, Qt.Key.Key_Return)  # Enter: the default button, Import
    qtbot.waitUntil(lambda: page.import_tab.summary.isVisible() and page.idle, timeout=WAIT_MS)

    history = page.show_tab("history")
    qtbot.waitUntil(lambda: page.idle and history.model.rowCount() == 2, timeout=WAIT_MS)
    assert history.gap_warning.isVisible()
    assert history.gap_warning.text() == "Bundle 1 from HMP Perth has not been imported yet."
    rows = [cells(history.model, i) for i in range(2)]
    assert rows[0][:3] == ["HMP Perth", "Received", "2"] and rows[0][7].startswith("1 record: 1 new")
    assert rows[1][:3] == ["HMP Perth", "Missing", "1"] and rows[1][7].startswith("Not imported yet")
    colour = history.model.index(1, 0).data(Qt.ItemDataRole.ForegroundRole)
    assert colour is not None and history.model.index(0, 0).data(Qt.ItemDataRole.ForegroundRole) is None
    shot(page, "sync-history-gap")

    import_files(qtbot, page, monkeypatch, first)
    page.show_tab("history")
    qtbot.waitUntil(lambda: page.idle and not history.gap_warning.isVisible(), timeout=WAIT_MS)
    assert [cells(history.model, i)[2] for i in range(history.model.rowCount())] == ["2", "1"]


# -- trust -----------------------------------------------------------------------------------------

def test_trust_shows_the_fingerprint_and_enrols_only_with_the_right_one(qtbot, world, settings,  # noqa: ANN001
                                                                        tmp_path) -> None:
    office = world.office
    page = sync_page(qtbot, office, settings)
    tab = page.show_tab("trust")
    me = trust.my_identity(office)
    assert tab.fingerprint.text() == me.fingerprint and len(me.fingerprint.split()) == 8  # one line, read by phone
    names = [r.name for r in tab.model.rows]
    assert names == ["HMP Barlinnie", "HMP Perth"]
    per_row = cells(tab.model, 1)
    assert per_row[1] == "PER" and per_row[2].startswith("Enrolled") and per_row[3] == "none yet"
    assert per_row[4] == trust.my_identity(world["PER"]).fingerprint
    shot(page, "sync-trust")

    # a new establishment PC's card
    dum = init_installation(tmp_path / "dum", establishment="DUM", office=False, admin_username="dumadmin",
                            admin_name="DUM Admin", admin_password=PASSWORD)
    try:
        card = tmp_path / "dum.card"
        trust.export_card(dum, card)
        right = trust.my_identity(dum).fingerprint
    finally:
        dum.db.close()
    qtbot.mouseClick(tab.enrol_button, Qt.MouseButton.LeftButton)
    dialog = tab.dialog
    assert isinstance(dialog, EnrolDialog) and dialog.isVisible()
    assert unnamed(dialog) == []
    dialog.set_card(card)
    qtbot.waitUntil(lambda: dialog.card_info.isVisible(), timeout=WAIT_MS)
    assert "HMP Dumfries (DUM), an establishment PC" in dialog.card_info.text()
    wrong = trust.my_identity(world["PER"]).fingerprint
    qtbot.keyClicks(dialog.fingerprint, wrong)
    shot(dialog, "sync-enrol")
    qtbot.keyClick(dialog.fingerprint, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.general_error.isVisible(), timeout=WAIT_MS)
    assert "does not match this card" in dialog.general_error.text()
    groups = right.split()
    groups[2] = "ZZZZ" if groups[2] != "ZZZZ" else "YYYY"
    dialog.fingerprint.setText(" ".join(groups))
    qtbot.keyClick(dialog.fingerprint, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "group 3 of 8 differs" in dialog.general_error.text(), timeout=WAIT_MS)
    dialog.fingerprint.setText(wrong)
    assert dialog.isVisible()
    shot(dialog, "sync-enrol-refused")
    assert "DUM" not in [t.establishment_code for t in trust.trusted_installations(office)]

    dialog.fingerprint.setText(right.lower().replace(" ", "-"))
    with qtbot.waitSignal(dialog.finished, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.idle and tab.model.rowCount() == 3, timeout=WAIT_MS)
    assert "HMP Dumfries (DUM) is enrolled" in tab.status.text()
    assert "DUM" in [t.establishment_code for t in trust.trusted_installations(office)]


def test_revoke_asks_and_is_permanent(qtbot, world, settings) -> None:  # noqa: ANN001
    office = world.office
    page = sync_page(qtbot, office, settings)
    tab = page.show_tab("trust")
    assert not tab.revoke_button.isEnabled()  # nothing chosen yet
    tab.view.selectRow(0)
    assert tab.selected().name == "HMP Barlinnie" and tab.revoke_button.isEnabled()
    qtbot.mouseClick(tab.revoke_button, Qt.MouseButton.LeftButton)
    dialog = tab.dialog
    assert dialog.isVisible()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)  # no reason yet
    assert dialog.errors["reason"].isVisible() and dialog.question_box is None
    qtbot.keyClicks(dialog.reason, "The PC was stolen")
    assert unnamed(dialog) == []
    shot(dialog, "sync-revoke")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    box = dialog.question_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "for good" in box.text() and "permanent" in box.informativeText()
    # "no" is the default: Escape keeps it
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    assert not trust.trusted_installations(office)[0].is_revoked
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    box = dialog.question_box
    with qtbot.waitSignal(dialog.finished, timeout=WAIT_MS):
        qtbot.mouseClick(box.findChild(type(dialog.save_button), "confirmYes"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.idle, timeout=WAIT_MS)
    barlinnie = next(t for t in trust.trusted_installations(office) if t.name == "HMP Barlinnie")
    assert barlinnie.is_revoked and barlinnie.revoked_reason == "The PC was stolen"
    assert tab.status.text() == "HMP Barlinnie is revoked: every bundle it signs is refused."
    row = tab.model.find(lambda t: t.name == "HMP Barlinnie")
    assert cells(tab.model, row)[2].startswith("Revoked")
    tab.view.selectRow(row)
    assert not tab.revoke_button.isEnabled()  # once revoked, for good
    # the export list no longer offers it
    qtbot.waitUntil(lambda: page.export_tab.target.findText("HMP Barlinnie (BAR)") < 0, timeout=WAIT_MS)
    shot(page, "sync-trust-revoked")


def test_coordinators_see_trust_but_cannot_change_it(qtbot, world, settings) -> None:  # noqa: ANN001
    office = world.office
    colin = Context(office.db, office.installation,
                    add_user(office, "colin", "Colin Coordinator", "coordinator", PASSWORD))
    page = sync_page(qtbot, colin, settings)
    tab = page.show_tab("trust")
    assert tab.fingerprint.text()
    assert not tab.enrol_button.isEnabled() and "Only an administrator" in tab.enrol_button.toolTip()
    assert not tab.card_button.isEnabled() and "Only an administrator" in tab.card_button.toolTip()
    tab.view.selectRow(0)
    assert not tab.revoke_button.isEnabled() and "Only an administrator" in tab.revoke_button.toolTip()
    assert page.export_tab.button.isEnabled()  # coordinators do export and import


def test_export_the_enrolment_card(qtbot, world, settings, monkeypatch, tmp_path) -> None:  # noqa: ANN001
    per = world["PER"]
    page = sync_page(qtbot, per, settings)
    tab = page.show_tab("trust")
    target = tmp_path / "per-enrolment.card"
    monkeypatch.setattr(SyncPage, "ask_card_path",
                        classmethod(lambda _cls, _p, start, on_chosen: on_chosen(target)))
    qtbot.mouseClick(tab.card_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Wrote the enrolment card" in tab.status.text(), timeout=WAIT_MS)
    assert target.is_file() and trust.my_identity(per).fingerprint in tab.status.text()
    # a second time to the same file: the service refuses to overwrite, and says so
    qtbot.mouseClick(tab.card_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.error.isVisible(), timeout=WAIT_MS)
    assert "already exists" in tab.error.text()


# -- conflicts -------------------------------------------------------------------------------------

def test_conflicts_keep_use_other_and_edit(qtbot, world, settings) -> None:  # noqa: ANN001
    per, office = world["PER"], world.office
    names = ["Ann", "Ben", "Cat"]
    made = {n: people.create_person(per, given_name=n, family_name="Case") for n in names}
    gone = people.create_person(per, given_name="Dee", family_name="Case")
    world.send(per, office)
    for n in names:
        people.update_person(office, made[n].id, notes=f"office note for {n}")
    people.delete_person(office, gone.id, "registered twice")
    for n in names:
        people.update_person(per, made[n].id, notes=f"per note for {n}")
    people.update_person(per, gone.id, notes="per note for Dee")
    world.send(office, per)
    world.send(per, office)
    assert conflicts.count_conflicts(office) == 4

    page = sync_page(qtbot, office, settings)
    tab = page.show_tab("conflicts")
    assert tab.model.rowCount() == 4 and page.conflict_count == 4
    assert page.tabs.tabText(page.tabs.indexOf(tab)) == "&Conflicts (4)"

    def pick(record: str, field: str = "Notes") -> None:
        number = tab.model.find(lambda c: c.record == record and c.field_label == field)
        assert number >= 0
        tab.view.selectRow(number)

    def settle(button) -> None:  # noqa: ANN001
        before = tab.model.rowCount()
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: page.idle and tab.model.rowCount() == before - 1, timeout=WAIT_MS)

    pick("Person: Ann Case")
    row = cells(tab.model, tab.view.currentIndex().row())
    assert [row[i] for i in (0, 1, 2, 4)] == ["Person: Ann Case", "Notes", "per note for Ann", "office note for Ann"]
    assert row[3] == "PER Admin, HMP Perth" and row[5] == "PHR Officer, this PC"
    assert tab.model.index(tab.view.currentIndex().row(), 3).data(Qt.ItemDataRole.ToolTipRole).startswith(
        "PER Admin at HMP Perth, ")  # and when
    assert tab.current_box.origin.text().startswith("Set by PER Admin at HMP Perth, ")
    assert tab.current_box.value.text() == "per note for Ann"
    assert tab.other_box.value.text() == "office note for Ann"
    assert tab.keep_button.text() == "&Keep current" and tab.edit_button.isEnabled()
    shot(page, "sync-conflicts")
    settle(tab.keep_button)
    assert people.get_person(office, made["Ann"].id).notes == "per note for Ann"
    assert page.tabs.tabText(page.tabs.indexOf(tab)) == "&Conflicts (3)"
    assert "Kept the current notes of Person: Ann Case" in tab.status.text()

    pick("Person: Ben Case")
    settle(tab.other_button)
    assert people.get_person(office, made["Ben"].id).notes == "office note for Ben"

    pick("Person: Cat Case")
    qtbot.mouseClick(tab.edit_button, Qt.MouseButton.LeftButton)
    dialog = tab.dialog
    assert dialog.isVisible() and dialog.value.toPlainText() == "per note for Cat"
    assert unnamed(dialog) == [] and unnamed(page) == []
    shot(dialog, "sync-conflict-edit")
    dialog.value.setPlainText("agreed note for Cat")
    before = tab.model.rowCount()
    with qtbot.waitSignal(dialog.finished, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.idle and tab.model.rowCount() == before - 1, timeout=WAIT_MS)
    assert people.get_person(office, made["Cat"].id).notes == "agreed note for Cat"

    # deleted while being edited: keep deleted or restore, never edit
    pick("Person: Dee Case", "Deleted while being edited")
    assert tab.keep_button.text() == "&Keep deleted"
    assert tab.other_button.text() == "&Restore with the edit"
    assert not tab.edit_button.isEnabled()
    assert tab.current_box.value.text() == "Deleted (reason: registered twice)"
    assert "notes: per note for Dee" in tab.other_box.value.text()
    shot(page, "sync-conflicts-deleted")
    settle(tab.other_button)
    assert people.get_person(office, gone.id).notes == "per note for Dee"

    assert conflicts.count_conflicts(office) == 0
    assert tab.empty.isVisible() and page.tabs.tabText(page.tabs.indexOf(tab)) == "&Conflicts"
    # the decisions travel: Perth's conflicts go too
    world.send(office, per)
    assert conflicts.count_conflicts(per) == 0
    assert people.get_person(per, made["Cat"].id).notes == "agreed note for Cat"


def test_a_sent_bundle_is_described_with_its_recipient_as_named() -> None:
    from srcdesk.ui.pages.sync.history_tab import HistoryRow, row_details

    row = HistoryRow(origin="Here", direction="Sent to HMP Perth", seq="4", file="office-to-PER-1a2b3c4d-000004.srcb",
                     recorded=dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC), changes=12)
    text = row_details(row)
    assert text.startswith("office-to-PER-1a2b3c4d-000004.srcb: bundle 4, sent to HMP Perth, written ")
    assert text.endswith(": 12 changes.")


def test_the_office_is_not_named_twice() -> None:
    from srcdesk.ui.sync_dialogs import with_kind

    assert with_kind("SRC office", "the SRC office", office=True) == "SRC office"
    assert with_kind("Head quarters", "the SRC office", office=True) == "Head quarters (the SRC office)"
    assert with_kind("HMP Perth (PER)", "an establishment PC", office=False) == "HMP Perth (PER) (an establishment PC)"
