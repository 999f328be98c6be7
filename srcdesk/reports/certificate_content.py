"""What a certificate prints, frozen at issue (``certificate.content``).

The issuing service builds a :class:`CertificateContent` once, stores :meth:`to_json` in the
record, and every print (the first, a reprint years later, a copy on another PC) is made from
that JSON and the design's logos, so a reprint shows exactly what the first print showed. A
correction is a reissue: a new serial with content of its own.

No prison number, date of birth or anything about offences is ever part of it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

FORMAT = 1


@dataclass(frozen=True)
class Signatory:
    name: str
    role: str


@dataclass(frozen=True)
class CertificateContent:
    serial: str
    name: str  # the name as printed (the one the person asked for)
    title: str  # what it certifies: "Recovery Community Development Training Programme"
    kind: str  # programme | module | milestone | award
    statement: str  # the words between name and title: "has successfully completed"
    detail: str  # a line under the title ("A module of ..."), or ""
    issued_on: dt.date
    place: str  # the issuing establishment's name, or "Scottish Recovery Consortium" at the office
    establishment_code: str  # "PER", "OFF" at the office
    award_code: str  # the programme's, module's or level's code
    code: str  # the signed text of the QR code (srcdesk.sync.certcode)
    signatories: tuple[Signatory, ...] = field(default_factory=tuple)  # 0 to 2, left to right
    footer: str = ""

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces): the same content gives the same bytes."""
        data: dict[str, Any] = {
            "format": FORMAT, "serial": self.serial, "name": self.name, "title": self.title, "kind": self.kind,
            "statement": self.statement, "detail": self.detail, "issued_on": self.issued_on.isoformat(),
            "place": self.place, "establishment_code": self.establishment_code, "award_code": self.award_code,
            "code": self.code, "signatories": [[s.name, s.role] for s in self.signatories], "footer": self.footer,
        }
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> CertificateContent:
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise ValueError(f"certificate content in format {data.get('format')!r}, not {FORMAT}")
        return cls(
            serial=data["serial"], name=data["name"], title=data["title"], kind=data["kind"],
            statement=data["statement"], detail=data["detail"], issued_on=dt.date.fromisoformat(data["issued_on"]),
            place=data["place"], establishment_code=data["establishment_code"], award_code=data["award_code"],
            code=data["code"], signatories=tuple(Signatory(n, r) for n, r in data["signatories"]),
            footer=data["footer"],
        )
