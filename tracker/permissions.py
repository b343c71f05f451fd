"""Who may do what in a project: the one statement of the role rules.

Viewers read; members also write runs, experiments and registered models; owners also
change the target, guardrails, members, check-ins and the project itself. The v1 API, the
MLflow API and the web UI all ask here.
"""

from tracker.models import Role

WRITE_ROLES = frozenset({Role.OWNER, Role.MEMBER})

# Not a role a membership holds: a staff user (is_staff) in a project they are no member of.
# They read everything in it and change nothing (neither write rule below lets it in) until
# they add themselves as a member (tracker.services.projects.staff_join).
STAFF = "staff"

# Each role can do everything the ones before it can.
ROLE_ORDER = (Role.VIEWER, Role.MEMBER, Role.OWNER)

ROLE_WORDS = {
    Role.VIEWER: "read its dashboard, runs, models and reports",
    Role.MEMBER: "read everything in it, and log runs and experiments",
    Role.OWNER: "do everything in it, including changing its target, members and check-ins",
}


def can_write(role: str | None) -> bool:
    """Owners and members log runs and change experiments and models; viewers only read."""
    return role in WRITE_ROLES


def can_administer(role: str | None) -> bool:
    """Only owners change the target, guardrails, members, check-ins and the project."""
    return role == Role.OWNER


def higher_role(a: str, b: str) -> str:
    """The role of the two that may do more."""
    return max(a, b, key=ROLE_ORDER.index)


def who_may(needed: str) -> str:
    """The roles allowed an action needing `needed` (Role.MEMBER or Role.OWNER), in words."""
    return "owners" if needed == Role.OWNER else "owners and members"
