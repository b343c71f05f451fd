"""A project's invitations (owners): invite an email address with a role, list the pending
invitations, revoke one. The invited person follows the emailed link in the web UI."""

import re

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from api.base import ProjectView
from api.schema import results
from tracker.errors import Forbidden, NotFound
from tracker.models import Invitation, InvitationStatus, Role
from tracker.permissions import can_administer
from tracker.selectors.invitations import pending_invitations
from tracker.services import invitations as invitation_services

TAGS = ["Invitations"]


class InvitationOutput(serializers.Serializer):
    """An invitation: to whom, with which role, by whom, until when."""

    id = serializers.IntegerField()
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.values)
    status = serializers.ChoiceField(choices=InvitationStatus.values)
    invited_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(help_text="the link works until then, once")


def invitation_data(invitation: Invitation) -> dict:
    return {"id": invitation.pk, "email": invitation.email, "role": invitation.role,
            "status": invitation.status,
            "invited_by": invitation.invited_by.username if invitation.invited_by else None,
            "created_at": invitation.created_at.isoformat(),
            "expires_at": invitation.expires_at.isoformat()}


class InvitationListView(ProjectView):
    """The project's pending invitations, newest first (owners)."""

    @extend_schema(tags=TAGS, summary="List the pending invitations",
                   responses=results("InvitationList", InvitationOutput))
    def get(self, request, slug):
        if not can_administer(self.role):
            raise Forbidden(f"your role in this project is {self.role}; "
                            "only owners may read its invitations")
        return Response({"results": [invitation_data(i)
                                     for i in pending_invitations(project=self.project)]})


class InvitationCreateView(ProjectView):
    """Invite an email address to the project with a role (owners): an email goes out with
    a link that works once, for INVITATION_DAYS days (7 by default). A pending invitation to
    the same address is replaced. 503 when the mail server does not take the email (nothing
    is saved)."""

    write_role = Role.OWNER

    class Input(serializers.Serializer):
        email = serializers.EmailField()
        role = serializers.ChoiceField(choices=Role.values)

    @extend_schema(tags=TAGS, summary="Invite someone", request=Input,
                   responses={201: InvitationOutput})
    def post(self, request, slug):
        data = self.validated(self.Input)
        invitation = invitation_services.invite(
            project=self.project, by=request.user, address=self.address,
            link_for=lambda token: request.build_absolute_uri(
                reverse("web:invitation", args=[token])), **data)
        return Response(invitation_data(invitation), status=status.HTTP_201_CREATED)


class InvitationRevokeView(ProjectView):
    """Revoke an invitation (owners): its link stops working. 409 for one already
    accepted (remove the member instead)."""

    write_role = Role.OWNER

    @extend_schema(tags=TAGS, summary="Revoke an invitation", responses={204: None})
    def delete(self, request, slug, invitation_id):
        invitation = (Invitation.objects.filter(project=self.project, pk=int(invitation_id))
                      .first() if re.fullmatch(r"[0-9]{1,12}", invitation_id) else None)
        if invitation is None:
            raise NotFound(f"no invitation {invitation_id}", field="invitation_id")
        invitation_services.revoke(invitation=invitation, by=request.user,
                                   address=self.address)
        return Response(status=status.HTTP_204_NO_CONTENT)
