"""An installation's keys, its public identity, fingerprints and enrolment cards (files only, no database).

Each installation has two private keys, kept in ``<data folder>/keys/`` (folder 0700, files 0600):

* ``signing.key``: the minisign (Ed25519) key that signs its bundles and its enrolment card;
* ``age.key``: the age X25519 identity bundles addressed to it are encrypted to, in the format
  ``age-keygen`` writes, so stock ``age -d -i age.key`` decrypts them.

The office also has a **recovery** age identity that every bundle addressed to the office is
encrypted to as well. It is made once, shown once (or written to a file the person chooses) and
never stored in the data folder.

The **public identity** (:class:`PublicIdentity`) is what other installations enrol. Its
**fingerprint** is SHA-256 over a fixed text of the installation id, role and public keys; its first
160 bits, in base32 (letters A-Z and digits 2-7), are shown as 8 groups of 4 that people read out
by phone or write on paper. (srcdesk before 0.x showed all 256 bits as 16 groups of 4 hex digits:
cards and trust lists carrying that form are still accepted, and so is typing it.)

An **enrolment card** is a UTF-8 text file: line 1 is canonical JSON of the public identity, then
the four lines of a prehashed minisign signature over line 1 (without its newline) made by the
card's own key. :func:`read_card` treats a card as untrusted bytes; every refusal is
:class:`~srcdesk.sync.errors.BundleRefused` with the reason.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyrage import x25519

from ..errors import SrcdeskError
from ..untrusted import read_untrusted
from . import strictjson
from .changelog import canonical_json
from .errors import BundleRefused
from .minisign import PublicKey, SigningKey, verify_bytes

__all__ = [
    "AGE_KEY_FILE",
    "CARD_FORMAT",
    "KEYS_DIR",
    "MAX_CARD_BYTES",
    "SIGNING_KEY_FILE",
    "KeysError",
    "LocalIdentity",
    "PublicIdentity",
    "age_key_file_text",
    "card_bytes",
    "check_installation_id",
    "create_keys",
    "describe_mismatch",
    "differing_groups",
    "fingerprint_from_digest",
    "format_fingerprint",
    "is_fingerprint",
    "keys_dir",
    "keys_exist",
    "load_keys",
    "make_recovery_identity",
    "normalise_fingerprint",
    "parse_age_key_text",
    "read_card",
    "read_card_file",
    "write_card",
    "write_private_file",
]

KEYS_DIR = "keys"
SIGNING_KEY_FILE = "signing.key"
AGE_KEY_FILE = "age.key"

CARD_FORMAT = "srcdesk-enrolment/1"
FINGERPRINT_DOMAIN = "srcdesk-identity/1"
MAX_CARD_BYTES = 16 * 1024
MAX_KEY_FILE_BYTES = 4096
MAX_NAME_CHARS = 120
ROLES = ("establishment", "office")

_CARD_KEYS = frozenset({
    "format", "installation_id", "role", "establishment", "name", "minisign_public_key",
    "age_recipient", "recovery_recipient", "fingerprint", "created",
})
_ID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CODE_RE = re.compile(r"[A-Z0-9]{2,8}")
_HEX64_RE = re.compile(r"[0-9A-F]{64}")
_CREATED_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_AGE_SECRET_PREFIX = "AGE-SECRET-KEY-1"
_AGE_RECIPIENT_MAX = 100


class KeysError(SrcdeskError):
    """The key files are missing, damaged, unwritable, or would be overwritten."""


# --------------------------------------------------------------------------- fingerprints


FINGERPRINT_GROUPS = 8
FINGERPRINT_CHARS = 4 * FINGERPRINT_GROUPS  # base32: 5 bits each, 160 bits in all
_FINGERPRINT_RE = re.compile(r"[A-Z2-7]{32}")
# Base32 has no 0, 1 or 8: heard or typed, they can only be O, I and B.
_ALIKE = str.maketrans({"0": "O", "1": "I", "8": "B"})


def fingerprint_from_digest(digest: bytes) -> str:
    """The compact fingerprint (32 base32 characters) of a SHA-256 digest: its first 160 bits."""
    return base64.b32encode(digest[:20]).decode("ascii")


def format_fingerprint(compact: str) -> str:
    """A fingerprint as people read it: 8 groups of 4 (or, for the 64 hex digits of the old form,
    16 groups of 4), upper case, separated by spaces."""
    compact = compact.upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def _compact(text: str) -> str:
    return "".join(ch for ch in text if ch not in " -\t").upper()


def normalise_fingerprint(text: str) -> str:
    """A fingerprint as typed (with or without spaces or dashes, any case) as its 32 characters.

    The old form (64 hex digits) comes back as its 64 digits. Raises :class:`ValueError` with a
    sentence for people if it isn't a fingerprint.
    """
    if not isinstance(text, str):
        raise ValueError("A fingerprint is 8 groups of 4 letters and digits.")
    compact = _compact(text)
    if _HEX64_RE.fullmatch(compact):
        return compact  # srcdesk's old form
    compact = compact.translate(_ALIKE)
    if len(compact) != FINGERPRINT_CHARS:
        raise ValueError(
            f"A fingerprint is 8 groups of 4 letters and digits ({FINGERPRINT_CHARS} in all); "
            f"you typed {len(compact)}. Check what you typed."
        )
    if not _FINGERPRINT_RE.fullmatch(compact):
        groups = [i // 4 + 1 for i, ch in enumerate(compact) if not ("A" <= ch <= "Z" or "2" <= ch <= "7")]
        raise ValueError(
            "A fingerprint has only letters A to Z and digits 2 to 7; "
            f"check group {groups[0]} of {FINGERPRINT_GROUPS}."
        )
    return compact


def is_fingerprint(text: Any) -> bool:
    """``text`` is a fingerprint as srcdesk writes it (8 groups of 4, or the old 16 groups of hex)."""
    if not isinstance(text, str) or not text.isascii():
        return False
    try:
        return text == format_fingerprint(normalise_fingerprint(text))
    except ValueError:
        return False


def differing_groups(typed: str, expected: str) -> list[int]:
    """The groups (counted from 1) in which a typed fingerprint differs from the expected one;
    both as :func:`normalise_fingerprint` returns them and of the same form."""
    return [i // 4 + 1 for i in range(0, len(expected), 4) if typed[i : i + 4] != expected[i : i + 4]]


def describe_mismatch(groups: list[int], of: int = FINGERPRINT_GROUPS) -> str:
    """Where a fingerprint differs, in a sentence: which groups to have read out again."""
    if len(groups) > of // 2:
        return (f"{len(groups)} of its {of} groups differ: make sure the card is from the PC whose "
                "fingerprint was read out to you")
    said = (f"group {groups[0]}" if len(groups) == 1
            else "groups " + ", ".join(str(g) for g in groups[:-1]) + f" and {groups[-1]}")
    return f"{said} of {of} differ{'s' if len(groups) == 1 else ''}: have {said} read out again"


def check_installation_id(value: Any, what: str = "the installation id") -> str:
    """An installation id (a lower-case canonical UUID); BundleRefused if it isn't one."""
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise BundleRefused(f"{what} is not an installation id")
    return value


