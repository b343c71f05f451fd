"""A report's contents: every number, sentence and figure, and the verdict they lead to.

`assemble` reads the period in one place (`_read_period`), then builds the report in named
steps: the facts of the period, the sections about the target (page 1: the verdict and what
it rests on, the target and who agreed it, the best model and its limits, what changed, what
next), the later sections and the figures. The verdict is fed from one home
(reports.verdict_inputs), which the rendered report and the web UI's `current_verdict` both ask.
"""

import math
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from reports import (
    axes,
    charts,
    narrative,
    page_one,
    production_report,
    reading_guide,
    selectors,
    slice_words,
    verdict,
    verdict_inputs,
)
from reports.models import CheckIn, Report
from reports.periods import local_day, report_zone, start_of_period
from reports.selectors import PeriodActivity, ProgressPoint
from tracker.models import Project, Target
from tracker.numbers import finite_or_none
from tracker.phrasing import guardrail_sentence, split_phrase
from tracker.selectors.production import ProductionAnswer, production_answer
from tracker.selectors.winner import BestSoFar, Standing, guardrail_rules, standing
from tracker.winner_rules import usable
from tracker.winner_sentences import winner_sentence


@dataclass(frozen=True)
class Assembled:
    """One report's contents, before they are drawn and rendered."""

    snapshot: dict  # every number and sentence, as the template and the emails read them
    figures: dict  # plotly figures by name


@dataclass(frozen=True)
class _Period:
    """What every step of one report reads: the period and where the project stands."""

    project: Project
    start: datetime
    end: datetime
    time_zone: str
    previous: Report | None  # the previous check-in
    since: str  # "since the last check-in on …"
    at_then: str
    current: Standing
    activity: PeriodActivity
    production: ProductionAnswer  # the model live in production, if any


def assemble(*, project: Project, period_start: datetime, period_end: datetime,
             time_zone: str = "UTC", report_id: int | None = None) -> Assembled:
    """Every number, sentence and figure of one report.

    The period's activity is read up to `period_end`; where the project stands (the best
    model, the baseline, guardrails, slices) is read as it is now, which for a report
    rendered when it falls due is the same moment.
    """
    period = _read_period(project=project, start=period_start, end=period_end,
                          time_zone=time_zone, report_id=report_id)
    snapshot = _period_facts(period)
    current = period.current
    if current.target is None:
        snapshot["verdict"] = _verdict_entry(verdict_inputs.decide(
            project=project, current=current, history=[], period_start=period_start,
            period_end=period_end, time_zone=time_zone, since=period.since,
            runs_finished=period.activity.finished, production=period.production))
        snapshot["next_step"] = page_one.next_step_sentence(
            idea=None, has_target=False, has_baseline=current.baseline is not None,
            met=False, too_early=False)
        snapshot["experiments"] = [
            {"name": e.name, "hypothesis": e.hypothesis,
             "sentence": narrative.experiment_runs_sentence(finished=e.finished,
                                                            failed=e.failed)}
            for e in period.activity.experiments]
        return Assembled(snapshot, {})
    facts = narrative.TargetFacts.from_dict(current.target.as_dict())
    history = selectors.progress_history(project=project, target=current.target,
                                         until=period_end)
    slices = _judged_slices(period, facts)
    figures = _figures(period, facts, history, slices)
    snapshot.update(_target_sections(period, facts, history))
    snapshot["guardrails"] = _guardrails_section(period)
    snapshot["slices"] = _slices_section(period, facts, slices)
    snapshot["experiments"] = _experiments_section(period.activity, facts)
    snapshot["charts"] = reading_guide.chart_texts(facts, list(figures))
    return Assembled(snapshot, figures)


def _read_period(*, project: Project, start: datetime, end: datetime, time_zone: str,
                 report_id: int | None) -> _Period:
    previous = selectors.previous_checkin(project=project, before=start, exclude_id=report_id)
    target = Target.objects.filter(project=project).first()
    today = local_day(end, time_zone)
    return _Period(
        project=project, start=start, end=end, time_zone=time_zone, previous=previous,
        since=_since_words(previous, start, time_zone),
        at_then=narrative.at_then_words(previous is not None, local_day(start, time_zone)),
        current=standing(project=project),
        activity=selectors.period_activity(project=project, target=target, start=start,
                                           end=end),
        production=production_answer(project=project, today=today, time_zone=time_zone),
    )


