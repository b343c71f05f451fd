"""Routes of REST API v1. Every route answers with or without a trailing slash."""

from django.urls import path, re_path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny

from api import (
    artifacts,
    checkins,
    experiments,
    members,
    metrics,
    projects,
    registered_models,
    reports,
    runs,
    standings,
    targets,
)
from tracker.errors import NotFound


def route(pattern: str, view, name: str) -> list:
    """The route at `pattern` and at `pattern/`, so clients never meet a redirect.

    Only `pattern` itself is in the schema: its twin is the same operation.
    """
    bare = pattern.rstrip("/")
    twin = view.cls.as_view(**view.initkwargs, schema=None)
    return [path(url, view if url == pattern else twin, name=name)
            for url in (bare, bare + "/")]


@extend_schema(exclude=True)  # not an operation: the answer to every URL that is none
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
@authentication_classes([])
@permission_classes([AllowAny])
def not_found(request, rest):
    raise NotFound(f"no API route {request.path!r}; see /api/v1/docs/", field=None)


urlpatterns = [
    # The schema and docs are public: they describe the API, not anyone's data.
    *route("schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny],
                                                 authentication_classes=[]), "api-schema"),
    *route("docs/", SpectacularSwaggerView.as_view(url_name="api-schema",
                                                   permission_classes=[AllowAny],
                                                   authentication_classes=[]), "api-docs"),
    *route("projects/", projects.ProjectListView.as_view(), "project-list"),
    *route("projects/<str:slug>", projects.ProjectDetailView.as_view(), "project-detail"),
    *route("projects/<str:slug>/target", targets.TargetView.as_view(), "project-target"),
    *route("projects/<str:slug>/target/history", targets.TargetHistoryView.as_view(),
           "project-target-history"),
    *route("projects/<str:slug>/guardrails", targets.GuardrailsView.as_view(),
           "project-guardrails"),
    *route("projects/<str:slug>/members/", members.MemberListView.as_view(), "member-list"),
    *route("projects/<str:slug>/members/<str:username>", members.MemberDetailView.as_view(),
           "member-detail"),
    *route("projects/<str:slug>/experiments/", experiments.ExperimentListView.as_view(),
           "experiment-list"),
    *route("projects/<str:slug>/experiments/<path:name>",
           experiments.ExperimentDetailView.as_view(), "experiment-detail"),
    *route("projects/<str:slug>/runs/", runs.RunListView.as_view(), "run-list"),
    *route("projects/<str:slug>/leaderboard", standings.LeaderboardView.as_view(),
           "project-leaderboard"),
    *route("projects/<str:slug>/winner", standings.WinnerView.as_view(), "project-winner"),
    *route("projects/<str:slug>/models/", registered_models.RegisteredModelListView.as_view(),
           "registered-model-list"),
    # Check-in reports (reports app)
    *route("projects/<str:slug>/checkin", checkins.CheckInView.as_view(), "project-checkin"),
    *route("projects/<str:slug>/reports/", reports.ReportListView.as_view(), "report-list"),
    *route("projects/<str:slug>/reports/<str:report_id>", reports.ReportDetailView.as_view(),
           "report-detail"),
    *route("projects/<str:slug>/reports/<str:report_id>/html", reports.ReportHtmlView.as_view(),
           "report-html"),
    *route("projects/<str:slug>/reports/<str:report_id>/pdf", reports.ReportPdfView.as_view(),
           "report-pdf"),
    *route("runs/<str:run_id>", runs.RunDetailView.as_view(), "run-detail"),
    *route("runs/<str:run_id>/heartbeat", runs.HeartbeatView.as_view(), "run-heartbeat"),
    *route("runs/<str:run_id>/finish", runs.FinishView.as_view(), "run-finish"),
    *route("runs/<str:run_id>/log-batch", metrics.LogBatchView.as_view(), "run-log-batch"),
    *route("runs/<str:run_id>/history", metrics.HistoryView.as_view(), "run-history"),
    *route("runs/<str:run_id>/metrics", metrics.MetricsView.as_view(), "run-metrics"),
    *route("runs/<str:run_id>/artifacts/", artifacts.ArtifactListView.as_view(),
           "artifact-list"),
    # Artifact paths are taken literally: no trailing-slash twin here.
    path("runs/<str:run_id>/artifacts/<path:path>", artifacts.ArtifactDetailView.as_view(),
         name="artifact-detail"),
    re_path(r"^(?P<rest>.*)$", not_found),
]
