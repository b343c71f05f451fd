"""Routes of the web UI (included at the site root after the admin and API routes)."""

from django.urls import include, path

from web.views import (
    account,
    compare,
    dashboard,
    project_settings,
    projects,
    registered_models,
    run,
    runs,
    trash,
)

app_name = "web"

# The settings page, read by everyone in the project, and one address per form on it.
settings_urlpatterns = [
    path("", project_settings.project_settings, name="settings"),
    path("project/", project_settings.save_project, name="settings-project"),
    path("target/", project_settings.save_target, name="settings-target"),
    path("guardrails/", project_settings.save_guardrails, name="settings-guardrails"),
    path("members/add/", project_settings.add_member, name="settings-add-member"),
    path("members/role/", project_settings.change_role, name="settings-change-role"),
    path("members/remove/", project_settings.remove_member, name="settings-remove-member"),
    path("check-in/", project_settings.save_checkin, name="settings-checkin"),
    path("send-report/", project_settings.send_report_now, name="settings-send-report"),
    path("webhooks/add/", project_settings.add_webhook, name="settings-add-webhook"),
    path("webhooks/<int:webhook_id>/switch/", project_settings.switch_webhook,
         name="settings-switch-webhook"),
    path("webhooks/<int:webhook_id>/remove/", project_settings.remove_webhook,
         name="settings-remove-webhook"),
    path("delete/", trash.delete_project, name="settings-delete-project"),
]

urlpatterns = [
    path("", projects.projects, name="projects"),
    path("account/", account.account, name="account"),
    path("account/tokens/<int:token_id>/revoke/", account.revoke_token, name="revoke-token"),
    path("trash/", trash.trash, name="trash"),
    path("trash/restore/", trash.restore, name="trash-restore"),
    path("p/<slug:slug>/", dashboard.dashboard, name="dashboard"),
    path("p/<slug:slug>/runs/", runs.runs, name="runs"),
    path("p/<slug:slug>/runs.csv", runs.runs_csv, name="runs-csv"),
    path("p/<slug:slug>/reveal-test-results/", runs.reveal_test, name="reveal-test"),
    path("p/<slug:slug>/compare/", compare.compare, name="compare"),
    path("p/<slug:slug>/models/", registered_models.registered_models, name="models"),
    path("p/<slug:slug>/curves.json", compare.curves, name="curves"),
    path("p/<slug:slug>/settings/", include(settings_urlpatterns)),
    path("experiments/<int:experiment_id>/", runs.experiment_link, name="experiment"),
    path("experiments/<int:experiment_id>/delete/", trash.delete_experiment,
         name="experiment-delete"),
    path("runs/<uuid:run_id>/", run.run_detail, name="run"),
    path("runs/<uuid:run_id>/notes/", run.run_notes, name="run-notes"),
    path("runs/<uuid:run_id>/delete/", trash.delete_run, name="run-delete"),
    path("runs/<uuid:run_id>/artifacts/<path:path>", run.artifact_download, name="artifact"),
]
