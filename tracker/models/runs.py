"""Experiments, runs, their metrics (summaries and point blocks), datasets and artifacts.

Metric points are stored in blocks (PointBlock: one row per series and batch, see
tracker.points) under the series they belong to (MetricSummary = one (run, key,
split)). The summary row keeps the figures every comparison needs (last, min,
max, count and the value at the run's best step) current on ingest, so
leaderboards and filters never read points.

In the summaries' value columns NaN is stored as SQL NULL (SQLite cannot store
NaN, and NULL keeps NaN out of MIN/MAX and comparisons on every database); such a
column is never NULL for any other reason. ±inf are stored as they are. Points
keep NaN and ±inf as they are.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from tracker.models.projects import Project


class RunStatus(models.TextChoices):
    RUNNING = "running", "running"
    FINISHED = "finished", "finished"
    FAILED = "failed", "failed"
    KILLED = "killed", "killed"


class SoftDeleteQuerySet(models.QuerySet):
    """Experiments and runs are deleted softly (deleted_at) so that they can be restored."""

    def live(self):
        return self.filter(deleted_at__isnull=True)

    def deleted(self):
        return self.filter(deleted_at__isnull=False)


class SummaryQuerySet(models.QuerySet):
    def of_live_runs(self):
        """Summaries of runs that are not deleted."""
        return self.filter(run__deleted_at__isnull=True)


# For the reverse side of a relation (`Count("runs", filter=LIVE_RUNS)`), where a queryset
# method cannot reach.
LIVE_RUNS = models.Q(runs__deleted_at__isnull=True)


class Experiment(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="experiments")
    name = models.CharField(max_length=250)
    hypothesis = models.TextField(blank=True, default="")
    tags = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="experiment_name_per_project"),
        ]

    def __str__(self) -> str:
        return f"{self.project}/{self.name}"


class Run(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    # Denormalised from experiment: every search is per project.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="runs",
                                db_index=False)  # the indexes below start with it
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="runs")
    name = models.CharField(max_length=250, blank=True, default="")
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    last_heartbeat = models.DateTimeField(null=True, blank=True)
    params = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    notes = models.TextField(blank=True, default="")
    git_commit = models.CharField(max_length=64, blank=True, default="")
    data_version = models.CharField(max_length=250, blank=True, default="")
    host = models.CharField(max_length=250, blank=True, default="")
    context = models.JSONField(default=dict, blank=True)  # python version, command, dirty flag…
    baseline = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # The step at which the target metric was best on the selection split;
    # every summary's best_value is read at this step (early stopping).
    best_step = models.BigIntegerField(null=True, blank=True)

    objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["project", "status"], name="run_project_status"),
            models.Index(fields=["project", "-started_at"], name="run_project_started"),
            # Every page asks for the best baseline (the status quo the winner is measured
            # against): a few runs among 100,000, found without reading the others.
            models.Index(fields=["project", "status"], condition=models.Q(baseline=True),
                         name="run_project_baseline"),
        ]

    def __str__(self) -> str:
        return self.name or str(self.id)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def silent_for(self, now=None) -> timedelta | None:
        """How long a running run has sent nothing, once that is longer than SILENT_AFTER;
        None otherwise. A script that died without ending its run (a crash, a killed
        notebook, an MLflow script without end_run) leaves it running for ever."""
        if self.status != RunStatus.RUNNING:
            return None
        quiet = (now or timezone.now()) - (self.last_heartbeat or self.started_at)
        return quiet if quiet > SILENT_AFTER else None


# A running run that sent nothing (no point, param, tag or heartbeat; the SDK beats every
# minute) for this long is shown as silent: probably dead, maybe in a very long epoch.
SILENT_AFTER = timedelta(hours=1)


class MetricSummary(models.Model):
    """One metric series of a run, (run, key, split), with its figures kept current on ingest."""

    # Its index would only repeat one_summary_per_series's first column, and cost every write
    # of a summary (each batch rewrites its series' summaries) one more index entry.
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="summaries",
                            db_index=False)
    key = models.CharField(max_length=250)
    split = models.CharField(max_length=250)
    # The key exactly as an external client logged it (MLflow's "val_f1" is stored as
    # key "f1" on split "validation"), so that client reads back what it wrote.
    source_key = models.CharField(max_length=250, blank=True, default="")
    count = models.BigIntegerField(default=0)
    last_value = models.FloatField(null=True)
    last_step = models.BigIntegerField(null=True)
    last_timestamp = models.BigIntegerField(null=True)
    min_value = models.FloatField(null=True)
    max_value = models.FloatField(null=True)
    # Value at the run's best step (see Run.best_step); the last value when the
    # series has no point at that step or the run has no best step.
    best_value = models.FloatField(null=True)
    best_step = models.BigIntegerField(null=True)

    objects = SummaryQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "key", "split"], name="one_summary_per_series"),
        ]
        indexes = [
            models.Index(fields=["key", "split", "best_value"], name="summary_key_split_best"),
        ]

    def __str__(self) -> str:
        return f"{self.split}.{self.key} of {self.run_id}"


class PointBlock(models.Model):
    """The points one batch brought to one series: (step, timestamp, value) packed in `data`.

    A series is read whole or by step range, never point by point, so a batch's
    points of a series are one row (see tracker.points for the format): storing
    1,000 points is a few rows to write and index instead of a thousand. A
    point's identity is (series, step, timestamp); tracker.ingest stores each once.
    """

    summary = models.ForeignKey(MetricSummary, on_delete=models.CASCADE, related_name="blocks",
                                db_index=False)  # the index below starts with it
    first_step = models.BigIntegerField()
    last_step = models.BigIntegerField()
    count = models.IntegerField()  # len(data) // 24, kept so SQL can sum points without unpacking
    data = models.BinaryField()

    class Meta:
        indexes = [models.Index(fields=["summary", "first_step"], name="block_summary_step")]

    def __str__(self) -> str:
        return f"{self.count} points, steps {self.first_step}-{self.last_step}"


class RunDataset(models.Model):
    """A dataset a run used (MLflow's run inputs): what data, which version, for what."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(max_length=500)
    digest = models.CharField(max_length=36)
    source_type = models.CharField(max_length=36, blank=True, default="")
    source = models.TextField(blank=True, default="")
    schema = models.TextField(blank=True, default="")
    profile = models.TextField(blank=True, default="")
    tags = models.JSONField(default=dict, blank=True)  # e.g. {"mlflow.data.context": "train"}
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "name", "digest"],
                                    name="one_dataset_version_per_run"),
        ]

    def __str__(self) -> str:
        return f"{self.name}@{self.digest}"