def _since_words(previous: Report | None, start: datetime, time_zone: str) -> str:
    """ "since the last check-in on …", or since the period's first day without one."""
    return narrative.since_words(
        local_day(previous.period_end, time_zone) if previous else None,
        local_day(start, time_zone))


def _period_facts(period: _Period) -> dict:
    """The snapshot's facts of the period, with an empty place for each target section."""
    tz, activity, previous = period.time_zone, period.activity, period.previous
    changes = [
        page_one.target_change_sentence(
            what=c.what, old=c.old, new=c.new, on=local_day(c.changed_at, tz),
            who=page_one.recorder(
                full_name=c.changed_by.get_full_name() if c.changed_by else "",
                username=c.changed_by.username if c.changed_by else None))
        for c in selectors.target_changes(project=period.project, start=period.start,
                                          end=period.end)
    ]
    looks, looked_runs = selectors.test_reveals(project=period.project, start=period.start,
                                                end=period.end)
    return {
        "project": {"slug": period.project.slug, "name": period.project.name},
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat(),
                   "time_zone": tz, "text": narrative.period_text(
                       local_day(period.start, tz), local_day(period.end, tz))},
        "previous_checkin": previous.period_end.isoformat() if previous else None,
        "production": production_report.section(
            answer=period.production, period_start=period.start, period_end=period.end,
            time_zone=tz),
        "since_heading": narrative.since_heading(previous is not None),
        "target": None,
        "target_changes": changes,
        "runs_sentence": narrative.runs_sentence(finished=activity.finished,
                                                 failed=activity.failed,
                                                 killed=activity.killed, since=period.since),
        "experiments_sentence": narrative.experiments_sentence(len(activity.experiments)),
        "counts": {"finished": activity.finished, "failed": activity.failed,
                   "killed": activity.killed, "experiments": len(activity.experiments)},
        "test_looks": {"looks": looks, "runs": looked_runs,
                       "sentence": narrative.test_looks_sentence(looks=looks,
                                                                 runs=looked_runs)},
        "standing_sentence": period.current.sentence,
        "winner": None,
        "best_model": None,
        "next_step": "",
        "baseline": None,
        "guardrails": {"intro": "", "items": []},
        "slices": {"intro": "", "items": []},
        "experiments": [],
        "glossary": [],
        "charts": {},
    }


def _verdict_entry(v: verdict.Verdict) -> dict:
    """The verdict, with every verdict's one-line meaning for the box on page 1."""
    return {"kind": v.kind, "label": v.label, "sentence": v.sentence, "meanings": [
        {"label": verdict.LABELS[kind], "meaning": verdict.MEANINGS[kind],
         "current": kind == v.kind} for kind in verdict.explained(v.kind)]}


def _target_sections(period: _Period, facts: narrative.TargetFacts,
                     history: list[ProgressPoint]) -> dict:
    """The verdict, the target, the change over the period, the best model and the baseline."""
    current = period.current
    then_point = selectors.best_as_of(history, period.start)
    then = verdict_inputs.model_figure(then_point)
    now_value = current.judged_value if usable(current.judged_value) else None
    winner = current.winner
    decided = verdict_inputs.decide(
        project=period.project, current=current, history=history,
        period_start=period.start, period_end=period.end, time_zone=period.time_zone,
        since=period.since, runs_finished=period.activity.finished,
        production=period.production)
    baseline_name = current.baseline.experiment.name if current.baseline else None
    return {
        "verdict": _verdict_entry(decided),
        "target": {**current.target.as_dict(),
                   "sentence": narrative.target_sentence(facts),
                   "selection_gloss": reading_guide.selection_gloss(facts),
                   "metric_gloss": reading_guide.metric_gloss(facts.metric, facts.definition)},
        "change": {
            "then": finite_or_none(then), "now": finite_or_none(now_value),
            "sentence": narrative.change_sentence(
                target=facts, then=then, now=now_value, at_then=period.at_then,
                then_baseline=then_point is not None and then_point.baseline,
                replaced=(then is not None and winner is not None
                          and then_point.run_id != str(winner.pk))),
        },
        "glossary": reading_guide.glossary(facts),
        "experiments_note": reading_guide.experiments_note(facts),
        "winner": None if winner is None else {
            "id": str(winner.pk), "name": winner.name, "experiment": winner.experiment.name,
            "selection_value": finite_or_none(current.winner_ranked.candidate.selection_value),
            "judged_value": finite_or_none(current.judged_value), "met": current.met,
            "lift": finite_or_none(current.lift),
        },
        "best_model": _best_model(period, facts),
        "next_step": page_one.next_step_sentence(
            idea=selectors.newest_idea(project=period.project, until=period.end),
            has_target=True, has_baseline=current.baseline is not None,
            met=decided.kind == verdict.MET, too_early=decided.too_early),
        "baseline": {
            "name": baseline_name,
            "judged_value": finite_or_none(current.baseline_judged_value),
            "sentence": narrative.baseline_sentence(target=facts, name=baseline_name,
                                                    judged=current.baseline_judged_value),
        },
    }


