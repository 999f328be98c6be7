"""The certificates' design: two signatories (name and role), a footer line, and a logo at each
top corner, kept at the SRC office and sent to every PC in its bundles (``certificate_design``).

Anyone signed in reads it (:func:`design`; every PC prints with the logos). Coordinators at the
office change it (:func:`set_design`); an establishment PC is told at once that it is kept at the
office. The signatories and the footer are frozen into each certificate's content when it is
issued (:func:`design_for_print`), so a change here reaches the certificates issued after it,
never the ones already printed. The logos are read when printing.

Logos are PNG or JPEG files (known by their first bytes), stored base64 and at most
:data:`MAX_LOGO_CHARS` characters so (the Settings page scales a chosen picture down before
saving it; this refuses anything bigger).
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from ..errors import ValidationError
from ..models import CertificateDesign
from ..reports.certificate_content import Signatory
from ..reports.certificates import Design
from ..sync.authority import refuse_here
from .base import Context, revive, text

#: The text fields, their labels and longest lengths.
TEXT_FIELDS: dict[str, tuple[str, int]] = {
    "signatory1_name": ("The first signatory's name", 80),
    "signatory1_role": ("The first signatory's role", 120),
    "signatory2_name": ("The second signatory's name", 80),
    "signatory2_role": ("The second signatory's role", 120),
    "footer": ("The footer", 200),
}
LOGO_FIELDS: dict[str, str] = {"logo_left": "The left logo", "logo_right": "The right logo"}
KEYS = (*TEXT_FIELDS, *LOGO_FIELDS)
MAX_LOGO_CHARS = 70 * 1024  # of base64: a logo of about 52 KB
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"


def _rows(s: OrmSession) -> dict[str, CertificateDesign]:
    rows = s.execute(select(CertificateDesign).where(CertificateDesign.merged_into.is_(None))).scalars()
    return {row.key: row for row in rows}


def _design_of(rows: dict[str, CertificateDesign]) -> Design:
    values: dict[str, Any] = {}
    for key in TEXT_FIELDS:
        row = rows.get(key)
        values[key] = row.value if row is not None and row.deleted_hlc is None else ""
    for key in LOGO_FIELDS:
        row = rows.get(key)
        values[key] = None
        if row is not None and row.deleted_hlc is None and row.value:
            try:
                values[key] = base64.b64decode(row.value, validate=True)
            except (binascii.Error, ValueError):
                values[key] = None  # damaged in transit: print without it rather than fail
    return Design(**values)


def design(ctx: Context) -> Design:
    """The design as kept here (the office's, as of its last bundle on an establishment PC)."""
    with ctx.read() as s:
        return _design_of(_rows(s))


def design_in(s: OrmSession) -> Design:
    """The design, read in the caller's session (the issuing service's transaction)."""
    return _design_of(_rows(s))


def design_for_print(s_or_ctx: OrmSession | Context) -> tuple[tuple[Signatory, ...], str]:
    """What a certificate issued now freezes into its content: the signatories with a name (left
    to right) and the footer. Takes the issuing transaction's session, or a Context."""
    found = design(s_or_ctx) if isinstance(s_or_ctx, Context) else design_in(s_or_ctx)
    return found.signatories(), found.footer


def logo_kind(data: bytes) -> str | None:
    """"PNG" or "JPEG" by the file's first bytes, else None."""
    if data.startswith(PNG_MAGIC):
        return "PNG"
    if data.startswith(JPEG_MAGIC):
        return "JPEG"
    return None


def check_logo(data: bytes | None, label: str = "The logo", field: str = "logo") -> str:
    """A logo's stored value (base64; "" for none), or ValidationError saying what is wrong."""
    if data is None or data == b"":
        return ""
    if not isinstance(data, bytes | bytearray):
        raise ValidationError(f"{label} must be a picture file.", field)
    data = bytes(data)
    if logo_kind(data) is None:
        raise ValidationError(f"{label} must be a PNG or JPEG picture.", field)
    encoded = base64.b64encode(data).decode("ascii")
    if len(encoded) > MAX_LOGO_CHARS:
        raise ValidationError(f"{label} is too big ({len(data) // 1024} KB): it must be at most "
                              f"{MAX_LOGO_CHARS * 3 // 4 // 1024} KB. Choose a smaller picture.", field)
    try:  # the PDF must be able to draw it: read it the way it will be read then
        from reportlab.lib.utils import ImageReader

        width, height = ImageReader(io.BytesIO(data)).getSize()
    except Exception as exc:  # noqa: BLE001 - any reader error means the same to a person
        raise ValidationError(f"{label} can't be read as a picture; the file may be damaged.", field) from exc
    if width < 1 or height < 1:
        raise ValidationError(f"{label} is empty.", field)
    return encoded


def _clean(values: dict[str, Any]) -> dict[str, str]:
    unknown = sorted(set(values) - set(KEYS))
    if unknown:
        raise ValueError(f"not part of the certificate design: {', '.join(unknown)}")
    clean: dict[str, str] = {}
    for key, value in values.items():
        if key in TEXT_FIELDS:
            label, longest = TEXT_FIELDS[key]
            clean[key] = text(value, label, key, required=False, max_len=longest) or ""
        else:
            clean[key] = check_logo(value, LOGO_FIELDS[key], key)
    return clean


def set_design(ctx: Context, **values: Any) -> Design:
    """Change the fields given (the others stay): signatory1_name, signatory1_role,
    signatory2_name, signatory2_role, footer (text; "" or None clears), logo_left, logo_right
    (the picture file's bytes; None or b"" removes it). Coordinators, at the office only."""
    ctx.require("certificate.design")
    clean = _clean(values)
    refuse_here(ctx, "certificate_design")
    with ctx.write("certificate.design") as s:
        rows = _rows(s)
        for number in ("1", "2"):  # a role without a name would print alone under a blank line
            name, role = f"signatory{number}_name", f"signatory{number}_role"
            stored_name = rows[name].value if name in rows and rows[name].deleted_hlc is None else ""
            if clean.get(role) and not clean.get(name, stored_name):
                raise ValidationError(f"{TEXT_FIELDS[role][0]} needs a name to go with it.", name)
        for key, value in clean.items():
            row = rows.get(key)
            if row is None:
                if value:
                    s.add(CertificateDesign(key=key, value=value))
            else:
                if row.deleted_hlc is not None:
                    revive(row)
                if row.value != value:
                    row.value = value
        s.flush()
        return _design_of(_rows(s))
