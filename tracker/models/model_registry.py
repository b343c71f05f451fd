"""The model registry: registered models and their versions, linked to the runs they came from."""

from django.conf import settings
from django.db import models

from tracker.models.projects import Project
from tracker.models.runs import Experiment, Run


class RegisteredModel(models.Model):
    """A named model in the registry (MLflow's registered model), e.g. "churn-classifier".

    It belongs to a project: the one named when it was created, else the project of the
    run behind its first version. Until a version ties it to a project it is its creator's
    alone. Names are unique per project (and per creator before that).
    """

    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="registered_models")
    name = models.CharField(max_length=250)
    description = models.TextField(blank=True, default="")
    tags = models.JSONField(default=dict, blank=True)
    aliases = models.JSONField(default=dict, blank=True)  # alias -> version number, "champion": 3
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"],
                                    condition=models.Q(project__isnull=False),
                                    name="registered_model_name_per_project"),
            models.UniqueConstraint(fields=["created_by", "name"],
                                    condition=models.Q(project__isnull=True),
                                    name="unplaced_registered_model_name_per_creator"),
        ]

    def __str__(self) -> str:
        return self.name


class ModelStage(models.TextChoices):
    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"


class ModelVersion(models.Model):
    """One version of a registered model: the files of a run's logged model (or any source)."""

    registered_model = models.ForeignKey(RegisteredModel, on_delete=models.CASCADE,
                                         related_name="versions")
    version = models.PositiveIntegerField()
    source = models.TextField()  # as given: "models:/m-…", "runs:/<id>/model", an artifact URI
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="model_versions")
    logged_model_id = models.CharField(max_length=80, blank=True, default="")
    run_link = models.TextField(blank=True, default="")
    description = models.TextField(blank=True, default="")
    stage = models.CharField(max_length=20, choices=ModelStage.choices, default=ModelStage.NONE)
    tags = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["registered_model", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["registered_model", "version"],
                                    name="one_model_version_per_number"),
        ]

    def __str__(self) -> str:
        return f"{self.registered_model.name} v{self.version}"


class LoggedModel(models.Model):
    """MLflow 3's logged model: a model an MLflow client logged in an experiment, as MLflow
    keeps it (one row per model, in its experiment, so in the experiment's project).

    Logged inside a run (`mlflow.<flavor>.log_model` in `mlflow.start_run()`), its files are
    that run's artifacts under `path`; logged outside any run (`initialize_logged_model`,
    `set_active_model`, GenAI code), it has no run and no files. The MLflow fields with no
    column of their own (tags, params, the latest metric values per dataset) are JSON.
    """

    model_id = models.CharField(max_length=80, unique=True)  # m-<32 hex>, or m-<run>-<8 hex>
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE,
                                   related_name="logged_models")
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.CASCADE,
                            related_name="logged_models")
    name = models.CharField(max_length=250)
    path = models.CharField(max_length=500, blank=True, default="")  # folder in run artifacts
    model_type = models.CharField(max_length=250, blank=True, default="")
    status = models.CharField(max_length=40)
    status_message = models.TextField(blank=True, default="")
    tags = models.JSONField(default=dict, blank=True)
    params = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=list, blank=True)  # latest per (key, dataset)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_ms = models.BigIntegerField()  # epoch ms, as MLflow gives them
    updated_ms = models.BigIntegerField()

    class Meta:
        ordering = ["-created_ms", "id"]
        indexes = [models.Index(fields=["experiment", "name"], name="logged_model_by_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.model_id})"
