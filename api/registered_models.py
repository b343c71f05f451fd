"""The project's registered models (MLflow's model registry), read through the v1 API.

Models are registered with the MLflow client (see README, "MLflow clients"); this
lists them with their versions, as the web UI's Models tab shows them.
"""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from api.base import ProjectView
from tracker.models import ModelVersion, RegisteredModel
from tracker.selectors import model_registry as registry_selectors

_VERSION = inline_serializer("ModelVersion", {
    "version": serializers.IntegerField(), "stage": serializers.CharField(),
    "aliases": serializers.ListField(child=serializers.CharField()),
    "run_id": serializers.UUIDField(allow_null=True), "run_name": serializers.CharField(),
    "source": serializers.CharField(), "logged_model_id": serializers.CharField(),
    "description": serializers.CharField(), "tags": serializers.DictField(),
    "created_at": serializers.DateTimeField(), "created_by": serializers.CharField()})


def _version_data(model: RegisteredModel, version: ModelVersion) -> dict:
    return {"version": version.version, "stage": version.stage,
            "aliases": sorted(a for a, n in model.aliases.items() if n == version.version),
            "run_id": str(version.run_id) if version.run_id else None,
            "run_name": version.run.name if version.run else "",
            "source": version.source, "logged_model_id": version.logged_model_id,
            "description": version.description, "tags": version.tags,
            "created_at": version.created_at.isoformat(),
            "created_by": version.created_by.get_username() if version.created_by else ""}


class RegisteredModelListView(ProjectView):
    """The project's registered models, each with its versions; every member may read them."""

    @extend_schema(summary="Registered models of the project, each with its versions "
                           "(newest first)",
                   responses=inline_serializer("RegisteredModel", {
                       "name": serializers.CharField(), "description": serializers.CharField(),
                       "tags": serializers.DictField(), "aliases": serializers.DictField(),
                       "created_at": serializers.DateTimeField(),
                       "updated_at": serializers.DateTimeField(),
                       "created_by": serializers.CharField(),
                       "versions": _VERSION}, many=True))
    def get(self, request, slug):
        return Response({"results": [
            {"name": m.name, "description": m.description, "tags": m.tags,
             "aliases": m.aliases, "created_at": m.created_at.isoformat(),
             "updated_at": m.updated_at.isoformat(),
             "created_by": m.created_by.get_username() if m.created_by else "",
             "versions": [_version_data(m, v) for v in m.versions.all()]}
            for m in registry_selectors.project_models(self.project)]})
