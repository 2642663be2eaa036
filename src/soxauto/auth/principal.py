"""Who is asking, and what they may do.

Four roles; ``admin`` holds every other role as well, so an administrator never needs a second
account to read or act. A principal is immutable: it is built once per request (or per CLI
command) by whichever authenticator recognised the credential, and only read afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from ..errors import SoxautoError, UsageError, did_you_mean

ROLES = ("preparer", "reviewer", "auditor", "admin")


class AuthError(SoxautoError):
    """No credential, or one that does not verify (HTTP 401)."""

    exit_code = 3


class Forbidden(SoxautoError):
    """A verified principal without the role the action needs (HTTP 403)."""

    exit_code = 3


@dataclass(frozen=True)
class Principal:
    name: str
    roles: frozenset[str]
    source: str  # token | oidc | password | cli

    def has(self, role: str) -> bool:
        return role in self.roles or "admin" in self.roles

    def to_dict(self) -> dict:
        return {"name": self.name, "roles": sorted(self.roles), "source": self.source}


# How a principal from an identity provider comes to hold a role (a local user: 'soxauto users roles').
_OIDC_GRANT = ("the token's role claim names none of preparer, reviewer, auditor, admin (optionally prefixed "
               "'soxauto-'); ask the identity provider's administrator for a SOXauto group")


def require(principal: Principal | None, *roles: str) -> None:
    """Forbidden unless ``principal`` holds one of ``roles`` (admin holds them all). Without
    ``roles`` it must hold some role: a principal with none may read nothing (an OIDC user whose
    groups are all about other products authenticates, and is then refused everything)."""
    if principal is None:
        raise AuthError("not signed in; give a bearer token (Authorization: Bearer ...) or sign in")
    if not principal.roles:
        grant = (_OIDC_GRANT if principal.source == "oidc"
                 else f"an admin grants one with 'soxauto users roles {principal.name} --role auditor'")
        raise Forbidden(f"{principal.name} holds no SOXauto role and may not do anything here; {grant}")
    if not roles or any(principal.has(r) for r in roles):
        return
    held = ", ".join(sorted(principal.roles))
    raise Forbidden(f"{principal.name} ({held}) may not do this: it needs the role {' or '.join(roles)}")


def check_roles(roles: Iterable[str], where: str = "role") -> frozenset[str]:
    """Roles as given by a person (CLI option, API body): each must be one of ROLES."""
    out = set()
    for role in roles:
        name = str(role).strip().lower()
        if name not in ROLES:
            raise UsageError(f"{where}: unknown role '{role}'{did_you_mean(name, ROLES)}; roles are {', '.join(ROLES)}")
        out.add(name)
    if not out:
        raise UsageError(f"{where}: give at least one role ({', '.join(ROLES)})")
    return frozenset(out)
