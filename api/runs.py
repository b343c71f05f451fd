"""Runs: search, start, read, change, heartbeat, finish, delete."""

from collections import defaultdict

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.response import Response

from api.base import ProjectView, RunView
from api.schema import MetricValue
from tracker import limits, run_pages, run_search, spelling
from tracker.errors import NotFound
from tracker.models import MetricSummary, Run
from tracker.selectors import projects as project_selectors
from tracker.selectors import runs as run_selectors
from tracker.services import runs as run_services
from tracker.validation import to_int

TAGS = ["Runs"]
RUN_STATUSES = ["running", "finished", "failed", "killed"]


@extend_schema_serializer(deprecate_fields=["best"])
class MetricSummaryOutput(serializers.Serializer):
    """The summary of one (key, split) series: its value at the run's best step, its last,
    lowest and highest values."""

    key = serializers.CharField()
    split = serializers.CharField()
    at_best_step = MetricValue(allow_null=True, help_text="the value at the run's best step; "
                               "the last value when the series has no point there")
    best = MetricValue(allow_null=True, help_text="deprecated: the same as at_best_step, "
                       "under its former name; it will be removed in the next release")
    best_step = serializers.IntegerField(allow_null=True, help_text="the step at_best_step "
                                         "was read at")
    last = MetricValue(allow_null=True)
    last_step = serializers.IntegerField(allow_null=True)
    min = MetricValue(allow_null=True)
    max = MetricValue(allow_null=True)
    count = serializers.IntegerField(help_text="points logged")


class RunOutput(serializers.Serializer):
    """A run with its params, tags, context and the summary of every metric it logged."""

    id = serializers.UUIDField()
    project = serializers.CharField(help_text="the project's slug")
    experiment = serializers.CharField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=RUN_STATUSES)
    baseline = serializers.BooleanField()
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    last_heartbeat = serializers.DateTimeField(allow_null=True)
    duration_s = serializers.FloatField(allow_null=True)
    params = serializers.DictField()
    tags = serializers.DictField()
    notes = serializers.CharField()
    git_commit = serializers.CharField()
    data_version = serializers.CharField()
    host = serializers.CharField()
    context = serializers.DictField()
    created_by = serializers.CharField(allow_null=True)
    best_step = serializers.IntegerField(allow_null=True, help_text="the step at which the "
                                         "target metric was best on the selection split")
    deleted = serializers.BooleanField()
    metrics = MetricSummaryOutput(many=True)


def summary_data(s: MetricSummary) -> dict:
    nan = float("nan")

    def value(v):
        return nan if v is None and s.count else v

    at_best_step = value(s.best_value)
    return {"key": s.key, "split": s.split, "at_best_step": at_best_step, "best": at_best_step,
            "best_step": s.best_step, "last": value(s.last_value), "last_step": s.last_step,
            "min": s.min_value, "max": s.max_value, "count": s.count}


def run_data(run: Run, summaries: list[MetricSummary] | None = None) -> dict:
    if summaries is None:
        summaries = list(run.summaries.order_by("split", "key"))
    duration = (run.ended_at - run.started_at).total_seconds() if run.ended_at else None
    return {
        "id": str(run.id),
        "project": run.project.slug,
        "experiment": run.experiment.name,
        "name": run.name,
        "status": run.status,
        "baseline": run.baseline,
        "started_at": run.started_at.isoformat(),
        "ended_at": run.ended_at.isoformat() if run.ended_at else None,
        "last_heartbeat": run.last_heartbeat.isoformat() if run.last_heartbeat else None,
        "duration_s": duration,
        "params": run.params,
        "tags": run.tags,
        "notes": run.notes,
        "git_commit": run.git_commit,
        "data_version": run.data_version,
        "host": run.host,
        "context": run.context,
        "created_by": run.created_by.username if run.created_by else None,
        "best_step": run.best_step,
        "deleted": run.deleted_at is not None,
        "metrics": [summary_data(s) for s in summaries],
    }


