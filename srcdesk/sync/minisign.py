"""minisign signatures: prehashed ``ED`` only, strict parsing of untrusted signature files.

Formats (https://jedisct1.github.io/minisign/), all base64 in the standard alphabet with padding:

* public key line: ``b"Ed"`` + key id (8 bytes) + Ed25519 public key (32 bytes); the ``.pub`` file is
  ``untrusted comment: <text>\\n<key line>\\n``.
* signature file (``.minisig``), four LF-terminated lines::

      untrusted comment: <text>
      base64(b"ED" + key id (8) + Ed25519(BLAKE2b-512(file)) (64))
      trusted comment: <text>
      base64(Ed25519(signature (64) + trusted comment bytes) (64))

We only ever produce prehashed ``ED`` signatures and refuse legacy ``Ed`` ones (Ed25519 over the raw
file), whatever stock ``minisign`` would accept. Everything read from outside is untrusted: every
refusal raises :class:`BundleRefused` whose ``str()`` is the reason. Comments are UTF-8 text without
newlines or control characters; TAB is the one exception, because stock ``minisign`` writes its default
trusted comment as ``timestamp:<n>\\tfile:<name>\\thashed``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import unicodedata
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import BundleRefused

__all__ = [
    "LEGACY_REASON",
    "MAX_COMMENT_BYTES",
    "MAX_SIGNATURE_FILE_BYTES",
    "MAX_UNTRUSTED_COMMENT_SIGN_BYTES",
    "PublicKey",
    "Signature",
    "SigningKey",
    "blake2b_bytes",
    "blake2b_file",
    "parse_signature",
    "verify_bytes",
    "verify_digest",
    "verify_file",
]

ALG_PREHASHED = b"ED"
ALG_LEGACY = b"Ed"
KEY_ALG = b"Ed"
KEY_ID_BYTES = 8
PUBLIC_KEY_BYTES = 32
SEED_BYTES = 32
SIG_BYTES = 64
DIGEST_BYTES = 64

UNTRUSTED_PREFIX = "untrusted comment: "
TRUSTED_PREFIX = "trusted comment: "

#: Longest comment (after its prefix, in UTF-8 bytes) accepted in a signature file.
MAX_COMMENT_BYTES = 1024
#: Longest untrusted comment we write: stock minisign reads that line into a 1024-byte buffer
#: (``fgets``), so prefix + text + LF must fit in 1023 bytes or minisign cannot read our file.
MAX_UNTRUSTED_COMMENT_SIGN_BYTES = 1023 - len(UNTRUSTED_PREFIX) - 1
#: Largest signature file accepted at all (a real one is well under 2.5 KiB).
MAX_SIGNATURE_FILE_BYTES = 4096

LEGACY_REASON = "legacy Ed signature: srcdesk only accepts prehashed ED signatures"
DEFAULT_UNTRUSTED_COMMENT = "signature from srcdesk"
KEY_TEXT_TAG = "srcdesk-ed25519-v1"

CHUNK_BYTES = 1 << 20  # stream files in 1 MiB chunks

_SIG_LINE_CHARS = len(base64.b64encode(bytes(2 + KEY_ID_BYTES + SIG_BYTES)))  # 100
_GLOBAL_SIG_CHARS = len(base64.b64encode(bytes(SIG_BYTES)))  # 88
_KEY_LINE_CHARS = len(base64.b64encode(bytes(2 + KEY_ID_BYTES + PUBLIC_KEY_BYTES)))  # 56
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


# --------------------------------------------------------------------------- helpers


def _key_id_hex(key_id: bytes) -> str:
    """The key id as stock minisign 0.11 prints it: the 8 bytes read as a little-endian 64-bit number,
    in upper-case hex *without* leading zeros (``printf("%" PRIX64)``), e.g. ``E1DE2ADFE14FB7D``."""
    return f"{int.from_bytes(key_id, 'little'):X}"


def _bad_char(text: str) -> str | None:
    """The first character not allowed in a comment (controls, format chars, line separators)."""
    if text.isprintable():  # fast path: no Cc/Cf/Cs/Zl/Zp (nor any other separator but space)
        return None
    for ch in text:
        if ch != "\t" and unicodedata.category(ch) in _FORBIDDEN_CATEGORIES:
            return ch
    return None


def _check_comment(comment: str, what: str, max_bytes: int) -> bytes:
    """Our own comments (programming errors, not untrusted input): ValueError when unusable."""
    if not isinstance(comment, str):
        raise TypeError(f"{what} must be text, not {type(comment).__name__}")
    bad = _bad_char(comment)
    if bad is not None:
        raise ValueError(f"{what} contains a newline or control character (U+{ord(bad):04X})")
    encoded = comment.encode("utf-8")
    if len(encoded) > max_bytes:
        raise ValueError(f"{what} is {len(encoded)} bytes long; the limit is {max_bytes}")
    return encoded


def _b64decode_strict(text: str, expected_len: int, what: str) -> bytes:
    """Strict standard base64 of exactly ``expected_len`` bytes, in its one canonical spelling."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BundleRefused(f"the {what} in the signature file is not valid base64") from None
    if len(raw) != expected_len:
        raise BundleRefused(
            f"the {what} in the signature file is {len(raw)} bytes long instead of {expected_len}"
        )
    # b64decode tolerates non-zero padding bits; refuse them so a signature has one spelling only.
    if base64.b64encode(raw).decode("ascii") != text:
        raise BundleRefused(f"the {what} in the signature file is not valid base64")
    return raw