class RevealedTestResults(models.Model):
    """Someone looked at test-split results of runs other than the winner and the baseline.

    Looking at test results while still choosing turns the test set into a
    validation set; reports say how often it happened.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="test_reveals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                             related_name="+")
    revealed_at = models.DateTimeField(auto_now_add=True)
    run_ids = models.JSONField(default=list)  # the runs whose test values were shown

    class Meta:
        ordering = ["-revealed_at"]

    def __str__(self) -> str:
        return f"{self.user} saw test results of {len(self.run_ids)} runs"


def artifact_upload_to(instance: "Artifact", filename: str) -> str:
    if instance.run_id is None:  # a file of a logged model of no run
        return f"models/{instance.logged_model.model_id}/{instance.path}"
    return f"runs/{instance.run_id}/{instance.path}"


class Artifact(models.Model):
    """A stored file of a run; or of an MLflow logged model created outside any run (a
    logged model of a run keeps its files among the run's)."""

    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.CASCADE,
                            related_name="artifacts")
    logged_model = models.ForeignKey("tracker.LoggedModel", null=True, blank=True,
                                     on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=500)  # relative path inside the run, e.g. "plots/roc.png"
    file = models.FileField(upload_to=artifact_upload_to, max_length=700)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["run", "path"], name="one_artifact_per_path"),
            models.UniqueConstraint(fields=["logged_model", "path"],
                                    name="one_logged_model_file_per_path"),
            models.CheckConstraint(
                condition=models.Q(run__isnull=True) ^ models.Q(logged_model__isnull=True),
                name="artifact_of_a_run_or_a_logged_model"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id or self.logged_model_id}/{self.path}"
