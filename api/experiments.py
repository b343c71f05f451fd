"""Experiments: the named lines of work of a project, each with its hypothesis."""

from django.db.models import Count
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from api.base import ProjectView
from api.schema import results
from tracker.errors import NotFound
from tracker.models import LIVE_RUNS, Experiment, Project
from tracker.services import experiments as experiment_services

TAGS = ["Experiments"]


class ExperimentOutput(serializers.Serializer):
    """A named line of work, its hypothesis and how many runs it has."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    hypothesis = serializers.CharField()
    created_at = serializers.DateTimeField()
    runs = serializers.IntegerField(help_text="runs not deleted")


def experiment_data(e: Experiment) -> dict:
    return {"id": e.id, "name": e.name, "hypothesis": e.hypothesis,
            "created_at": e.created_at.isoformat(),
            "runs": getattr(e, "run_count", None)}


def _experiments(project: Project):
    return project.experiments.live().annotate(run_count=Count("runs", filter=LIVE_RUNS))


class ExperimentListView(ProjectView):
    """The project's experiments, oldest first."""

    @extend_schema(tags=TAGS, summary="List the experiments",
                   responses=results("ExperimentList", ExperimentOutput))
    def get(self, request, slug):
        return Response({"results": [experiment_data(e) for e in _experiments(self.project)]})


class ExperimentCreateView(ProjectView):
    """Create an experiment with its hypothesis (owners and members). Starting a run
    creates its experiment too, without a hypothesis."""

    class Input(serializers.Serializer):
        name = serializers.CharField(max_length=250)
        hypothesis = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(tags=TAGS, summary="Create an experiment", request=Input,
                   responses={201: ExperimentOutput})
    def post(self, request, slug):
        data = self.validated(self.Input)
        experiment = experiment_services.create_experiment(project=self.project, user=request.user,
                                                           **data)
        experiment.run_count = 0
        return Response(experiment_data(experiment), status=status.HTTP_201_CREATED)


class ExperimentDetailView(ProjectView):
    """One experiment, found by its name."""

    @extend_schema(tags=TAGS, summary="Read an experiment", responses=ExperimentOutput)
    def get(self, request, slug, name):
        experiment = _experiments(self.project).filter(name=name).first()
        if experiment is None:
            raise NotFound(f"no experiment {name!r} in {self.project.slug}", field="experiment")
        return Response(experiment_data(experiment))


class ExperimentDeleteView(ProjectView):
    """Move an experiment and its runs to the trash (owners and members, as the MLflow
    client may): its project's owners restore it from the trash for TRASH_DAYS."""

    @extend_schema(tags=TAGS, summary="Delete an experiment", responses={204: None})
    def delete(self, request, slug, name):
        experiment = self.project.experiments.live().filter(name=name).first()
        if experiment is None:
            raise NotFound(f"no experiment {name!r} in {self.project.slug}", field="experiment")
        experiment_services.delete_experiment(experiment=experiment, user=request.user,
                                              address=self.address)
        return Response(status=status.HTTP_204_NO_CONTENT)
