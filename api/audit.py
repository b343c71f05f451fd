"""A project's audit log: who deleted, restored, changed a role or the target, created or
revoked a token, when, and from which address. Owners read it."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from api.base import ProjectView
from api.schema import results
from tracker.errors import Forbidden
from tracker.models import AuditAction
from tracker.permissions import can_administer
from tracker.selectors.audit import audit_log
from tracker.validation import to_int

TAGS = ["Audit log"]
MAX_ENTRIES = 500


class AuditEntryOutput(serializers.Serializer):
    at = serializers.DateTimeField(help_text="when")
    user = serializers.CharField(allow_null=True, help_text="who (null: the server itself, "
                                 "such as the purge of the trash)")
    action = serializers.ChoiceField(choices=AuditAction.values)
    description = serializers.CharField(help_text="the action in words")
    subject = serializers.CharField(help_text="what it was done to")
    address = serializers.CharField(help_text="the client's address (empty when none)")
    details = serializers.DictField(help_text="old and new values of a change")


class AuditLogView(ProjectView):
    """The project's audit log, newest first (owners): deletions, restorations and purges,
    members added, removed or given another role, target and guardrail changes, and the API
    tokens its members created or revoked. Readable while the project is in the trash."""

    trashed = True

    @extend_schema(tags=TAGS, summary="Read the audit log",
                   parameters=[OpenApiParameter("limit", int, description="at most this "
                                                f"many entries (default and most: {MAX_ENTRIES})")],
                   responses=results("AuditLog", AuditEntryOutput))
    def get(self, request, slug):
        if not can_administer(self.role):
            raise Forbidden(f"your role in this project is {self.role}; "
                            "only owners may read the audit log")
        limit = request.query_params.get("limit")
        limit = MAX_ENTRIES if limit is None else to_int(limit, field="limit", minimum=1)
        entries = audit_log(project=self.project)[:min(limit, MAX_ENTRIES)]
        return Response({"results": [{
            "at": e.at.isoformat(), "user": e.username or None, "action": e.action,
            "description": e.get_action_display(), "subject": e.subject,
            "address": e.address, "details": e.details} for e in entries]})
