"""No secret of the Okta sign-in reaches a log, standard output or standard error.

Everything is captured at DEBUG, with botocore and httpx asked for DEBUG too (they log request
URLs and bodies there): a sign-in, a refresh and a refused TOTP code. Then the password, the
TOTP secret and codes, Okta's state and session tokens, the SAML assertions and the AWS secret
keys and session tokens are looked for in every captured character.
"""

from __future__ import annotations

import configparser
import io
import logging
import sys
from datetime import datetime, timedelta, timezone

import time_machine
from fakeokta import PASSWORD, TOTP_SECRET, APP_PATH, ROLE, expected_code
from leakscan import gathered, leaked, log_everything

from soxauto.aws import okta as okta_mod
from soxauto.cli import run

T0 = datetime(2025, 10, 3, 6, 0, 7, tzinfo=timezone.utc)
OTHER_SECRET = "KRSXG5DTJBSWY3DPEHPK3PXP"


def sign_in(monkeypatch, okta) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    return run(["auth", "okta", "--org-url", okta.base, "--app-url", okta.base + APP_PATH, "--role-arn", ROLE,
                "--profile", "sox", "--username", "ada", "--password-stdin", "--json"])


def keys(path) -> list[str]:
    parser = configparser.RawConfigParser()
    parser.read(path)
    return [parser["sox"]["aws_secret_access_key"], parser["sox"]["aws_session_token"]]


def test_no_secret_of_the_whole_flow_reaches_logs_or_output(okta, sts, aws_env, monkeypatch, caplog, capsys):
    log_everything(caplog)
    secrets, codes = [PASSWORD, TOTP_SECRET, OTHER_SECRET], []
    monkeypatch.setenv("SOXAUTO_OKTA_TOTP_SECRET", TOTP_SECRET)
    for at in (T0, T0 + timedelta(minutes=58)):
        with time_machine.travel(at, tick=False):
            assert sign_in(monkeypatch, okta) == 0
        codes.append(expected_code(TOTP_SECRET, at.timestamp()))
        secrets += keys(aws_env)
    monkeypatch.setenv("SOXAUTO_OKTA_TOTP_SECRET", OTHER_SECRET)
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        assert sign_in(monkeypatch, okta) == 3
    codes.append(expected_code(OTHER_SECRET, (T0 + timedelta(hours=2)).timestamp()))
    secrets += okta.state_tokens + okta.session_tokens + okta.assertions + codes
    assert len(okta.state_tokens) == 3 and len(okta.session_tokens) == 2 and len(okta.assertions) == 2

    out = capsys.readouterr()
    captured = gathered(caplog, out)
    # The capture is real: our own steps are logged, and the output names the profile.
    assert "Okta primary authentication for ada: HTTP 200, MFA_REQUIRED" in captured
    assert "Okta TOTP verification: HTTP 403, E0000068" in captured
    assert '"profile": "sox"' in out.out
    assert leaked(secrets, captured) == []
    # The loggers asked for DEBUG are back at DEBUG afterwards.
    assert logging.getLogger("botocore").level == logging.DEBUG


def test_without_quieting_botocore_would_log_the_assertion(sts, caplog):
    """Why quiet_aws_logs exists: botocore's DEBUG log carries the request body."""
    import base64

    assertion = base64.b64encode(b'<r xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion"/>').decode()
    caplog.set_level(logging.DEBUG)
    spec = okta_mod.OktaSpec("https://o.okta.com", "https://o.okta.com/app", ROLE, "sox", "ada")
    try:
        okta_mod.assume_role(spec, "arn:aws:iam::123456789012:saml-provider/Okta", assertion)
    except Exception:  # noqa: BLE001  moto may refuse this minimal assertion; the request was logged first
        pass
    assert assertion in caplog.text