def runs_data(runs: list[Run]) -> list[dict]:
    """Many runs with their summaries in two queries."""
    by_run = defaultdict(list)
    for s in MetricSummary.objects.filter(run__in=runs).order_by("split", "key"):
        by_run[s.run_id].append(s)
    return [run_data(r, by_run[r.id]) for r in runs]


class FilterWarningOutput(serializers.Serializer):
    """A metric, param or tag that the filter or order names and no run of the project has."""

    field = serializers.CharField(help_text="as the filter language writes it, e.g. "
                                  "validation.F1")
    message = serializers.CharField(help_text="e.g. No run in this project has logged F1 on "
                                    "validation; did you mean validation.f1?")
    suggestion = serializers.CharField(allow_null=True, help_text="the closest field the "
                                       "project's runs have, e.g. validation.f1; null if none")


class RunSearchView(ProjectView):
    """The project's runs that match a filter, in the order asked (newest first by default),
    a page at a time: follow `next` until it is null. Deleted runs are left out. A filter
    or order naming a metric, param or tag that no run has still runs, with a warning."""

    class Output(serializers.Serializer):
        results = RunOutput(many=True)
        next = serializers.URLField(allow_null=True, help_text="the next page, or null")
        next_cursor = serializers.CharField(allow_null=True)
        count = serializers.IntegerField(allow_null=True, help_text="on the first page only")
        warnings = FilterWarningOutput(many=True, help_text="names no run of the project has "
                                       "(usually a typo), each with the closest one it has")

    @extend_schema(
        tags=TAGS, summary="Search the runs",
        parameters=[
            OpenApiParameter("filter", str, description='the filter language, e.g. '
                             'validation.f1 > 0.8 and params.model = "svm"'),
            OpenApiParameter("order_by", str, description="comma-separated fields, '-' for "
                             "descending, e.g. -validation.f1,name"),
            OpenApiParameter("cursor", str, description="the `next_cursor` of the previous "
                             "page"),
            OpenApiParameter("page_size", int, description=f"default "
                             f"{limits.DEFAULT_PAGE_SIZE}, at most {limits.MAX_PAGE_SIZE}"),
        ],
        responses=Output,
    )
    def get(self, request, slug):
        params = request.query_params
        page_size = (to_int(params["page_size"], field="page_size", minimum=1)
                     if params.get("page_size") else None)
        runs = run_search.search_runs(project=self.project, filter_text=params.get("filter"),
                                      order_by=params.get("order_by"))
        rows, next_cursor = run_pages.page(runs, order_by=params.get("order_by"),
                                           cursor=params.get("cursor"), page_size=page_size)
        next_url = None
        if next_cursor:
            query = params.copy()
            query["cursor"] = next_cursor
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        for run in rows:
            run.project = self.project
        # The total is counted on the first page only: later pages should stay cheap.
        count = None if params.get("cursor") else runs.count()
        warnings = run_selectors.filter_warnings(project=self.project,
                                                 filter_text=params.get("filter"),
                                                 order_by=params.get("order_by"))
        return Response({"results": runs_data(rows), "next": next_url,
                         "next_cursor": next_cursor, "count": count, "warnings": warnings})


