"""A run's metrics: log a batch of points, params and tags; read summaries and histories."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from api.base import RunView
from api.runs import SummaryOutput, summary_data
from tracker import limits, selectors, services
from tracker.errors import InvalidInput
from tracker.validation import check_key, check_split, to_int


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
        result = services.log_batch(run=self.run, metrics=data.get("metrics"),
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
            rows = selectors.metric_history_buckets(run=self.run, key=key, split=split,
                                                    buckets=buckets)
            return Response({"key": key, "split": split, "buckets": rows})
        points = selectors.metric_history(run=self.run, key=key, split=split)
        return Response({"key": key, "split": split, "points": [
            {"step": s, "value": v, "timestamp": t} for s, v, t in points]})


class MetricsView(RunView):
    @extend_schema(responses=SummaryOutput(many=True),
                   summary="Summaries of every (key, split) the run logged")
    def get(self, request, run_id):
        summaries = self.run.summaries.order_by("split", "key")
        return Response({"results": [summary_data(s) for s in summaries]})
