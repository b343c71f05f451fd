"""The tracking domain's models, one module per subject, all imported from here:
`from tracker.models import Run`."""

from tracker.models.audit import (
    AuditAction,
    AuditEntry,
)
from tracker.models.deployments import (
    Deployment,
    LiveResult,
)
from tracker.models.invitations import (
    Invitation,
    InvitationStatus,
)
from tracker.models.model_registry import (
    LoggedModel,
    ModelStage,
    ModelVersion,
    RegisteredModel,
)
from tracker.models.production import (
    ImpactKind,
    ImpactResult,
    LiveProfile,
    RunProfile,
)
from tracker.models.projects import (
    Direction,
    Guardrail,
    GuardrailOp,
    Membership,
    Project,
    Role,
    Target,
    TargetChange,
)
from tracker.models.runs import (
    LIVE_RUNS,
    SILENT_AFTER,
    Artifact,
    Experiment,
    MetricSummary,
    PointBlock,
    RevealedTestResults,
    Run,
    RunDataset,
    RunStatus,
    SoftDeleteQuerySet,
    SummaryQuerySet,
    artifact_upload_to,
)
from tracker.models.tokens import (
    ApiToken,
)

__all__ = [
    "ApiToken",
    "Artifact",
    "AuditAction",
    "AuditEntry",
    "artifact_upload_to",
    "Deployment",
    "Direction",
    "Experiment",
    "Guardrail",
    "GuardrailOp",
    "ImpactKind",
    "ImpactResult",
    "Invitation",
    "InvitationStatus",
    "LIVE_RUNS",
    "LiveProfile",
    "LiveResult",
    "LoggedModel",
    "Membership",
    "MetricSummary",
    "ModelStage",
    "ModelVersion",
    "PointBlock",
    "Project",
    "RegisteredModel",
    "RevealedTestResults",
    "Role",
    "Run",
    "RunProfile",
    "RunDataset",
    "RunStatus",
    "SILENT_AFTER",
    "SoftDeleteQuerySet",
    "SummaryQuerySet",
    "Target",
    "TargetChange",
]
