"""Authentication and roles of the service and the sign-off commands.

    principal  ROLES, Principal, AuthError (401), Forbidden (403), require
    local      LocalUsers: users, roles, argon2-hashed passwords, API tokens and dashboard sessions
               in the run store
    oidc       OidcVerifier: bearer JWTs from Okta or any OIDC provider, checked against its JWKS

``authenticator(cfg, runs)`` is what a server calls with the bearer token of a request: an OIDC
JWT when OIDC is configured and the token is a JWT, else a local API token. Docs: docs/auth.md.
"""

from __future__ import annotations

from typing import Callable

from .local import PREFIX, LocalUsers
from .oidc import OidcVerifier, roles_from
from .principal import ROLES, AuthError, Forbidden, Principal, check_roles, require


def oidc_of(cfg) -> OidcVerifier | None:
    """The configured verifier; None when no OIDC setting is given (local tokens only)."""
    values = (getattr(cfg, "oidc_issuer", "") or "", getattr(cfg, "oidc_audience", "") or "",
              getattr(cfg, "oidc_jwks_url", "") or "")
    if not any(values):
        return None
    return OidcVerifier(*values, role_claim=getattr(cfg, "oidc_role_claim", "") or "groups")


def authenticator(cfg, runs, *, users: LocalUsers | None = None) -> Callable[[str], Principal]:
    """bearer token -> Principal, or AuthError."""
    local = users or LocalUsers(runs)
    oidc = oidc_of(cfg)

    def authenticate(token: str | None) -> Principal:
        text = (token or "").strip()
        if text[:7].lower() == "bearer ":
            text = text[7:].strip()
        if not text:
            raise AuthError("no credential: send 'Authorization: Bearer <token>'")
        if text.startswith(PREFIX):
            return local.verify_token(text)
        if text.count(".") == 2:
            if oidc is None:
                raise AuthError("a JWT was given but OIDC is not configured (oidc_issuer, oidc_audience, oidc_jwks_url)")
            return oidc.verify(text)
        raise AuthError("not a SOXauto API token nor a JWT")

    # Cheap to call on an event loop: a local token already verified (no argon2, no JWKS fetch).
    authenticate.cheap = local.knows
    return authenticate


__all__ = ["PREFIX", "ROLES", "AuthError", "Forbidden", "LocalUsers", "OidcVerifier", "Principal", "authenticator",
           "check_roles", "oidc_of", "require", "roles_from"]
