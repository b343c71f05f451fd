"""The audit log: every destructive or permission-changing action (tracker.services.audit)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from tracker.models.projects import Project


class AuditAction(models.TextChoices):
    RUN_DELETE = "run.delete", "deleted a run"
    RUN_RESTORE = "run.restore", "restored a run"
    RUN_PURGE = "run.purge", "purged a run"
    EXPERIMENT_DELETE = "experiment.delete", "deleted an experiment"
    EXPERIMENT_RESTORE = "experiment.restore", "restored an experiment"
    EXPERIMENT_PURGE = "experiment.purge", "purged an experiment"
    PROJECT_DELETE = "project.delete", "deleted the project"
    PROJECT_RESTORE = "project.restore", "restored the project"
    MEMBER_ADD = "member.add", "added a member"
    MEMBER_ROLE = "member.role", "changed a role"
    MEMBER_REMOVE = "member.remove", "removed a member"
    TARGET_CHANGE = "target.change", "changed the target"
    GUARDRAILS_CHANGE = "guardrails.change", "changed the guardrails"
    DEPLOYMENT_START = "deployment.start", "started a deployment"
    DEPLOYMENT_END = "deployment.end", "ended a deployment"
    IMPACT_RECORD = "impact.record", "recorded a business result"
    IMPACT_DELETE = "impact.delete", "deleted a business result"
    TOKEN_CREATE = "token.create", "created an API token"
    TOKEN_REVOKE = "token.revoke", "revoked an API token"
    INVITATION_CREATE = "invitation.create", "invited someone"
    INVITATION_REVOKE = "invitation.revoke", "revoked an invitation"
    INVITATION_ACCEPT = "invitation.accept", "accepted an invitation"
    STAFF_JOIN = "staff.join", "joined as staff"
    WEBHOOK_CREATE = "webhook.create", "added a webhook"
    WEBHOOK_DELETE = "webhook.delete", "removed a webhook"


class AuditEntry(models.Model):
    """One destructive or permission-changing action: who, what, when, from which address.

    Token entries belong to no project (a token opens every project of its user); a
    project's audit log shows them for its members. The names are copied so that an
    entry still says who and what after the user or the run is gone.
    """

    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="audit_entries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    username = models.CharField(max_length=150, blank=True, default="")
    action = models.CharField(max_length=30, choices=AuditAction.choices)
    subject = models.CharField(max_length=500, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    address = models.CharField(max_length=100, blank=True, default="")
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["project", "-at"], name="audit_project_at")]

    def __str__(self) -> str:
        return f"{self.username or 'someone'} {self.get_action_display()} {self.subject}"