@dataclass(frozen=True)
class PublicIdentity:
    """What other installations know about an installation: who it is and its public keys."""

    installation_id: str
    role: str  # establishment | office
    establishment_code: str | None  # None for the office
    name: str
    signing_key: str  # minisign key line (base64)
    age_recipient: str  # "age1…"
    recovery_recipient: str | None  # the office's recovery recipient; None for an establishment

    def canonical_bytes(self) -> bytes:
        """The exact bytes the fingerprint is computed over."""
        return (
            f"{FINGERPRINT_DOMAIN}\n{self.installation_id}\n{self.role}\n{self.signing_key}\n"
            f"{self.age_recipient}\n{self.recovery_recipient or ''}\n"
        ).encode()

    @property
    def fingerprint_hex(self) -> str:
        """SHA-256 of :meth:`canonical_bytes` as 64 upper-case hex digits."""
        return hashlib.sha256(self.canonical_bytes()).hexdigest().upper()

    @property
    def fingerprint_code(self) -> str:
        """The fingerprint's 32 characters (base32 of the digest's first 160 bits)."""
        return fingerprint_from_digest(hashlib.sha256(self.canonical_bytes()).digest())

    @property
    def fingerprint(self) -> str:
        """The fingerprint as people compare it: 8 groups of 4 letters and digits."""
        return format_fingerprint(self.fingerprint_code)

    @property
    def old_fingerprint(self) -> str:
        """The fingerprint as srcdesk showed it before: 16 groups of 4 hex digits."""
        return format_fingerprint(self.fingerprint_hex)

    def matches_fingerprint(self, typed: str) -> list[int]:
        """The groups in which ``typed`` (already normalised) differs from this identity's
        fingerprint, in whichever form it was typed: empty when it matches."""
        expected = self.fingerprint_hex if len(typed) == 64 else self.fingerprint_code
        return differing_groups(typed, expected)

    def public_key(self) -> PublicKey:
        return PublicKey.from_line(self.signing_key)

    def recipient(self) -> x25519.Recipient:
        return x25519.Recipient.from_str(self.age_recipient)

    def same_keys(self, other: PublicIdentity) -> bool:
        return (self.signing_key, self.age_recipient, self.recovery_recipient) == (
            other.signing_key, other.age_recipient, other.recovery_recipient)


