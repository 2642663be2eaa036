"""Ed25519 signing keys for evidence manifests.

Where the signing key comes from, first match wins:

1. ``SOXAUTO_SIGNING_KEY``: the private key itself, either PEM (PKCS#8, unencrypted) or the
   base64 of the 32 raw private bytes;
2. ``SOXAUTO_SIGNING_KEY_FILE``: a path to a file holding either of those forms;
3. ``<store>/keys/signing.key``: generated on first use (PEM, mode 0600).

The key id is the SHA-256 (hex) of the 32 raw public-key bytes. Every public key that ever
signed in a store is kept as ``<store>/keys/<key id>.pub.pem`` so packages stay verifiable
after a key is rotated.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import UsageError
from .store import fsync_dir

ENV_KEY = "SOXAUTO_SIGNING_KEY"
ENV_KEY_FILE = "SOXAUTO_SIGNING_KEY_FILE"
PRIVATE_FILE = "signing.key"


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class Signer:
    private: Ed25519PrivateKey
    source: str  # where the key came from, for ``keys show``

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)


def parse_private(text: bytes, where: str) -> Ed25519PrivateKey:
    """PEM (PKCS#8) or base64 of the 32 raw bytes; the error says which forms are accepted."""
    stripped = text.strip()
    try:
        if stripped.startswith(b"-----BEGIN"):
            key = serialization.load_pem_private_key(stripped, password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ValueError("not an Ed25519 key")
            return key
        raw = base64.b64decode(stripped, validate=True)
        if len(raw) != 32:
            raise ValueError(f"{len(raw)} bytes instead of 32")
        return Ed25519PrivateKey.from_private_bytes(raw)
    except (ValueError, TypeError, binascii.Error) as e:
        raise UsageError(
            f"{where}: not an Ed25519 private key ({e}); give an unencrypted PKCS#8 PEM or the "
            "base64 of the 32 raw private bytes (soxauto keys show tells which key is in use)"
        ) from None


def parse_public(text: bytes, where: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(text.strip())
    except ValueError as e:
        raise UsageError(f"{where}: not a PEM public key ({e}); export one with 'soxauto keys export'") from None
    if not isinstance(key, Ed25519PublicKey):
        raise UsageError(f"{where}: not an Ed25519 public key")
    return key


def keys_dir(store: Path) -> Path:
    return Path(store) / "keys"


def load_signer(store: Path) -> Signer:
    """The signing key (see the module docstring), generating the store's own on first use.
    Its public key is recorded in the store so verification can find it by key id."""
    if os.environ.get(ENV_KEY):
        signer = Signer(parse_private(os.environ[ENV_KEY].encode(), f"${ENV_KEY}"), f"environment variable {ENV_KEY}")
    elif os.environ.get(ENV_KEY_FILE):
        path = Path(os.environ[ENV_KEY_FILE])
        if not path.is_file():
            raise UsageError(f"${ENV_KEY_FILE}: {path} is not a file; point it at a PEM or base64 Ed25519 private key")
        signer = Signer(parse_private(path.read_bytes(), str(path)), f"file {path} (from {ENV_KEY_FILE})")
    else:
        path = keys_dir(store) / PRIVATE_FILE
        if not path.exists():
            _generate(path)
        signer = Signer(parse_private(path.read_bytes(), str(path)), f"file {path} (generated for this store)")
    remember_public(store, signer.public)
    return signer


def _generate(path: Path) -> None:
    """Write a new key with mode 0600 from the start; a concurrent first use keeps one key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another process won the race: its key is kept
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    fsync_dir(path.parent)


def remember_public(store: Path, public: Ed25519PublicKey) -> Path:
    path = keys_dir(store) / f"{key_id(public)}.pub.pem"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(public_pem(public))
        os.replace(tmp, path)
    return path


def trusted_keys(store: Path, extra: Path | None = None) -> dict[str, Ed25519PublicKey]:
    """Public keys by key id. With ``extra`` (``--key FILE``) only that key is trusted, so an
    auditor can pin the key instead of trusting whatever sits in the store."""
    if extra is not None:
        key = parse_public(Path(extra).read_bytes(), str(extra))
        return {key_id(key): key}
    found: dict[str, Ed25519PublicKey] = {}
    folder = keys_dir(store)
    if folder.is_dir():
        for path in sorted(folder.glob("*.pub.pem")):
            key = parse_public(path.read_bytes(), str(path))
            found[key_id(key)] = key
    return found


def signature_ok(public: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        public.verify(signature, data)
    except InvalidSignature:
        return False
    return True

