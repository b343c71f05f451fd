"""Business results as a user reads them: each A/B test or backtest with its difference, 95 %
interval, verdict and sentence (tracker.impact), worked out from the stored groups."""

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from tracker import impact as impact_rules
from tracker.errors import InvalidInput, NotFound
from tracker.models import ImpactResult, Project
from tracker.selectors.access import role_of


@dataclass(frozen=True)
class ImpactReading:
    result: ImpactResult
    control: impact_rules.Rate | impact_rules.Mean
    treatment: impact_rules.Rate | impact_rules.Mean
    difference: impact_rules.Difference
    verdict: str  # tracker.impact's IMPROVEMENT, DECLINE or NO_DIFFERENCE
    sentence: str

    @property
    def is_rate(self) -> bool:
        return isinstance(self.control, impact_rules.Rate)


def reading(result: ImpactResult, *, today: date | None = None) -> ImpactReading:
    """What one stored result shows."""
    today = today or timezone.localdate()
    control = impact_rules.group_from(result.control, field="control")
    treatment = impact_rules.group_from(result.treatment, field="treatment")
    found = impact_rules.difference(control, treatment)
    sentence = impact_rules.impact_sentence(
        kind=result.kind, metric=result.metric, direction=result.direction, control=control,
        treatment=treatment, started_on=timezone.localtime(result.started_at),
        ended_on=timezone.localtime(result.ended_at), today=today,
        cases=result.project.case_noun or "cases",
        unit=f" {result.unit}" if result.unit else "")
    return ImpactReading(result, control, treatment, found, found.verdict(result.direction),
                         sentence)


def project_impact(*, project: Project, ended_from: datetime | None = None,
                   ended_before: datetime | None = None) -> QuerySet[ImpactResult]:
    """The project's business results, the latest end first; those that ended in
    [ended_from, ended_before) when given (a check-in's period)."""
    results = (ImpactResult.objects.filter(project=project)
               .select_related("project", "deployment", "run", "created_by"))
    if ended_from is not None:
        results = results.filter(ended_at__gte=ended_from)
    if ended_before is not None:
        results = results.filter(ended_at__lt=ended_before)
    return results


def impact_page(*, project: Project, limit: int,
                before: int | None = None) -> tuple[list[ImpactReading], int | None]:
    """One page of the project's business results, read, the latest end first: the `limit`
    that follow the result `before` (its id) in that order, and the id to pass as `before`
    for the next page (None on the last). An id not among the project's results is
    InvalidInput naming `before`."""
    results = project_impact(project=project)
    if before is not None:
        after = results.filter(pk=before).first() if 0 < before < 2**63 else None
        if after is None:
            raise InvalidInput(f"no business result {before} in this project", field="before")
        results = results.filter(Q(ended_at__lt=after.ended_at) |
                                 Q(ended_at=after.ended_at, pk__lt=after.pk))
    page = list(results.order_by("-ended_at", "-id")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return [reading(result) for result in page], (page[-1].pk if more else None)


def impact_readings(*, project: Project, today: date | None = None,
                    ended_from: datetime | None = None,
                    ended_before: datetime | None = None) -> list[ImpactReading]:
    """The project's business results, read, the latest end first."""
    return [reading(result, today=today) for result in
            project_impact(project=project, ended_from=ended_from, ended_before=ended_before)]


def impact_for_user(*, user, impact_id) -> tuple[ImpactResult, str]:
    """The business result and the user's role in its project; NotFound for outsiders,
    unknown ids and results of a project in the trash."""
    try:
        pk = int(str(impact_id))
    except ValueError:
        pk = None
    result = (ImpactResult.objects.select_related("project", "deployment", "run")
              .filter(pk=pk).first() if pk is not None and 0 < pk < 2**63 else None)
    role = role_of(user=user, project=result.project) if result else None
    if result is None or role is None or result.project.deleted_at is not None:
        raise NotFound("no business result of that id in your projects", field="impact")
    return result, role