# --------------------------------------------------------------------------- key files


def keys_dir(data_dir: Path) -> Path:
    return Path(data_dir) / KEYS_DIR


def keys_exist(data_dir: Path) -> bool:
    """Whether either private key file is already in the data folder."""
    folder = keys_dir(data_dir)
    return (folder / SIGNING_KEY_FILE).exists() or (folder / AGE_KEY_FILE).exists()


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def age_key_file_text(identity: x25519.Identity, created: dt.datetime | None = None) -> str:
    """An age identity in the format ``age-keygen`` writes (and ``age -i`` reads)."""
    return (
        f"# created: {_rfc3339(created or _utc_now())}\n"
        f"# public key: {identity.to_public()}\n"
        f"{identity}\n"
    )


def parse_age_key_text(text: str) -> x25519.Identity:
    """The one identity in an age key file (comments and blank lines ignored); ValueError otherwise.

    If the file states ``# public key:``, it must be the identity's own.
    """
    secrets_found = [line.strip() for line in text.splitlines() if line.strip().startswith(_AGE_SECRET_PREFIX)]
    if len(secrets_found) != 1:
        raise ValueError("it should hold exactly one AGE-SECRET-KEY line")
    try:
        identity = x25519.Identity.from_str(secrets_found[0])
    except Exception:  # noqa: BLE001 - pyrage.IdentityError: the key text is damaged
        raise ValueError("its AGE-SECRET-KEY line is damaged") from None
    for line in text.splitlines():
        if line.startswith("# public key:") and line.split(":", 1)[1].strip() != str(identity.to_public()):
            raise ValueError("its public key comment does not match its secret key")
    return identity


def write_private_file(path: Path, text: str, *, overwrite: bool = False) -> Path:
    """Write ``text`` to ``path`` readable by its owner only (0600), atomically.

    Written to a temporary file in the same folder (created 0600), flushed to disk, then renamed
    into place. Refuses (KeysError) to replace an existing file unless ``overwrite``.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise KeysError(f"{path} already exists; srcdesk never overwrites a key file.")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        try:
            os.write(fd, text.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, 0o600)  # in case the umask is odd; a no-op for the owner bits on Windows
        if path.exists() and not overwrite:  # appeared while we were writing
            raise KeysError(f"{path} already exists; srcdesk never overwrites a key file.")
        os.replace(tmp, path)
    except OSError as exc:
        raise KeysError(f"Couldn't write {path}: {exc.strerror or exc}.") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _make_keys_folder(data_dir: Path) -> Path:
    folder = keys_dir(data_dir)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
    except OSError as exc:
        raise KeysError(f"Couldn't create the keys folder {folder}: {exc.strerror or exc}.") from exc
    return folder


def create_keys(data_dir: Path) -> tuple[SigningKey, x25519.Identity]:
    """Make a new signing key and age identity in ``<data_dir>/keys/``; never replaces keys."""
    if keys_exist(data_dir):
        raise KeysError(
            f"There are already keys in {keys_dir(data_dir)}; srcdesk will not replace them "
            "(other installations trust them)."
        )
    folder = _make_keys_folder(data_dir)
    signing = SigningKey.generate()
    age_identity = x25519.Identity.generate()
    write_private_file(folder / SIGNING_KEY_FILE, signing.to_text())
    try:
        write_private_file(folder / AGE_KEY_FILE, age_key_file_text(age_identity))
    except BaseException:
        (folder / SIGNING_KEY_FILE).unlink(missing_ok=True)
        raise
    return signing, age_identity


def _read_key_file(path: Path) -> str:
    if not os.path.lexists(path):
        raise KeysError(f"The key file {path} is missing; this PC can't sign or read bundles without it.")
    raw = read_untrusted(path, limit=MAX_KEY_FILE_BYTES, what="key file",
                         refuse=lambda why: KeysError(f"The key file {path} is damaged: {why}"))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise KeysError(f"The key file {path} is damaged (not text).") from None


def load_keys(data_dir: Path) -> tuple[SigningKey, x25519.Identity]:
    """The signing key and age identity from ``<data_dir>/keys/``; KeysError if missing or damaged."""
    folder = keys_dir(data_dir)
    signing_text = _read_key_file(folder / SIGNING_KEY_FILE)
    age_text = _read_key_file(folder / AGE_KEY_FILE)
    try:
        signing = SigningKey.from_text(signing_text)
    except ValueError as exc:
        raise KeysError(f"The key file {folder / SIGNING_KEY_FILE} is damaged ({exc}).") from None
    try:
        age_identity = parse_age_key_text(age_text)
    except ValueError as exc:
        raise KeysError(f"The key file {folder / AGE_KEY_FILE} is damaged ({exc}).") from None
    return signing, age_identity


@dataclass(frozen=True)
class LocalIdentity:
    """This installation's private keys and the public identity they belong to."""

    signing_key: SigningKey
    age_identity: x25519.Identity
    public: PublicIdentity
    age_key_path: Path

    @classmethod
    def load(cls, data_dir: Path, public: PublicIdentity) -> LocalIdentity:
        """Load the keys and check they are the ones ``public`` (from the database) names."""
        signing, age_identity = load_keys(data_dir)
        if signing.public().line() != public.signing_key or str(age_identity.to_public()) != public.age_recipient:
            raise KeysError(
                f"The keys in {keys_dir(data_dir)} don't belong to this installation's database; "
                "put back the keys folder that came with it."
            )
        return cls(signing, age_identity, public, keys_dir(data_dir) / AGE_KEY_FILE)


