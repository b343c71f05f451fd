"""One run's page, its notes and its artifact files."""

import math
import uuid

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from tracker import mlflow_mapping, phrasing, run_search, winner_sentences
from tracker.errors import NotFound
from tracker.models import Artifact, Run
from tracker.numbers import finite_or_none, format_number
from tracker.selectors import logged_models as logged_model_selectors
from tracker.selectors import metrics as metric_selectors
from tracker.selectors import targets as target_selectors
from tracker.selectors import winner as winner_selectors
from tracker.services import runs as run_services
from tracker.storage import open_stored
from web import forms, links, presenters
from web.permissions import page, run_access
from web.visibility import ResultVisibility


def _nesting(project, run: Run) -> tuple[Run | None, str, int]:
    """The run an MLflow client nested this one under (when it is in the project), the
    address of the runs nested under this one, and how many there are."""
    parent = None
    try:
        parent_id = uuid.UUID(str(run.tags.get(mlflow_mapping.PARENT_RUN_TAG, "")))
    except ValueError:
        parent_id = None
    if parent_id is not None:
        parent = Run.objects.live().filter(project=project, id=parent_id).first()
    children_filter = presenters.children_filter(run.id)
    children = run_search.search_runs(project=project, filter_text=children_filter).count()
    return parent, links.runs_url(project, children_filter), children


def _summary_rows(run, summaries, visibility) -> list[dict]:
    """A row per summary for the table of results: hidden or shown, and its numbers."""
    rows = []
    for s in summaries:
        rows.append({"summary": s, "hidden": not visibility.shows(run.id, s.split, s.key),
                     "best": presenters.number(math.nan if s.best_value is None and s.count
                                               else s.best_value),
                     "last": presenters.number(math.nan if s.last_value is None and s.count
                                               else s.last_value),
                     "min": presenters.number(s.min_value),
                     "max": presenters.number(s.max_value)})
    return rows


def _out_of_range(rows, target) -> list[dict]:
    """A note for each shown series with a value outside its metric's range (an F1 of 1.7):
    stored as logged, but worth checking how it is computed. Hidden series say nothing."""
    notes = []
    for row in rows:
        summary = row["summary"]
        definition = target.definition if target and summary.key == target.metric else None
        bounds = phrasing.phrasing_for(summary.key, definition).bounds
        if row["hidden"] or bounds is None:
            continue
        high, low = finite_or_none(summary.max_value), finite_or_none(summary.min_value)
        value = (high if high is not None and high > bounds[1]
                 else low if low is not None and low < bounds[0] else None)
        if value is not None:
            verb = "is" if summary.count == 1 else "reaches" if value == high else "falls to"
            notes.append({"message": f"{summary.key} on {summary.split} {verb} "
                                     f"{format_number(value)}, "
                                     f"{phrasing.outside_words(bounds, value)}: check how it is "
                                     "computed."})
    return notes


def _step_note(run, summaries, target) -> str | None:
    """For engineers, when the run's judged figure was logged at another step than its best
    step: "The test figure was logged at step 29; validation peaked at step 0." """
    if target is None:
        return None
    judged = next((s for s in summaries if s.count and s.key == target.metric
                   and s.split == target.judged_on), None)
    return winner_sentences.judged_step_sentence(
        judged_split=target.judged_on, selected_split=target.selected_on,
        judged_at_step=judged.best_step if judged else None, best_step=run.best_step)


def _charts(run, summaries, visibility) -> tuple[list[dict], list[str]]:
    """One chart per metric with its visible splits on it, and the metrics logged once
    (named, not drawn)."""
    keys = []
    for s in summaries:
        if visibility.shows(run.id, s.split, s.key):
            if not keys or keys[-1]["key"] != s.key:
                keys.append({"key": s.key, "label": presenters.chart_label(s.key), "splits": [],
                             "id": f"chart-{len(keys)}", "points": 0})
            keys[-1]["splits"].append(s.split)
            keys[-1]["points"] = max(keys[-1]["points"], s.count)
    single_values = [k["key"] for k in keys if not presenters.has_curve(k["points"])]
    return [k for k in keys if presenters.has_curve(k["points"])], single_values


def _system_apart(items: list, key) -> tuple[list, list]:
    """The items about the model, and those about MLflow's system metrics (CPU, memory…),
    which the page shows apart, folded: they are not the model's."""
    return ([i for i in items if not mlflow_mapping.is_system_metric(key(i))],
            [i for i in items if mlflow_mapping.is_system_metric(key(i))])