def _best_model(period: _Period, facts: narrative.TargetFacts) -> dict:
    """Page 1's best model: its result without its run's name, where it comes from, and the
    other limits it meets, in one line each."""
    current = period.current
    limits = page_one.limits_line(guardrails=current.guardrails,
                                  count=len(guardrail_rules(project=period.project)),
                                  has_winner=current.winner is not None)
    if current.winner is None:
        return {"sentence": current.sentence, "origin": "", "limits": limits}
    judged = current.judged_value
    sentence = winner_sentence(
        metric=facts.metric, direction=facts.direction, threshold=facts.threshold,
        judged_split=facts.judged_on, judged_value=judged if usable(judged) else None,
        met=current.met, lift=current.lift, run_name="", definition=facts.definition,
        baseline_value=current.baseline_judged_value if current.baseline else None)
    experiment = current.winner.experiment
    return {"sentence": sentence, "limits": limits,
            "origin": page_one.origin_sentence(experiment=experiment.name,
                                               hypothesis=experiment.hypothesis)}


def _guardrails_section(period: _Period) -> dict:
    current = period.current
    rules = guardrail_rules(project=period.project)
    return {
        "intro": narrative.guardrails_intro(count=len(rules),
                                            has_winner=current.winner is not None),
        "items": [
            {"sentence": guardrail_sentence(g["metric"], g["actual"], op=g["op"],
                                            limit=g["value"], split=g["split"],
                                            passed=g["passed"]),
             "passed": g["passed"]}
            for g in current.guardrails],
    }


def _judged_slices(period: _Period, facts: narrative.TargetFacts) -> list[dict]:
    """The best model on each slice of the judged split, and whether the slice lags."""
    current = period.current
    if current.winner is None or not usable(current.judged_value):
        return []
    overall = current.judged_value
    return [
        {"split": split, "name": slice_words.slice_name(split), "value": value,
         "lags": slice_words.slice_lags(value=value, overall=overall,
                                      threshold=facts.threshold, direction=facts.direction)}
        for split, value in selectors.judged_slices(run=current.winner, target=current.target)
        if math.isfinite(value)
    ]


def _slices_section(period: _Period, facts: narrative.TargetFacts, slices: list[dict]) -> dict:
    """The slices that lag, each with its sentence."""
    lagging = [
        {**s, "sentence": slice_words.slice_sentence(target=facts, split=s["split"],
                                                   value=s["value"],
                                                   overall=period.current.judged_value)}
        for s in slices if s["lags"]]
    return {
        "intro": slice_words.slices_intro(lagging=len(lagging), total=len(slices),
                                        judged_on=facts.judged_on),
        "items": lagging,
    }


def _experiments_section(activity: PeriodActivity, facts: narrative.TargetFacts) -> list:
    return [
        {"name": e.name, "hypothesis": e.hypothesis,
         "sentence": narrative.experiment_result_sentence(
             target=facts, best_value=e.best_value, best_run=e.best_run,
             finished=e.finished, failed=e.failed,
             fails=[guardrail_sentence(g["metric"], g["actual"], op=g["op"], limit=g["value"],
                                       split=g["split"], passed=False)
                    for g in e.best_fails])}
        for e in activity.experiments]


