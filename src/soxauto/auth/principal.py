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


def require(principal: Principal | None, *roles: str) -> None:
    """Forbidden unless ``principal`` holds one of ``roles`` (admin holds them all)."""
    if principal is None:
        raise AuthError("not signed in; give a bearer token (Authorization: Bearer ...) or sign in")
    if not roles or any(principal.has(r) for r in roles):
        return
    held = ", ".join(sorted(principal.roles)) or "no role"
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
