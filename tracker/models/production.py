"""After deployment: the input profiles drift is measured on (a run's reference profile, a
deployment's live profile per window) and the business results of A/B tests and backtests.

A profile is stored as sent, in the one JSON shape tracker.drift reads (docs/production.md):
{"count": 1000, "features": {"length": {"kind": "numeric", "edges": [...], "counts": [...]},
"channel": {"kind": "categorical", "counts": {"email": 600, "chat": 400}}}}.
"""

from django.conf import settings
from django.db import models

from tracker.models.deployments import Deployment, DeploymentWindow
from tracker.models.projects import Direction, Project
from tracker.models.runs import Run


class RunProfile(models.Model):
    """The distribution of the inputs a run was trained on: the reference its deployments'
    live profiles are compared with. One per run: posting again replaces it."""

    run = models.OneToOneField(Run, on_delete=models.CASCADE, related_name="profile")
    profile = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"profile of {self.run_id}"


class LiveProfile(DeploymentWindow):
    """The distribution of a deployment's inputs (and predictions) over one time window,
    binned with the reference's edges."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE,
                                   related_name="live_profiles")
    profile = models.JSONField()

    class Meta(DeploymentWindow.Meta):
        constraints = [
            models.UniqueConstraint(fields=["deployment", "window_start", "window_end"],
                                    name="one_live_profile_per_window"),
        ]


class ImpactKind(models.TextChoices):
    AB_TEST = "ab_test", "A/B test"
    BACKTEST = "backtest", "backtest"


class ImpactResult(models.Model):
    """An A/B test or a backtest of a deployment (or a run) on a business metric: each group's
    successes out of n, or mean, sd and n. The difference and its interval are worked out on
    reading (tracker.impact), so a corrected formula corrects every stored result."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE,
                                related_name="impact_results")
    kind = models.CharField(max_length=10, choices=ImpactKind.choices)
    deployment = models.ForeignKey(Deployment, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="impact_results")
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="impact_results")
    metric = models.CharField(max_length=250)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    unit = models.CharField(max_length=50, blank=True, default="")
    control = models.JSONField()
    treatment = models.JSONField()
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    note = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-ended_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.metric} in {self.project}"