def _figures(period: _Period, facts: narrative.TargetFacts, history: list[ProgressPoint],
             slices: list[dict]) -> dict:
    """The report's plotly figures by name; a figure with nothing to show is left out."""
    current, activity = period.current, period.activity
    scale, unit = narrative.chart_scale(facts.metric, facts.definition)
    common = {"threshold": facts.threshold, "scale": scale, "label": facts.label, "unit": unit,
              "bounds": axes.metric_bounds(facts.metric, facts.definition)}
    judged, selected = _split_word(facts.judged_on), _split_word(facts.selected_on)
    baseline = finite_or_none(current.baseline_selection_value)
    figures: dict = {}
    live = production_report.chart_windows(period.production)
    if live:
        figures["live"] = charts.live_figure(
            windows=live, test_value=finite_or_none(period.production.test_value), **common,
            judged_split=judged)
    if history:
        figures["progress"] = charts.progress_figure(
            points=[{"at": p.at.isoformat(), "run_name": p.run_name, "baseline": p.baseline,
                     "selection_value": p.selection_value,
                     "judged_value": finite_or_none(p.judged_value)} for p in history],
            **common, judged_split=judged, selected_split=selected,
            period_start=period.start, period_end=period.end,
            checkins=selectors.checkin_dates(project=period.project, until=period.start),
            thresholds=[(at.isoformat(), value) for at, value in selectors.threshold_history(
                project=period.project, target=current.target, until=period.end)])
    if activity.runs:
        figures["runs"] = charts.runs_figure(
            runs=[{"run_id": r.run_id, "name": r.name, "experiment": r.experiment,
                   "ended_at": r.ended_at.isoformat(), "value": finite_or_none(r.value),
                   "baseline": r.baseline, "passes_guardrails": r.passes_guardrails}
                  for r in activity.runs],
            baseline=baseline, **common, selected_split=selected,
            winner_id=str(current.winner.pk) if current.winner else None,
            period_start=period.start, period_end=period.end)
    if slices:
        figures["slices"] = charts.slices_figure(overall=current.judged_value, slices=slices,
                                                 **common, judged_split=judged)
    if any(e.best_value is not None for e in activity.experiments):
        figures["experiments"] = charts.experiments_figure(
            experiments=[{"name": e.name, "best_value": finite_or_none(e.best_value),
                          "passes_guardrails": not e.best_fails}
                         for e in activity.experiments],
            baseline=baseline, **common, selected_split=selected)
    return figures


def _split_word(split: str) -> str:
    """ "validation" for the chart legends ("the validation set"). """
    return split_phrase(split).removeprefix("the ").removesuffix(" set")


# --- The verdict ------------------------------------------------------------------------------

def current_verdict(*, project: Project, now: datetime | None = None,
                    current: Standing | None = None,
                    progress: BestSoFar | None = None) -> verdict.Verdict:
    """The verdict a check-in would give right now, for the period since the last one.

    Reads only what the verdict rules need (where the project stands, the best model's
    history, the earlier check-ins, how many runs finished in the period), never the charts,
    slices or activity of a whole report, so a page listing many projects can ask for each
    one. `current` is tracker.selectors.winner.standing(project) and `progress` its
    best_so_far(project) when the caller has them.
    """
    now = now or timezone.now()
    checkin = CheckIn.objects.filter(project=project).first()
    tz = report_zone(checkin)
    start = start_of_period(project=project, checkin=checkin, end=now)
    previous = selectors.previous_checkin(project=project, before=start)
    current = current or standing(project=project)
    history = (selectors.progress_history(project=project, target=current.target, until=now,
                                          progress=progress)
               if current.target is not None else [])
    return verdict_inputs.decide(
        project=project, current=current, history=history, period_start=start,
        period_end=now, time_zone=tz, since=_since_words(previous, start, tz),
        runs_finished=selectors.runs_finished(project=project, start=start, end=now),
        production=production_answer(project=project, today=local_day(now, tz),
                                     time_zone=tz))
