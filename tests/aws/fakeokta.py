"""A fake Okta org on loopback for the sign-in tests: the Authentication API (primary
authentication, TOTP factor verification) and an AWS app that answers a one-time session token
with the HTML form Okta posts to AWS, holding a SAML-shaped assertion (base64 XML with the Role
attribute). It is an http.server on a thread; every request is recorded (method and path only).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ACCOUNT = "123456789012"
PASSWORD = "Pw-7f3a!correct horse"
TOTP_SECRET = "JBSWY3DPEHPK3PXPKRSXG5DT"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SoxAuditor"
PROVIDER = f"arn:aws:iam::{ACCOUNT}:saml-provider/Okta"
APP_PATH = "/home/amazon_aws/0oa1sox2aws3/272"

ASSERTION = """<?xml version="1.0" encoding="UTF-8"?>
<saml2p:Response xmlns:saml2p="urn:oasis:names:tc:SAML:2.0:protocol" Destination="https://signin.aws.amazon.com/saml"
    ID="id{nonce}" IssueInstant="2025-10-03T06:00:00Z" Version="2.0">
  <saml2:Issuer xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion">http://www.okta.com/exk1sox</saml2:Issuer>
  <saml2p:Status><saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></saml2p:Status>
  <saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" ID="as{nonce}" Version="2.0">
    <saml2:Subject><saml2:NameID>{user}</saml2:NameID></saml2:Subject>
    <saml2:AttributeStatement>
      <saml2:Attribute Name="https://aws.amazon.com/SAML/Attributes/Role">
        <saml2:AttributeValue>{role},{provider}</saml2:AttributeValue>
      </saml2:Attribute>
      <saml2:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName">
        <saml2:AttributeValue>{user}</saml2:AttributeValue>
      </saml2:Attribute>
    </saml2:AttributeStatement>
  </saml2:Assertion>
</saml2p:Response>
"""


def expected_code(secret_b32: str, at: float) -> str:
    """RFC 6238 with SHA-1, 30-second steps, 6 digits: written apart from the product's own."""
    key = base64.b32decode(secret_b32)
    digest = hmac.new(key, int(at // 30).to_bytes(8, "big"), hashlib.sha1).digest()
    start = digest[19] & 15
    return f"{(int.from_bytes(digest[start:start + 4], 'big') & 0x7FFFFFFF) % 1_000_000:06d}"


@dataclass
class User:
    password: str
    totp_secret: str
    locked: bool = False


@dataclass
class FakeOkta:
    users: dict[str, User]
    requests: list[tuple[str, str]] = field(default_factory=list)
    issued: dict[str, str] = field(default_factory=dict)  # kind:token -> user
    assertions: list[str] = field(default_factory=list)
    session_tokens: list[str] = field(default_factory=list)
    state_tokens: list[str] = field(default_factory=list)

    def start(self) -> str:
        okta = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # the default writes request lines (with tokens) to stderr
                pass

            def do_POST(self) -> None:
                okta.requests.append(("POST", urlsplit(self.path).path))
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                status, answer = okta.post(urlsplit(self.path).path, body, self.base())
                self.reply(status, json.dumps(answer).encode(), "application/json")

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                okta.requests.append(("GET", parts.path))
                status, html = okta.get(parts.path, parse_qs(parts.query))
                self.reply(status, html.encode(), "text/html; charset=utf-8")

            def base(self) -> str:
                return f"http://127.0.0.1:{self.server.server_address[1]}"

            def reply(self, status: int, data: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _token(self, kind: str, user: str) -> str:
        token = f"{kind}-{secrets.token_hex(12)}"
        self.issued[f"{kind}:{token}"] = user
        (self.state_tokens if kind == "state" else self.session_tokens).append(token)
        return token

    def post(self, path: str, body: dict, base: str) -> tuple[int, dict]:
        if path == "/api/v1/authn":
            user = self.users.get(body.get("username", ""))
            if user is None or body.get("password") != user.password:
                return 401, {"errorCode": "E0000004", "errorSummary": "Authentication failed"}
            if user.locked:
                return 200, {"status": "LOCKED_OUT"}
            return 200, {"status": "MFA_REQUIRED", "stateToken": self._token("state", body["username"]),
                         "_embedded": {"factors": [
                             {"id": "opf1push", "factorType": "push", "provider": "OKTA"},
                             {"id": "uft1totp", "factorType": "token:software:totp", "provider": "GOOGLE",
                              "_links": {"verify": {"href": f"{base}/api/v1/authn/factors/uft1totp/verify"}}}]}}
        if path == "/api/v1/authn/factors/uft1totp/verify":
            name = self.issued.pop(f"state:{body.get('stateToken')}", None)
            if name is None:
                return 401, {"errorCode": "E0000011", "errorSummary": "Invalid token provided"}
            if body.get("passCode") != expected_code(self.users[name].totp_secret, time.time()):
                return 403, {"errorCode": "E0000068", "errorSummary": "Invalid Passcode/Answer"}
            return 200, {"status": "SUCCESS", "sessionToken": self._token("session", name)}
        return 404, {"errorCode": "E0000007", "errorSummary": "Not found"}

    def get(self, path: str, query: dict) -> tuple[int, str]:
        token = (query.get("sessionToken") or [""])[0]
        name = self.issued.pop(f"session:{token}", None)  # a session token is good for one use
        if path != APP_PATH or name is None:
            return 403, "<html><body>Sign in to Okta</body></html>"
        xml = ASSERTION.format(nonce=secrets.token_hex(8), user=f"{name}@example.com", role=ROLE, provider=PROVIDER)
        assertion = base64.b64encode(xml.encode()).decode()
        self.assertions.append(assertion)
        return 200, ('<html><body><form id="appForm" action="https://signin.aws.amazon.com/saml" method="POST">'
                     f'<input name="SAMLResponse" type="hidden" value="{assertion}"/>'
                     '<input name="RelayState" type="hidden" value=""/></form></body></html>')
