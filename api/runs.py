"""Runs: create, search, read, update, heartbeat, finish, delete, log-batch, history."""

from collections import defaultdict

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from api.base import ProjectView, RunView
from tracker import limits, run_pages, run_search
from tracker.errors import InvalidInput
from tracker.models import MetricSummary, Run
from tracker.selectors import metrics as metric_selectors
from tracker.services import metrics as metric_services
from tracker.services import runs as run_services
from tracker.validation import check_key, check_split, to_int


class RunInput(serializers.Serializer):
    id = serializers.UUIDField(required=False, allow_null=True, default=None)
    experiment = serializers.CharField(max_length=250)
    name = serializers.CharField(required=False, allow_blank=True, default="", max_length=250)
    params = serializers.DictField(required=False, default=dict)
    tags = serializers.DictField(required=False, default=dict)
    baseline = serializers.BooleanField(required=False, default=False)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    git_commit = serializers.CharField(required=False, allow_blank=True, default="",
                                       max_length=64)
    data_version = serializers.CharField(required=False, allow_blank=True, default="",
                                         max_length=250)
    host = serializers.CharField(required=False, allow_blank=True, default="", max_length=250)
    context = serializers.DictField(required=False, default=dict)
    started_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class RunUpdateInput(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=250)
    status = serializers.ChoiceField(required=False,
                                     choices=["running", "finished", "failed", "killed"])
    notes = serializers.CharField(required=False, allow_blank=True)
    tags = serializers.DictField(required=False)
    baseline = serializers.BooleanField(required=False)


class FinishInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["finished", "failed", "killed"],
                                     required=False, default="finished")
    # When the run really ended: a client replaying a spooled finish sends its own clock.
    ended_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class SummaryOutput(serializers.Serializer):
    key = serializers.CharField()
    split = serializers.CharField()
    best = serializers.FloatField(allow_null=True)
    best_step = serializers.IntegerField(allow_null=True)
    last = serializers.FloatField(allow_null=True)
    last_step = serializers.IntegerField(allow_null=True)
    min = serializers.FloatField(allow_null=True)
    max = serializers.FloatField(allow_null=True)
    count = serializers.IntegerField()


class RunOutput(serializers.Serializer):
    id = serializers.UUIDField()
    project = serializers.CharField()
    experiment = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField()
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
    best_step = serializers.IntegerField(allow_null=True)
    metrics = SummaryOutput(many=True)


