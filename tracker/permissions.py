"""Who may do what in a project: the one statement of the role rules.

Viewers read; members also write runs, experiments and registered models; owners also
change the target, guardrails, members, check-ins and the project itself. The v1 API, the
MLflow API and the web UI all ask here.
"""

from tracker.models import Role

WRITE_ROLES = frozenset({Role.OWNER, Role.MEMBER})


def can_write(role: str | None) -> bool:
    """Owners and members log runs and change experiments and models; viewers only read."""
    return role in WRITE_ROLES


def can_administer(role: str | None) -> bool:
    """Only owners change the target, guardrails, members, check-ins and the project."""
    return role == Role.OWNER


def who_may(needed: str) -> str:
    """The roles allowed an action needing `needed` (Role.MEMBER or Role.OWNER), in words."""
    return "owners" if needed == Role.OWNER else "owners and members"