def blake2b_bytes(data: bytes) -> bytes:
    """BLAKE2b-512 of ``data`` (what a prehashed ``ED`` signature signs)."""
    return hashlib.blake2b(data, digest_size=DIGEST_BYTES).digest()


def blake2b_file(path: str | os.PathLike[str]) -> bytes:
    """BLAKE2b-512 of a file, read in 1 MiB chunks (never the whole file in memory)."""
    h = hashlib.blake2b(digest_size=DIGEST_BYTES)
    buf = bytearray(CHUNK_BYTES)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            h.update(view[:n])
    return h.digest()


# --------------------------------------------------------------------------- keys


@dataclass(frozen=True)
class PublicKey:
    """A minisign public key: random 8-byte key id and the 32-byte Ed25519 key."""

    key_id: bytes
    key: bytes
    _verifier: Ed25519PublicKey = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.key_id, bytes) or len(self.key_id) != KEY_ID_BYTES:
            raise ValueError(f"a minisign key id is {KEY_ID_BYTES} bytes")
        if not isinstance(self.key, bytes) or len(self.key) != PUBLIC_KEY_BYTES:
            raise ValueError(f"an Ed25519 public key is {PUBLIC_KEY_BYTES} bytes")
        object.__setattr__(self, "_verifier", Ed25519PublicKey.from_public_bytes(self.key))

    def line(self) -> str:
        """The base64 key line (what ``minisign -P`` takes)."""
        return base64.b64encode(KEY_ALG + self.key_id + self.key).decode("ascii")

    def key_id_hex(self) -> str:
        """The key id as minisign prints it (upper-case hex of the little-endian number, no leading zeros)."""
        return _key_id_hex(self.key_id)

    def verifies(self, signature: bytes, message: bytes) -> bool:
        """Whether ``signature`` is this key's bare Ed25519 signature of ``message`` (see
        :meth:`SigningKey.sign_message`)."""
        try:
            self._verifier.verify(bytes(signature), bytes(message))
        except InvalidSignature:
            return False
        return True

    def pub_file_text(self, comment: str | None = None) -> str:
        """A ``.pub`` file that ``minisign -p`` reads."""
        if comment is None:
            comment = f"minisign public key {self.key_id_hex()}"
        _check_comment(comment, "the public key comment", MAX_UNTRUSTED_COMMENT_SIGN_BYTES)
        return f"{UNTRUSTED_PREFIX}{comment}\n{self.line()}\n"

    @classmethod
    def from_line(cls, line: str) -> PublicKey:
        """Parse a base64 key line exactly (no surrounding spaces or newline); BundleRefused if malformed."""
        if not isinstance(line, str):
            raise BundleRefused("the public key is not text")
        if len(line) != _KEY_LINE_CHARS or not line.isascii():
            raise BundleRefused(
                f"the public key is not a minisign key line (expected {_KEY_LINE_CHARS} base64 characters)"
            )
        try:
            raw = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError):
            raise BundleRefused("the public key is not valid base64") from None
        if len(raw) != 2 + KEY_ID_BYTES + PUBLIC_KEY_BYTES or base64.b64encode(raw).decode("ascii") != line:
            raise BundleRefused("the public key is not valid base64")
        if raw[:2] != KEY_ALG:
            raise BundleRefused("the public key is not an Ed25519 minisign key")
        try:
            return cls(raw[2 : 2 + KEY_ID_BYTES], raw[2 + KEY_ID_BYTES :])
        except ValueError:
            raise BundleRefused("the public key is not a valid Ed25519 key") from None

    @classmethod
    def from_pub_file_text(cls, text: str) -> PublicKey:
        """Parse a ``.pub`` file (``untrusted comment: ...`` line, then the key line, final LF optional)."""
        if not isinstance(text, str):
            raise BundleRefused("the public key file is not text")
        if len(text) > MAX_SIGNATURE_FILE_BYTES:
            raise BundleRefused("the public key file is too large")
        lines = (text[:-1] if text.endswith("\n") else text).split("\n")
        if len(lines) != 2:
            raise BundleRefused("the public key file must have exactly two lines")
        if not lines[0].startswith(UNTRUSTED_PREFIX):
            raise BundleRefused(f'the public key file does not start with "{UNTRUSTED_PREFIX.strip()}"')
        return cls.from_line(lines[1])


