"""The trash: delete a project, restore a project, an experiment or a run, list what you may
restore.

A deleted run (members and owners may delete one), experiment or project stays in the
trash for TRASH_DAYS (30 by default), restorable by the project's owners with its points,
summaries, artifacts and reports as they were; then it is purged for good.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from api.base import OperationView, ProjectView, RunView
from api.experiments import ExperimentOutput, experiment_data
from api.projects import ProjectOutput, project_data
from api.runs import RunOutput, run_data
from tracker.models import Role
from tracker.selectors import trash as trash_selectors
from tracker.services import experiments as experiment_services
from tracker.services import runs as run_services
from tracker.services import trash as trash_services

TAGS = ["Trash"]


class ProjectDeleteView(ProjectView):
    """Move the project to the trash (owners): it leaves every list, its URLs answer 404,
    its runs take no data, its check-ins stop and MLflow sees its experiments as deleted.
    Its owners may restore it for TRASH_DAYS."""

    write_role = Role.OWNER

    @extend_schema(tags=TAGS, summary="Delete a project", responses={204: None})
    def delete(self, request, slug):
        trash_services.delete_project(project=self.project, user=request.user,
                                      address=self.address)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectRestoreView(ProjectView):
    """Bring a project back from the trash (owners), with the experiments and runs deleted
    with it, their points, summaries and artifacts, and its reports. 409 when it is not
    in the trash."""

    write_role = Role.OWNER
    trashed = True

    @extend_schema(tags=TAGS, summary="Restore a project", request=None,
                   responses=ProjectOutput)
    def post(self, request, slug):
        trash_services.restore_project(project=self.project, user=request.user,
                                       address=self.address)
        return Response(project_data(self.project, self.role))


class RunRestoreView(RunView):
    """Bring a run back from the trash (owners) with its points, summaries and artifacts.
    409 when it is not in the trash, or went with its experiment or project (restore that)."""

    write_role = Role.OWNER

    @extend_schema(tags=TAGS, summary="Restore a run", request=None, responses=RunOutput)
    def post(self, request, run_id):
        trash_services.check_in_trash(self.run)
        run = run_services.restore_run(run=self.run, user=request.user, address=self.address)
        return Response(run_data(run))


class ExperimentRestoreView(OperationView):
    """Bring an experiment back from the trash (owners of its project), with the runs deleted
    with it, their points, summaries and artifacts; `id` is the one `GET trash/` lists. 404
    when it is not in your trash; 409 when its project is (restore the project)."""

    @extend_schema(tags=TAGS, summary="Restore an experiment", request=None,
                   responses=ExperimentOutput)
    def post(self, request, experiment_id):
        experiment = trash_selectors.trashed_for_owner(user=request.user, kind="experiment",
                                                       key=experiment_id)
        experiment = experiment_services.restore_experiment(
            experiment=experiment, user=request.user, address=self.address)
        experiment.run_count = experiment.runs.live().count()
        return Response(experiment_data(experiment))


class TrashedProject(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    runs = serializers.IntegerField(help_text="runs it holds, all restored with it")
    deleted_at = serializers.DateTimeField()
    purge_at = serializers.DateTimeField(help_text="when it is purged for good")


class TrashedExperiment(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.CharField(help_text="the project's slug")
    name = serializers.CharField()
    runs = serializers.IntegerField(help_text="runs deleted with it, restored with it")
    deleted_at = serializers.DateTimeField()
    purge_at = serializers.DateTimeField()


class TrashedRun(serializers.Serializer):
    id = serializers.UUIDField()
    project = serializers.CharField(help_text="the project's slug")
    experiment = serializers.CharField()
    name = serializers.CharField()
    deleted_at = serializers.DateTimeField()
    purge_at = serializers.DateTimeField()


class TrashListView(OperationView):
    """What you may restore: the projects you own that are in the trash, and the
    experiments and runs deleted on their own in projects you own, newest first, each with
    the time it is purged. Runs deleted with their experiment or project come back with it
    and are not listed on their own. Restore each with its own call (`POST
    projects/{slug}/restore`, `trash/experiments/{id}/restore`, `runs/{id}/restore`)."""

    class Output(serializers.Serializer):
        projects = TrashedProject(many=True)
        experiments = TrashedExperiment(many=True)
        runs = TrashedRun(many=True)

    @extend_schema(tags=TAGS, summary="List your trash", responses=Output)
    def get(self, request):
        trash = trash_selectors.trash_of(user=request.user)
        return Response({
            "projects": [{"slug": p.slug, "name": p.name, "runs": p.run_count,
                          **_when(p)} for p in trash["projects"]],
            "experiments": [{"id": e.id, "project": e.project.slug, "name": e.name,
                             "runs": e.run_count, **_when(e)} for e in trash["experiments"]],
            "runs": [{"id": str(r.id), "project": r.project.slug, "experiment": r.experiment.name,
                      "name": r.name, **_when(r)} for r in trash["runs"]],
        })


def _when(item) -> dict:
    return {"deleted_at": item.deleted_at.isoformat(), "purge_at": item.purge_at.isoformat()}
