"""A project's settings page: target and its history, guardrails, members and roles, the
check-in schedule and the latest reports."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from reports import schedule as report_schedule
from reports import selectors as report_selectors
from reports import services as report_services
from reports.models import CheckIn, Report, ReportStatus
from tracker import selectors, services
from tracker.errors import TargetlineError
from web import forms, presenters
from web.permissions import page, project_access


def _target_initial(target) -> dict:
    if target is None:
        return {"judged_on": "test", "selected_on": "validation", "direction": "maximize"}
    return {"metric": target.metric, "direction": target.direction,
            "threshold": target.threshold, "judged_on": target.judged_on,
            "selected_on": target.selected_on, "agreed_by": target.agreed_by,
            "agreed_on": target.agreed_on, "definition": target.definition}


@page
@require_http_methods(["GET", "POST"])
def project_settings(request, slug):
    """Target with its history, guardrails, members and roles, the check-in schedule and
    the latest reports. Everyone in the project can read it; only owners see forms, and
    only owners' changes are accepted, except "send a report now", which members may use."""
    access = project_access(request, slug)
    project = access.project
    target = project.target if hasattr(project, "target") else None
    project_form = forms.ProjectForm(initial={"name": project.name,
                                              "description": project.description})
    series = selectors.project_series(project=project)
    target_form = forms.TargetForm(initial=_target_initial(target))
    guardrail_forms = forms.GuardrailFormSet(
        prefix="guardrails", initial=[g.as_dict() for g in project.guardrails.all()])
    member_form = forms.MemberForm()
    checkin = CheckIn.objects.filter(project=project).first()
    checkin_form = forms.CheckInForm(initial=_checkin_initial(checkin))
    send_form = forms.SendNowForm()
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "send_now":  # as in the API: members may send a report too
            access.require_write("send a report")
        else:
            access.require_owner()
        done = None
        if action == "project":
            project_form = forms.ProjectForm(request.POST)
            if project_form.is_valid():
                done = _apply(request, project_form, lambda: services.update_project(
                    project=project, **project_form.cleaned_data), "Project saved.")
        elif action == "target":
            target_form = forms.TargetForm(request.POST)
            if target_form.is_valid():
                done = _apply(request, target_form, lambda: services.set_target(
                    project=project, user=request.user, target=target_form.as_target()),
                    "Target saved; the change is recorded.", prefix="target.")
        elif action == "guardrails":
            guardrail_forms = forms.GuardrailFormSet(request.POST, prefix="guardrails")
            if guardrail_forms.is_valid():
                items = [{"metric": f.cleaned_data["metric"], "split": f.cleaned_data["split"]
                          or "test", "op": f.cleaned_data["op"], "value": f.cleaned_data["value"]}
                         for f in guardrail_forms.forms
                         if f.cleaned_data.get("metric") and not f.cleaned_data.get("DELETE")]
                try:
                    services.set_guardrails(project=project, user=request.user, guardrails=items)
                except TargetlineError as exc:
                    guardrail_forms._non_form_errors = guardrail_forms.error_class([exc.message])
                else:
                    messages.success(request, "Guardrails saved; the change is recorded.")
                    done = True
        elif action in ("add_member", "change_role"):
            member_form = forms.MemberForm(request.POST)
            if member_form.is_valid():
                done = _apply(request, member_form, lambda: services.set_member(
                    project=project, username=member_form.cleaned_data["username"],
                    role=member_form.cleaned_data["role"], create=action == "add_member"),
                    "Member saved.")
        elif action == "checkin":
            checkin_form = forms.CheckInForm(request.POST)
            if checkin_form.is_valid():
                done = _apply(request, checkin_form, lambda: report_services.save_checkin(
                    project=project, data=checkin_form.as_checkin()),
                    "Check-in schedule saved.")
        elif action == "send_now":
            send_form = forms.SendNowForm(request.POST)
            if send_form.is_valid():
                to = send_form.addresses()
                done = _apply(request, send_form, lambda: report_services.send_now(
                    project=project, user=request.user, to=to or None),
                    f"A report is being prepared for {', '.join(to)} (a preview)." if to else
                    "A report is being prepared for the recipients; it is emailed in a minute.")
        elif action == "remove_member":
            try:
                services.remove_member(project=project, username=request.POST.get("username", ""))
            except TargetlineError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, f"{request.POST.get('username')} removed.")
            done = True
        else:
            messages.error(request, "Unknown action.")
            done = True
        if done:
            return redirect("web:settings", slug=project.slug)
        status = 400
    memberships = project.memberships.select_related("user").order_by("user__username")
    return render(request, "web/settings.html", {
        "access": access, "project": project, "target": target,
        "project_form": project_form, "target_form": target_form,
        "metric_names": sorted({key for key, _ in series}),
        "split_names": sorted({split for _, split in series} | {"train", "validation", "test"},
                              key=selectors.split_order),
        "metrics_list": forms.METRICS_LIST, "splits_list": forms.SPLITS_LIST,
        "guardrail_forms": guardrail_forms, "member_form": member_form,
        "guardrails": list(project.guardrails.all()),
        "memberships": memberships, "roles": forms.MemberForm.base_fields["role"].choices,
        "history": presenters.change_history(
            selectors.target_history(project=project)[:presenters.HISTORY_SHOWN]),
        "headline": presenters.target_headline(target) if target else "",
        "meaning": presenters.target_meaning(target) if target else "",
        "checkin": _checkin_summary(checkin), "checkin_form": checkin_form,
        "send_form": send_form,
        "reports": _latest_reports(project),
        "time_zones": forms.CheckInForm.time_zones() if access.is_owner else [],
    }, status=status)


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


LATEST_REPORTS = 10


def _latest_reports(project) -> list[dict]:
    """The project's last reports, newest first, with links to their HTML and PDF (served
    by the API's report views, which let members and viewers in and answer 404 to others)."""
    out = []
    for report in Report.objects.filter(project=project).order_by("-id")[:LATEST_REPORTS]:
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


def _apply(request, form, write, success: str, *, prefix: str = "") -> bool:
    """Run a service call; its domain error goes onto the form. True when it succeeded."""
    try:
        write()
    except TargetlineError as exc:
        forms.add_domain_error(form, exc, prefix=prefix)
        return False
    messages.success(request, success)
    return True

