"""A project's members and their roles."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from api.base import ProjectView, validated
from tracker import services
from tracker.models import Membership, Role
from tracker.selectors import role_of


class MemberInput(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.values)


def member_data(m: Membership) -> dict:
    return {"username": m.user.username, "role": m.role, "added_at": m.added_at.isoformat()}


class MemberListView(ProjectView):
    write_role = Role.OWNER

    @extend_schema(responses=MemberInput(many=True), summary="Members and their roles")
    def get(self, request, slug):
        members = self.project.memberships.select_related("user").order_by("user__username")
        return Response({"results": [member_data(m) for m in members]})

    @extend_schema(request=MemberInput, responses={201: MemberInput},
                   summary="Add a member, or change their role (owners)")
    def post(self, request, slug):
        data = validated(MemberInput, request.data)
        existed = role_of(user=_user(data["username"]), project=self.project) is not None
        membership = services.set_member(project=self.project, **data)
        return Response(member_data(membership), status=200 if existed else 201)


class MemberDetailView(ProjectView):
    write_role = Role.OWNER

    @extend_schema(request=inline_serializer("RoleInput", {
        "role": serializers.ChoiceField(choices=Role.values)}), responses=MemberInput,
        summary="Change a member's role (owners)")
    def patch(self, request, slug, username):
        role = request.data.get("role") if isinstance(request.data, dict) else None
        membership = services.set_member(project=self.project, username=username, role=role,
                                         create=False)
        return Response(member_data(membership))

    @extend_schema(responses={204: None}, summary="Remove a member (owners)")
    def delete(self, request, slug, username):
        services.remove_member(project=self.project, username=username)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _user(username: str):
    return get_user_model().objects.filter(username=username).first()
