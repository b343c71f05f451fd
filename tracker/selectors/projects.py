"""Projects as pages list them: the user's projects with their activity, a project's
experiments with their run counts, and the history of its target; and the projects a new
slug may be a typo of."""

from django.db.models import Count, Max, QuerySet

from tracker import spelling
from tracker.models import LIVE_RUNS, Membership, Project, TargetChange
from tracker.selectors.access import visible_projects


def projects_overview(*, user) -> QuerySet[Project]:
    """Projects the user can see (every one for staff), with their run count and the start
    of their latest run."""
    return (visible_projects(user=user).filter(deleted_at__isnull=True)
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


def _slug_spelling(slug: str) -> str:
    # "tumor_screen" and "Tumor-Screen" are spellings of "tumor-screen", not other names.
    return slug.lower().replace("_", "-")


def similar_projects(*, user, slug: str) -> list[str]:
    """Slugs of the user's projects that `slug` may be a typo of, closest first.

    Within two edits (one for a slug under six characters), ignoring case and the
    difference between - and _: "tumour-screen" finds "tumor-screen". Only projects
    the user is a member of count, so the answer reveals nothing about other people's.
    """
    slugs = Membership.objects.filter(user=user).values_list("project__slug", flat=True)
    return spelling.near_misses(slug, slugs, fold=_slug_spelling)