def make_recovery_identity() -> tuple[str, str]:
    """A new office recovery identity: (its text in age-keygen's format, its ``age1…`` recipient).

    The caller shows the text once or writes it where the person says; never in the data folder.
    """
    identity = x25519.Identity.generate()
    return age_key_file_text(identity), str(identity.to_public())


# --------------------------------------------------------------------------- enrolment cards


def _card_comment(installation_id: str) -> str:
    return f"{CARD_FORMAT} installation={installation_id}"


def card_bytes(identity: LocalIdentity, created: dt.datetime | None = None) -> bytes:
    """The enrolment card of ``identity``: canonical JSON on line 1, then its minisign signature."""
    pub = identity.public
    if identity.signing_key.public().line() != pub.signing_key:
        raise KeysError("The signing key does not belong to this public identity.")
    body = {
        "format": CARD_FORMAT,
        "installation_id": pub.installation_id,
        "role": pub.role,
        "establishment": pub.establishment_code,
        "name": pub.name,
        "minisign_public_key": pub.signing_key,
        "age_recipient": pub.age_recipient,
        "recovery_recipient": pub.recovery_recipient,
        "fingerprint": pub.fingerprint,
        "created": _rfc3339(created or _utc_now()),
    }
    line = canonical_json(body).encode("utf-8")
    signature = identity.signing_key.sign_bytes(
        line, _card_comment(pub.installation_id), f"srcdesk enrolment card of {pub.installation_id}"
    )
    return line + b"\n" + signature.encode("ascii")


def write_card(identity: LocalIdentity, path: Path, created: dt.datetime | None = None) -> Path:
    """Write the enrolment card to ``path`` (a new file; refuses to overwrite one)."""
    data = card_bytes(identity, created)
    path = Path(path)
    try:
        with path.open("xb") as fh:
            fh.write(data)
    except FileExistsError:
        raise KeysError(f"{path} already exists; choose another file name.") from None
    except OSError as exc:
        raise KeysError(f"Couldn't write the enrolment card to {path}: {exc.strerror or exc}.") from exc
    return path


def _refuse(reason: str) -> BundleRefused:
    return BundleRefused(f"This enrolment card is refused: {reason}.")


def _text_field(card: dict[str, Any], key: str, max_chars: int) -> str:
    value = card[key]
    if not isinstance(value, str):
        raise _refuse(f'"{key}" is not text')
    if not value or len(value) > max_chars:
        raise _refuse(f'"{key}" is empty or longer than {max_chars} characters')
    if value != value.strip() or any(unicodedata.category(ch)[0] in "CZ" and ch != " " for ch in value):
        raise _refuse(f'"{key}" contains control characters or unusual spacing')
    return value


def _recipient_field(card: dict[str, Any], key: str) -> str:
    value = card[key]
    if not isinstance(value, str) or not value.startswith("age1") or len(value) > _AGE_RECIPIENT_MAX:
        raise _refuse(f'"{key}" is not an age recipient (age1…)')
    try:
        parsed = str(x25519.Recipient.from_str(value))
    except Exception:  # noqa: BLE001 - pyrage.RecipientError: not a valid recipient
        raise _refuse(f'"{key}" is not a valid age recipient') from None
    if parsed != value:
        raise _refuse(f'"{key}" is not written the standard way')
    return value


