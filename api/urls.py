"""Routes of REST API v1, grouped by resource as the docs page shows them.

Every route answers with or without a trailing slash (see api/routes.py).
"""

from django.urls import re_path
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny

from api import (
    artifacts,
    audit,
    checkins,
    deployments,
    experiments,
    impact,
    invitations,
    members,
    metrics,
    production,
    profiles,
    projects,
    registered_models,
    reports,
    runs,
    standings,
    targets,
    trash,
    webhooks,
)
from api.docs import DocsView, SchemaView
from api.routes import CATCH_ALL, route
from tracker.errors import NotFound


@extend_schema(exclude=True)  # not an operation: the answer to every URL that is none
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
@authentication_classes([])
@permission_classes([AllowAny])
def not_found(request, rest):
    raise NotFound(f"no API route {request.path!r}; see /api/v1/docs/", field=None)


P = "projects/<str:slug>"
R = "runs/<str:run_id>"
D = "deployments/<str:deployment_id>"

urlpatterns = [
    *route("schema/", SchemaView, name="api-schema"),
    *route("docs/", DocsView, name="api-docs"),
    *route("projects/", projects.ProjectListView, projects.ProjectCreateView,
           name="project-list"),
    *route(P, projects.ProjectDetailView, projects.ProjectUpdateView, trash.ProjectDeleteView,
           name="project-detail"),
    *route(f"{P}/restore", trash.ProjectRestoreView, name="project-restore"),
    *route(f"{P}/audit-log/", audit.AuditLogView, name="project-audit-log"),
    *route("trash/", trash.TrashListView, name="trash"),
    *route("trash/experiments/<str:experiment_id>/restore", trash.ExperimentRestoreView,
           name="experiment-restore"),
    *route(f"{P}/target", targets.TargetDetailView, targets.TargetSetView,
           targets.TargetWithdrawView, name="project-target"),
    *route(f"{P}/guardrails", targets.GuardrailListView, targets.GuardrailReplaceView,
           name="project-guardrails"),
    *route(f"{P}/target/history", targets.TargetHistoryView, name="project-target-history"),
    *route(f"{P}/members/", members.MemberListView, members.MemberAddView, name="member-list"),
    *route(f"{P}/members/<str:username>", members.MemberUpdateView, members.MemberRemoveView,
           name="member-detail"),
    *route(f"{P}/invitations/", invitations.InvitationListView,
           invitations.InvitationCreateView, name="invitation-list"),
    *route(f"{P}/invitations/<str:invitation_id>", invitations.InvitationRevokeView,
           name="invitation-detail"),
    *route(f"{P}/experiments/", experiments.ExperimentListView,
           experiments.ExperimentCreateView, name="experiment-list"),
    *route(f"{P}/experiments/<path:name>", experiments.ExperimentDetailView,
           experiments.ExperimentDeleteView, name="experiment-detail"),
    *route(f"{P}/runs/", runs.RunSearchView, runs.RunCreateView, name="run-list"),
    *route(R, runs.RunDetailView, runs.RunUpdateView, runs.RunDeleteView, name="run-detail"),
    *route(f"{R}/restore", trash.RunRestoreView, name="run-restore"),
    *route(f"{R}/heartbeat", runs.RunHeartbeatView, name="run-heartbeat"),
    *route(f"{R}/finish", runs.RunFinishView, name="run-finish"),
    *route(f"{R}/log-batch", metrics.LogBatchView, name="run-log-batch"),
    *route(f"{R}/metrics", metrics.MetricSummaryListView, name="run-metrics"),
    *route(f"{R}/history", metrics.MetricHistoryView, name="run-history"),
    *route(f"{R}/profile", profiles.RunProfileView, profiles.RunProfileRecordView,
           name="run-profile"),
    *route(f"{R}/artifacts/", artifacts.ArtifactListView, artifacts.ArtifactUploadView,
           name="artifact-list"),
    # Artifact paths are taken literally: no trailing-slash twin here.
    *route(f"{R}/artifacts/<path:path>", artifacts.ArtifactDownloadView,
           artifacts.ArtifactPutView, name="artifact-detail", twin=False),
    *route(f"{P}/winner", standings.WinnerView, name="project-winner"),
    *route(f"{P}/leaderboard", standings.LeaderboardView, name="project-leaderboard"),
    *route(f"{P}/models/", registered_models.RegisteredModelListView,
           name="registered-model-list"),
    *route(f"{P}/deployments/", deployments.DeploymentListView,
           deployments.DeploymentCreateView, name="deployment-list"),
    *route(D, deployments.DeploymentDetailView, name="deployment-detail"),
    *route(f"{D}/end", deployments.DeploymentEndView, name="deployment-end"),
    *route(f"{D}/results", deployments.LiveResultListView, deployments.LiveResultRecordView,
           name="deployment-results"),
    *route(f"{D}/profiles", profiles.LiveProfileListView, profiles.LiveProfileRecordView,
           name="deployment-profiles"),
    *route(f"{D}/reference", profiles.ReferenceView, name="deployment-reference"),
    *route(f"{D}/drift", profiles.DriftView, name="deployment-drift"),
    *route(f"{P}/production", production.ProductionView, name="project-production"),
    *route(f"{P}/impact/", impact.ImpactListView, impact.ImpactRecordView, name="impact-list"),
    *route("impact/<str:impact_id>", impact.ImpactDetailView, impact.ImpactDeleteView,
           name="impact-detail"),
    *route(f"{P}/checkin", checkins.CheckInDetailView, checkins.CheckInSetView,
           name="project-checkin"),
    *route(f"{P}/reports/", reports.ReportListView, reports.ReportSendView, name="report-list"),
    *route(f"{P}/reports/<str:report_id>", reports.ReportDetailView, name="report-detail"),
    *route(f"{P}/reports/<str:report_id>/html", reports.ReportHtmlView, name="report-html"),
    *route(f"{P}/reports/<str:report_id>/pdf", reports.ReportPdfView, name="report-pdf"),
    *route(f"{P}/webhooks/", webhooks.WebhookListView, webhooks.WebhookCreateView,
           name="webhook-list"),
    *route(f"{P}/webhooks/<str:webhook_id>", webhooks.WebhookDetailView,
           webhooks.WebhookUpdateView, webhooks.WebhookDeleteView, name="webhook-detail"),
    *route(f"{P}/webhooks/<str:webhook_id>/deliveries/", webhooks.WebhookDeliveryListView,
           name="webhook-deliveries"),
    re_path(CATCH_ALL, not_found),
]