class RunCreateView(ProjectView):
    """Start a run (owners and members); its experiment is created on first use. A run sent
    again with the same client-chosen `id` is answered as it is (200), so a client may
    retry safely. A project that is not found may be a typo: the 404 names the projects of
    yours it is close to, in `similar` too."""

    def initial(self, request, *args, **kwargs):
        try:
            super().initial(request, *args, **kwargs)
        except NotFound:
            slug = kwargs["slug"]
            similar = project_selectors.similar_projects(user=request.user, slug=slug)
            if not similar:
                raise
            raise NotFound(f'No project "{slug}"; did you mean {spelling.choices(similar)}?',
                           field="project", similar=similar) from None

    class Input(serializers.Serializer):
        id = serializers.UUIDField(required=False, allow_null=True, default=None,
                                   help_text="choose it to make retries safe")
        experiment = serializers.CharField(max_length=250)
        name = serializers.CharField(required=False, allow_blank=True, default="",
                                     max_length=250, help_text="default: the experiment's "
                                     "name and the start of the id")
        params = serializers.DictField(required=False, default=dict)
        tags = serializers.DictField(required=False, default=dict)
        baseline = serializers.BooleanField(required=False, default=False)
        notes = serializers.CharField(required=False, allow_blank=True, default="")
        git_commit = serializers.CharField(required=False, allow_blank=True, default="",
                                           max_length=64)
        data_version = serializers.CharField(required=False, allow_blank=True, default="",
                                             max_length=250)
        host = serializers.CharField(required=False, allow_blank=True, default="",
                                     max_length=250)
        context = serializers.DictField(required=False, default=dict)
        started_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    @extend_schema(tags=TAGS, summary="Start a run", request=Input, responses={
        201: OpenApiResponse(RunOutput, description="Started"),
        200: OpenApiResponse(RunOutput, description="Started before with this id: a retry")})
    def post(self, request, slug):
        data = self.validated(self.Input)
        run, created = run_services.create_run(
            project=self.project, user=request.user, experiment=data["experiment"],
            name=data["name"], run_id=data["id"], params=data["params"], tags=data["tags"],
            baseline=data["baseline"], notes=data["notes"], git_commit=data["git_commit"],
            data_version=data["data_version"], host=data["host"], context=data["context"],
            started_at=data["started_at"])
        return Response(run_data(run), status=status.HTTP_201_CREATED if created else 200)


class RunDetailView(RunView):
    """One run with its params, tags and the summary of every metric it logged."""

    @extend_schema(tags=TAGS, summary="Read a run", responses=RunOutput)
    def get(self, request, run_id):
        return Response(run_data(self.run))


class RunUpdateView(RunView):
    """Change a run's name, status, notes or baseline flag (owners and members); tags sent
    are merged into the run's tags."""

    class Input(serializers.Serializer):
        name = serializers.CharField(required=False, max_length=250)
        status = serializers.ChoiceField(required=False, choices=RUN_STATUSES)
        notes = serializers.CharField(required=False, allow_blank=True)
        tags = serializers.DictField(required=False)
        baseline = serializers.BooleanField(required=False)

    @extend_schema(tags=TAGS, summary="Change a run", request=Input, responses=RunOutput)
    def patch(self, request, run_id):
        run = run_services.update_run(run=self.run, **self.validated(self.Input, partial=True))
        return Response(run_data(run))


class RunDeleteView(RunView):
    """Move a run to the trash (owners and members): searches leave it out and it takes no
    more data; its project's owners may restore it for TRASH_DAYS (30 by default). Deleting
    it again changes nothing."""

    @extend_schema(tags=TAGS, summary="Delete a run", responses={204: None})
    def delete(self, request, run_id):
        run_services.delete_run(run=self.run, user=request.user, address=self.address)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RunHeartbeatView(RunView):
    """Record that the run's process is still alive (owners and members)."""

    class Output(serializers.Serializer):
        id = serializers.UUIDField()
        last_heartbeat = serializers.DateTimeField()

    @extend_schema(tags=TAGS, summary="Send a heartbeat", request=None, responses=Output)
    def post(self, request, run_id):
        run = run_services.heartbeat(run=self.run)
        return Response({"id": str(run.id), "last_heartbeat": run.last_heartbeat.isoformat()})


class RunFinishView(RunView):
    """End the run as finished (the default), failed or killed (owners and members).
    Finishing again changes the status but keeps the first end time."""

    class Input(serializers.Serializer):
        status = serializers.ChoiceField(choices=["finished", "failed", "killed"],
                                         required=False, default="finished")
        # When the run really ended: a client replaying a spooled finish sends its own clock.
        ended_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                             help_text="default: now")

    @extend_schema(tags=TAGS, summary="Finish a run", request=Input, responses=RunOutput)
    def post(self, request, run_id):
        data = self.validated(self.Input)
        run = run_services.finish_run(run=self.run, status=data["status"],
                                      ended_at=data["ended_at"])
        return Response(run_data(run))
