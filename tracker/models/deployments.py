"""Deployments (a run or registered model version live in an environment, from a start to an
end) and their live results (metrics measured on labelled production cases per window)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from tracker.models.model_registry import ModelVersion
from tracker.models.projects import Project
from tracker.models.runs import Run


class DeploymentQuerySet(models.QuerySet):
    def live(self):
        """Deployments not ended yet."""
        return self.filter(ended_at__isnull=True)


class Deployment(models.Model):
    """A run, or a registered model version, live in an environment (production, shadow,
    canary or a name of the team's) from `started_at` until `ended_at` (None: still live).

    A version deployed keeps its run too (the version's run), so live results can always be
    set against the run's test figure. The model's name and version number are copied: the
    deployment still says what was live after the version is deleted.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="deployments")
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="deployments")
    model_version = models.ForeignKey(ModelVersion, null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="deployments")
    model_name = models.CharField(max_length=250, blank=True, default="")
    model_version_number = models.PositiveIntegerField(null=True, blank=True)
    environment = models.CharField(max_length=50)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # What has been alerted and not yet recovered (tracker.production_rules.Episodes), so each
    # alert goes out once per episode.
    alert_episodes = models.JSONField(default=dict, blank=True)

    objects = DeploymentQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["project", "environment", "-started_at"],
                                name="deployment_project_env")]

    def __str__(self) -> str:
        return f"{self.what} in {self.environment} of {self.project}"

    @property
    def what(self) -> str:
        """What is deployed, in words: "topic-classifier version 3" or "run lr-c1"."""
        if self.model_name:
            return f"{self.model_name} version {self.model_version_number}"
        return f"run {self.run.name}" if self.run is not None else "a deleted run"

    @property
    def is_live(self) -> bool:
        return self.ended_at is None


class DeploymentWindow(models.Model):
    """Something a deployment measured over one time window (from `window_start`, up to
    `window_end` excluded), one per window: posting the same window again replaces it."""

    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["window_start", "window_end", "id"]

    def __str__(self) -> str:
        return f"{self.deployment_id}: {self.window_start:%Y-%m-%d} to {self.window_end:%Y-%m-%d}"


class LiveResult(DeploymentWindow):
    """A deployment's metrics measured on the labelled production cases of one time window:
    `count` cases seen, `labelled` of them with a known answer."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE,
                                   related_name="live_results")
    metrics = models.JSONField(default=dict)  # {"f1": 0.83}
    count = models.BigIntegerField()
    labelled = models.BigIntegerField()
    slices = models.JSONField(default=dict, blank=True)  # {"long_texts": {"f1": 0.71}}

    class Meta(DeploymentWindow.Meta):
        constraints = [
            models.UniqueConstraint(fields=["deployment", "window_start", "window_end"],
                                    name="one_live_result_per_window"),
        ]
