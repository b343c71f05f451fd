"""A project's settings page, and one view for each of its forms.

Everyone in the project reads the page; only owners see its forms and only their changes
are accepted, except "send a report now", which members may use too (as in the API). A
form the services accept sends the browser back to the page with a message; one they
refuse comes back on the page with its errors next to its fields (400).
"""

import re
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from reports import checkins as report_checkins
from reports import schedule as report_schedule
from reports import selectors as report_selectors
from reports import webhooks as report_webhooks
from reports import workflow as report_workflow
from reports.models import CheckIn, ReportStatus, Webhook
from tracker.errors import NotFound, TargetlineError
from tracker.selectors import metrics as metric_selectors
from tracker.selectors import projects as project_selectors
from tracker.selectors import targets as target_selectors
from tracker.selectors.audit import audit_log
from tracker.selectors.invitations import pending_invitations
from tracker.services import invitations as invitation_services
from tracker.services import projects as project_services
from tracker.services import targets as target_services
from web import forms, presenters
from web.permissions import Access, client_address, page, project_access

LATEST_REPORTS = 10
AUDIT_SHOWN = 50  # the API's audit-log answers more
DELIVERIES_SHOWN = 20  # the API's delivery log pages through all of them


def _target_initial(target) -> dict:
    if target is None:
        return {"judged_on": "test", "selected_on": "validation", "direction": "maximize"}
    return {"metric": target.metric, "direction": target.direction,
            "threshold": target.threshold, "judged_on": target.judged_on,
            "selected_on": target.selected_on, "agreed_by": target.agreed_by,
            "agreed_on": target.agreed_on, "definition": target.definition}


def _checkin_initial(checkin) -> dict:
    if checkin is None:
        return {"cadence": "weekly", "weekday": "0", "local_time": "09:00",
                "time_zone": settings.TIME_ZONE or "UTC", "enabled": True}
    return {"cadence": checkin.cadence,
            "weekday": "" if checkin.weekday is None else str(checkin.weekday),
            "every_n_days": checkin.every_n_days, "starts_on": checkin.starts_on,
            "day_of_month": checkin.day_of_month,
            "local_time": checkin.local_time.strftime("%H:%M"),
            "time_zone": checkin.time_zone, "recipients": "\n".join(checkin.recipients),
            "enabled": checkin.enabled}


def _checkin_summary(checkin) -> dict | None:
    """The saved check-in in words: when, the next one, who gets it, what cannot be sent."""
    if checkin is None:
        return None
    emails, problems = report_selectors.resolve_recipients(checkin=checkin)
    next_due = None
    if checkin.enabled and checkin.next_due_at:
        local = checkin.next_due_at.astimezone(report_schedule.zone(checkin.time_zone))
        next_due = {"at": checkin.next_due_at, "local": local,
                    "words": f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M} "
                             f"({checkin.time_zone})"}
    return {"checkin": checkin, "describe": checkin.describe(), "next_due": next_due,
            "recipients": checkin.recipients, "emails": emails, "problems": problems}


def _latest_reports(project) -> list[dict]:
    """The project's last reports, newest first, with links to their HTML and PDF (served
    by the API's report views, which let members and viewers in and answer 404 to others)."""
    out = []
    for report in report_selectors.latest_reports(project=project, limit=LATEST_REPORTS):
        rendered = report.status != ReportStatus.PENDING and bool(report.pdf)
        out.append({
            "report": report, "period": (report.snapshot or {}).get("period", {}).get("text")
            or f"{report.period_start:%d %b %Y} – {report.period_end:%d %b %Y}",
            "html_url": reverse("report-html", args=[project.slug, report.pk]) if rendered
            else None,
            "pdf_url": reverse("report-pdf", args=[project.slug, report.pk]) if rendered
            else None,
        })
    return out


def _webhooks(project) -> dict:
    """The project's webhooks and the latest notifications of any of them (owners only: a
    Slack or Teams address is a password)."""
    return {
        "webhooks": [{"webhook": w, "address": presenters.webhook_address(w.url)}
                     for w in report_selectors.project_webhooks(project=project)],
        "deliveries": [{"delivery": d, "last": report_selectors.last_attempt(d),
                        "address": presenters.webhook_address(d.webhook.url)}
                       for d in report_selectors.webhook_deliveries(project=project,
                                                                    limit=DELIVERIES_SHOWN)],
    }


