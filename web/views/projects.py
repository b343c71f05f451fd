"""The projects overview: every project the user can see, and starting a new one."""

from dataclasses import dataclass

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from tracker import spelling
from tracker.errors import Forbidden, TargetlineError
from tracker.permissions import STAFF
from tracker.selectors import access as access_selectors
from tracker.selectors import projects as project_selectors
from tracker.selectors import winner as winner_selectors
from tracker.services import projects as project_services
from web import forms, presenters
from web.permissions import client_address, page, project_access
from web.project_verdict import project_verdict


@dataclass(frozen=True)
class ProjectCard:
    project: object
    role: str
    standing: winner_selectors.Standing
    verdict: object
    progress: int | None
    headline: str


@page
@require_http_methods(["GET", "POST"])
def projects(request):
    """Every project the user can see: target in words, progress, verdict, last run."""
    new_project = forms.NewProjectForm(request.POST or None)
    if request.method == "POST" and new_project.is_valid():
        try:
            project = project_services.create_project(
                user=request.user, slug=new_project.cleaned_data["slug"],
                name=new_project.cleaned_data["name"],
                allow_similar=new_project.cleaned_data.get("create_anyway", False))
        except TargetlineError as exc:
            if exc.extra.get("similar"):  # maybe a typo of one of theirs: ask before creating
                new_project.offer_create_anyway()
                slug = new_project.cleaned_data["slug"]
                new_project.add_error("slug", f"You have {spelling.choices(exc.extra['similar'])}"
                                      f' already: is "{slug}" a typo? Tick the box to '
                                      "create it anyway.")
            else:
                forms.add_domain_error(new_project, exc)
        else:
            messages.success(request, f"Project {project.name} created: agree on its "
                             "target below.")
            return redirect("web:settings", slug=project.slug)
    roles = access_selectors.roles_of(user=request.user)
    cards = []
    for project in project_selectors.projects_overview(user=request.user):
        standing = winner_selectors.standing(project=project)
        target = standing.target
        cards.append(ProjectCard(
            project=project, role=roles.get(project.id, STAFF), standing=standing,
            verdict=project_verdict(project=project, standing=standing),
            progress=presenters.progress(standing.judged_value, target.threshold,
                                         target.direction) if target else None,
            headline=presenters.target_headline(target) if target else "",
        ))
    status = 400 if request.method == "POST" else 200
    return render(request, "web/projects.html", {"cards": cards, "new_project": new_project},
                  status=status)


@page
@require_POST
def staff_join(request, slug):
    """A staff user adds themselves to a project they see read-only, with the role they
    choose (recorded in the audit log). Its members are already in: 403."""
    access = project_access(request, slug)
    if not access.is_staff_visit:
        raise Forbidden(f"You are a {access.role} of {access.project.name} already.")
    form = forms.StaffJoinForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role: owner, member or viewer.")
        return redirect("web:dashboard", slug=slug)
    project_services.staff_join(project=access.project, user=request.user,
                                role=form.cleaned_data["role"],
                                address=client_address(request))
    messages.success(request, f"You joined {access.project.name} as a "
                     f"{form.cleaned_data['role']}.")
    return redirect("web:dashboard", slug=slug)
