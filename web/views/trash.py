"""The trash page (what the user may restore, as an owner, with Restore buttons), and the
forms that move a run or a project there.

Members and owners delete runs and experiments (as in the API and MLflow); only owners
delete a project and restore anything.
"""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from tracker.errors import TargetlineError
from tracker.models import Experiment, Project
from tracker.selectors import access as access_selectors
from tracker.selectors import trash as trash_selectors
from tracker.services import experiments as experiment_services
from tracker.services import runs as run_services
from tracker.services import trash as trash_services
from web.permissions import Access, client_address, page, project_access, run_access


@page
@require_GET
def trash(request):
    """Projects, experiments and runs in the trash of the projects the user owns."""
    return render(request, "web/trash.html", {**trash_selectors.trash_of(user=request.user),
                                              "days": settings.TRASH_DAYS})


@page
@require_POST
def restore(request):
    """Bring back one item of the trash (owners of its project)."""
    kind = request.POST.get("kind", "")
    item = trash_selectors.trashed_for_owner(user=request.user, kind=kind,
                                             key=request.POST.get("key", ""))
    who = {"user": request.user, "address": client_address(request)}
    try:
        if isinstance(item, Project):
            trash_services.restore_project(project=item, **who)
        elif isinstance(item, Experiment):
            experiment_services.restore_experiment(experiment=item, **who)
        else:
            run_services.restore_run(run=item, **who)
    except TargetlineError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{kind.capitalize()} {item.name} restored.")
    return redirect("web:trash")


@page
@require_POST
def delete_run(request, run_id):
    """Move a run to the trash (owners and members)."""
    run, access = run_access(request, run_id)
    access.require_write("delete runs")
    run_services.delete_run(run=run, user=request.user, address=client_address(request))
    messages.success(request, f"Run {run.name} moved to the trash; the project's owners can "
                     f"restore it for {settings.TRASH_DAYS} days.")
    return redirect("web:runs", slug=access.project.slug)


@page
@require_POST
def delete_experiment(request, experiment_id):
    """Move an experiment and its runs to the trash (owners and members)."""
    experiment, role = access_selectors.experiment_for_user(user=request.user,
                                                            experiment_id=experiment_id)
    access = Access(experiment.project, role)
    access.require_write("delete experiments")
    experiment_services.delete_experiment(experiment=experiment, user=request.user,
                                          address=client_address(request))
    messages.success(request, f"Experiment {experiment.name} and its runs moved to the trash; "
                     f"the project's owners can restore them for {settings.TRASH_DAYS} days.")
    return redirect("web:dashboard", slug=experiment.project.slug)


@page
@require_POST
def delete_project(request, slug):
    """Move a project to the trash (owners)."""
    access = project_access(request, slug)
    access.require_owner()
    trash_services.delete_project(project=access.project, user=request.user,
                                  address=client_address(request))
    messages.success(request, f"Project {access.project.name} moved to the trash; you can "
                     f"restore it here for {settings.TRASH_DAYS} days.")
    return redirect("web:trash")