def _settings_page(request, access: Access, *, status: int = 200, **refused) -> HttpResponse:
    """The settings page. `refused` holds a form the services refused, by its name on the
    page, shown with its errors in place of the blank one."""
    project = access.project
    target = project.target if hasattr(project, "target") else None
    guardrails = list(project.guardrails.all())
    checkin = CheckIn.objects.filter(project=project).first()
    series = metric_selectors.project_series(project=project)
    blank = {
        "project_form": forms.ProjectForm(initial={"name": project.name,
                                                   "description": project.description}),
        "target_form": forms.TargetForm(initial=_target_initial(target)),
        "guardrails_form": forms.GuardrailsForm(guardrails=guardrails,
                                                cost_metrics=project.cost_metrics),
        "member_form": forms.MemberForm(),
        "invitation_form": forms.InvitationForm(),
        "checkin_form": forms.CheckInForm(initial=_checkin_initial(checkin)),
        "send_form": forms.SendNowForm(),
        "webhook_form": forms.WebhookForm(),
    }
    return render(request, "web/settings.html", {
        **blank, **refused,
        "access": access, "project": project, "target": target,
        "metric_names": sorted({key for key, _ in series}),
        "split_names": sorted({split for _, split in series} | {"train", "validation", "test"},
                              key=metric_selectors.split_order),
        "metrics_list": forms.METRICS_LIST, "splits_list": forms.SPLITS_LIST,
        "guardrails": guardrails,
        "target_warnings": target_selectors.target_warnings(project=project),
        "guardrail_warnings": target_selectors.guardrail_warnings(project=project),
        "memberships": project.memberships.select_related("user").order_by("user__username"),
        "roles": forms.MemberForm.base_fields["role"].choices,
        "history": presenters.change_history(
            project_selectors.target_history(project=project)[:presenters.HISTORY_SHOWN]),
        "headline": presenters.target_headline(target) if target else "",
        "meaning": presenters.target_meaning(target) if target else "",
        "checkin": _checkin_summary(checkin),
        "reports": _latest_reports(project),
        "time_zones": forms.CheckInForm.time_zones() if access.is_owner else [],
        "audit_entries": audit_log(project=project)[:AUDIT_SHOWN] if access.is_owner else [],
        "invitations": pending_invitations(project=project) if access.is_owner else [],
        "invitation_days": settings.INVITATION_DAYS,
        "trash_days": settings.TRASH_DAYS,
        "hooks": _webhooks(project) if access.is_owner else None,
    }, status=status)


def _submit(request, access: Access, form, name: str, write: Callable[[], object],
            success: str | Callable[[], str], *, prefix: str = "") -> HttpResponse:
    """A settings form's POST. When the form is valid and `write` (the service call) accepts
    it: the `success` message, and back to the page. Otherwise the page again with the
    form, as `name`, and its errors, those of the service on the field they name."""
    if form.is_valid():
        try:
            write()
        except TargetlineError as exc:
            forms.add_domain_error(form, exc, prefix=prefix)
        else:
            messages.success(request, success() if callable(success) else success)
            return redirect("web:settings", slug=access.project.slug)
    return _settings_page(request, access, status=400, **{name: form})


def settings_form(view):
    """A settings form's view, behind `page` as every page is. Its form posts to it; a GET
    (the address bar on a page a refused form came back on) goes to the settings page."""
    post_only = require_POST(view)

    @wraps(view)
    def wrapper(request, slug):
        if request.method in ("GET", "HEAD"):
            return redirect("web:settings", slug=slug)
        return post_only(request, slug)
    return page(wrapper)


def _owners_only(request, slug: str) -> Access:
    access = project_access(request, slug)
    access.require_owner()
    return access


@page
@require_GET
def project_settings(request, slug):
    """Target with its history, guardrails, members and roles, the check-in schedule and
    the latest reports; the forms to change them for those who may."""
    return _settings_page(request, project_access(request, slug))


@settings_form
def save_project(request, slug):
    """Rename the project or change its description (owners)."""
    access = _owners_only(request, slug)
    form = forms.ProjectForm(request.POST)
    return _submit(request, access, form, "project_form", lambda: project_services.update_project(
        project=access.project, **form.cleaned_data), "Project saved.")


@settings_form
def save_target(request, slug):
    """Agree on the target or change it (owners); the change is recorded."""
    access = _owners_only(request, slug)
    form = forms.TargetForm(request.POST)
    return _submit(request, access, form, "target_form", lambda: target_services.set_target(
        project=access.project, user=request.user, target=form.as_target(),
        address=client_address(request)),
        "Target saved; the change is recorded.", prefix="target.")


@settings_form
def save_guardrails(request, slug):
    """Add, change or remove guardrails (owners); the change is recorded."""
    access = _owners_only(request, slug)
    form = forms.GuardrailsForm(request.POST)
    return _submit(request, access, form, "guardrails_form",
                   lambda: target_services.set_guardrails(
        project=access.project, user=request.user, guardrails=form.as_guardrails(),
        cost_metrics=form.cost_metrics(), address=client_address(request)),
        "Guardrails saved; the change is recorded.")


def _save_member(request, slug: str, *, create: bool) -> HttpResponse:
    access = _owners_only(request, slug)
    form = forms.MemberForm(request.POST)
    return _submit(request, access, form, "member_form", lambda: project_services.set_member(
        project=access.project, username=form.cleaned_data["username"],
        role=form.cleaned_data["role"], create=create, by=request.user,
        address=client_address(request)), "Member saved.")


@settings_form
def add_member(request, slug):
    """Make a user a member of the project, with a role (owners)."""
    return _save_member(request, slug, create=True)


@settings_form
def change_role(request, slug):
    """Give a member another role (owners)."""
    return _save_member(request, slug, create=False)


