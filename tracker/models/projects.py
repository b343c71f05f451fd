"""Projects, their members and roles, the agreed target and its history, guardrails."""

from django.conf import settings
from django.db import models


class Direction(models.TextChoices):
    MAXIMIZE = "maximize", "maximize"
    MINIMIZE = "minimize", "minimize"


class Role(models.TextChoices):
    OWNER = "owner", "owner"
    MEMBER = "member", "member"
    VIEWER = "viewer", "viewer"


class GuardrailOp(models.TextChoices):
    LT = "<", "<"
    LE = "<=", "<="
    GT = ">", ">"
    GE = ">=", ">="


class Project(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="projects"
    )
    cost_metrics = models.JSONField(
        default=list, blank=True,
        help_text="Metric keys of the project's own that measure cost (like latency or model "
        "size): guardrails on the judged split may check them.",
    )
    # Setting this alias, or moving a version to this stage, through the MLflow API records
    # a production deployment of that version (tracker.services.deployments).
    deploy_alias = models.CharField(max_length=255, blank=True, default="champion")
    deploy_stage = models.CharField(max_length=20, blank=True, default="Production")
    # What the model's production cases are, plural, as the team says it ("tickets"): the
    # production and impact sentences count them ("on 310 checked tickets last week").
    case_noun = models.CharField(max_length=50, blank=True, default="cases")
    # In the trash since then (tracker.services.trash): hidden from everyone but its owners'
    # trash, purged TRASH_DAYS later.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="one_membership_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.role} of {self.project}"


class Target(models.Model):
    """The one agreed goal of a project: a metric, its direction and the bar it must clear."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="target")
    metric = models.CharField(max_length=250)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    threshold = models.FloatField()
    judged_on = models.CharField(max_length=250, default="test")
    selected_on = models.CharField(max_length=250, default="validation")
    agreed_by = models.CharField(max_length=200, blank=True, default="")
    agreed_on = models.DateField(null=True, blank=True)
    definition = models.TextField(
        blank=True, default="",
        help_text="Plain-language template for a custom metric, e.g. "
        "'{percent} of every 100 churners are caught'.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.project}: {self.metric} {self.direction} {self.threshold}"

    def as_dict(self) -> dict:
        return {
            "metric": self.metric,
            "direction": self.direction,
            "threshold": self.threshold,
            "judged_on": self.judged_on,
            "selected_on": self.selected_on,
            "agreed_by": self.agreed_by,
            "agreed_on": self.agreed_on.isoformat() if self.agreed_on else None,
            "definition": self.definition,
        }


class TargetChange(models.Model):
    """Every change of a project's target or guardrails, kept for reports and audits."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="target_changes")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    what = models.CharField(max_length=20, default="target")  # "target" | "guardrails"
    old = models.JSONField(null=True, blank=True)
    new = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.what} of {self.project} changed at {self.changed_at:%Y-%m-%d %H:%M}"


class Guardrail(models.Model):
    """A condition the winner must also satisfy, e.g. latency_ms <= 50 on test."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="guardrails")
    metric = models.CharField(max_length=250)
    split = models.CharField(max_length=250, default="test")
    op = models.CharField(max_length=2, choices=GuardrailOp.choices)
    value = models.FloatField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.split}.{self.metric} {self.op} {self.value}"

    def as_dict(self) -> dict:
        return {"metric": self.metric, "split": self.split, "op": self.op, "value": self.value}
