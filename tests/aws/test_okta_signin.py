"""``soxauto auth okta`` end to end: the fake Okta on loopback, moto's STS, a credentials file.

T0 is 2025-10-03 06:00:07 UTC; moto's STS gives one-hour sessions, so a profile written at T0
expires at 07:00:07 and is refreshed from 06:55:07 on (five minutes of margin).
"""

from __future__ import annotations

import configparser
import io
import sys
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from fakeokta import PASSWORD, TOTP_SECRET, APP_PATH, PROVIDER, ROLE, expected_code

from soxauto.aws import okta as okta_mod
from soxauto.aws.credentials import aws_session
from soxauto.cli import run
from soxauto.errors import UsageError

T0 = datetime(2025, 10, 3, 6, 0, 7, tzinfo=timezone.utc)
SIGN_IN = [("POST", "/api/v1/authn"), ("POST", "/api/v1/authn/factors/uft1totp/verify"), ("GET", APP_PATH)]


def okta_cli(monkeypatch, okta, *extra, user="ada", stdin=PASSWORD + "\n", role=ROLE):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return run(["auth", "okta", "--org-url", okta.base, "--app-url", okta.base + APP_PATH, "--role-arn", role,
                "--profile", "sox", "--username", user, "--password-stdin", *extra])


def profile(path) -> dict[str, str]:
    parser = configparser.RawConfigParser()
    parser.read(path)
    return dict(parser["sox"])


@pytest.fixture
def secret(monkeypatch):
    monkeypatch.setenv("SOXAUTO_OKTA_TOTP_SECRET", TOTP_SECRET)


def test_sign_in_writes_a_profile_that_boto3_uses_with_its_expiry(okta, sts, aws_env, secret, monkeypatch, capsys):
    with time_machine.travel(T0, tick=False):
        assert okta_cli(monkeypatch, okta) == 0
    assert okta.requests == SIGN_IN
    written = profile(aws_env)
    assert sorted(written) == ["aws_access_key_id", "aws_secret_access_key", "aws_session_token",
                               "x_security_token_expires"]
    assert written["x_security_token_expires"] == "2025-10-03T07:00:07Z"
    assert written["aws_access_key_id"].startswith("ASIA")
    assert oct(aws_env.stat().st_mode & 0o777) == "0o600"
    assert capsys.readouterr().out == (f"profile sox written to {aws_env}: {ROLE}, valid until 2025-10-03T07:00:07Z\n")
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        session = aws_session(profile="sox", region="eu-west-1")
        assert session.get_credentials().access_key == written["aws_access_key_id"]
        who = session.client("sts").get_caller_identity()
    assert who["Arn"] == "arn:aws:sts::123456789012:assumed-role/SoxAuditor/ada@example.com"


def test_a_valid_profile_is_left_alone_without_asking_for_anything(okta, sts, aws_env, secret, monkeypatch, capsys):
    with time_machine.travel(T0, tick=False):
        assert okta_cli(monkeypatch, okta) == 0
    before = aws_env.read_bytes()
    capsys.readouterr()
    with time_machine.travel(T0 + timedelta(minutes=54), tick=False):
        assert okta_cli(monkeypatch, okta, stdin="") == 0  # no password on stdin: none is read
    assert okta.requests == SIGN_IN and aws_env.read_bytes() == before
    assert capsys.readouterr().out == (f"profile sox in {aws_env} is valid until 2025-10-03T07:00:07Z; "
                                       "nothing to do (--force signs in again)\n")


def test_an_expired_or_nearly_expired_profile_is_refreshed(okta, sts, aws_env, secret, monkeypatch):
    with time_machine.travel(T0, tick=False):
        assert okta_cli(monkeypatch, okta) == 0
    first = profile(aws_env)
    with time_machine.travel(T0 + timedelta(minutes=56), tick=False):
        assert okta_cli(monkeypatch, okta) == 0
    second = profile(aws_env)
    assert okta.requests == SIGN_IN * 2
    assert second["x_security_token_expires"] == "2025-10-03T07:56:07Z"
    assert second["aws_access_key_id"] != first["aws_access_key_id"]
    with time_machine.travel(T0 + timedelta(minutes=57), tick=False):
        assert okta_cli(monkeypatch, okta, "--force") == 0
    assert okta.requests == SIGN_IN * 3 and profile(aws_env)["x_security_token_expires"] == "2025-10-03T07:57:07Z"


def test_an_expired_profile_is_an_error_before_any_aws_call(okta, sts, aws_env, secret, monkeypatch):
    with time_machine.travel(T0, tick=False):
        assert okta_cli(monkeypatch, okta) == 0
    with time_machine.travel(T0 + timedelta(hours=2), tick=False), pytest.raises(UsageError) as e:
        aws_session(profile="sox")
    assert str(e.value) == (f"AWS profile 'sox' in {aws_env} expired at 2025-10-03T07:00:07+00:00; refresh it with "
                            "'soxauto auth okta --profile sox ...'")


