"""A project's Production tab: is the deployed model still above the bar, have its inputs
drifted, and did it pay off."""

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from tracker.selectors import deployments as deployment_selectors
from tracker.selectors import impact as impact_selectors
from tracker.selectors import production as production_selectors
from web import charts, presenters
from web.permissions import page, project_access
from web.views.dashboard import DEPLOYMENTS_SHOWN


def _latest_profile(deployment, reading):
    """The live profile the latest drift reading was worked out from."""
    return next(p for p in production_selectors.live_profiles(deployment=deployment)
                if (p.window_start, p.window_end) == (reading.window_start, reading.window_end))


@page
@require_GET
def production(request, slug):
    """The production status and its sentence, what is live since when, the live results
    against the test figure and the bar, the drift of the latest window with each feature's
    histograms, and the business results."""
    access = project_access(request, slug)
    project = access.project
    today = timezone.localdate()
    answer = production_selectors.production_answer(project=project, today=today)
    deployment, reading = answer.deployment, answer.drift
    reference = (production_selectors.reference_profile(deployment=deployment)
                 if deployment is not None else None)
    histograms = None
    if reading is not None:
        histograms = charts.feature_histograms(
            reference=reference.profile, live=_latest_profile(deployment, reading).profile,
            readings=production_selectors.drift_readings(deployment=deployment), today=today)
    readings = impact_selectors.impact_readings(project=project, today=today)
    return render(request, "web/production.html", {
        "access": access, "project": project, "answer": answer, "live": deployment,
        "status_key": answer.status.replace(" ", "_"),
        "deployments": list(deployment_selectors.project_deployments(
            project=project)[:DEPLOYMENTS_SHOWN + 1]),
        "deployments_shown": DEPLOYMENTS_SHOWN,
        "chart": charts.live_chart(answer=answer, today=today),
        "live_rows": charts.live_rows(answer=answer, today=today),
        "drift": reading, "histograms": histograms, "has_reference": reference is not None,
        "drift_when": (charts.window_text(reading.window_start, reading.window_end, today=today)
                       if reading else ""),
        "predictions": (presenters.class_share_rows(reading.predictions)
                        if reading and reading.predictions else []),
        "impact": [{"reading": r, "bar": presenters.impact_bar(r)} for r in readings],
    })
