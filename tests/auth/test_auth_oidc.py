"""OIDC bearer tokens against a JWKS served on loopback by the test itself, with RSA and EC keys
generated here: good tokens give the right principal and roles; every token the issue lists
as hostile (wrong issuer or audience, alg none, expired, unknown key, HS256 signed with the
public key) is refused, and the key set is refetched exactly once for an unknown key id."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from soxauto.auth import AuthError, OidcVerifier, Principal, authenticator
from soxauto.close.store import RunStore
from soxauto.config import Config
from soxauto.errors import UsageError

ISSUER = "https://example.okta.com/oauth2/default"
AUDIENCE = "api://soxauto"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key, kid: str) -> dict:
    public = key.public_key()
    doc = RSAAlgorithm.to_jwk(public, as_dict=True) if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm.to_jwk(public, as_dict=True)
    return {**doc, "kid": kid, "use": "sig"}


class Jwks:
    """A JWKS endpoint on 127.0.0.1 whose document the test can change; counts the fetches."""

    def __init__(self, keys: list[dict]):
        self.doc, self.fetches = {"keys": keys}, 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                owner.fetches += 1
                body = json.dumps(owner.doc).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/keys"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def jwks():
    server = Jwks([jwk(RSA_KEY, "rsa-1"), jwk(EC_KEY, "ec-1")])
    yield server
    server.stop()


def claims(**changes) -> dict:
    t = int(time.time())
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice@example.com", "iat": t, "exp": t + 600,
            "groups": ["Everyone", "reviewer"]}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload: dict, key=RSA_KEY, alg: str = "RS256", kid: str = "rsa-1") -> str:
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict, payload: dict, signature: bytes = b"") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}.{b64(signature)}"


def verifier(jwks: Jwks, **kw) -> OidcVerifier:
    return OidcVerifier(ISSUER, AUDIENCE, jwks.url, **kw)


def test_good_rsa_and_ec_tokens_give_the_principal_and_its_roles(jwks):
    v = verifier(jwks)
    assert v.verify(sign(claims())) == Principal("alice@example.com", frozenset({"reviewer"}), "oidc")
    ec_token = sign(claims(sub="bob", groups="soxauto-preparer Payroll soxauto-auditor"), EC_KEY, "ES256", "ec-1")
    assert v.verify(ec_token) == Principal("bob", frozenset({"preparer", "auditor"}), "oidc")
    assert jwks.fetches == 1  # the key set is fetched once and kept


def test_roles_come_from_the_configured_claim(jwks):
    v = verifier(jwks, role_claim="roles")
    token = sign(claims(roles=["admin"], groups=["reviewer"]))
    assert v.verify(token).roles == frozenset({"admin"})
    assert v.verify(sign(claims(groups=["reviewer"]))).roles == frozenset()  # no 'roles' claim: no role


@pytest.mark.parametrize("changes, message", [
    ({"iss": "https://evil.example.com"}, "token issuer is not https://example.okta.com/oauth2/default"),
    ({"aud": "api://other"}, "token audience is not api://soxauto"),
    ({"exp": int(time.time()) - 3600}, "token has expired"),
    ({"nbf": int(time.time()) + 3600}, "token is not valid yet (nbf)"),
    ({"exp": None}, "token has no 'exp' claim"),
    ({"sub": None}, "token has no 'sub' claim"),
])
def test_tokens_with_bad_claims_are_refused(jwks, changes, message):
    with pytest.raises(AuthError) as e:
        verifier(jwks).verify(sign(claims(**changes)))
    assert str(e.value) == message


def test_alg_none_is_refused(jwks):
    token = unsigned({"alg": "none", "typ": "JWT", "kid": "rsa-1"}, claims())
    with pytest.raises(AuthError, match="token algorithm 'none' is not accepted; accepted: RS256, ES256"):
        verifier(jwks).verify(token)


def test_hs256_signed_with_the_public_key_is_refused(jwks):
    pem = RSA_KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header, payload = {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, claims()
    signing_input = unsigned(header, payload).rsplit(".", 1)[0].encode()
    token = unsigned(header, payload, hmac.new(pem, signing_input, hashlib.sha256).digest())
    with pytest.raises(AuthError, match="token algorithm 'HS256' is not accepted"):
        verifier(jwks).verify(token)
    with pytest.raises(UsageError, match="HS256 are not accepted"):
        OidcVerifier(ISSUER, AUDIENCE, jwks.url, algorithms=("RS256", "HS256"))
    with pytest.raises(UsageError, match="none are not accepted"):
        OidcVerifier(ISSUER, AUDIENCE, jwks.url, algorithms=("none",))


def test_unknown_key_is_refused_after_one_refetch(jwks):
    v = verifier(jwks)
    assert v.verify(sign(claims())).name == "alice@example.com"
    assert jwks.fetches == 1
    with pytest.raises(AuthError, match="signed by key 'rotated-9', which is not in the JWKS"):
        v.verify(sign(claims(), OTHER_RSA, kid="rotated-9"))
    assert jwks.fetches == 2  # one refetch: the provider may have rotated its keys
    with pytest.raises(AuthError, match="signed by key 'made-up', which is not in the JWKS"):
        v.verify(sign(claims(), OTHER_RSA, kid="made-up"))
    assert jwks.fetches == 2  # no second refetch within the minute


def test_a_rotated_key_is_found_by_the_refetch(jwks):
    v = verifier(jwks)
    assert v.verify(sign(claims())).name == "alice@example.com"
    jwks.doc = {"keys": [jwk(RSA_KEY, "rsa-1"), jwk(OTHER_RSA, "rsa-2")]}
    assert v.verify(sign(claims(sub="carol"), OTHER_RSA, kid="rsa-2")).name == "carol"
    assert jwks.fetches == 2


def test_a_known_kid_with_another_keys_signature_is_refused(jwks):
    with pytest.raises(AuthError, match="token does not verify: Signature verification failed"):
        verifier(jwks).verify(sign(claims(), OTHER_RSA, kid="rsa-1"))


def test_a_tampered_payload_is_refused(jwks):
    token = sign(claims(groups=["preparer"]))
    head, _, sig = token.split(".")
    forged = f"{head}.{b64(json.dumps(claims(groups=['admin'])).encode())}.{sig}"
    with pytest.raises(AuthError, match="Signature verification failed"):
        verifier(jwks).verify(forged)


def test_an_algorithm_that_does_not_fit_the_key_is_refused(jwks):
    token = sign(claims(), EC_KEY, "ES256", kid="rsa-1")  # ES256 naming the RSA key
    with pytest.raises(AuthError, match="key rsa-1 of the JWKS \\(RSA\\) cannot verify an ES256 token"):
        verifier(jwks).verify(token)


def test_an_unreachable_jwks_is_an_auth_error_naming_the_url(jwks):
    url = jwks.url
    jwks.stop()
    with pytest.raises(AuthError, match=f"cannot read the JWKS at {url}"):
        OidcVerifier(ISSUER, AUDIENCE, url).verify(sign(claims()))
    jwks.stop = lambda: None  # already stopped


def test_authenticator_routes_jwts_to_oidc_and_sxa_tokens_to_local_users(jwks, tmp_path):
    runs = RunStore(f"sqlite:///{tmp_path / 'runs.sqlite'}")
    cfg = Config(home=tmp_path, oidc_issuer=ISSUER, oidc_audience=AUDIENCE, oidc_jwks_url=jwks.url)
    auth = authenticator(cfg, runs)
    assert auth("Bearer " + sign(claims())) == Principal("alice@example.com", frozenset({"reviewer"}), "oidc")
    from soxauto.auth import LocalUsers

    users = LocalUsers(runs)
    users.add("dora", ["preparer"])
    token = users.issue_token("dora", "ci")
    assert auth(token) == Principal("dora", frozenset({"preparer"}), "token")
    with pytest.raises(AuthError, match="no credential"):
        auth("")
    with pytest.raises(AuthError, match="not a SOXauto API token nor a JWT"):
        auth("hello")
    local_only = authenticator(Config(home=tmp_path), runs)
    with pytest.raises(AuthError, match="OIDC is not configured"):
        local_only(sign(claims()))
    with pytest.raises(UsageError, match="OIDC is not fully configured: set oidc_jwks_url"):
        authenticator(Config(home=tmp_path, oidc_issuer=ISSUER, oidc_audience=AUDIENCE), runs)
    runs.close()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://keys.example.com/v1/keys", "ftp://x/keys", "keys.json"])
def test_the_jwks_url_must_be_https_or_loopback(url):
    with pytest.raises(UsageError, match="must be an https:// URL \\(http:// only on loopback\\)"):
        OidcVerifier(ISSUER, AUDIENCE, url)
    assert OidcVerifier(ISSUER, AUDIENCE, "https://acme.okta.com/oauth2/default/v1/keys").jwks_url.endswith("/v1/keys")
