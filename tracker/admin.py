from django.contrib import admin

from tracker.models import (
    ApiToken,
    Artifact,
    Deployment,
    Experiment,
    Guardrail,
    Invitation,
    LiveResult,
    LoggedModel,
    Membership,
    MetricSummary,
    ModelVersion,
    Project,
    RegisteredModel,
    RevealedTestResults,
    Run,
    RunDataset,
    Target,
    TargetChange,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class TargetInline(admin.StackedInline):
    model = Target
    extra = 0


class GuardrailInline(admin.TabularInline):
    model = Guardrail
    extra = 0


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [TargetInline, GuardrailInline, MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["project", "user", "role", "added_at"]
    list_filter = ["role"]
    search_fields = ["project__slug", "user__username"]


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = ["project", "metric", "direction", "threshold", "judged_on", "selected_on",
                    "agreed_by", "agreed_on"]


@admin.register(TargetChange)
class TargetChangeAdmin(admin.ModelAdmin):
    list_display = ["project", "what", "changed_by", "changed_at"]
    readonly_fields = ["project", "what", "changed_by", "changed_at", "old", "new"]


@admin.register(Guardrail)
class GuardrailAdmin(admin.ModelAdmin):
    list_display = ["project", "metric", "split", "op", "value"]


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "created_at"]
    search_fields = ["name", "project__slug"]


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "experiment", "status", "baseline", "started_at"]
    list_filter = ["status", "baseline"]
    search_fields = ["name", "id"]
    raw_id_fields = ["experiment", "project"]


@admin.register(MetricSummary)
class MetricSummaryAdmin(admin.ModelAdmin):
    list_display = ["run", "key", "split", "best_value", "last_value", "count"]
    search_fields = ["key", "run__name"]
    raw_id_fields = ["run"]


# Point blocks have no admin: their points are packed (tracker.points); a series' points are
# read through its summary (above), the run page's curves or the API.


@admin.register(Artifact)
class ArtifactAdmin(admin.ModelAdmin):
    list_display = ["run", "logged_model", "path", "size", "created_at"]
    raw_id_fields = ["run", "logged_model"]


@admin.register(LoggedModel)
class LoggedModelAdmin(admin.ModelAdmin):
    list_display = ["name", "model_id", "experiment", "run", "status"]
    search_fields = ["name", "model_id"]
    raw_id_fields = ["experiment", "run"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]
    exclude = []

    def has_add_permission(self, request):
        return False  # tokens are created with `manage.py createtoken` or the account page


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["project", "email", "role", "invited_by", "created_at", "expires_at",
                    "accepted_by", "revoked_at"]
    search_fields = ["project__slug", "email"]
    readonly_fields = ["token_hash", "created_at", "accepted_at", "accepted_by", "invited_by"]

    def has_add_permission(self, request):
        return False  # invitations are sent from the settings page or the API, with the email


@admin.register(RunDataset)
class RunDatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "digest", "run", "source_type", "created_at"]
    search_fields = ["name", "digest"]
    raw_id_fields = ["run"]


@admin.register(RevealedTestResults)
class RevealedTestResultsAdmin(admin.ModelAdmin):
    list_display = ["project", "user", "revealed_at"]
    readonly_fields = ["project", "user", "revealed_at", "run_ids"]


class ModelVersionInline(admin.TabularInline):
    model = ModelVersion
    extra = 0
    fields = ["version", "stage", "source", "run", "description", "created_at"]
    readonly_fields = ["created_at"]
    raw_id_fields = ["run"]


@admin.register(RegisteredModel)
class RegisteredModelAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "created_by", "updated_at"]
    search_fields = ["name", "project__slug"]
    raw_id_fields = ["project"]
    inlines = [ModelVersionInline]


class LiveResultInline(admin.TabularInline):
    model = LiveResult
    extra = 0
    fields = ["window_start", "window_end", "metrics", "count", "labelled", "slices"]


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = ["project", "environment", "model_name", "model_version_number", "run",
                    "started_at", "ended_at"]
    list_filter = ["environment"]
    search_fields = ["project__slug", "model_name", "run__name"]
    raw_id_fields = ["project", "run", "model_version", "created_by"]
    inlines = [LiveResultInline]