def summary_data(s: MetricSummary) -> dict:
    nan = float("nan")

    def value(v):
        return nan if v is None and s.count else v

    return {"key": s.key, "split": s.split, "best": value(s.best_value),
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


class RunListView(ProjectView):
    @extend_schema(
        parameters=[
            OpenApiParameter("filter", str, description='e.g. validation.f1 > 0.8 and '
                             'params.model = "svm"'),
            OpenApiParameter("order_by", str, description="comma-separated fields, '-' for "
                             "descending, e.g. -validation.f1,name"),
            OpenApiParameter("cursor", str), OpenApiParameter("page_size", int),
        ],
        responses=inline_serializer("RunPage", {"results": RunOutput(many=True),
                                                "next": serializers.CharField(allow_null=True),
                                                "next_cursor": serializers.CharField(
                                                    allow_null=True),
                                                "count": serializers.IntegerField(
                                                    allow_null=True,
                                                    help_text="on the first page only")}),
        summary="Search the project's runs with the filter language",
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
        return Response({"results": runs_data(rows), "next": next_url,
                         "next_cursor": next_cursor, "count": count})

    @extend_schema(request=RunInput, responses={201: RunOutput, 200: RunOutput},
                   summary="Start a run (the experiment is created on first use)")
    def post(self, request, slug):
        serializer = RunInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        run, created = run_services.create_run(
            project=self.project, user=request.user, experiment=data["experiment"],
            name=data["name"], run_id=data["id"], params=data["params"], tags=data["tags"],
            baseline=data["baseline"], notes=data["notes"], git_commit=data["git_commit"],
            data_version=data["data_version"], host=data["host"], context=data["context"],
            started_at=data["started_at"])
        return Response(run_data(run), status=status.HTTP_201_CREATED if created else 200)


class RunDetailView(RunView):
    @extend_schema(responses=RunOutput, summary="One run with its metric summaries")
    def get(self, request, run_id):
        return Response(run_data(self.run))

    @extend_schema(request=RunUpdateInput, responses=RunOutput,
                   summary="Change name, status, notes, tags or the baseline flag")
    def patch(self, request, run_id):
        serializer = RunUpdateInput(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        run = run_services.update_run(run=self.run, **serializer.validated_data)
        return Response(run_data(run))

    @extend_schema(responses={204: None}, summary="Delete the run (it then accepts no data)")
    def delete(self, request, run_id):
        run_services.delete_run(run=self.run)
        return Response(status=status.HTTP_204_NO_CONTENT)


class HeartbeatView(RunView):
    @extend_schema(request=None, summary="Record that the run is alive",
                   responses=inline_serializer("Heartbeat", {
                       "id": serializers.UUIDField(),
                       "last_heartbeat": serializers.DateTimeField()}))
    def post(self, request, run_id):
        run = run_services.heartbeat(run=self.run)
        return Response({"id": str(run.id), "last_heartbeat": run.last_heartbeat.isoformat()})


class FinishView(RunView):
    @extend_schema(request=FinishInput, responses=RunOutput,
                   summary="End the run as finished, failed or killed")
    def post(self, request, run_id):
        serializer = FinishInput(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        run = run_services.finish_run(run=self.run, status=serializer.validated_data["status"],
                                      ended_at=serializer.validated_data["ended_at"])
        return Response(run_data(run))


class LogBatchView(RunView):
    @extend_schema(
        request=inline_serializer("LogBatch", {
            "metrics": inline_serializer("Point", {
                "key": serializers.CharField(), "split": serializers.CharField(),
                "step": serializers.IntegerField(), "value": serializers.FloatField(),
                "timestamp": serializers.IntegerField(help_text="epoch milliseconds"),
            }, many=True),
            "params": serializers.DictField(), "tags": serializers.DictField()}),
        responses=inline_serializer("LogBatchResult", {
            "points_received": serializers.IntegerField(),
            "points_stored": serializers.IntegerField(),
            "params": serializers.IntegerField(), "tags": serializers.IntegerField()}),
        summary=f"Log up to {limits.MAX_POINTS_PER_BATCH:,} points, "
                f"{limits.MAX_PARAMS_PER_BATCH} params and {limits.MAX_TAGS_PER_BATCH} tags",
    )
    def post(self, request, run_id):
        data = request.data
        if not isinstance(data, dict):
            raise InvalidInput("body must be an object with metrics, params and tags",
                               field=None)
        unknown = set(data) - {"metrics", "params", "tags"}
        if unknown:
            raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}",
                               field=sorted(unknown)[0])
        result = metric_services.log_batch(run=self.run, metrics=data.get("metrics"),
                                           params=data.get("params"), tags=data.get("tags"))
        return Response(result)


class HistoryView(RunView):
    @extend_schema(
        parameters=[OpenApiParameter("key", str, required=True),
                    OpenApiParameter("split", str, description="default train"),
                    OpenApiParameter("buckets", int, description="downsample to N step ranges "
                                     "keeping each one's min, max and last")],
        responses=OpenApiTypes.OBJECT,
        summary="Metric history of one (key, split), full or downsampled",
    )
    def get(self, request, run_id):
        params = request.query_params
        key = check_key(params.get("key"), field="key")
        split = check_split(params.get("split") or "train")
        if params.get("buckets"):
            buckets = to_int(params["buckets"], field="buckets", minimum=1)
            rows = metric_selectors.metric_history_buckets(run=self.run, key=key, split=split,
                                                           buckets=buckets)
            return Response({"key": key, "split": split, "buckets": rows})
        points = metric_selectors.metric_history(run=self.run, key=key, split=split)
        return Response({"key": key, "split": split, "points": [
            {"step": s, "value": v, "timestamp": t} for s, v, t in points]})


class MetricsView(RunView):
    @extend_schema(responses=SummaryOutput(many=True),
                   summary="Summaries of every (key, split) the run logged")
    def get(self, request, run_id):
        summaries = self.run.summaries.order_by("split", "key")
        return Response({"results": [summary_data(s) for s in summaries]})
