"""Routes of the web UI (included at the site root after the admin and API routes)."""

from django.urls import path

from web import views

app_name = "web"

urlpatterns = [
    path("", views.projects, name="projects"),
    path("account/", views.account, name="account"),
    path("p/<slug:slug>/", views.dashboard, name="dashboard"),
    path("p/<slug:slug>/runs/", views.runs, name="runs"),
    path("p/<slug:slug>/runs.csv", views.runs_csv, name="runs-csv"),
    path("p/<slug:slug>/reveal-test-results/", views.reveal_test, name="reveal-test"),
    path("p/<slug:slug>/compare/", views.compare, name="compare"),
    path("p/<slug:slug>/models/", views.models, name="models"),
    path("p/<slug:slug>/curves.json", views.curves, name="curves"),
    path("p/<slug:slug>/settings/", views.project_settings, name="settings"),
    path("experiments/<int:experiment_id>/", views.experiment_link, name="experiment"),
    path("runs/<uuid:run_id>/", views.run_detail, name="run"),
    path("runs/<uuid:run_id>/notes/", views.run_notes, name="run-notes"),
    path("runs/<uuid:run_id>/artifacts/<path:path>", views.artifact_download, name="artifact"),
]
