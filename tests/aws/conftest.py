"""Fixtures for the AWS sign-in tests: a fake Okta org on loopback, moto's STS, and a
credentials file of the test's own (no real AWS account or profile is ever touched)."""

from __future__ import annotations

import pytest
from fakeokta import PASSWORD, TOTP_SECRET, FakeOkta, User


@pytest.fixture
def aws_env(tmp_path, monkeypatch):
    """No real credentials can be found; the credentials and config files are the test's."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_SESSION_TOKEN", "SOXAUTO_AWS_PROFILE", "SOXAUTO_AWS_REGION", "SOXAUTO_OKTA_TOTP_SECRET",
                 "SOXAUTO_OKTA_USERNAME", "SOXAUTO_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "aws" / "credentials"
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws" / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.chdir(tmp_path)
    return path


@pytest.fixture
def sts(aws_env):
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture
def okta():
    fake = FakeOkta({"ada": User(PASSWORD, TOTP_SECRET), "locked": User(PASSWORD, TOTP_SECRET, locked=True)})
    fake.base = fake.start()
    try:
        yield fake
    finally:
        fake.stop()
