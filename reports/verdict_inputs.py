"""What the verdict rules read, from the database: one home for the report and the web UI.

reports.verdict is pure; this module turns the best model's replayed history
(selectors.progress_history) and the dates of earlier check-ins into its Record, the
production answer (tracker.selectors.production) into its Live, and feeds verdict.decide.
The rendered report (reports.assembly.assemble) and the web UI's verdict
(reports.assembly.current_verdict) both ask `decide` here.
"""

import math
from datetime import datetime

from reports import narrative, selectors, verdict
from reports.periods import local_day
from reports.selectors import ProgressPoint
from tracker import production_rules
from tracker.models import Project, Run, RunStatus
from tracker.numbers import finite_or_none
from tracker.selectors.production import ProductionAnswer
from tracker.selectors.winner import Standing, leaderboard
from tracker.winner_rules import met


def no_winner_reason(project: Project) -> str:
    """Why a project with a target has no best model (tracker.phrasing's reason names)."""
    if not Run.objects.live().filter(project=project, status=RunStatus.FINISHED).exists():
        return "no_finished_runs"
    if not leaderboard(project=project, limit=1):
        return "no_selection_metric"
    return "all_fail_guardrails"


def model_figure(point: ProgressPoint | None) -> float | None:
    """The best model's test value at a point of its history; None for a baseline (the
    status quo is not an earlier state of the model) or a missing or NaN value."""
    if point is None or point.baseline or point.judged_value is None:
        return None
    return point.judged_value if math.isfinite(point.judged_value) else None


def _met_since(history: list[ProgressPoint], *, threshold: float, direction: str,
               time_zone: str):
    """The day since which every best model has met the threshold (None if the last does not)."""
    since = None
    for point in reversed(history):
        if not met(point.judged_value, threshold=threshold, direction=direction):
            break
        since = point.at
    return local_day(since, time_zone) if since else None


def record(*, history: list[ProgressPoint], checkin_ends: list[datetime],
           period_start: datetime, period_end: datetime, time_zone: str,
           threshold: float, direction: str) -> verdict.Record:
    """The best model's Record for the verdict, from its history up to `period_end`."""
    history = [p for p in history if p.at <= period_end]
    firsts = [p.at for p in history if model_figure(p) is not None]
    return verdict.Record(
        start=model_figure(selectors.best_as_of(history, period_start)),
        checkins=tuple((local_day(end, time_zone),
                        model_figure(selectors.best_as_of(history, end)))
                       for end in checkin_ends),
        results_days=(period_end - firsts[0]).days if firsts else 0,
        met_since=_met_since(history, threshold=threshold, direction=direction,
                             time_zone=time_zone),
    )


def live(answer: ProductionAnswer | None) -> verdict.Live | None:
    """The deployed model's live results as the verdict reads them; None when nothing is
    live in production or no live result counts yet (the status "no results")."""
    if answer is None or answer.window is None or answer.status not in (
            production_rules.HOLDING, production_rules.SLIPPING,
            production_rules.BELOW_THE_BAR):
        return None
    kept = production_rules.counting(answer.windows)
    earlier = (kept[-production_rules.RECENT_WINDOWS].value
               if len(kept) >= production_rules.RECENT_WINDOWS else None)
    return verdict.Live(status=answer.status, value=answer.window.value,
                        labelled=answer.window.labelled,
                        cases=answer.project.case_noun or "cases", reason=answer.reason,
                        test_value=finite_or_none(answer.test_value), earlier=earlier)


def decide(*, project: Project, current: Standing, history: list[ProgressPoint],
           period_start: datetime, period_end: datetime, time_zone: str, since: str,
           runs_finished: int, production: ProductionAnswer | None = None) -> verdict.Verdict:
    """The verdict of the period from what its rules read: where the project stands now,
    the best model's history, the earlier check-ins, the runs finished and, when a model
    is live in production, the production answer."""
    if current.target is None:
        return verdict.decide(target=None, no_winner_reason=None, current=None,
                              record=verdict.Record(), runs_finished=runs_finished,
                              since=since)
    facts = narrative.TargetFacts.from_dict(current.target.as_dict())
    found = record(history=history,
                   checkin_ends=selectors.checkin_dates(project=project, until=period_start),
                   period_start=period_start, period_end=period_end, time_zone=time_zone,
                   threshold=facts.threshold, direction=facts.direction)
    return verdict.decide(
        target=facts,
        no_winner_reason=no_winner_reason(project) if current.winner is None else None,
        current=current.judged_value, record=found, runs_finished=runs_finished, since=since,
        live=live(production))
