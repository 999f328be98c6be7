"""Sync: carry changes between this PC and the SRC office in signed, encrypted bundle files.

Five tabs, one module each:

* **Export** (:mod:`.export_tab`) — an establishment writes a bundle for the office into a folder
  or USB drive it chooses; the office writes one for an establishment, or one for each.
* **Import** (:mod:`.import_tab`) — bundle files are chosen; :func:`srcdesk.services.sync.import_bundles`
  checks each once, backs up the data while the preview is read (asked on the UI thread through
  :class:`.asking.Question`), then applies them; the outcome or the refusal of each is listed,
  with the records an import held and why.
* **History** (:mod:`.history_tab`) — bundles sent and received per origin; bundles missing from an
  origin's sequence and records still held are shown in a warning colour.
* **Trust** (:mod:`.trust_tab`) — this PC's fingerprint, its enrolment card, and the installations
  it trusts; administrators enrol (card + fingerprint read out by phone) and revoke.
* **Conflicts** (:mod:`.conflicts_tab`) — values that lost a merge, beside the value shown now;
  keep, use the other, or edit. The tab's title (and :attr:`SyncPage.conflictsChanged`) carries
  the count.

Every call that touches the database or a file runs in the background. The file choosers are
classmethods (:meth:`SyncPage.ask_folder`, :meth:`SyncPage.ask_files`,
:meth:`SyncPage.ask_card_path`) so tests can replace them.
"""

from .page import SyncPage

__all__ = ["SyncPage"]