def test_a_wrong_totp_code_is_refused_and_nothing_is_written(okta, sts, aws_env, monkeypatch, capsys):
    monkeypatch.setenv("SOXAUTO_OKTA_TOTP_SECRET", "KRSXG5DTJBSWY3DPEHPK3PXP")  # another device's secret
    with time_machine.travel(T0, tick=False):
        assert okta_cli(monkeypatch, okta) == 3
    assert capsys.readouterr().err == ("error: Okta refused the TOTP code (E0000068 Invalid Passcode/Answer); check the "
                                       "device clock, or SOXAUTO_OKTA_TOTP_SECRET, and try again with the next code\n")
    assert okta.requests == SIGN_IN[:2] and not aws_env.exists()


def test_a_typed_totp_code_is_read_after_the_password(okta, sts, aws_env, monkeypatch, capsys):
    at = T0.timestamp()
    assert expected_code(TOTP_SECRET, at) != "000000"
    with time_machine.travel(T0, tick=False):
        assert okta_cli(monkeypatch, okta, stdin=f"{PASSWORD}\n000000\n") == 3
        assert "Okta refused the TOTP code" in capsys.readouterr().err
        assert okta_cli(monkeypatch, okta, stdin=f"{PASSWORD}\n{expected_code(TOTP_SECRET, at)}\n") == 0
    assert profile(aws_env)["x_security_token_expires"] == "2025-10-03T07:00:07Z"


def test_a_wrong_password_stops_at_primary_authentication(okta, sts, aws_env, secret, monkeypatch, capsys):
    with time_machine.travel(T0, tick=False):
        assert okta_cli(monkeypatch, okta, stdin="not the password\n") == 3
    assert capsys.readouterr().err == ("error: Okta refused the user name or password of 'ada' (E0000004: "
                                       "Authentication failed); check them and try again\n")
    assert okta.requests == SIGN_IN[:1] and not aws_env.exists()


def test_a_locked_out_account_says_so(okta, sts, aws_env, secret, monkeypatch, capsys):
    with time_machine.travel(T0, tick=False):
        assert okta_cli(monkeypatch, okta, user="locked") == 3
    assert capsys.readouterr().err == ("error: Okta account 'locked' is locked out; wait for the lockout to end or ask "
                                       "your Okta administrator to unlock it\n")


def test_a_role_the_app_does_not_offer_is_named_with_the_offered_one(okta, sts, aws_env, secret, monkeypatch, capsys):
    with time_machine.travel(T0, tick=False):
        assert okta_cli(monkeypatch, okta, role="arn:aws:iam::123456789012:role/SoxAuditors") == 3
    assert capsys.readouterr().err == (
        "error: the Okta AWS app does not offer role arn:aws:iam::123456789012:role/SoxAuditors; "
        f"did you mean '{ROLE}'?; it offers: {ROLE}\n")


def test_static_keys_under_the_same_profile_name_are_never_overwritten(okta, sts, aws_env, secret, monkeypatch, capsys):
    aws_env.parent.mkdir(parents=True)
    aws_env.write_text("[sox]\naws_access_key_id = AKIASTATIC\naws_secret_access_key = static\n", "utf-8")
    assert okta_cli(monkeypatch, okta) == 3
    assert "holds keys soxauto did not write; choose another --profile, or pass --force" in capsys.readouterr().err
    assert okta.requests == [] and "AKIASTATIC" in aws_env.read_text("utf-8")
    with time_machine.travel(T0, tick=False):
        assert okta_cli(monkeypatch, okta, "--force") == 0
    assert profile(aws_env)["aws_access_key_id"].startswith("ASIA") and okta.requests == SIGN_IN


def test_a_plain_http_okta_other_than_loopback_is_refused(okta, sts, aws_env, secret, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert run(["auth", "okta", "--org-url", "http://example.okta.com", "--app-url", okta.base + APP_PATH,
                "--role-arn", ROLE, "--profile", "sox", "--username", "ada", "--password-stdin"]) == 3
    assert "--org-url 'http://example.okta.com' must be an https:// URL" in capsys.readouterr().err


def test_roles_reads_every_pair_in_either_order():
    import base64

    xml = ('<r xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:Attribute '
           'Name="https://aws.amazon.com/SAML/Attributes/Role">'
           f'<saml:AttributeValue>{PROVIDER},{ROLE}</saml:AttributeValue>'
           '<saml:AttributeValue>arn:aws:iam::1:role/B, arn:aws:iam::1:saml-provider/P</saml:AttributeValue>'
           '</saml:Attribute><saml:Attribute Name="other"><saml:AttributeValue>x,y</saml:AttributeValue>'
           '</saml:Attribute></r>')
    pairs = okta_mod.roles(base64.b64encode(xml.encode()).decode())
    assert pairs == [(ROLE, PROVIDER), ("arn:aws:iam::1:role/B", "arn:aws:iam::1:saml-provider/P")]
    assert okta_mod.pick_role(pairs, "arn:aws:iam::1:role/B") == "arn:aws:iam::1:saml-provider/P"
