"""Sign in to AWS through Okta: primary authentication, a TOTP second factor, the AWS app's SAML
assertion, STS AssumeRoleWithSAML, and a named profile written with its expiry.

The steps follow Okta's Authentication API (``POST /api/v1/authn``, then the factor's ``verify``
link with a ``passCode``) and the AWS app's embed link opened with the one-time
``sessionToken``; the app answers with an HTML form holding ``SAMLResponse``. Secrets (the
password, the TOTP code, the state and session tokens, the assertion, the AWS keys) live in
local variables only: they are never logged, never put in an error, never written anywhere but
the credentials file. botocore and httpx log request URLs and bodies at DEBUG, so they are held
at WARNING while this runs (``quiet_aws_logs``).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from ..errors import SoxautoError, UsageError, did_you_mean
from . import profile as profiles

log = logging.getLogger(__name__)

ROLE_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/Role"
TOTP = "token:software:totp"
# Libraries that log request URLs or bodies (a session token, an assertion, keys) at DEBUG/INFO.
NOISY = ("botocore", "boto3", "urllib3", "httpx", "httpcore", "s3transfer")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
SAML = {"saml": "urn:oasis:names:tc:SAML:2.0:assertion"}


@dataclass(frozen=True)
class OktaSpec:
    org_url: str
    app_url: str
    role_arn: str
    profile: str
    username: str
    duration_seconds: int = 3600
    region: str | None = None
    credentials_file: Path | None = None


@dataclass(frozen=True)
class SignInResult:
    profile: str
    path: Path
    expires: datetime
    refreshed: bool
    role_arn: str

    def to_dict(self) -> dict:
        return {"profile": self.profile, "credentials_file": str(self.path), "role_arn": self.role_arn,
                "expires": self.expires.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "refreshed": self.refreshed}


@contextlib.contextmanager
def quiet_aws_logs():
    saved = {name: logging.getLogger(name).level for name in NOISY}
    try:
        for name in NOISY:
            logger = logging.getLogger(name)
            if logger.getEffectiveLevel() < logging.WARNING:
                logger.setLevel(logging.WARNING)
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def sign_in(spec: OktaSpec, password: Callable[[], str], passcode: Callable[[], str], *, force: bool = False,
            client=None, now: datetime | None = None) -> SignInResult:
    """Write ``spec.profile`` unless it is still valid (``force`` refreshes anyway). ``password``
    and ``passcode`` are asked for only when a sign-in is needed."""
    path = profiles.credentials_file(spec.credentials_file)
    valid = None if force else profiles.still_valid(spec.profile, path, now)
    if valid is not None:
        log.info("AWS profile %s in %s is valid until %s; not refreshed", spec.profile, path, valid.isoformat())
        return SignInResult(spec.profile, path, valid, False, spec.role_arn)
    if not force and profiles.foreign(spec.profile, path):
        raise UsageError(f"profile '{spec.profile}' in {path} holds keys soxauto did not write; choose another "
                         "--profile, or pass --force to replace them")
    _check_url(spec.org_url, "--org-url")
    _check_url(spec.app_url, "--app-url")
    import httpx

    with quiet_aws_logs(), (client or httpx.Client(timeout=30.0, follow_redirects=True)) as http:
        token = authenticate(http, spec, password, passcode)
        assertion = saml_assertion(http, spec.app_url, token)
        principal = pick_role(roles(assertion), spec.role_arn)
        creds = assume_role(spec, principal, assertion)
    profiles.write(spec.profile, creds, path)
    log.info("AWS profile %s written to %s for %s, valid until %s", spec.profile, path, spec.role_arn,
             creds.expires.isoformat())
    return SignInResult(spec.profile, path, creds.expires, True, spec.role_arn)


def _check_url(url: str, option: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK):
        return
    raise UsageError(f"{option} {url!r} must be an https:// URL (a password is sent to it)")


def _post(http, url: str, body: dict) -> tuple[int, dict]:
    import httpx

    try:
        response = http.post(url, json=body, headers={"Accept": "application/json"})
    except httpx.HTTPError as e:
        raise SoxautoError(f"cannot reach Okta at {_origin(url)}: {type(e).__name__}") from None
    try:
        return response.status_code, response.json()
    except ValueError:
        raise SoxautoError(f"Okta at {_origin(url)} answered HTTP {response.status_code} without JSON") from None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def authenticate(http, spec: OktaSpec, password: Callable[[], str], passcode: Callable[[], str]) -> str:
    """Primary authentication, then the TOTP factor when Okta asks for one; the session token."""
    org = spec.org_url.rstrip("/")
    status, body = _post(http, f"{org}/api/v1/authn", {"username": spec.username, "password": password()})
    state = body.get("status")
    log.debug("Okta primary authentication for %s: HTTP %s, %s", spec.username, status, state or body.get("errorCode"))
    if status == 401 or body.get("errorCode") == "E0000004":
        raise UsageError(f"Okta refused the user name or password of '{spec.username}' ({body.get('errorCode', status)}: "
                         f"{body.get('errorSummary', 'authentication failed')}); check them and try again")
    if state == "SUCCESS":
        return body["sessionToken"]
    if state == "LOCKED_OUT":
        raise UsageError(f"Okta account '{spec.username}' is locked out; wait for the lockout to end or ask your "
                         "Okta administrator to unlock it")
    if state in ("PASSWORD_EXPIRED", "PASSWORD_WARN", "MFA_ENROLL"):
        raise UsageError(f"Okta needs you to act in the browser first ({state}): sign in at {org} and finish it")
    if state != "MFA_REQUIRED":
        raise SoxautoError(f"Okta answered HTTP {status} with status {state or body.get('errorCode')}; "
                           "sign in at the Okta web page to see why")
    factors = body.get("_embedded", {}).get("factors", [])
    totp = [f for f in factors if f.get("factorType") == TOTP]
    if not totp:
        kinds = ", ".join(sorted({str(f.get("factorType")) for f in factors})) or "none"
        raise UsageError(f"'{spec.username}' has no TOTP factor enrolled in Okta (factors: {kinds}); "
                         "enroll Okta Verify or Google Authenticator")
    href = totp[0].get("_links", {}).get("verify", {}).get("href", "")
    if _origin(href) != _origin(org):
        raise SoxautoError(f"Okta's factor link points outside {_origin(org)}; refusing to send the code there")
    status, body = _post(http, href, {"stateToken": body.get("stateToken"), "passCode": passcode()})
    log.debug("Okta TOTP verification: HTTP %s, %s", status, body.get("status") or body.get("errorCode"))
    if body.get("status") == "SUCCESS" and body.get("sessionToken"):
        return body["sessionToken"]
    if body.get("errorCode") == "E0000068" or status == 403:
        raise UsageError("Okta refused the TOTP code (E0000068 Invalid Passcode/Answer); check the device clock, "
                         "or SOXAUTO_OKTA_TOTP_SECRET, and try again with the next code")
    raise SoxautoError(f"Okta TOTP verification answered HTTP {status} with {body.get('status') or body.get('errorCode')}")


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.saml: str | None = None

    def handle_starttag(self, tag, attrs) -> None:
        values = dict(attrs)
        if tag == "input" and values.get("name") == "SAMLResponse" and self.saml is None:
            self.saml = values.get("value")


def saml_assertion(http, app_url: str, session_token: str) -> str:
    """The base64 SAMLResponse of the AWS app's sign-on form."""
    import httpx

    try:
        response = http.get(app_url, params={"sessionToken": session_token})
    except httpx.HTTPError as e:
        raise SoxautoError(f"cannot reach the Okta AWS app at {_origin(app_url)}: {type(e).__name__}") from None
    reader = _FormReader()
    reader.feed(response.text)
    if response.status_code != 200 or not reader.saml:
        raise UsageError(f"the Okta AWS app answered HTTP {response.status_code} without a SAMLResponse form; check "
                         "--app-url (the app's embed link, like https://ORG.okta.com/home/amazon_aws/0oa.../272) and "
                         "that the user is assigned to the app")
    log.debug("SAML assertion received from the Okta AWS app (%d characters)", len(reader.saml))
    return reader.saml


