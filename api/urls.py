from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from api import artifacts, projects, runs, standings

urlpatterns = [
    # The schema and docs are public: they describe the API, not anyone's data.
    path("schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny],
                                               authentication_classes=[]), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema",
                                                 permission_classes=[AllowAny],
                                                 authentication_classes=[]), name="api-docs"),
    path("projects/", projects.ProjectListView.as_view(), name="project-list"),
    path("projects/<str:slug>/", projects.ProjectDetailView.as_view(), name="project-detail"),
    path("projects/<str:slug>/target", projects.TargetView.as_view(), name="project-target"),
    path("projects/<str:slug>/target/history", projects.TargetHistoryView.as_view(),
         name="project-target-history"),
    path("projects/<str:slug>/guardrails", projects.GuardrailsView.as_view(),
         name="project-guardrails"),
    path("projects/<str:slug>/members/", projects.MemberListView.as_view(), name="member-list"),
    path("projects/<str:slug>/members/<str:username>", projects.MemberDetailView.as_view(),
         name="member-detail"),
    path("projects/<str:slug>/experiments/", projects.ExperimentListView.as_view(),
         name="experiment-list"),
    path("projects/<str:slug>/experiments/<str:name>", projects.ExperimentDetailView.as_view(),
         name="experiment-detail"),
    path("projects/<str:slug>/runs/", runs.RunListView.as_view(), name="run-list"),
    path("projects/<str:slug>/leaderboard", standings.LeaderboardView.as_view(),
         name="project-leaderboard"),
    path("projects/<str:slug>/winner", standings.WinnerView.as_view(), name="project-winner"),
    path("runs/<str:run_id>", runs.RunDetailView.as_view(), name="run-detail"),
    path("runs/<str:run_id>/heartbeat", runs.HeartbeatView.as_view(), name="run-heartbeat"),
    path("runs/<str:run_id>/finish", runs.FinishView.as_view(), name="run-finish"),
    path("runs/<str:run_id>/log-batch", runs.LogBatchView.as_view(), name="run-log-batch"),
    path("runs/<str:run_id>/history", runs.HistoryView.as_view(), name="run-history"),
    path("runs/<str:run_id>/metrics", runs.MetricsView.as_view(), name="run-metrics"),
    path("runs/<str:run_id>/artifacts/", artifacts.ArtifactListView.as_view(),
         name="artifact-list"),
    path("runs/<str:run_id>/artifacts/<path:path>", artifacts.ArtifactDetailView.as_view(),
         name="artifact-detail"),
]
