"""The signed code printed on a certificate as a QR code, which any srcdesk checks offline.

The QR code holds text: ``SRC1:`` and the base45 of a CBOR array (canonical encoding)::

    [1, key_id, serial, award_code, issued_on, establishment_code, name_hash, signature]

- ``1``: the format;
- ``key_id``: the 8-byte minisign key id of the issuing installation's signing key;
- ``serial``: the certificate's serial (``SRC-PER-2026-3F9A-000123``);
- ``award_code``: the code of the programme, module or ladder level it is for (``RCDT``);
- ``issued_on``: the date of issue as the number YYYYMMDD;
- ``establishment_code``: the issuing establishment's code, ``OFF`` at the office;
- ``name_hash``: the first 8 bytes of SHA-256 of the name as printed, normalised
  (:func:`name_hash`): the paper's name can be checked without the code carrying it;
- ``signature``: 64-byte Ed25519 signature, by that signing key, of ``DOMAIN`` followed by the
  CBOR of the first seven items.

About 210 characters, all in the QR alphanumeric set (base45 was made for it): QR version 7 at
error correction M. The signature covers every field, so a flipped character, a code copied onto
another serial or a code signed by a key that isn't known fails.

Nothing here trusts the text: :func:`decode` bounds its length, refuses anything but the canonical
encoding of exactly this array, and :func:`Code.verifies` checks the signature against a key the
caller found for ``key_id`` (an installation it knows).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
from dataclasses import dataclass

import base45
import cbor2

from .minisign import KEY_ID_BYTES, PublicKey, SigningKey

PREFIX = "SRC1:"
FORMAT = 1
DOMAIN = b"srcdesk certificate v1\x00"
MAX_TEXT_CHARS = 400  # a real code is about 210 characters
NAME_HASH_BYTES = 8
SIGNATURE_BYTES = 64
MAX_FIELD_CHARS = 40  # serial, award code, establishment code


class NotACode(ValueError):
    """The text is not a srcdesk certificate code (the reason is the message, one sentence)."""


def normalise_name(name: str) -> str:
    """The name as compared: Unicode NFKC, case-folded, spaces collapsed ("Jo  BLOGGS " -> "jo bloggs")."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def name_hash(name: str) -> bytes:
    return hashlib.sha256(normalise_name(name).encode("utf-8")).digest()[:NAME_HASH_BYTES]


def _day_number(day: dt.date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


@dataclass(frozen=True)
class Code:
    """A decoded certificate code (its signature not yet checked)."""

    key_id: bytes
    serial: str
    award_code: str
    issued_on: dt.date
    establishment_code: str
    name_hash: bytes
    signature: bytes

    def signed_message(self) -> bytes:
        return DOMAIN + cbor2.dumps(
            [FORMAT, self.key_id, self.serial, self.award_code, _day_number(self.issued_on),
             self.establishment_code, self.name_hash], canonical=True)

    def verifies(self, key: PublicKey) -> bool:
        """Whether ``key`` (which must be the key named by ``key_id``) signed this code."""
        return key.key_id == self.key_id and key.verifies(self.signature, self.signed_message())

    def name_matches(self, name: str) -> bool:
        return name_hash(name) == self.name_hash

    def text(self) -> str:
        body = cbor2.dumps(
            [FORMAT, self.key_id, self.serial, self.award_code, _day_number(self.issued_on),
             self.establishment_code, self.name_hash, self.signature], canonical=True)
        return PREFIX + base45.b45encode(body).decode("ascii")


def _field(value: str, what: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_FIELD_CHARS or not value.isascii() \
            or not value.isprintable():
        raise ValueError(f"a certificate's {what} must be 1 to {MAX_FIELD_CHARS} plain characters")
    return value


def sign(key: SigningKey, *, serial: str, award_code: str, issued_on: dt.date, establishment_code: str,
         name: str) -> str:
    """The text of the QR code for a certificate issued with ``key`` (the issuing PC's signing key)."""
    unsigned = Code(key.key_id, _field(serial, "serial"), _field(award_code, "award code"), issued_on,
                    _field(establishment_code, "establishment code"), name_hash(name), b"")
    return Code(**{**unsigned.__dict__, "signature": key.sign_message(unsigned.signed_message())}).text()


def decode(text: str) -> Code:
    """Read a code (as typed by a barcode scanner: surrounding spaces are ignored). NotACode says why not."""
    if not isinstance(text, str):
        raise NotACode("That is not text.")
    text = text.strip()
    if len(text) > MAX_TEXT_CHARS:
        raise NotACode("That is too long to be a certificate's code.")
    if not text.upper().startswith(PREFIX):
        raise NotACode("That is not a srcdesk certificate's code (it should start with SRC1:).")
    try:
        # Scanners may send lower case; base45 is upper case only.
        body = base45.b45decode(text[len(PREFIX):].upper())
    except (ValueError, KeyError, IndexError) as exc:
        raise NotACode("The code is damaged (it is not valid base45).") from exc
    try:
        items = cbor2.loads(body)
    except Exception as exc:  # cbor2 raises several kinds on malformed input
        raise NotACode("The code is damaged (its content can't be read).") from exc
    if not isinstance(items, list) or len(items) != 8 or items[0] != FORMAT or type(items[0]) is not int:
        raise NotACode("The code is not in a format this srcdesk knows.")
    _, key_id, serial, award, day, est, hashed, signature = items
    if not (isinstance(key_id, bytes) and len(key_id) == KEY_ID_BYTES and isinstance(hashed, bytes)
            and len(hashed) == NAME_HASH_BYTES and isinstance(signature, bytes) and len(signature) == SIGNATURE_BYTES
            and type(day) is int):
        raise NotACode("The code is damaged (a field has the wrong size).")
    try:
        for value, what in ((serial, "serial"), (award, "award code"), (est, "establishment code")):
            _field(value, what)
        issued_on = dt.date(day // 10000, day // 100 % 100, day % 100)
    except (ValueError, TypeError) as exc:
        raise NotACode("The code is damaged (a field is not what it should be).") from exc
    code = Code(key_id, serial, award, issued_on, est, hashed, signature)
    if cbor2.dumps(items, canonical=True) != body:
        raise NotACode("The code is damaged (it is not in its one exact form).")
    return code
