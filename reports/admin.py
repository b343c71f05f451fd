from datetime import time

from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html

from reports import checkins, schedule
from reports.models import (
    Alert,
    CheckIn,
    Delivery,
    Report,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
)
from tracker.errors import InvalidInput


class CheckInForm(forms.ModelForm):
    class Meta:
        model = CheckIn
        fields = ["project", "cadence", "weekday", "every_n_days", "starts_on", "day_of_month",
                  "local_time", "time_zone", "recipients", "enabled", "next_due_at"]

    def clean(self):
        data = super().clean()
        cadence = schedule.Cadence(
            kind=data.get("cadence") or "", local_time=data.get("local_time") or time(9),
            time_zone=data.get("time_zone") or "", weekday=data.get("weekday"),
            every_n_days=data.get("every_n_days"), starts_on=data.get("starts_on"),
            day_of_month=data.get("day_of_month"))
        problem = schedule.problem(cadence)
        if problem:
            raise forms.ValidationError(problem)
        project = data.get("project")
        if project is not None and "recipients" in data:
            try:
                checkins.clean_recipients(project=project, recipients=data["recipients"])
            except InvalidInput as exc:
                self.add_error("recipients", exc.message)
        return data


@admin.register(CheckIn)
class CheckInAdmin(admin.ModelAdmin):
    form = CheckInForm
    list_display = ["project", "schedule", "enabled", "next_due_at", "last_sent_at"]
    list_filter = ["enabled", "cadence"]
    search_fields = ["project__slug", "project__name"]
    autocomplete_fields = ["project"]
    readonly_fields = ["last_sent_at", "created_at", "updated_at"]
    actions = ["send_check_in_now"]

    @admin.display(description="schedule")
    def schedule(self, obj: CheckIn) -> str:
        try:
            return obj.describe()
        except (ValueError, TypeError):
            return "(not a valid schedule)"

    def save_model(self, request, obj: CheckIn, form, change):
        # Through the service, so next_due_at is recomputed when the schedule changes; a
        # next_due_at typed in by hand (e.g. "now") wins.
        data = {name: form.cleaned_data.get(name) for name in checkins.CHECKIN_FIELDS}
        saved = checkins.save_checkin(project=obj.project, data=data)
        if "next_due_at" in form.changed_data and form.cleaned_data.get("next_due_at"):
            saved = checkins.schedule_checkin_now(checkin=saved,
                                                  now=form.cleaned_data["next_due_at"])
        obj.pk, obj.next_due_at = saved.pk, saved.next_due_at

    @admin.action(description="Send the check-in now (at the dispatcher's next run)")
    def send_check_in_now(self, request, queryset):
        for checkin in queryset:
            checkins.schedule_checkin_now(checkin=checkin, now=timezone.now())
        self.message_user(request, f"{queryset.count()} check-in(s) due now.")


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    fields = ["email", "status", "attempts", "sent_at", "last_error"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """Reports are read-only here: a rendered report never changes."""

    list_display = ["id", "project", "kind", "period_end", "verdict", "status", "sent_at"]
    list_filter = ["status", "kind", "verdict"]
    search_fields = ["project__slug", "project__name"]
    inlines = [DeliveryInline]
    readonly_fields = ["project", "checkin", "kind", "status", "period_start", "period_end",
                       "time_zone", "requested_by", "verdict", "verdict_sentence", "pdf_link",
                       "render_seconds", "render_attempts", "render_error", "created_at",
                       "rendered_at", "sent_at", "lease_until"]
    exclude = ["snapshot", "figures", "html", "pdf"]

    @admin.display(description="PDF")
    def pdf_link(self, obj: Report) -> str:
        if not obj.pdf:
            return "(not rendered yet)"
        return format_html('<a href="{}">{}</a>', f"/api/v1/projects/{obj.project.slug}/"
                           f"reports/{obj.pk}/pdf", obj.pdf.name)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["project", "kind", "subject", "created_at"]
    list_filter = ["kind"]
    search_fields = ["project__slug", "subject"]
    inlines = [DeliveryInline]
    readonly_fields = ["project", "kind", "key", "run", "previous_run", "deployment", "subject",
                       "body", "snapshot", "sent_with", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["email", "report", "alert", "status", "attempts", "sent_at"]
    list_filter = ["status"]
    search_fields = ["email"]
    readonly_fields = ["report", "alert", "email", "status", "attempts", "last_error",
                       "next_attempt_at", "claimed_at", "sent_at", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Webhooks are added, changed and removed on the settings page or through the API,
    which check their address and record the change in the audit log."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Webhook)
class WebhookAdmin(ReadOnlyAdmin):
    list_display = ["project", "kind", "active", "created_by", "created_at"]
    list_filter = ["kind", "active"]
    search_fields = ["project__slug"]
    fields = readonly_fields = ["project", "url", "kind", "events", "active", "created_by",
                                "created_at", "updated_at"]  # never the secret


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = readonly_fields = ["number", "at", "outcome", "status_code", "error",
                                "duration_ms"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["webhook", "event", "key", "status", "attempts", "created_at"]
    list_filter = ["status", "event"]
    search_fields = ["webhook__project__slug", "key"]
    inlines = [WebhookAttemptInline]
    readonly_fields = ["webhook", "event", "key", "body", "status", "attempts",
                       "next_attempt_at", "claimed_at", "delivered_at", "created_at"]
