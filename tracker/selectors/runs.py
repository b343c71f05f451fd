"""Runs as pages list them: the latest of a project, what a set of runs carries (for a
column chooser), the runs whose test results a user revealed, and the names a filter uses
that no run of the project has."""

from collections import Counter

from django.db import connection

from tracker import run_search
from tracker.models import MetricSummary, Project, RevealedTestResults, Run
from tracker.query import names
from tracker.query.parser import parse_filter
from tracker.query.syntax import Field
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


def filter_warnings(*, project: Project, filter_text: str | None = None,
                    order_by: str | None = None) -> list[dict]:
    """A warning ({"field", "message", "suggestion"}) for each metric, param or tag that a
    valid filter or sort order names and no live run of the project has, suggesting the
    closest name the project's runs do have. The search still runs: a filter may name what
    runs will log.

    One cheap query per field named; the project's names are read only when one is missing.
    """
    fields = names.named_fields(parse_filter(filter_text or ""),
                                [field for field, _ in run_search.sort_keys(order_by)])
    missing = [field for field in fields if not _has(project, field)]
    if not missing:
        return []
    # Suggestions for a metric come from metrics; for a param or tag, from both.
    kinds = {"metric"} if any(f.kind == "metric" for f in missing) else set()
    if any(f.kind != "metric" for f in missing):
        kinds |= {"param", "tag"}
    known = project_fields(project=project, kinds=kinds)
    return [names.unknown_field_warning(field, known) for field in missing]


def _has(project: Project, field: Field) -> bool:
    if field.kind == "metric":
        return MetricSummary.objects.of_live_runs().filter(
            run__project=project, key=field.name, split=field.split).exists()
    column = "params" if field.kind == "param" else "tags"
    return Run.objects.live().filter(project=project,
                                     **{f"{column}__has_key": field.name}).exists()


def project_fields(*, project: Project,
                   kinds: set[str] = frozenset({"metric", "param", "tag"})) -> list[Field]:
    """Every metric series (split.key), param and tag that the project's live runs have (of
    the kinds asked), each counted in the database."""
    found = []
    if "metric" in kinds:
        series = (MetricSummary.objects.of_live_runs().filter(run__project=project)
                  .values_list("key", "split").distinct())
        found += [Field("metric", key, split) for key, split in sorted(series)]
    for kind, column in (("param", "params"), ("tag", "tags")):
        if kind in kinds:
            found += [Field(kind, key) for key in sorted(_json_keys(project, column))]
    return found


def _json_keys(project: Project, column: str) -> list[str]:
    """The keys of a JSON column (params or tags) over the project's live runs, counted in
    the database."""
    table = Run._meta.db_table
    if connection.vendor == "postgresql":
        sql = (f"SELECT DISTINCT jsonb_object_keys({column}) FROM {table} "
               "WHERE project_id = %s AND deleted_at IS NULL")
    else:
        sql = (f"SELECT DISTINCT j.key FROM {table} r, json_each(r.{column}) j "
               "WHERE r.project_id = %s AND r.deleted_at IS NULL")
    with connection.cursor() as cursor:
        cursor.execute(sql, [project.pk])
        return [row[0] for row in cursor.fetchall()]
