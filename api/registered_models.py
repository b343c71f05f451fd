"""The project's registered models (MLflow's model registry), read through the v1 API.

Models are registered with the MLflow client (see README, "MLflow clients"); this
lists them with their versions, as the web UI's Models tab shows them.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from api.base import ProjectView
from api.schema import results
from tracker.models import ModelVersion, RegisteredModel
from tracker.selectors import model_registry as registry_selectors

TAGS = ["Registered models"]


class ModelVersionOutput(serializers.Serializer):
    """One version of a registered model and the run it came from."""

    version = serializers.IntegerField()
    stage = serializers.CharField(help_text="None, Staging, Production or Archived")
    aliases = serializers.ListField(child=serializers.CharField())
    run_id = serializers.UUIDField(allow_null=True)
    run_name = serializers.CharField()
    source = serializers.CharField()
    logged_model_id = serializers.CharField()
    description = serializers.CharField()
    tags = serializers.DictField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField()


class RegisteredModelOutput(serializers.Serializer):
    """A registered model with its versions, newest first."""

    name = serializers.CharField()
    description = serializers.CharField()
    tags = serializers.DictField()
    aliases = serializers.DictField(child=serializers.IntegerField(),
                                    help_text="alias: version")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    created_by = serializers.CharField()
    versions = ModelVersionOutput(many=True)


def _version_data(model: RegisteredModel, version: ModelVersion) -> dict:
    return {"version": version.version, "stage": version.stage,
            "aliases": sorted(a for a, n in model.aliases.items() if n == version.version),
            "run_id": str(version.run_id) if version.run_id else None,
            "run_name": version.run.name if version.run else "",
            "source": version.source, "logged_model_id": version.logged_model_id,
            "description": version.description, "tags": version.tags,
            "created_at": version.created_at.isoformat(),
            "created_by": version.created_by.get_username() if version.created_by else ""}


def _model_data(model: RegisteredModel) -> dict:
    return {"name": model.name, "description": model.description, "tags": model.tags,
            "aliases": model.aliases, "created_at": model.created_at.isoformat(),
            "updated_at": model.updated_at.isoformat(),
            "created_by": model.created_by.get_username() if model.created_by else "",
            "versions": [_version_data(model, v) for v in model.versions.all()]}


class RegisteredModelListView(ProjectView):
    """The project's registered models, each with its versions (newest first); every member
    may read them. Models are registered with the MLflow client."""

    @extend_schema(tags=TAGS, summary="List the registered models",
                   responses=results("RegisteredModelList", RegisteredModelOutput))
    def get(self, request, slug):
        return Response({"results": [_model_data(m)
                                     for m in registry_selectors.project_models(self.project)]})