def _run_context(run) -> tuple[str | None, dict]:
    """The command the run's script ran, and the rest of its context but the links to MLflow
    logged models (the page lists the models on their own)."""
    context = dict(run.context or {})
    command = context.pop("command", None)
    if isinstance(command, list):
        command = " ".join(str(c) for c in command)
    context.pop(mlflow_mapping.MODEL_INPUTS_KEY, None)
    context.pop(mlflow_mapping.MODEL_OUTPUTS_KEY, None)
    return command, context


def _models(run, artifacts) -> tuple[list[dict], list[dict]]:
    """The run's logged models, each with the registry versions made from it, and the
    versions made from the run that name none of them."""
    models = presenters.logged_models(run.logged_models.all(), artifacts)
    registered = presenters.registered_versions(run.model_versions.select_related(
        "registered_model"))
    for model in models:
        model["registered"] = [v for v in registered if v["logged_model_id"] == model["id"]]
    elsewhere = [v for v in registered if not any(v in m["registered"] for m in models)]
    return models, elsewhere


@page
@require_GET
def run_detail(request, run_id):
    """One run: status, context, params, tags, notes, summaries per split, curves, artifacts,
    and the datasets and models an MLflow client logged."""
    run, access = run_access(request, run_id)
    project = access.project
    criteria = target_selectors.read_criteria(project=project)
    standing = winner_selectors.standing(project=project, criteria=criteria)
    visibility = ResultVisibility(request, project, criteria=criteria, standing=standing)
    winner = standing.winner
    summaries = sorted(run.summaries.all(),
                       key=lambda s: (s.key, metric_selectors.split_order(s.split)))
    rows, system_rows = _system_apart(_summary_rows(run, summaries, visibility),
                                      lambda row: row["summary"].key)
    drawn, single_values = _charts(run, summaries, visibility)
    keys, system_keys = _system_apart(drawn, lambda chart: chart["key"])
    command, context = _run_context(run)
    artifacts = list(Artifact.objects.filter(run=run))
    models, registered_elsewhere = _models(run, artifacts)
    parent, children_url, children = _nesting(project, run)
    return render(request, "web/run.html", {
        "parent": parent, "children": children, "children_url": children_url,
        "status": presenters.run_status(run),
        "access": access, "project": project, "run": run, "rows": rows,
        "trash_days": settings.TRASH_DAYS,
        "system_rows": system_rows,
        "single_values": _system_apart(single_values, lambda key: key)[0],
        "artifacts": artifacts, "models": models, "registered_elsewhere": registered_elsewhere,
        "used_models": logged_model_selectors.models_used_by(run),
        "datasets": presenters.datasets(run.datasets.all()),
        "notes_form": forms.NotesForm(initial={"notes": run.notes}),
        "duration": presenters.duration(run.ended_at - run.started_at if run.ended_at else None),
        "command": command, "extra_context": sorted(context.items()),
        # what an MLflow client sends instead of a command: the script or notebook it ran
        "mlflow_source": run.tags.get(mlflow_mapping.SOURCE_NAME_TAG, ""),
        "params": sorted(run.params.items()), "tags": sorted(run.tags.items()),
        "hidden_any": any(r["hidden"] for r in rows),
        "range_notes": _out_of_range(rows, standing.target),
        "step_note": _step_note(run, summaries, standing.target),
        "is_winner": winner is not None and winner.id == run.id,
        "compare_url": (links.compare_url(project, [winner.id, run.id])
                        if winner is not None and winner.id != run.id else None),
        "experiment_url": links.runs_url(project,
                                         presenters.experiment_filter(run.experiment.name)),
        "judged_phrase": phrasing.split_phrase(visibility.judged_on),
        "chart_config": {"curves_url": reverse("web:curves", args=[project.slug]),
                         "runs": [str(run.id)], "names": {str(run.id): run.name},
                         "buckets": 500, "keys": keys, "system_keys": system_keys},
        "this_url": request.get_full_path(),
    })


@page
@require_POST
def run_notes(request, run_id):
    """Save a run's notes (owners and members)."""
    run, access = run_access(request, run_id)
    access.require_write()
    form = forms.NotesForm(request.POST)
    if form.is_valid():
        run_services.update_run(run=run, notes=form.cleaned_data["notes"])
        messages.success(request, "Notes saved.")
    else:
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
    return redirect("web:run", run_id=run.id)


@page
@require_GET
def artifact_download(request, run_id, path):
    """Download one artifact of a run."""
    run, _ = run_access(request, run_id)
    artifact = Artifact.objects.filter(run=run, path=path).first()
    if artifact is None:
        raise NotFound(f"run has no artifact {path!r}")
    return FileResponse(open_stored(artifact.file, what="artifact's file"), as_attachment=True,
                        filename=path.rsplit("/", 1)[-1],
                        content_type=artifact.content_type or "application/octet-stream")
