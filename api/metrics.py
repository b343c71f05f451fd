"""A run's metrics: log a batch of points, params and tags; read summaries and histories."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from api.base import RunView
from api.runs import MetricSummaryOutput, summary_data
from api.schema import MetricValue, results
from tracker import limits
from tracker.errors import InvalidInput
from tracker.selectors import metrics as metric_selectors
from tracker.services import metrics as metric_services
from tracker.validation import check_key, check_split, to_int

TAGS = ["Metrics"]
BATCH_FIELDS = {"metrics", "params", "tags"}


class PointInput(serializers.Serializer):
    """One metric point."""

    key = serializers.CharField(help_text="e.g. loss, f1")
    split = serializers.CharField(help_text="train, validation, test or a slice of one such "
                                  "as test/long_texts")
    step = serializers.IntegerField(
        required=False, allow_null=True, help_text="left out (or null): step 0, or on the "
        "judged split (and its slices) the run's last step, the highest step any metric of "
        "the run has reached")
    auto_step = serializers.BooleanField(
        required=False, help_text="true when the client counted `step` itself because none "
        "was given (the SDK does): on the judged split the point then counts as sent "
        "without a step")
    value = MetricValue()
    timestamp = serializers.IntegerField(required=False, help_text="epoch milliseconds; "
                                         "default: the server's clock")


class LogBatchView(RunView):
    """Log metric points, params and tags in one request (owners and members).

    A point sent again (same key, split, step and timestamp) is stored once, so a client
    may replay a batch. Params are written once (changing one is a 409); tags are
    overwritten. NaN and ±Infinity are accepted as bare constants or as strings.
    """

    # Documents the body; services.log_batch checks it, naming the field of any mistake.
    class Input(serializers.Serializer):
        metrics = PointInput(many=True, required=False, help_text=f"at most "
                             f"{limits.MAX_POINTS_PER_BATCH:,} points")
        params = serializers.DictField(required=False, help_text=f"at most "
                                       f"{limits.MAX_PARAMS_PER_BATCH}")
        tags = serializers.DictField(required=False, help_text=f"at most "
                                     f"{limits.MAX_TAGS_PER_BATCH}")

    class Output(serializers.Serializer):
        points_received = serializers.IntegerField()
        points_stored = serializers.IntegerField(help_text="the points not stored before")
        params = serializers.IntegerField()
        tags = serializers.IntegerField()

    @extend_schema(tags=TAGS, summary="Log points, params and tags", request=Input,
                   responses=Output)
    def post(self, request, run_id):
        data = request.data
        if not isinstance(data, dict):
            raise InvalidInput("body must be an object with metrics, params and tags",
                               field=None)
        unknown = set(data) - BATCH_FIELDS
        if unknown:
            raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}",
                               field=sorted(unknown)[0])
        result = metric_services.log_batch(run=self.run, metrics=data.get("metrics"),
                                           params=data.get("params"), tags=data.get("tags"))
        return Response(result)


class HistoryPointOutput(serializers.Serializer):
    step = serializers.IntegerField()
    value = MetricValue()
    timestamp = serializers.IntegerField(help_text="epoch milliseconds")


class BucketOutput(serializers.Serializer):
    """The points of one step range: how many, the lowest, highest and last value."""

    step_min = serializers.IntegerField()
    step_max = serializers.IntegerField()
    count = serializers.IntegerField()
    min = MetricValue()
    max = MetricValue()
    last = MetricValue()


class MetricHistoryView(RunView):
    """Every point of one (key, split) series in step order; or, with `buckets`, the series
    cut into that many step ranges, each with its lowest, highest and last value (a spike
    survives any downsampling)."""

    class Output(serializers.Serializer):
        key = serializers.CharField()
        split = serializers.CharField()
        points = HistoryPointOutput(many=True, required=False, help_text="without `buckets`")
        buckets = BucketOutput(many=True, required=False, help_text="with `buckets`")

    @extend_schema(
        tags=TAGS, summary="Read a metric's history",
        parameters=[OpenApiParameter("key", str, required=True),
                    OpenApiParameter("split", str, description="default train"),
                    OpenApiParameter("buckets", int, description=f"downsample to this many "
                                     f"step ranges, at most {limits.MAX_HISTORY_BUCKETS:,}")],
        responses=Output,
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


class MetricSummaryListView(RunView):
    """The summary of every (key, split) series the run logged."""

    @extend_schema(tags=TAGS, summary="List a run's metric summaries",
                   responses=results("MetricSummaryList", MetricSummaryOutput))
    def get(self, request, run_id):
        summaries = self.run.summaries.order_by("split", "key")
        return Response({"results": [summary_data(s) for s in summaries]})
