"""A campaign's secrets, kept in its folder (``.hhp/``) and never in a run or a package:

* ``digest.key`` — the key of the keyed digests (HMAC-SHA256) that the audit holds of each
  letter's name and feedback. Without it, a name list cannot be tried against the audit.
* ``audit-signing.key`` / ``audit-signing.pub`` — an Ed25519 key pair. Each run's audit head is
  signed (``audit.sig``); the researcher keeps (or publishes, e.g. in the trial protocol) the
  public key, and ``verify --public-key`` checks a run against it, so even a run whose audit
  was rewritten end to end and re-hashed is caught.

Both are made on first use. Losing ``.hhp/`` loses the ability to sign new runs and to read
letters back against the digests of earlier runs; keep it with the campaign's backups.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from hhp_letters.atomic import atomic_write_bytes
from hhp_letters.errors import EnvironmentProblem

SECRETS_DIR = ".hhp"
DIGEST_KEY = "digest.key"
SIGNING_KEY = "audit-signing.key"
PUBLIC_KEY = "audit-signing.pub"
SIG_FILE = "audit.sig"

# What PDF text layers do to printed text, undone on both sides of a read-back: ligature
# glyphs, soft and automatic hyphens, zero-width and non-breaking spaces, line breaks.
_LIGATURES = {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
              "\ufb05": "st", "\ufb06": "st"}
_LIGATURE_TABLE = str.maketrans(_LIGATURES)
_DROP = re.compile("[\\s\u00ad\ufffe\uffff\u200b\u200c\u200d\u2060\ufeff\\-\u2010\u2011]+")


def readback_form(text: str) -> str:
    """The form in which printed text is compared with what a PDF's text layer gives back."""
    text = unicodedata.normalize("NFC", text)
    if not text.isascii():
        text = text.translate(_LIGATURE_TABLE)
    return _DROP.sub("", text)


def keyed_digest(key: bytes, participant_id: str, text: str) -> str:
    return hmac.new(key, f"{participant_id}\x1f{readback_form(text)}".encode(),
                    hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class CampaignKeys:
    digest_key: bytes
    signing: Ed25519PrivateKey

    @property
    def public_pem(self) -> bytes:
        return self.signing.public_key().public_bytes(Encoding.PEM,
                                                      PublicFormat.SubjectPublicKeyInfo)

    def sign(self, head: str) -> bytes:
        return base64.b64encode(self.signing.sign(head.encode("ascii"))) + b"\n"


def _private(path: Path) -> None:
    os.chmod(path, 0o600)


def open_lock_file(campaign_root: Path, name: str, what: str) -> int:
    """A lock file in the campaign's private folder, open for flock (made if missing);
    ``what`` says what could not be done, e.g. "keep the campaign's keys"."""
    folder = campaign_root / SECRETS_DIR
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        return os.open(folder / name, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot {what} in {folder}: {exc.strerror}",
                                 hint="run from a campaign folder you can write to") from exc


def campaign_keys(campaign_root: Path) -> CampaignKeys:
    """The campaign's keys, made on first use (under a lock, so two first runs at once make
    one set, not two)."""
    fd = open_lock_file(campaign_root, ".lock", "keep the campaign's keys")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return _load_or_make(campaign_root / SECRETS_DIR)
    finally:
        os.close(fd)


def _damaged(path: Path) -> EnvironmentProblem:
    return EnvironmentProblem(
        f"the campaign's key file {path} is damaged",
        hint="restore .hhp/ from the campaign's backup; without it, earlier runs cannot be "
             "read back and new runs are signed by another key (move the folder aside to "
             "start new keys)")


def _load_or_make(folder: Path) -> CampaignKeys:
    digest = folder / DIGEST_KEY
    if not digest.is_file():
        atomic_write_bytes(digest, secrets.token_hex(32).encode("ascii") + b"\n")
        _private(digest)
    signing = folder / SIGNING_KEY
    if not signing.is_file():
        key = Ed25519PrivateKey.generate()
        atomic_write_bytes(signing, key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                                      NoEncryption()))
        _private(signing)
        atomic_write_bytes(folder / PUBLIC_KEY, key.public_key().public_bytes(
            Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    try:
        loaded = load_pem_private_key(signing.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:  # cryptography's "not a PEM key"
        raise _damaged(signing) from exc
    if not isinstance(loaded, Ed25519PrivateKey):
        raise _damaged(signing)
    key_bytes = read_digest_key(digest)
    if key_bytes is None or len(key_bytes) < 16:
        raise _damaged(digest)
    return CampaignKeys(key_bytes, loaded)


def read_digest_key(path: Path) -> bytes | None:
    try:
        if not path.is_file():
            return None
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):  # ValueError includes UnicodeDecodeError
        return None


def read_public_key(path: Path) -> Ed25519PublicKey | None:
    try:
        key = load_pem_public_key(path.read_bytes())
    except (OSError, ValueError):
        return None
    return key if isinstance(key, Ed25519PublicKey) else None


def signature_ok(public: Ed25519PublicKey, head: str, signature: bytes) -> bool:
    try:
        public.verify(base64.b64decode(signature.strip(), validate=True), head.encode("ascii"))
    except (InvalidSignature, ValueError):
        return False
    return True