@settings_form
def remove_member(request, slug):
    """Take a member out of the project (owners); a project keeps at least one owner."""
    access = _owners_only(request, slug)
    username = request.POST.get("username", "")
    try:
        project_services.remove_member(project=access.project, username=username,
                                       by=request.user, address=client_address(request))
    except TargetlineError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{username} removed.")
    return redirect("web:settings", slug=access.project.slug)


@settings_form
def invite(request, slug):
    """Invite someone by email with a role (owners): the email with the link goes out."""
    access = _owners_only(request, slug)
    form = forms.InvitationForm(request.POST)
    return _submit(request, access, form, "invitation_form", lambda: invitation_services.invite(
        project=access.project, email=form.cleaned_data["email"],
        role=form.cleaned_data["role"], by=request.user, address=client_address(request),
        link_for=lambda token: request.build_absolute_uri(
            reverse("web:invitation", args=[token]))),
        lambda: f"Invitation sent to {form.cleaned_data['email']}.")


@settings_form
def revoke_invitation(request, slug):
    """Revoke a pending invitation (owners): its link stops working."""
    access = _owners_only(request, slug)
    key = request.POST.get("invitation", "")
    found = (access.project.invitations.filter(pk=int(key)).first()
             if re.fullmatch(r"[0-9]{1,12}", key) else None)
    if found is None:
        messages.error(request, "No such invitation.")
        return redirect("web:settings", slug=access.project.slug)
    try:
        invitation_services.revoke(invitation=found, by=request.user,
                                   address=client_address(request))
    except TargetlineError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Invitation to {found.email} revoked.")
    return redirect("web:settings", slug=access.project.slug)


@settings_form
def save_checkin(request, slug):
    """Set when check-in reports are sent and to whom (owners)."""
    access = _owners_only(request, slug)
    form = forms.CheckInForm(request.POST)
    return _submit(request, access, form, "checkin_form", lambda: report_checkins.save_checkin(
        project=access.project, data=form.as_checkin()), "Check-in schedule saved.")


def _report_on_its_way(to: list[str]) -> str:
    if to:
        return f"A report is being prepared for {', '.join(to)} (a preview)."
    return "A report is being prepared for the recipients; it is emailed in a minute."


@settings_form
def send_report_now(request, slug):
    """A report now: to the check-in's recipients, or as a preview to the addresses given.
    As in the API, members may send one too."""
    access = project_access(request, slug)
    access.require_write("send a report")
    form = forms.SendNowForm(request.POST)
    return _submit(request, access, form, "send_form", lambda: report_workflow.send_now(
        project=access.project, user=request.user, to=form.addresses() or None),
        lambda: _report_on_its_way(form.addresses()))


@settings_form
def add_webhook(request, slug):
    """Add a webhook (owners). The page comes back with its secret, shown this once (never
    kept in the session or a message cookie)."""
    access = _owners_only(request, slug)
    form = forms.WebhookForm(request.POST)
    if form.is_valid():
        try:
            webhook, secret = report_webhooks.create_webhook(
                project=access.project, user=request.user, address=client_address(request),
                **form.cleaned_data)
        except TargetlineError as exc:
            forms.add_domain_error(form, exc)
        else:
            return _settings_page(request, access, new_webhook={
                "webhook": webhook, "secret": secret,
                "address": presenters.webhook_address(webhook.url)})
    return _settings_page(request, access, status=400, webhook_form=form)


def _project_webhook(access: Access, webhook_id: int) -> Webhook:
    webhook = Webhook.objects.filter(project=access.project, pk=webhook_id).first()
    if webhook is None:
        raise NotFound(f"no webhook {webhook_id} in this project", field="webhook")
    return webhook


def _webhook_form(view):
    """A webhook's form (switch, remove): POST only, owners only, the webhook of the page's
    project or a 404; a GET goes to the settings page."""
    @wraps(view)
    def wrapper(request, slug, webhook_id):
        if request.method in ("GET", "HEAD"):
            return redirect("web:settings", slug=slug)
        access = _owners_only(request, slug)
        return view(request, access, _project_webhook(access, webhook_id))
    return page(require_http_methods(["GET", "HEAD", "POST"])(wrapper))


@_webhook_form
def switch_webhook(request, access, webhook):
    """Switch a webhook off, or on again (owners)."""
    report_webhooks.update_webhook(webhook=webhook, data={"active": not webhook.active})
    messages.success(request, f"Webhook to {presenters.webhook_address(webhook.url)} switched "
                              f"{'on' if webhook.active else 'off'}.")
    return redirect("web:settings", slug=access.project.slug)


@_webhook_form
def remove_webhook(request, access, webhook):
    """Remove a webhook and its delivery log (owners); the audit log keeps that it existed."""
    address = presenters.webhook_address(webhook.url)
    report_webhooks.delete_webhook(webhook=webhook, user=request.user,
                                   address=client_address(request))
    messages.success(request, f"Webhook to {address} removed.")
    return redirect("web:settings", slug=access.project.slug)
