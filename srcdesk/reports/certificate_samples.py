"""Made-up certificates (nobody real) for the bench, the tests and the README's picture.

Each is signed like a real one (:func:`srcdesk.sync.certcode.sign`) with the key given, so its
QR code verifies against that key.
"""

from __future__ import annotations

import datetime as dt

from ..sync import certcode
from ..sync.minisign import SigningKey
from .certificate_content import CertificateContent, Signatory

SIGNATORIES = (Signatory("Morag Fleming", "Prison and Healthcare Recovery Officer"),
               Signatory("Alasdair Reid", "Recovery Development Coordinator, HMP Perth"))
FOOTER = "Scottish Recovery Consortium \u00b7 Recovery Development in Scotland's Prisons"

#: (kind, name, statement, title, detail, award code)
KINDS = (
    ("programme", "Jamie Robertson", "has successfully completed",
     "Recovery Community Development Training Programme", "All six modules, 2026", "RCDT"),
    ("module", "Sam O'Neill", "has successfully completed",
     "Module 3: Building Recovery Capital",
     "A module of the Recovery Community Development Training Programme", "RCDT-M3"),
    ("milestone", "Chris MacLeod", "has achieved",
     "Peer Volunteer, Level 2: Recovery Champion", "Of the peer-volunteer ladder", "PV2"),
    ("programme", "Alexandra Catriona Montgomery-Fitzwilliam MacDonald-Stewart", "has successfully completed",
     "Training 4 Trainers: facilitating recovery community sessions in custody and in the community",
     "A programme of the Scottish Recovery Consortium", "T4T"),
)


def sample_content(key: SigningKey, number: int = 1, *, kind: int | None = None,
                   issued_on: dt.date = dt.date(2026, 12, 3), place: str = "HMP Perth",
                   establishment_code: str = "PER", name: str | None = None,
                   signatories: tuple[Signatory, ...] = SIGNATORIES, footer: str = FOOTER) -> CertificateContent:
    """The ``number``-th made-up certificate (its kind cycles through :data:`KINDS`)."""
    which, person, statement, title, detail, award = KINDS[(number - 1) % len(KINDS) if kind is None else kind]
    person = name or person
    serial = f"SRC-{establishment_code}-{issued_on.year}-3F9A-{number:06d}"
    code = certcode.sign(key, serial=serial, award_code=award, issued_on=issued_on,
                         establishment_code=establishment_code, name=person)
    return CertificateContent(
        serial=serial, name=person, title=title, kind=which, statement=statement, detail=detail,
        issued_on=issued_on, place=place, establishment_code=establishment_code, award_code=award,
        code=code, signatories=signatories, footer=footer)


def sample_contents(key: SigningKey, count: int) -> list[CertificateContent]:
    return [sample_content(key, n) for n in range(1, count + 1)]
