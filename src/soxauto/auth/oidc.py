"""OIDC bearer tokens (Okta or any OpenID Connect provider) checked against the provider's JWKS.

What is checked, in order: the header names an algorithm from the allow-list (never ``none``,
never a shared-secret HMAC algorithm: a JWKS holds public keys, and accepting ``HS256`` would
let anyone sign with the public key as the secret); its ``kid`` names a key of the JWKS whose
type fits that algorithm; then the signature, ``exp`` and ``nbf`` (with a small leeway for
clock skew), the issuer and the audience. Roles come from one claim (``groups`` by default),
a list or a space/comma separated string, whose values are role names, optionally written
``soxauto-<role>`` so an Okta group can say which product it is for.

The JWKS is fetched on first use and kept for an hour. A token whose ``kid`` is not in the
cached set makes one refetch (the provider rotated its keys), at most once a minute, so a
stream of tokens with made-up key ids cannot turn the service into a JWKS downloader.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Callable, Mapping

import jwt
from jwt import PyJWK
from jwt.exceptions import PyJWKError

from ..errors import UsageError
from .principal import ROLES, AuthError, Principal

# algorithm -> (key type, curve) a key must have to be used with it
_KEY_OF = {
    "RS256": ("RSA", None), "RS384": ("RSA", None), "RS512": ("RSA", None),
    "PS256": ("RSA", None), "PS384": ("RSA", None), "PS512": ("RSA", None),
    "ES256": ("EC", "P-256"), "ES384": ("EC", "P-384"), "ES512": ("EC", "P-521"),
    "EdDSA": ("OKP", None),
}
CACHE_SECONDS = 3600.0
REFETCH_SECONDS = 60.0
LEEWAY_SECONDS = 30


def fetch_json(url: str, timeout: float = 5.0) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310  (configured https URL)
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise AuthError(f"cannot read the JWKS at {url}: {e}; check oidc_jwks_url") from None


class OidcVerifier:
    def __init__(self, issuer: str, audience: str, jwks_url: str, algorithms=("RS256", "ES256"), role_claim: str = "groups",
                 *, name_claim: str = "sub", fetch: Callable[[str], dict] = fetch_json, clock: Callable[[], float] = time.monotonic):
        missing = [k for k, v in (("oidc_issuer", issuer), ("oidc_audience", audience), ("oidc_jwks_url", jwks_url)) if not v]
        if missing:
            raise UsageError(f"OIDC is not fully configured: set {', '.join(missing)} (soxauto.toml or SOXAUTO_* variables)")
        _check_url(jwks_url)
        unknown = [a for a in algorithms if a not in _KEY_OF]
        if unknown:
            raise UsageError(f"OIDC algorithms {', '.join(unknown)} are not accepted: only public-key algorithms "
                             f"({', '.join(_KEY_OF)}) verify against a JWKS; 'none' and HS* never do")
        self.issuer, self.audience, self.jwks_url = issuer, audience, jwks_url
        self.algorithms = tuple(algorithms)
        self.role_claim, self.name_claim = role_claim, name_claim
        self._fetch, self._clock = fetch, clock
        self._keys: dict[str, dict] = {}
        self._fetched_at: float | None = None
        self._refetched_at: float | None = None
        self._guard = threading.Lock()

    def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("the bearer token is not a JWT") from None
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise AuthError(f"token algorithm {alg!r} is not accepted; accepted: {', '.join(self.algorithms)}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("token header has no 'kid': cannot tell which key of the JWKS signed it")
        key = self._key(kid, alg)
        try:
            claims = jwt.decode(token, key, algorithms=[alg], audience=self.audience, issuer=self.issuer,
                                leeway=LEEWAY_SECONDS, options={"require": ["exp", "iss", "aud", self.name_claim]})
        except jwt.ExpiredSignatureError:
            raise AuthError("token has expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("token is not valid yet (nbf)") from None
        except jwt.InvalidIssuerError:
            raise AuthError(f"token issuer is not {self.issuer}") from None
        except jwt.InvalidAudienceError:
            raise AuthError(f"token audience is not {self.audience}") from None
        except jwt.MissingRequiredClaimError as e:
            raise AuthError(f"token has no '{e.claim}' claim") from None
        except jwt.PyJWTError as e:
            raise AuthError(f"token does not verify: {e}") from None
        name = claims.get(self.name_claim)
        if not isinstance(name, str) or not name:
            raise AuthError(f"token claim '{self.name_claim}' is not a name")
        return Principal(name, roles_from(claims.get(self.role_claim)), "oidc")

    def _key(self, kid: str, alg: str):
        jwk = self._lookup(kid)
        kty, crv = _KEY_OF[alg]
        if jwk.get("kty") != kty or (crv is not None and jwk.get("crv") != crv) or jwk.get("alg", alg) != alg:
            raise AuthError(f"key {kid} of the JWKS ({jwk.get('kty')} {jwk.get('crv') or ''}".rstrip()
                            + f") cannot verify an {alg} token")
        try:
            return PyJWK(jwk, alg).key
        except PyJWKError as e:
            raise AuthError(f"key {kid} of the JWKS is not usable: {e}") from None

    def _lookup(self, kid: str) -> dict:
        with self._guard:
            t = self._clock()
            if self._fetched_at is None or t - self._fetched_at > CACHE_SECONDS:
                self._keys, self._fetched_at = self._load(), t
            elif kid not in self._keys and (self._refetched_at is None or t - self._refetched_at > REFETCH_SECONDS):
                # An unknown kid may be a key the provider has just rotated in: look once more.
                self._keys, self._fetched_at = self._load(), t
                self._refetched_at = t
            jwk = self._keys.get(kid)
        if jwk is None:
            raise AuthError(f"token was signed by key {kid!r}, which is not in the JWKS at {self.jwks_url}")
        return jwk

    def _load(self) -> dict[str, dict]:
        doc = self._fetch(self.jwks_url)
        keys = doc.get("keys") if isinstance(doc, Mapping) else None
        if not isinstance(keys, list):
            raise AuthError(f"the JWKS at {self.jwks_url} has no 'keys' list")
        return {k["kid"]: k for k in keys
                if isinstance(k, Mapping) and isinstance(k.get("kid"), str) and k.get("use", "sig") == "sig"}


def _check_url(url: str) -> None:
    """Keys must come over TLS; plain http only from this machine (a test or a local proxy)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1"):
        return
    raise UsageError(f"oidc_jwks_url {url!r} must be an https:// URL (http:// only on loopback)")


def roles_from(value) -> frozenset[str]:
    """Roles named by a claim: a list or a space/comma separated string; unknown groups are ignored
    (an Okta user belongs to many groups that are not about SOXauto)."""
    if isinstance(value, str):
        names = value.replace(",", " ").split()
    elif isinstance(value, (list, tuple)):
        names = [v for v in value if isinstance(v, str)]
    else:
        names = []
    out = set()
    for name in names:
        n = name.strip().lower()
        for prefix in ("soxauto-", "soxauto_", "soxauto:"):
            if n.startswith(prefix):
                n = n[len(prefix):]
        if n in ROLES:
            out.add(n)
    return frozenset(out)
