"""The audit log: every destructive or permission-changing action, with who did it, when
and from which client address (the interface that took the request passes it in)."""

from tracker.models import AuditEntry, Project


def record(*, action: str, project: Project | None, user=None, subject: str = "",
           address: str = "", details: dict | None = None) -> AuditEntry:
    """Write one entry of the audit log. `user` None is the server itself (the purge, a
    management command); `subject` names what was acted on, in words a person reads."""
    acting = user if user is not None and user.is_authenticated else None
    return AuditEntry.objects.create(
        project=project, user=acting, username=acting.get_username() if acting else "",
        action=action, subject=subject[:500], address=address or "", details=details or {})


def run_subject(run) -> str:
    """A run as the audit log names it: its name and id."""
    return f"run {run.name} ({run.id})"
