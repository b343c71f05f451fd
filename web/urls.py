"""Routes of the web UI (included at the site root after the admin and API routes)."""

from django.urls import include, path

from web.views import (
    account,
    compare,
    dashboard,
    invitations,
    production,
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
    path("invitations/", project_settings.invite, name="settings-invite"),
    path("invitations/revoke/", project_settings.revoke_invitation,
         name="settings-revoke-invitation"),
    path("check-in/", project_settings.save_checkin, name="settings-checkin"),
    path("send-report/", project_settings.send_report_now, name="settings-send-report"),
    path("webhooks/add/", project_settings.add_webhook, name="settings-add-webhook"),
    path("webhooks/<int:webhook_id>/switch/", project_settings.switch_webhook,
         name="settings-switch-webhook"),
    path("webhooks/<int:webhook_id>/remove/", project_settings.remove_webhook,
         name="settings-remove-webhook"),
    path("delete/", trash.delete_project, name="settings-delete-project"),
]

# An invitation's emailed link and its forms: open to whoever holds the link.
invitation_urlpatterns = [
    path("<str:token>/", invitations.invitation, name="invitation"),
    path("<str:token>/accept/", invitations.accept, name="invitation-accept"),
    path("<str:token>/sign-up/", invitations.sign_up, name="invitation-sign-up"),
]

# A forgotten password (Django's views): open to anyone, as the login page is.
password_reset_urlpatterns = [
    path("", account.with_policy(account.password_reset), name="password-reset"),
    path("sent/", account.with_policy(account.password_reset_sent),
         name="password-reset-sent"),
    path("<uidb64>/<token>/", account.with_policy(account.password_reset_confirm),
         name="password-reset-confirm"),
    path("done/", account.with_policy(account.password_reset_done),
         name="password-reset-done"),
]

urlpatterns = [
    path("", projects.projects, name="projects"),
    path("invitations/", include(invitation_urlpatterns)),
    path("password-reset/", include(password_reset_urlpatterns)),
    path("account/", account.account, name="account"),
    path("account/tokens/<int:token_id>/revoke/", account.revoke_token, name="revoke-token"),
    path("trash/", trash.trash, name="trash"),
    path("trash/restore/", trash.restore, name="trash-restore"),
    path("p/<slug:slug>/", dashboard.dashboard, name="dashboard"),
    path("p/<slug:slug>/join/", projects.staff_join, name="staff-join"),
    path("p/<slug:slug>/runs/", runs.runs, name="runs"),
    path("p/<slug:slug>/runs.csv", runs.runs_csv, name="runs-csv"),
    path("p/<slug:slug>/reveal-test-results/", runs.reveal_test, name="reveal-test"),
    path("p/<slug:slug>/compare/", compare.compare, name="compare"),
    path("p/<slug:slug>/models/", registered_models.registered_models, name="models"),
    path("p/<slug:slug>/production/", production.production, name="production"),
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
