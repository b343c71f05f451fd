"""The Models tab: the project's registered models (MLflow's model registry)."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from tracker.selectors import model_registry as registry_selectors
from tracker.selectors import winner as winner_selectors
from web import presenters
from web.permissions import page, project_access


@page
@require_GET
def registered_models(request, slug):
    """The project's registered models, each version with the run it came from and that
    run's value where runs are chosen; the best model's run is marked."""
    access = project_access(request, slug)
    project = access.project
    standing = winner_selectors.standing(project=project)
    target = standing.target
    registered = registry_selectors.project_models(project)
    values = winner_selectors.values_where_chosen(
        target=target, run_ids={v.run_id for m in registered for v in m.versions.all()})
    winner_id = standing.winner.id if standing.winner else None
    return render(request, "web/models.html", {
        "access": access, "project": project, "target": target,
        "models": [{"model": m, "versions": presenters.model_versions(
            m, selection_values=values, winner_id=winner_id)} for m in registered],
    })
