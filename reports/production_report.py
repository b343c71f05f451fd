"""The report's production part, from the database: page 1's "In production" (the status,
its sentence and the live chart) and the later page's drift, answers and business results.

The rules and their sentences live in tracker.production_rules, tracker.drift and
tracker.impact (read through tracker.selectors.production and .impact); the words only the
report says are reports.production_words'. A project with nothing live in production has no
production part.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from reports import production_words
from reports.periods import local_day
from tracker import production_rules
from tracker.days import window_words
from tracker.numbers import finite_or_none
from tracker.selectors.impact import impact_readings
from tracker.selectors.production import ProductionAnswer, drift_readings, reference_profile


def section(*, answer: ProductionAnswer, period_start: datetime, period_end: datetime,
            time_zone: str) -> dict | None:
    """The production part of the snapshot, its days said in `time_zone`; None when nothing
    is live in production."""
    if answer.deployment is None:
        return None
    latest = answer.drift
    today = local_day(period_end, time_zone)
    features = latest.features if latest else []
    readings = impact_readings(project=answer.project, today=today, ended_from=period_start,
                               ended_before=period_end)
    return {
        "status": answer.status,
        "status_class": answer.status.replace(" ", "_"),
        "status_label": production_words.STATUS_LABELS[answer.status],
        "sentence": answer.sentence,
        "drift": {
            "intro": _drift_intro(answer, today, time_zone),
            "lead": " ".join(production_rules.drift_sentences(features))
                    or (production_words.STEADY if features else ""),
            "rows": production_words.drift_rows(features),
            "moved": _moved(answer, period_start, period_end) if latest else "",
        },
        "predictions": production_words.predictions_sentence(
            latest.predictions if latest else None),
        "impact": {"intro": production_words.impact_intro(len(readings)),
                   "items": [r.sentence for r in readings]},
    }


def _drift_intro(answer: ProductionAnswer, today: date, time_zone: str) -> str:
    if answer.drift is not None:
        zone = ZoneInfo(time_zone)
        return production_words.drift_intro(window=window_words(
            timezone.localtime(answer.drift.window_start, zone),
            timezone.localtime(answer.drift.window_end, zone), today=today))
    if reference_profile(deployment=answer.deployment) is None:
        return production_words.NO_REFERENCE
    return production_words.NO_LIVE_PROFILE


def _moved(answer: ProductionAnswer, period_start: datetime, period_end: datetime) -> str:
    """Which inputs changed band from the last live window before the period to the latest
    one in it."""
    readings = drift_readings(deployment=answer.deployment)
    before = [r for r in readings if r.window_end <= period_start]
    during = [r for r in readings if period_start < r.window_end <= period_end]
    return production_words.moved_sentence(
        before=max(before, key=lambda r: r.window_end).features if before else None,
        after=max(during, key=lambda r: r.window_end).features if during else None)


def chart_windows(answer: ProductionAnswer) -> list[dict]:
    """The live windows of the target metric as reports.charts.live_figure draws them,
    each saying whether it counts (tracker.production_rules.counting); empty when nothing
    is live in production or no window measured the metric."""
    if answer.deployment is None or not any(finite_or_none(w.value) is not None
                                            for w in answer.windows):
        return []
    counted = set(map(id, production_rules.counting(answer.windows)))
    return [{"start": w.start.isoformat(), "end": w.end.isoformat(),
             "value": finite_or_none(w.value), "labelled": w.labelled,
             "counts": id(w) in counted} for w in answer.windows]
