"""Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP), for Okta's TOTP factor."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time

from ..errors import UsageError


def secret_bytes(secret: str) -> bytes:
    """An authenticator secret as shown by Okta: base32, any case, spaces allowed, no padding."""
    text = "".join(secret.split()).upper()
    try:
        return base64.b32decode(text + "=" * (-len(text) % 8))
    except ValueError:
        raise UsageError("SOXAUTO_OKTA_TOTP_SECRET is not a base32 secret (letters A-Z and digits 2-7)") from None


def hotp(key: bytes, counter: int, digits: int = 6, digest=hashlib.sha1) -> str:
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10 ** digits).zfill(digits)


def totp(key: bytes, at: float | None = None, *, step: int = 30, digits: int = 6, digest=hashlib.sha1) -> str:
    now = time.time() if at is None else at
    return hotp(key, int(now // step), digits, digest)
