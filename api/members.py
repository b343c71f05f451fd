"""A project's members and their roles. Everyone in the project reads them; owners change
them, and a project always keeps at least one owner."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from api.base import ProjectView
from api.schema import results
from tracker.models import Membership, Role
from tracker.services import projects as project_services

TAGS = ["Members"]


class MemberOutput(serializers.Serializer):
    """A member of the project and their role."""

    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.values)
    added_at = serializers.DateTimeField()


def member_data(m: Membership) -> dict:
    return {"username": m.user.username, "role": m.role, "added_at": m.added_at.isoformat()}


class MemberListView(ProjectView):
    """The project's members by username, with their roles."""

    @extend_schema(tags=TAGS, summary="List the members",
                   responses=results("MemberList", MemberOutput))
    def get(self, request, slug):
        members = self.project.memberships.select_related("user").order_by("user__username")
        return Response({"results": [member_data(m) for m in members]})


class MemberAddView(ProjectView):
    """Add a user to the project with a role (owners): 201. A user who is a member already
    gets the new role instead: 200."""

    write_role = Role.OWNER

    class Input(serializers.Serializer):
        username = serializers.CharField()
        role = serializers.ChoiceField(choices=Role.values)

    @extend_schema(tags=TAGS, summary="Add a member", request=Input, responses={
        201: OpenApiResponse(MemberOutput, description="Added"),
        200: OpenApiResponse(MemberOutput, description="A member already: their role changed")})
    def post(self, request, slug):
        data = self.validated(self.Input)
        existed = self.project.memberships.filter(user__username=data["username"]).exists()
        membership = project_services.set_member(project=self.project, by=request.user,
                                                 address=self.address, **data)
        return Response(member_data(membership), status=200 if existed else 201)


class MemberUpdateView(ProjectView):
    """Change a member's role (owners). The last owner cannot step down."""

    write_role = Role.OWNER

    class Input(serializers.Serializer):
        role = serializers.ChoiceField(choices=Role.values)

    @extend_schema(tags=TAGS, summary="Change a member's role", request=Input,
                   responses=MemberOutput)
    def patch(self, request, slug, username):
        role = request.data.get("role") if isinstance(request.data, dict) else None
        membership = project_services.set_member(project=self.project, username=username, role=role,
                                                 create=False, by=request.user,
                                                 address=self.address)
        return Response(member_data(membership))


class MemberRemoveView(ProjectView):
    """Remove a member from the project (owners). The last owner cannot be removed."""

    write_role = Role.OWNER

    @extend_schema(tags=TAGS, summary="Remove a member", responses={204: None})
    def delete(self, request, slug, username):
        project_services.remove_member(project=self.project, username=username,
                                       by=request.user, address=self.address)
        return Response(status=status.HTTP_204_NO_CONTENT)
