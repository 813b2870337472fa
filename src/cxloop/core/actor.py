"""Who is acting: every service takes an Actor, so permission checks and the audit trail see one thing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cxloop.core.errors import PermissionDeniedError
from cxloop.core.permissions import Perm, permissions_for

if TYPE_CHECKING:
    from cxloop.accounts.models import ApiToken, User


@dataclass(frozen=True)
class Actor:
    user: User | None
    token: ApiToken | None = None
    via: str = "web"  # web | api | system | cli
    ip_address: str | None = None
    permissions: frozenset[Perm] = field(default_factory=frozenset)

    @classmethod
    def for_user(cls, user: User, *, via: str = "web", ip_address: str | None = None) -> Actor:
        perms = permissions_for(user.role) if user.is_active else frozenset()
        return cls(user=user, via=via, ip_address=ip_address, permissions=perms)

    @classmethod
    def for_token(cls, token: ApiToken, *, ip_address: str | None = None) -> Actor:
        user = token.user
        perms = permissions_for(user.role, list(token.scopes)) if user.is_active else frozenset()
        return cls(user=user, token=token, via="api", ip_address=ip_address, permissions=perms)

    @classmethod
    def system(cls, reason: str = "system") -> Actor:
        return cls(user=None, via=reason, permissions=frozenset(Perm))

    @property
    def label(self) -> str:
        if self.user is None:
            return self.via
        if self.token is not None:
            return f"{self.user.get_username()} (token {self.token.prefix})"
        return self.user.get_username()

    def can(self, perm: Perm) -> bool:
        return perm in self.permissions

    def require(self, perm: Perm) -> None:
        if not self.can(perm):
            raise PermissionDeniedError(f"You do not have the permission {perm.value!r}.")

    def audit_fields(self) -> dict[str, Any]:
        return {
            "actor_user": self.user,
            "actor_token": self.token,
            "actor_label": self.label,
            "via": self.via,
            "ip_address": self.ip_address,
        }
