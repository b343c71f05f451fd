"""Experiments: the named lines of work of a project, each with its hypothesis."""

from django.db.models import Count
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from api.base import ProjectView, validated
from tracker import services
from tracker.errors import NotFound
from tracker.models import LIVE_RUNS, Experiment, Project


class ExperimentInput(serializers.Serializer):
    name = serializers.CharField(max_length=250)
    hypothesis = serializers.CharField(required=False, allow_blank=True, default="")


def experiment_data(e: Experiment) -> dict:
    return {"id": e.id, "name": e.name, "hypothesis": e.hypothesis,
            "created_at": e.created_at.isoformat(),
            "runs": getattr(e, "run_count", None)}


class ExperimentListView(ProjectView):
    @extend_schema(responses=ExperimentInput(many=True), summary="Experiments of the project")
    def get(self, request, slug):
        return Response({"results": [experiment_data(e) for e in _experiments(self.project)]})

    @extend_schema(request=ExperimentInput, responses={201: ExperimentInput},
                   summary="Create an experiment with its hypothesis")
    def post(self, request, slug):
        data = validated(ExperimentInput, request.data)
        experiment = services.create_experiment(project=self.project, user=request.user, **data)
        experiment.run_count = 0
        return Response(experiment_data(experiment), status=status.HTTP_201_CREATED)


class ExperimentDetailView(ProjectView):
    @extend_schema(responses=ExperimentInput, summary="One experiment, by name")
    def get(self, request, slug, name):
        experiment = _experiments(self.project).filter(name=name).first()
        if experiment is None:
            raise NotFound(f"no experiment {name!r} in {self.project.slug}", field="experiment")
        return Response(experiment_data(experiment))


def _experiments(project: Project):
    return project.experiments.live().annotate(run_count=Count("runs", filter=LIVE_RUNS))
