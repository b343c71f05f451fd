"""Helpers that build runs through the services, the way clients do."""

from tracker.services import metrics as metric_services
from tracker.services import runs as run_services

_clock = [1_700_000_000_000]


def next_ts() -> int:
    _clock[0] += 1000
    return _clock[0]


def make_run(project, user, *, name, experiment="exp", baseline=False, finish="finished",
             series=None, params=None, tags=None):
    """A run with points; `series` maps "split.key" to a value or a list of values by step."""
    run, _ = run_services.create_run(project=project, user=user, experiment=experiment, name=name,
                                     baseline=baseline, params=params, tags=tags)
    points = []
    for field, values in (series or {}).items():
        split, key = field.rsplit(".", 1)
        values = values if isinstance(values, list) else [values]
        for step, value in enumerate(values):
            points.append({"key": key, "split": split, "step": step, "value": value,
                           "timestamp": next_ts()})
    if points:
        metric_services.log_batch(run=run, metrics=points)
    if finish:
        run_services.finish_run(run=run, status=finish)
    run.refresh_from_db()
    return run
