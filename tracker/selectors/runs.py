"""Runs as pages list them: the latest of a project, what a set of runs carries (for a
column chooser), and the runs whose test results a user revealed."""

from collections import Counter

from tracker.models import MetricSummary, Project, RevealedTestResults, Run
from tracker.selectors.metrics import split_order


def recent_runs(*, project: Project, limit: int = 10) -> list[Run]:
    """The project's latest runs by start time (deleted ones excluded)."""
    return list(Run.objects.live().filter(project=project)
                .select_related("experiment").order_by("-started_at", "id")[:limit])


def live_runs_in_order(*, project: Project, ids: list, related: tuple = ()) -> list[Run]:
    """The project's live runs among `ids`, in the order of `ids` (unknown, deleted and other
    projects' ids left out), so a page keeps the order a link gave."""
    by_id = {r.id: r for r in Run.objects.live().filter(project=project, id__in=ids)
             .select_related(*related)}
    return [by_id[i] for i in ids if i in by_id]


def run_fields(*, runs: list[Run]) -> dict:
    """What these runs carry, for a column chooser: param names, tag names and their
    (key, split) metric series, each sorted; the params whose values differ between the
    runs (what tells them apart); and how many of the runs have each series. One query
    (for the series) per call."""
    coverage = Counter(MetricSummary.objects.filter(run_id__in=[r.id for r in runs])
                       .values_list("key", "split"))
    params = sorted({k for r in runs for k in r.params})
    return {"params": params,
            "params_that_vary": [k for k in params
                                 if len({repr(r.params.get(k)) for r in runs}) > 1],
            "tags": sorted({k for r in runs for k in r.tags}),
            "metrics": sorted(coverage, key=lambda ks: (ks[0], split_order(ks[1]))),
            "metric_coverage": dict(coverage)}


def revealed_run_ids(*, project: Project, user, reveal_ids) -> set:
    """Run ids whose test results the user revealed in the given RevealedTestResults rows
    (rows of other users or projects are ignored)."""
    ids: set = set()
    rows = RevealedTestResults.objects.filter(project=project, user=user,
                                              id__in=list(reveal_ids or []))
    for run_ids in rows.values_list("run_ids", flat=True):
        ids.update(str(r) for r in run_ids)
    return ids
