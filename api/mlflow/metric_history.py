"""MLflow's get_metric_history: every point of one metric of a run, page by page.

The metric is named as the client logged it (`val_f1`), whichever series stores it
(tracker.mlflow_mapping). A page of 25,000 points is the hot path of reading, so it is
written as text, straight from the stored blocks.
"""

import json
import re

from api.mlflow import authorization, fields, shapes
from api.mlflow.endpoint import endpoint, json_text_response
from api.mlflow.errors import invalid
from tracker import hot_sql, mlflow_mapping
from tracker.models import MetricSummary
from tracker.points import series_points


def _history_token(token: str | None) -> tuple[int, int] | None:
    """The (step, timestamp) a page token says the previous page ended at."""
    if not token:
        return None
    match = re.fullmatch(r"(-?\d+):(-?\d+)", token)
    if not match:
        raise invalid(f"Invalid page token {token!r}; start from the first page")
    return int(match.group(1)), int(match.group(2))


def _series_ids(run) -> dict[tuple[str, str], tuple[int, str]]:
    """Each of the run's series: its summary's id, and the MLflow key it answers to (one plain
    query)."""
    rows = hot_sql.fetch_all(f"SELECT id, key, split, source_key FROM "
                             f"{MetricSummary._meta.db_table} WHERE run_id = %s", [run.pk])
    return {(key, split): (pk, mlflow_mapping.mlflow_key(key, split, source))
            for pk, key, split, source in rows}


@endpoint("GET")
def get_metric_history(request, user, data):
    run = authorization.run_for(user, fields.run_id(data))
    key = fields.required(data, "metric_key")
    max_results = fields.integer(data, "max_results")
    if max_results is not None and max_results <= 0:
        raise invalid(f"Invalid value {max_results} for parameter 'max_results' supplied. It "
                      "must be a positive integer.")
    after = _history_token(data.get("page_token"))
    series = _series_ids(run)
    found = mlflow_mapping.find_series(key, {s: v[1] for s, v in series.items()})
    if found is None:
        return {"metrics": []}
    summary_id = series[found][0]
    steps = None if after is None else (after[0], fields.INT64[1])
    rows = series_points([summary_id], steps=steps).get(summary_id, [])
    if after is not None:
        rows = [p for p in rows if (p[0], p[1]) > after]
    if max_results:
        rows = rows[:max_results + 1]
    next_token = None
    if max_results and len(rows) > max_results:
        rows = rows[:max_results]
        next_token = f"{rows[-1][0]}:{rows[-1][1]}"
    head = '{"key":' + json.dumps(key) + ',"value":'
    body = ",".join(f'{head}{shapes.number_text(v)},"timestamp":{t},"step":{s}}}'
                    for s, t, v in rows)
    tail = f',"next_page_token":{json.dumps(next_token)}' if next_token else ""
    return json_text_response(f'{{"metrics":[{body}]{tail}}}')
