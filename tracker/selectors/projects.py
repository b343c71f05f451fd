"""Projects as pages list them: the user's projects with their activity, a project's
experiments with their run counts, and the history of its target."""

from django.db.models import Count, Max, QuerySet

from tracker.models import LIVE_RUNS, Membership, Project, TargetChange


def projects_overview(*, user) -> QuerySet[Project]:
    """Projects the user can see, with their run count and the start of their latest run."""
    return (Project.objects.filter(id__in=Membership.objects.filter(user=user)
                                   .values("project_id"))
            .select_related("target")
            .annotate(run_count=Count("runs", filter=LIVE_RUNS),
                      last_run_at=Max("runs__started_at", filter=LIVE_RUNS))
            .order_by("name", "slug"))


def experiments_overview(*, project: Project) -> QuerySet:
    """The project's experiments with their hypotheses, run counts and last run start."""
    return (project.experiments.live()
            .annotate(run_count=Count("runs", filter=LIVE_RUNS),
                      last_run_at=Max("runs__started_at", filter=LIVE_RUNS))
            .order_by("-last_run_at", "name"))


def target_history(*, project: Project) -> QuerySet:
    """Every change of the project's target and guardrails, newest first, with who made it."""
    return (TargetChange.objects.filter(project=project).select_related("changed_by")
            .order_by("-changed_at", "-id"))
