"""The audit log as owners read it: one project's entries, and its members' token entries."""

from django.db.models import Q, QuerySet

from tracker.models import AuditEntry, Membership, Project


def audit_log(*, project: Project) -> QuerySet[AuditEntry]:
    """The project's audit entries, newest first: what was done in it, and the API tokens
    its current members created or revoked (a token opens every project of its user)."""
    members = Membership.objects.filter(project=project).values("user_id")
    return (AuditEntry.objects
            .filter(Q(project=project) | Q(project__isnull=True, user_id__in=members))
            .order_by("-at", "-id"))
