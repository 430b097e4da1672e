"""The acting user as services see it: plain data, no ORM session attached."""

from __future__ import annotations

from dataclasses import dataclass, field

from xiaobao.auth.roles import Perm, has_perm


@dataclass(frozen=True)
class Principal:
    user_id: int | None
    username: str
    display_name: str
    org_id: int | None
    scope_path: str
    """Materialised path of the org subtree this user may see ("/" = everything)."""
    roles: frozenset[str] = field(default_factory=frozenset)
    ip: str | None = None
    via_token: bool = False

    def can(self, perm: Perm) -> bool:
        return has_perm(self.roles, perm)

    def can_any_stats(self) -> bool:
        return has_perm(self.roles, Perm.STATS_VIEW)

    def sees_path(self, org_path: str) -> bool:
        return org_path.startswith(self.scope_path)

    @property
    def label(self) -> str:
        return f"{self.display_name} ({self.username})"


SYSTEM = Principal(
    user_id=None, username="system", display_name="系统", org_id=None, scope_path="/", roles=frozenset()
)
