"""What a liberation record prints, gathered once and frozen (``liberation_record.content``).

The record is the person's own: the recovery journey they made in custody, in their own words,
what they did (sessions, programmes and modules completed, steps on the peer-volunteer ladder),
their certificates with the serials and codes that let anyone check them, and the Lived
Experience Recovery Organisations (LEROs), recovery communities and services in the council
area they go home to.

:func:`srcdesk.services.liberation.gather` reads the database once and returns the plain dict
described here (version :data:`VERSION`), JSON as it is (:func:`to_json` / :func:`from_json`);
every print of the record, the first and any reprint, is made from that dict alone
(:mod:`srcdesk.reports.liberation`), so a reprint shows what the first print showed. This module
is pure: no database, no Qt.

The dict: ``v``; ``name`` (given and family name); ``made_on`` (ISO date); ``made_at`` (the
establishment's name, or the SRC at the office); ``establishments`` (names, where the journey
happened); ``area`` (the council area they go to); ``own_words``; ``sessions`` (``count``,
``first``, ``last``); ``programmes`` and ``modules`` (``code``, ``name``, ``completed_on``, a
module's ``programme``); ``ladder`` (``level``, ``name``, ``achieved_on``); ``certificates``
(``serial``, ``title``, ``kind``, ``issued_on``, ``code``: the signed text of its QR code);
``organisations`` (``name``, ``kind``, ``kind_label``, ``offers``, ``contact``).

Never in it: the prison number (``person.external_ref``), the person's notes, anything about
offences, the staff who recorded things. The completion rules are the certificates' own
(:mod:`srcdesk.services.completion`): a module without a rule is completed by attending one of
its sessions, a programme without a rule when every current module is.
"""

from __future__ import annotations

import json
import re
from typing import Any

VERSION = 1
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')
OFFICE_PLACE = "Scottish Recovery Consortium"
# LEROs and recovery communities first (peers who have been there), then services.


def person_name(person: Any) -> str:
    """The name as printed: given and family name."""
    return " ".join(part for part in ((person.given_name or "").strip(), (person.family_name or "").strip()) if part)


def to_json(content: dict[str, Any]) -> str:
    """Canonical JSON (sorted keys): what is stored and what every reprint reads."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def from_json(text: str) -> dict[str, Any]:
    content = json.loads(text)
    if not isinstance(content, dict) or content.get("v") != VERSION:
        raise ValueError(f"liberation record content in version {content.get('v')!r}, not {VERSION}")
    return content


def sections(content: dict[str, Any]) -> list[tuple[str, int]]:
    """What will be printed, section by section with a count (the dialog's preview)."""
    return [
        ("In their own words", 1 if content.get("own_words") else 0),
        ("Sessions attended", content["sessions"]["count"]),
        ("Programmes completed", len(content["programmes"])),
        ("Modules completed", len(content["modules"])),
        ("Steps on the recovery ladder", len(content["ladder"])),
        ("Certificates, with serials", len(content["certificates"])),
        (f"Recovery communities and services in {content['area']}", len(content["organisations"])),
    ]


def file_name(content: dict[str, Any]) -> str:
    """"Liberation record - Given Family.pdf" (safe as a file name on every system)."""
    name = " ".join(_UNSAFE.sub(" ", content.get("name", "")).split()).strip(". ") or "person"
    return f"Liberation record - {name}.pdf"