def read_card_file(path: Path, *, refuse: Callable[[str], Exception] = BundleRefused) -> bytes:
    """The bytes of an enrolment card file: a regular file of at most :data:`MAX_CARD_BYTES`, read
    once (:mod:`srcdesk.untrusted`); anything else is refused with ``refuse(sentence)``."""
    return read_untrusted(path, limit=MAX_CARD_BYTES, what="enrolment card", refuse=refuse)


def read_card(data: bytes) -> PublicIdentity:
    """Check an untrusted enrolment card completely and return the identity it states.

    Size, UTF-8, exactly line 1 + a four-line signature, strict canonical JSON with exactly the
    expected keys, each value's type and length, the key line, the age recipients, the signature
    by the card's own key (with its trusted comment), and the stated fingerprint. Any problem:
    BundleRefused with the reason.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"an enrolment card is bytes, not {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise _refuse("the file is empty")
    if len(data) > MAX_CARD_BYTES:
        raise _refuse(f"the file is larger than {MAX_CARD_BYTES // 1024} KiB, so it is not an enrolment card")
    if b"\r" in data:
        raise _refuse("it has Windows line endings, so it was edited after it was made; ask for a fresh copy")
    newline = data.find(b"\n")
    if newline < 0:
        raise _refuse("it has no signature (the file is a single line)")
    line, signature = data[:newline], data[newline + 1 :]
    card = strictjson.loads(line, what="the enrolment card")
    if not isinstance(card, dict):
        raise _refuse("its first line is not a JSON object")
    if card.get("format") != CARD_FORMAT:
        shown = card.get("format")
        raise _refuse(f"unknown format {shown!r:.60} (expected {CARD_FORMAT})")
    if set(card) != _CARD_KEYS:
        missing, extra = sorted(_CARD_KEYS - set(card)), sorted(set(card) - _CARD_KEYS)
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unexpected {', '.join(k[:40] for k in extra[:5])}"] if extra else [])
        raise _refuse(f"its fields are wrong ({'; '.join(parts)})")
    if line != canonical_json(card).encode("utf-8"):
        raise _refuse("its first line is not in canonical form, so it was edited after it was made")
    installation_id = card["installation_id"]
    if not isinstance(installation_id, str) or not _ID_RE.fullmatch(installation_id):
        raise _refuse('"installation_id" is not an installation id')
    key_line = card["minisign_public_key"]
    try:
        public_key = PublicKey.from_line(key_line)
    except BundleRefused as exc:
        raise _refuse(f'"minisign_public_key" is not usable ({exc})') from None
    trusted = verify_bytes(public_key, signature, line)  # BundleRefused with the reason
    if trusted != _card_comment(installation_id):
        raise _refuse("its signature's trusted comment does not name this installation")
    role = card["role"]
    if role not in ROLES:
        raise _refuse('"role" must be "establishment" or "office"')
    code = card["establishment"]
    if role == "office":
        if code is not None:
            raise _refuse("the office card names an establishment")
    elif not isinstance(code, str) or not _CODE_RE.fullmatch(code):
        raise _refuse('"establishment" is not an establishment code')
    name = _text_field(card, "name", MAX_NAME_CHARS)
    age_recipient = _recipient_field(card, "age_recipient")
    if role == "office":
        recovery = _recipient_field(card, "recovery_recipient")
        if recovery == age_recipient:
            raise _refuse("the office's recovery recipient is the same as its own recipient")
    elif card["recovery_recipient"] is not None:
        raise _refuse("only the office has a recovery recipient")
    else:
        recovery = None
    created = card["created"]
    if not isinstance(created, str) or not _CREATED_RE.fullmatch(created):
        raise _refuse('"created" is not a time like 2025-01-31T09:30:00Z')
    try:
        dt.datetime.fromisoformat(created)
    except ValueError:
        raise _refuse('"created" is not a real date and time') from None
    identity = PublicIdentity(installation_id, role, code, name, key_line, age_recipient, recovery)
    stated = card["fingerprint"]
    if not isinstance(stated, str) or not stated.isascii():
        raise _refuse('"fingerprint" is not a fingerprint')
    if not (secrets.compare_digest(stated, identity.fingerprint) or secrets.compare_digest(stated, identity.old_fingerprint)):
        raise _refuse("the fingerprint written on it does not match its keys")
    return identity