@dataclass(frozen=True)
class SigningKey:
    """An installation's signing key: random 8-byte key id and 32-byte Ed25519 seed."""

    key_id: bytes
    seed: bytes = field(repr=False)
    _signer: Ed25519PrivateKey = field(init=False, repr=False, compare=False, hash=False)
    _public: PublicKey = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.key_id, bytes) or len(self.key_id) != KEY_ID_BYTES:
            raise ValueError(f"a minisign key id is {KEY_ID_BYTES} bytes")
        if not isinstance(self.seed, bytes) or len(self.seed) != SEED_BYTES:
            raise ValueError(f"an Ed25519 seed is {SEED_BYTES} bytes")
        signer = Ed25519PrivateKey.from_private_bytes(self.seed)
        object.__setattr__(self, "_signer", signer)
        object.__setattr__(self, "_public", PublicKey(self.key_id, signer.public_key().public_bytes_raw()))

    @classmethod
    def generate(cls) -> SigningKey:
        """A new key with a random key id (minisign key ids are random, not fingerprints)."""
        return cls(secrets.token_bytes(KEY_ID_BYTES), Ed25519PrivateKey.generate().private_bytes_raw())

    def public(self) -> PublicKey:
        return self._public

    def to_text(self) -> str:
        """One line for our data folder: ``srcdesk-ed25519-v1 <b64 key id> <b64 seed>\\n``."""
        kid = base64.b64encode(self.key_id).decode("ascii")
        seed = base64.b64encode(self.seed).decode("ascii")
        return f"{KEY_TEXT_TAG} {kid} {seed}\n"

    @classmethod
    def from_text(cls, text: str) -> SigningKey:
        """Parse :meth:`to_text` output exactly (final LF optional); ValueError on anything else."""
        if not isinstance(text, str):
            raise ValueError("the signing key file is not text")
        body = text[:-1] if text.endswith("\n") else text
        parts = body.split(" ")
        if len(parts) != 3 or parts[0] != KEY_TEXT_TAG or not body.isascii() or not body.isprintable():
            raise ValueError(f"the signing key file is not a {KEY_TEXT_TAG} key")
        try:
            key_id = base64.b64decode(parts[1], validate=True)
            seed = base64.b64decode(parts[2], validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("the signing key file is damaged (bad base64)") from None
        if (
            len(key_id) != KEY_ID_BYTES
            or len(seed) != SEED_BYTES
            or base64.b64encode(key_id).decode("ascii") != parts[1]
            or base64.b64encode(seed).decode("ascii") != parts[2]
        ):
            raise ValueError("the signing key file is damaged (wrong key lengths)")
        return cls(key_id, seed)

    def sign_digest(
        self,
        digest64: bytes,
        trusted_comment: str,
        untrusted_comment: str = DEFAULT_UNTRUSTED_COMMENT,
    ) -> str:
        """A ``.minisig`` (prehashed ``ED``) for a file whose BLAKE2b-512 is ``digest64``."""
        if len(digest64) != DIGEST_BYTES:
            raise ValueError(f"a BLAKE2b-512 digest is {DIGEST_BYTES} bytes, not {len(digest64)}")
        trusted = _check_comment(trusted_comment, "the trusted comment", MAX_COMMENT_BYTES)
        _check_comment(untrusted_comment, "the untrusted comment", MAX_UNTRUSTED_COMMENT_SIGN_BYTES)
        sig = self._signer.sign(bytes(digest64))
        global_sig = self._signer.sign(sig + trusted)
        sig_line = base64.b64encode(ALG_PREHASHED + self.key_id + sig).decode("ascii")
        global_line = base64.b64encode(global_sig).decode("ascii")
        return (
            f"{UNTRUSTED_PREFIX}{untrusted_comment}\n{sig_line}\n"
            f"{TRUSTED_PREFIX}{trusted_comment}\n{global_line}\n"
        )

    def sign_message(self, message: bytes) -> bytes:
        """A bare 64-byte Ed25519 signature of ``message`` (for certificate codes, which are too
        small for a minisign signature; the caller puts a domain tag of its own in ``message``)."""
        return self._signer.sign(bytes(message))

    def sign_bytes(
        self, data: bytes, trusted_comment: str, untrusted_comment: str = DEFAULT_UNTRUSTED_COMMENT
    ) -> str:
        return self.sign_digest(blake2b_bytes(data), trusted_comment, untrusted_comment)

    def sign_file(
        self,
        path: str | os.PathLike[str],
        trusted_comment: str,
        untrusted_comment: str = DEFAULT_UNTRUSTED_COMMENT,
    ) -> str:
        """Sign a file, streamed in 1 MiB chunks."""
        # Check the comments before reading a possibly large file.
        _check_comment(trusted_comment, "the trusted comment", MAX_COMMENT_BYTES)
        _check_comment(untrusted_comment, "the untrusted comment", MAX_UNTRUSTED_COMMENT_SIGN_BYTES)
        return self.sign_digest(blake2b_file(path), trusted_comment, untrusted_comment)


# --------------------------------------------------------------------------- signatures


@dataclass(frozen=True)
class Signature:
    """A parsed ``.minisig`` file; nothing in it is verified yet."""

    key_id: bytes
    sig: bytes
    trusted_comment: str
    global_sig: bytes
    untrusted_comment: str

    def key_id_hex(self) -> str:
        return _key_id_hex(self.key_id)


def _comment(line: str, prefix: str, which: str) -> str:
    if not line.startswith(prefix):
        raise BundleRefused(f'the {which} line of the signature file does not start with "{prefix.strip()}"')
    text = line[len(prefix) :]
    if len(text.encode("utf-8")) > MAX_COMMENT_BYTES:
        raise BundleRefused(f"the {which} in the signature file is longer than {MAX_COMMENT_BYTES} bytes")
    return text


def parse_signature(raw: bytes) -> Signature:
    """Parse an untrusted ``.minisig`` strictly; BundleRefused with the reason for anything unexpected."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise TypeError(f"a signature file is bytes, not {type(raw).__name__}")
    raw = bytes(raw)
    if not raw:
        raise BundleRefused("the signature file is empty")
    if len(raw) > MAX_SIGNATURE_FILE_BYTES:
        raise BundleRefused(
            f"the signature file is too large ({len(raw)} bytes; a real one is under "
            f"{MAX_SIGNATURE_FILE_BYTES} bytes)"
        )
    if b"\r" in raw:
        raise BundleRefused("the signature file has Windows (CR or CRLF) line endings")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BundleRefused("the signature file is not UTF-8 text") from None
    body = text[:-1] if text.endswith("\n") else text
    bad = _bad_char(body.replace("\n", ""))
    if bad is not None:
        raise BundleRefused(f"the signature file contains a control character (U+{ord(bad):04X})")
    lines = body.split("\n")
    if len(lines) != 4:
        raise BundleRefused(f"the signature file has {len(lines)} lines instead of 4")
    untrusted_comment = _comment(lines[0], UNTRUSTED_PREFIX, "untrusted comment")
    trusted_comment = _comment(lines[2], TRUSTED_PREFIX, "trusted comment")
    blob = _b64decode_strict(lines[1], 2 + KEY_ID_BYTES + SIG_BYTES, "signature")
    global_sig = _b64decode_strict(lines[3], SIG_BYTES, "comment signature")
    alg = blob[:2]
    if alg == ALG_LEGACY:
        raise BundleRefused(LEGACY_REASON)
    if alg != ALG_PREHASHED:
        raise BundleRefused(f"the signature uses an unknown algorithm ({alg!r}); srcdesk only accepts ED")
    return Signature(
        key_id=blob[2 : 2 + KEY_ID_BYTES],
        sig=blob[2 + KEY_ID_BYTES :],
        trusted_comment=trusted_comment,
        global_sig=global_sig,
        untrusted_comment=untrusted_comment,
    )


def _check_key_id(public: PublicKey, parsed: Signature) -> None:
    if not secrets.compare_digest(parsed.key_id, public.key_id):
        raise BundleRefused(
            f"signed by a different key (key id {parsed.key_id_hex()}), not the expected key "
            f"{public.key_id_hex()}"
        )


def _check_signatures(public: PublicKey, parsed: Signature, digest64: bytes) -> str:
    verifier = public._verifier
    try:
        verifier.verify(parsed.sig, bytes(digest64))
    except InvalidSignature:
        raise BundleRefused(
            "the signature does not match the file: the file was changed or signed by another key"
        ) from None
    try:
        verifier.verify(parsed.global_sig, parsed.sig + parsed.trusted_comment.encode("utf-8"))
    except InvalidSignature:
        raise BundleRefused("the trusted comment or its signature was changed after signing") from None
    return parsed.trusted_comment


def verify_digest(public: PublicKey, raw_sig: bytes, digest64: bytes) -> str:
    """Check a ``.minisig`` against ``public`` and a file's BLAKE2b-512; return the trusted comment.

    Order: strict parse, key id, signature over the digest, global signature over signature +
    trusted comment. Any failure raises BundleRefused with the reason.
    """
    if len(digest64) != DIGEST_BYTES:
        raise ValueError(f"a BLAKE2b-512 digest is {DIGEST_BYTES} bytes, not {len(digest64)}")
    parsed = parse_signature(raw_sig)
    _check_key_id(public, parsed)
    return _check_signatures(public, parsed, digest64)


def verify_bytes(public: PublicKey, raw_sig: bytes, data: bytes) -> str:
    """Like :func:`verify_digest` for data in memory."""
    return verify_digest(public, raw_sig, blake2b_bytes(data))


def verify_file(public: PublicKey, raw_sig: bytes, path: str | os.PathLike[str]) -> str:
    """Like :func:`verify_digest` for a file, streamed in 1 MiB chunks.

    The signature is parsed and its key id checked before the (possibly large) file is read. Errors
    reading the file itself (missing, unreadable) are OSError, not a refusal.
    """
    parsed = parse_signature(raw_sig)
    _check_key_id(public, parsed)
    return _check_signatures(public, parsed, blake2b_file(path))