def roles(assertion: str) -> list[tuple[str, str]]:
    """(role ARN, SAML provider ARN) pairs of the assertion's Role attribute."""
    try:
        root = ET.fromstring(base64.b64decode(assertion, validate=True))
    except (binascii.Error, ValueError, ET.ParseError):
        raise SoxautoError("the SAMLResponse from Okta is not base64-encoded XML") from None
    pairs = []
    for attribute in root.iter(f"{{{SAML['saml']}}}Attribute"):
        if attribute.get("Name") != ROLE_ATTRIBUTE:
            continue
        for value in attribute.iterfind("saml:AttributeValue", SAML):
            parts = [p.strip() for p in (value.text or "").split(",")]
            if len(parts) == 2:
                role, provider = sorted(parts, key=lambda p: ":saml-provider/" in p)
                pairs.append((role, provider))
    return pairs


def pick_role(pairs: list[tuple[str, str]], role_arn: str) -> str:
    """The SAML provider ARN to assume ``role_arn`` with."""
    for role, provider in pairs:
        if role == role_arn:
            return provider
    offered = [r for r, _ in pairs]
    raise UsageError(f"the Okta AWS app does not offer role {role_arn}{did_you_mean(role_arn, offered)}; "
                     f"it offers: {', '.join(offered) or 'no role'}")


def assume_role(spec: OktaSpec, principal: str, assertion: str) -> profiles.Credentials:
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    # AssumeRoleWithSAML is not signed: the assertion is the credential.
    sts = boto3.client("sts", region_name=spec.region or "us-east-1", config=Config(signature_version=UNSIGNED))
    try:
        answer = sts.assume_role_with_saml(RoleArn=spec.role_arn, PrincipalArn=principal, SAMLAssertion=assertion,
                                           DurationSeconds=spec.duration_seconds)
    except ClientError as e:
        error = e.response.get("Error", {})
        raise SoxautoError(f"STS AssumeRoleWithSAML for {spec.role_arn} failed: {error.get('Code')}: "
                           f"{error.get('Message')}") from None
    except BotoCoreError as e:
        raise SoxautoError(f"STS AssumeRoleWithSAML for {spec.role_arn} failed: {type(e).__name__}") from None
    c = answer["Credentials"]
    expires = c["Expiration"] if c["Expiration"].tzinfo else c["Expiration"].replace(tzinfo=timezone.utc)
    log.debug("STS AssumeRoleWithSAML: %s as access key %s until %s", spec.role_arn, c["AccessKeyId"], expires.isoformat())
    return profiles.Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"], expires)
