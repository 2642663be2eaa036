"""TOTP against RFC 6238's own test vectors (Appendix B, SHA-1, 8 digits)."""

from __future__ import annotations

import pytest
from fakeokta import expected_code

from soxauto.aws.totp import secret_bytes, totp
from soxauto.errors import UsageError

RFC_KEY = b"12345678901234567890"


@pytest.mark.parametrize(("at", "code"), [
    (59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"),
    (1234567890, "89005924"), (2000000000, "69279037"), (20000000000, "65353130"),
])
def test_rfc6238_vectors(at, code):
    assert totp(RFC_KEY, at, digits=8) == code


def test_six_digit_codes_are_the_last_six_and_change_every_30_seconds():
    assert totp(RFC_KEY, 59) == "287082"
    assert totp(RFC_KEY, 30) == totp(RFC_KEY, 59) != totp(RFC_KEY, 60)


def test_the_secret_may_be_lower_case_spaced_and_unpadded_as_okta_shows_it():
    assert secret_bytes("gezd gnbv gy3t qojq gezd gnbv gy3t qojq") == RFC_KEY
    with pytest.raises(UsageError, match="not a base32 secret"):
        secret_bytes("not-base32!")


@pytest.mark.parametrize("at", [1759471207, 1759471237, 1759474800])
def test_the_fake_okta_agrees_with_the_product(at):
    secret = "JBSWY3DPEHPK3PXPKRSXG5DT"
    assert expected_code(secret, at) == totp(secret_bytes(secret), at)
