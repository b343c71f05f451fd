"""Routes of the web UI (included at the site root after the admin and API routes)."""

from django.urls import path

from web.views import (
    account,
    compare,
    dashboard,
    project_settings,
    projects,
    registered_models,
    run,
    runs,
)

app_name = "web"

urlpatterns = [
    path("", projects.projects, name="projects"),
    path("account/", account.account, name="account"),
    path("p/<slug:slug>/", dashboard.dashboard, name="dashboard"),
    path("p/<slug:slug>/runs/", runs.runs, name="runs"),
    path("p/<slug:slug>/runs.csv", runs.runs_csv, name="runs-csv"),
    path("p/<slug:slug>/reveal-test-results/", runs.reveal_test, name="reveal-test"),
    path("p/<slug:slug>/compare/", compare.compare, name="compare"),
    path("p/<slug:slug>/models/", registered_models.registered_models, name="models"),
    path("p/<slug:slug>/curves.json", compare.curves, name="curves"),
    path("p/<slug:slug>/settings/", project_settings.project_settings, name="settings"),
    path("experiments/<int:experiment_id>/", runs.experiment_link, name="experiment"),
    path("runs/<uuid:run_id>/", run.run_detail, name="run"),
    path("runs/<uuid:run_id>/notes/", run.run_notes, name="run-notes"),
    path("runs/<uuid:run_id>/artifacts/<path:path>", run.artifact_download, name="artifact"),
]
