"""The logging calls a training loop makes: log-batch, and its batches of one (log-metric,
log-parameter, set-tag), on one write path.

A script logs every few milliseconds and waits for each answer, so each call takes one
transaction and no more: its body is read (batch.py), then services.log_batch locks the run
with a statement that also checks that the token's user may write to it
(authorization.locked_writer), and writes. Only a refused call reads the token and the run,
to tell why, as MLflow tells it: the token's error first, then the run's, then the body's
(authorization.refusal).

Every write goes through services.log_batch, so MLflow clients get Targetline's write
semantics: replayed points are stored once, params are write-once, tags are
last-write-wins.
"""

from collections.abc import Callable
from contextlib import nullcontext

from django.db import transaction

from api.auth import note_token_use
from api.mlflow import authorization, batch, schemas
from api.mlflow.endpoint import mlflow_view
from api.mlflow.errors import MlflowError
from tracker import mlflow_mapping
from tracker.errors import TargetlineError
from tracker.models import MetricSummary, Run, RunDataset
from tracker.services import logged_models as logged_model_services
from tracker.services import metrics as metric_services
from tracker.services import runs as run_services


@mlflow_view("POST")
def log_batch(request):
    body = _read(request, "runs/log-batch", batch.read_log_batch)
    return _log(request, body.run_id, lambda: batch.log_batch_call(body))


@mlflow_view("POST")
def log_metric(request):
    body = _read(request, "runs/log-metric", batch.read, batch.LogMetricBody)
    return _log(request, batch.run_id_of(body), lambda: batch.log_metric_call(body))


@mlflow_view("POST")
def log_param(request):
    body = _read(request, "runs/log-parameter", batch.read, batch.KeyValueBody)
    return _log(request, batch.run_id_of(body), lambda: batch.log_param_call(body))


@mlflow_view("POST")
def set_tag(request):
    body = _read(request, "runs/set-tag", batch.read, batch.KeyValueBody)
    return _log(request, batch.run_id_of(body), lambda: batch.set_tag_call(body))


def _read(request, route: str, read, *args):
    """The call's body, read by `read(request, *args, check_fields)`, its fields checked as
    mlflow server checks `route`'s (with the token's and the run's error first); when it
    cannot be read, the token's error comes first."""
    def check_fields(fields) -> None:
        schemas.check_decoded(route, request, fields)
    try:
        return read(request, *args, check_fields)
    except MlflowError:
        authorization.authenticate(request)
        raise


def _log(request, run_id, call_of: Callable[[], batch.LogBatch]) -> dict:
    """Write what `call_of()` makes of the call's body to the run, if the token may: {}."""
    try:
        writer = authorization.locked_writer(request, run_id)
        call = call_of()
        run = _locked_row(writer.run_pk)
        write_call(run, call, writer.guard)
    except (MlflowError, TargetlineError) as error:
        raise authorization.refusal(request, run_id, error) from None
    note_token_use(writer.token_hash)
    return {}


def _locked_row(pk) -> Run:
    """The run whose row services.log_batch locks and fills in: one that exists (saved by
    update, never added)."""
    run = Run(pk=pk)
    run._state.adding = False
    return run


def write_call(run: Run, call: batch.LogBatch, guard=None) -> int:
    """One logging call's writes: its batch under the run's lock (`guard` checks the token),
    and the run's new name with it, in one transaction; then its logged models' metrics.
    Returns how many points were new (the MLflow importer counts them)."""
    series_of = _series_resolver(run, call.datasets)
    with transaction.atomic() if call.new_name else nullcontext():
        # MLflow's client sends step 0 when the script gives no step: on the judged split,
        # such a point is placed as one logged without a step (tracker.step_placement).
        logged = metric_services.log_batch(
            run=run, points=call.points, params=call.params, tags=call.tags,
            series_of=series_of, guard=guard, zero_step_is_none=True)
        if call.new_name:
            run_services.update_run(run=run, name=call.new_name)
    if call.model_metrics:
        logged_model_services.record_model_metrics(run=run, metrics=call.model_metrics)
    return logged["points_stored"]


def resolve_series(names: list[str], summaries: list[MetricSummary],
                   dataset_splits: dict[str, str] | None = None) -> dict[str, tuple[str, str]]:
    """The series each MLflow metric name of a batch goes to, given the run's summaries
    (services.log_batch calls it under the run's lock)."""
    existing = {(s.key, s.split): mlflow_mapping.mlflow_key(s.key, s.split, s.source_key)
                for s in summaries}
    return mlflow_mapping.resolve_series(names, existing, dataset_splits)


def _series_resolver(run: Run,
                     datasets: dict[str, tuple[str, str]]) -> metric_services.SeriesResolver:
    """resolve_series for a call whose metrics were logged against datasets (MLflow 3's
    `dataset_name`, `dataset_digest`): those take their dataset's split when their key names
    none, by the context the run logged the dataset for, else by its name
    (mlflow_mapping.dataset_split)."""
    if not datasets:
        return resolve_series
    contexts: dict[tuple[str, str], str] = {}
    for name, digest, tags in RunDataset.objects.filter(
            run=run, name__in={name for name, _ in datasets.values()}).values_list(
            "name", "digest", "tags"):
        context = str((tags or {}).get(mlflow_mapping.DATASET_CONTEXT_TAG) or "")
        contexts[(name, digest)] = contexts[(name, "")] = context
    splits = {}
    for key, (name, digest) in datasets.items():
        split = mlflow_mapping.dataset_split(name, contexts.get((name, digest), ""))
        if split:
            splits[key] = split

    def resolve(names: list[str], summaries: list[MetricSummary]) -> dict[str, tuple[str, str]]:
        return resolve_series(names, summaries, splits)
    return resolve
