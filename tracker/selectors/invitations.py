"""Invitations as owners list them, and the one a link's token opens."""

from django.db.models import QuerySet

from tracker.models import Invitation, Project
from tracker.models.tokens import hash_token


def pending_invitations(*, project: Project) -> QuerySet[Invitation]:
    """The project's invitations whose link still works, newest first."""
    return (Invitation.objects.pending().filter(project=project)
            .select_related("invited_by").order_by("-created_at", "-id"))


def invitation_by_token(*, token: str) -> Invitation | None:
    """The invitation a link's token opens, in any state (None for a token never sent)."""
    if not token or len(token) > 200:
        return None
    return (Invitation.objects.select_related("project", "invited_by")
            .filter(token_hash=hash_token(token)).first())
