"""Check-in reports: schedules, the dispatcher, rendering, delivery, alerts and recovery.

How a report travels, and why it arrives once:

1. The dispatcher (`tick`, every 30 s from Celery beat) finds due check-ins, moves each
   one's next_due_at with a conditional UPDATE (two dispatchers cannot both take it), and
   creates the Report with one Delivery row per recipient, in one transaction.
2. `render_report` takes a lease on the report (a conditional UPDATE), renders HTML, the
   charts and the PDF, and stores them with status "rendered". A rendered report is never
   rendered again, so retries of its emails never re-render it.
3. `deliver_report` sends each Delivery: it marks the row "sending" (committed) before
   talking to SMTP and "sent" after. A transient SMTP failure puts it back to "retry" with
   a backoff. A row found still "sending" long after its worker should have finished
   (the worker was killed mid-send) becomes "unknown" and is never sent again: a possible
   missing email is better than a certain duplicate.
4. Tasks are acks_late, and the dispatcher also hands stalled work (an expired lease) to
   another worker, so a killed worker or a lost message delays a report, never loses it.
"""

import contextlib
import logging
import math
import smtplib
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as time_of_day

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Min, Q
from django.template.loader import render_to_string
from django.utils import timezone

from reports import charts, narrative, schedule, selectors, verdict
from reports.models import (
    FINAL_DELIVERY_STATUSES,
    Alert,
    AlertKind,
    CheckIn,
    Delivery,
    DeliveryStatus,
    Report,
    ReportKind,
    ReportStatus,
)
from reports.pdf import ChartUnavailable, figure_to_svg, html_to_pdf, svg_data_uri
from tracker.errors import InvalidInput
from tracker.models import Membership, Project, Run, RunStatus, Target
from tracker.numbers import finite_or_none
from tracker.phrasing import guardrail_sentence, split_phrase
from tracker.selectors.winner import Standing, guardrail_rules, leaderboard, standing
from tracker.winner_rules import usable

logger = logging.getLogger(__name__)

MAX_RECIPIENTS = 100
DEFAULT_PERIOD = timedelta(days=7)  # the first period when there is no schedule to go by
OPEN_DELIVERY_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRY)


def _lease() -> timedelta:
    return timedelta(seconds=settings.REPORT_LEASE_SECONDS)


def enqueue_task(task_name: str, *args) -> None:
    """Queue a reports task once the current transaction commits.

    A broker that cannot be reached is logged, not raised: the dispatcher finds the work
    again within REPORT_DISPATCH_INTERVAL seconds (pending reports, stalled leases).
    """
    def send() -> None:
        from reports import tasks

        try:
            getattr(tasks, task_name).apply_async(args, queue=settings.REPORT_QUEUE)
        except Exception:
            logger.exception("could not queue %s%r; the dispatcher will pick it up again",
                             task_name, args)

    transaction.on_commit(send)


# --- Check-in schedules ----------------------------------------------------------------------

def _parse_weekday(value) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6:
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text.isdigit() and 0 <= int(text) <= 6:
            return int(text)
        for i, name in enumerate(schedule.WEEKDAYS):
            if len(text) >= 3 and name.lower().startswith(text):
                return i
    raise InvalidInput(f"weekday must be a day name (monday … sunday) or 0-6, not {value!r}",
                       field="weekday")


def _parse_int(value, *, field: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{field} must be a whole number", field=field)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} must be a whole number, not {value!r}",
                           field=field) from None
    if number != float(value):
        raise InvalidInput(f"{field} must be a whole number, not {value!r}", field=field)
    return number


def _parse_time(value) -> time_of_day:
    if isinstance(value, time_of_day):
        return value
    try:
        return time_of_day.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(f"local_time must be HH:MM (24-hour clock), not {value!r}",
                           field="local_time") from None


def _parse_date(value, *, field: str) -> date | None:
    if value is None or value == "" or isinstance(value, date):
        return value or None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{field} must be a date as YYYY-MM-DD, not {value!r}",
                           field=field) from None


def clean_recipients(*, project: Project, recipients) -> list[str]:
    """Email addresses, or usernames of project members who have an address."""
    if not isinstance(recipients, list):
        raise InvalidInput("recipients must be a list of email addresses or usernames",
                           field="recipients")
    if len(recipients) > MAX_RECIPIENTS:
        raise InvalidInput(f"at most {MAX_RECIPIENTS} recipients", field="recipients")
    members = dict(Membership.objects.filter(project=project)
                   .values_list("user__username", "user__email"))
    cleaned: list[str] = []
    for i, entry in enumerate(recipients):
        where = f"recipients[{i}]"
        if not isinstance(entry, str) or not entry.strip():
            raise InvalidInput(f"{where} must be an email address or a member's username",
                               field=where)
        entry = entry.strip()
        if "@" in entry:
            try:
                validate_email(entry)
            except ValidationError:
                raise InvalidInput(f"{where}: {entry!r} is not a valid email address",
                                   field=where) from None
        elif entry not in members:
            raise InvalidInput(f"{where}: {entry!r} is neither an email address nor a member "
                               "of this project", field=where)
        elif not members[entry]:
            raise InvalidInput(f"{where}: {entry} has no email address; add one to their "
                               "account or list the address itself", field=where)
        if entry.lower() not in {c.lower() for c in cleaned}:
            cleaned.append(entry)
    return cleaned


SCHEDULE_FIELDS = ("cadence", "weekday", "every_n_days", "starts_on", "day_of_month",
                   "local_time", "time_zone")
CHECKIN_FIELDS = (*SCHEDULE_FIELDS, "recipients", "enabled")


@transaction.atomic
def save_checkin(*, project: Project, data: dict, now: datetime | None = None) -> CheckIn:
    """Create or change a project's check-in; fields left out keep their value.

    Changing when it happens (or switching it on) recomputes the next check-in; a slot a
    few minutes ago still counts (see schedule.first_due).
    """
    now = now or timezone.now()
    unknown = set(data) - set(CHECKIN_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}",
                           field=sorted(unknown)[0])
    checkin = CheckIn.objects.select_for_update().filter(project=project).first()
    created = checkin is None
    if created:
        checkin = CheckIn(project=project)
    before = {name: getattr(checkin, name) for name in (*SCHEDULE_FIELDS, "enabled")}
    if "cadence" in data:
        checkin.cadence = data["cadence"]
    if "weekday" in data:
        checkin.weekday = _parse_weekday(data["weekday"])
    if "every_n_days" in data:
        checkin.every_n_days = _parse_int(data["every_n_days"], field="every_n_days")
    if "starts_on" in data:
        checkin.starts_on = _parse_date(data["starts_on"], field="starts_on")
    if "day_of_month" in data:
        checkin.day_of_month = _parse_int(data["day_of_month"], field="day_of_month")
    if "local_time" in data:
        checkin.local_time = _parse_time(data["local_time"])
    if "time_zone" in data:
        checkin.time_zone = str(data["time_zone"] or "").strip()
    if "recipients" in data:
        checkin.recipients = clean_recipients(project=project, recipients=data["recipients"])
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            raise InvalidInput("enabled must be true or false", field="enabled")
        checkin.enabled = data["enabled"]
    if checkin.cadence == schedule.EVERY_N_DAYS and checkin.starts_on is None:
        # An unknown time zone is reported just below, with the field it belongs to.
        with contextlib.suppress(ValueError):
            checkin.starts_on = now.astimezone(schedule.zone(checkin.time_zone)).date()
    problem = schedule.problem(checkin.as_cadence())
    if problem:
        field = "time_zone" if "time zone" in problem else (
            "cadence" if problem.startswith("cadence") else
            next((f for f in SCHEDULE_FIELDS if f in problem), "cadence"))
        raise InvalidInput(problem, field=field)
    after = {name: getattr(checkin, name) for name in (*SCHEDULE_FIELDS, "enabled")}
    if created or after != before or checkin.next_due_at is None:
        checkin.next_due_at = schedule.first_due(checkin.as_cadence(), now)
    checkin.save()
    return checkin


def schedule_checkin_now(*, checkin: CheckIn, now: datetime | None = None) -> CheckIn:
    """Make a check-in due at once (the admin's "send the check-in now")."""
    checkin.next_due_at = now or timezone.now()
    checkin.save(update_fields=["next_due_at", "updated_at"])
    return checkin


# --- Creating reports ------------------------------------------------------------------------

def _period_start(*, project: Project, checkin: CheckIn | None, end: datetime,
                  due: datetime | None = None) -> datetime:
    """Where a check-in period starts: the end of the previous check-in's period.

    The first period goes back one slot of the schedule (or a week without one).
    """
    previous = selectors.previous_checkin(project=project, before=end)
    if previous is not None:
        return previous.period_end
    if checkin is not None:
        try:
            return schedule.previous_due_before(checkin.as_cadence(), due or end)
        except ValueError:
            pass
    return end - DEFAULT_PERIOD


def _report_zone(checkin: CheckIn | None) -> str:
    if checkin is not None:
        try:
            schedule.zone(checkin.time_zone)
            return checkin.time_zone
        except ValueError:
            pass
    return settings.TIME_ZONE or "UTC"


def _create_report(*, project: Project, kind: str, period_start: datetime,
                   period_end: datetime, emails: list[str], checkin: CheckIn | None = None,
                   requested_by=None, queue: bool = True) -> Report:
    report = Report.objects.create(
        project=project, checkin=checkin, kind=kind, period_start=period_start,
        period_end=period_end, time_zone=_report_zone(checkin), requested_by=requested_by,
        queued_at=timezone.now() if queue else None,
    )
    Delivery.objects.bulk_create(Delivery(report=report, email=e) for e in emails)
    if queue:
        enqueue_task("render_report_task", report.pk)
    return report


def dispatch_due_checkins(*, now: datetime | None = None) -> list[Report]:
    """Create a report for every check-in that is due, once, however many slots were missed."""
    now = now or timezone.now()
    created = []
    due = (CheckIn.objects.filter(enabled=True, next_due_at__lte=now)
           .select_related("project").order_by("next_due_at"))
    for checkin in due:
        try:
            step = schedule.tick(checkin.as_cadence(), checkin.next_due_at, now)
        except ValueError as exc:
            logger.error("check-in of %s cannot be scheduled: %s", checkin.project, exc)
            continue
        with transaction.atomic():
            taken = CheckIn.objects.filter(pk=checkin.pk, enabled=True,
                                           next_due_at=checkin.next_due_at).update(
                next_due_at=step.next_due_at, last_sent_at=now)
            if not taken:
                continue  # another dispatcher took it
            emails, problems = selectors.resolve_recipients(checkin=checkin)
            for problem in problems:
                logger.warning("check-in of %s: %s", checkin.project, problem)
            created.append(_create_report(
                project=checkin.project, checkin=checkin, kind=ReportKind.SCHEDULED,
                period_start=_period_start(project=checkin.project, checkin=checkin, end=now,
                                           due=checkin.next_due_at),
                period_end=now, emails=emails,
            ))
    return created


@transaction.atomic
def send_now(*, project: Project, user=None, to: list[str] | None = None,
             now: datetime | None = None, queue: bool = True) -> Report:
    """A report right now: to the check-in's recipients, or only to the addresses in `to`.

    Sent to the recipients it is a check-in like a scheduled one (the next one covers the
    time since); sent to chosen addresses it is a preview and leaves the chain alone.
    With queue=False no task is queued: the caller renders and delivers it itself.
    """
    now = now or timezone.now()
    checkin = CheckIn.objects.filter(project=project).first()
    if to:
        emails = []
        for i, address in enumerate(to):
            try:
                validate_email(address)
            except ValidationError:
                raise InvalidInput(f"to[{i}]: {address!r} is not a valid email address",
                                   field=f"to[{i}]") from None
            emails.append(address)
        kind = ReportKind.PREVIEW
    else:
        if checkin is None or not checkin.recipients:
            raise InvalidInput("this project's check-in has no recipients: add some, or name "
                               "the addresses to send to", field="to")
        emails, problems = selectors.resolve_recipients(checkin=checkin)
        if not emails:
            raise InvalidInput(f"no recipient can be emailed: {'; '.join(problems)}",
                               field="recipients")
        kind = ReportKind.MANUAL
        CheckIn.objects.filter(pk=checkin.pk).update(last_sent_at=now)
    return _create_report(
        project=project, checkin=checkin, kind=kind,
        period_start=_period_start(project=project, checkin=checkin, end=now),
        period_end=now, emails=emails, requested_by=user, queue=queue,
    )


# --- Assembling a report ---------------------------------------------------------------------

def _local_day(moment: datetime, zone_name: str) -> date:
    return moment.astimezone(schedule.zone(zone_name)).date()


@dataclass(frozen=True)
class Assembled:
    snapshot: dict
    figures: dict


def assemble(*, project: Project, period_start: datetime, period_end: datetime,
             time_zone: str = "UTC", report_id: int | None = None) -> Assembled:
    """Every number, sentence and figure of one report.

    The period's activity is read up to `period_end`; where the project stands (the best
    model, the baseline, guardrails, slices) is read as it is now, which for a report
    rendered when it falls due is the same moment.
    """
    tz = time_zone
    start_day, end_day = _local_day(period_start, tz), _local_day(period_end, tz)
    previous = selectors.previous_checkin(project=project, before=period_start,
                                          exclude_id=report_id)
    since = narrative.since_words(_local_day(previous.period_end, tz) if previous else None,
                                  start_day)
    at_then = narrative.at_then_words(previous is not None, start_day)
    target_row = Target.objects.filter(project=project).first()
    current = standing(project=project)
    activity = selectors.period_activity(project=project, target=target_row,
                                         start=period_start, end=period_end)
    changes = [
        narrative.target_change_sentence(
            what=c.what, old=c.old, new=c.new,
            who=(c.changed_by.get_full_name() or c.changed_by.username) if c.changed_by else "",
            on=_local_day(c.changed_at, tz))
        for c in selectors.target_changes(project=project, start=period_start, end=period_end)
    ]
    looks, looked_runs = selectors.test_reveals(project=project, start=period_start,
                                                end=period_end)
    snapshot: dict = {
        "project": {"slug": project.slug, "name": project.name},
        "period": {"start": period_start.isoformat(), "end": period_end.isoformat(),
                   "time_zone": tz, "text": narrative.period_text(start_day, end_day)},
        "previous_checkin": previous.period_end.isoformat() if previous else None,
        "since_heading": narrative.since_heading(previous is not None),
        "target": None,
        "target_changes": changes,
        "runs_sentence": narrative.runs_sentence(finished=activity.finished,
                                                 failed=activity.failed,
                                                 killed=activity.killed, since=since),
        "experiments_sentence": narrative.experiments_sentence(
            [e.name for e in activity.experiments]),
        "counts": {"finished": activity.finished, "failed": activity.failed,
                   "killed": activity.killed, "experiments": len(activity.experiments)},
        "test_looks": {"looks": looks, "runs": looked_runs,
                       "sentence": narrative.test_looks_sentence(looks=looks,
                                                                 runs=looked_runs)},
        "standing_sentence": current.sentence,
        "winner": None,
        "baseline": None,
        "guardrails": {"intro": "", "items": []},
        "slices": {"intro": "", "items": []},
        "experiments": [],
        "glossary": [],
        "charts": {},
    }
    figures: dict = {}
    if current.target is None:
        v = _decide(project=project, current=current, history=[],
                    period_start=period_start, period_end=period_end, time_zone=tz,
                    since=since, runs_finished=activity.finished)
        snapshot["verdict"] = {"kind": v.kind, "label": v.label, "sentence": v.sentence}
        snapshot["experiments"] = [
            {"name": e.name, "hypothesis": e.hypothesis,
             "sentence": narrative.experiment_runs_sentence(finished=e.finished,
                                                            failed=e.failed)}
            for e in activity.experiments]
        return Assembled(snapshot, figures)

    facts = narrative.TargetFacts.from_dict(current.target.as_dict())
    scale, unit = narrative.chart_scale(facts.metric, facts.definition)
    history = selectors.progress_history(project=project, target=current.target,
                                         until=period_end)
    then = _judged_then(history, period_start)
    now_value = current.judged_value if usable(current.judged_value) else None
    v = _decide(project=project, current=current, history=history,
                period_start=period_start, period_end=period_end, time_zone=tz,
                since=since, runs_finished=activity.finished)
    snapshot["verdict"] = {"kind": v.kind, "label": v.label, "sentence": v.sentence}
    snapshot["target"] = {**current.target.as_dict(),
                          "sentence": narrative.target_sentence(facts),
                          "selection_gloss": narrative.selection_gloss(facts),
                          "metric_gloss": narrative.metric_gloss(facts.metric,
                                                                 facts.definition)}
    snapshot["change"] = {
        "then": finite_or_none(then), "now": finite_or_none(now_value),
        "sentence": narrative.change_sentence(target=facts, then=then, now=now_value,
                                              at_then=at_then),
    }
    snapshot["glossary"] = narrative.glossary(facts)
    snapshot["experiments_note"] = narrative.experiments_note(facts)
    winner = current.winner
    if winner is not None:
        snapshot["winner"] = {
            "id": str(winner.pk), "name": winner.name, "experiment": winner.experiment.name,
            "selection_value": finite_or_none(current.winner_ranked.candidate.selection_value),
            "judged_value": finite_or_none(current.judged_value), "met": current.met,
            "lift": finite_or_none(current.lift),
        }
    baseline_name = current.baseline.name if current.baseline else None
    snapshot["baseline"] = {
        "name": baseline_name,
        "judged_value": finite_or_none(current.baseline_judged_value),
        "sentence": narrative.baseline_sentence(target=facts, name=baseline_name,
                                                judged=current.baseline_judged_value),
    }
    rules = guardrail_rules(project=project)
    snapshot["guardrails"] = {
        "intro": narrative.guardrails_intro(count=len(rules), has_winner=winner is not None),
        "items": [
            {"sentence": guardrail_sentence(g["metric"], g["actual"], op=g["op"],
                                            limit=g["value"], split=g["split"],
                                            passed=g["passed"]),
             "passed": g["passed"]}
            for g in current.guardrails],
    }
    if winner is not None and usable(current.judged_value):
        overall = current.judged_value
        slices = [
            {"split": split, "name": narrative.slice_name(split), "value": value,
             "lags": narrative.slice_lags(value=value, overall=overall,
                                          threshold=facts.threshold,
                                          direction=facts.direction)}
            for split, value in selectors.judged_slices(run=winner, target=current.target)
            if math.isfinite(value)
        ]
        lagging = [s for s in slices if s["lags"]]
        for s in lagging:
            s["sentence"] = narrative.slice_sentence(target=facts, split=s["split"],
                                                     value=s["value"], overall=overall)
        snapshot["slices"] = {
            "intro": narrative.slices_intro(lagging=len(lagging), total=len(slices),
                                            judged_on=facts.judged_on),
            "items": lagging,
        }
        if slices:
            figures["slices"] = charts.slices_figure(
                overall=overall, slices=slices, threshold=facts.threshold, scale=scale,
                label=facts.label, unit=unit, judged_split=_split_word(facts.judged_on))
    else:
        snapshot["slices"] = {"intro": narrative.slices_intro(
            lagging=0, total=0, judged_on=facts.judged_on), "items": []}
    snapshot["experiments"] = [
        {"name": e.name, "hypothesis": e.hypothesis,
         "sentence": narrative.experiment_result_sentence(
             target=facts, best_value=e.best_value, best_run=e.best_run,
             finished=e.finished, failed=e.failed,
             fails=[guardrail_sentence(g["metric"], g["actual"], op=g["op"], limit=g["value"],
                                       split=g["split"], passed=False)
                    for g in e.best_fails])}
        for e in activity.experiments]
    checkins = selectors.checkin_dates(project=project, until=period_start)
    if history:
        figures["progress"] = charts.progress_figure(
            points=[{"at": p.at.isoformat(), "selection_value": p.selection_value,
                     "judged_value": finite_or_none(p.judged_value)} for p in history],
            threshold=facts.threshold, scale=scale, label=facts.label, unit=unit,
            judged_split=_split_word(facts.judged_on),
            selected_split=_split_word(facts.selected_on),
            period_start=period_start, period_end=period_end, checkins=checkins,
            thresholds=[(at.isoformat(), value) for at, value in selectors.threshold_history(
                project=project, target=current.target, until=period_end)])
    if activity.runs:
        figures["runs"] = charts.runs_figure(
            runs=[{"run_id": r.run_id, "experiment": r.experiment,
                   "ended_at": r.ended_at.isoformat(), "value": finite_or_none(r.value),
                   "baseline": r.baseline, "passes_guardrails": r.passes_guardrails}
                  for r in activity.runs],
            baseline=finite_or_none(current.baseline_selection_value), threshold=facts.threshold,
            scale=scale, label=facts.label, unit=unit,
            selected_split=_split_word(facts.selected_on),
            winner_id=str(winner.pk) if winner else None, period_start=period_start,
            period_end=period_end)
    if any(e.best_value is not None for e in activity.experiments):
        figures["experiments"] = charts.experiments_figure(
            experiments=[{"name": e.name, "best_value": finite_or_none(e.best_value),
                          "passes_guardrails": not e.best_fails}
                         for e in activity.experiments],
            threshold=facts.threshold, baseline=finite_or_none(current.baseline_selection_value),
            scale=scale, label=facts.label, unit=unit,
            selected_split=_split_word(facts.selected_on))
    snapshot["charts"] = narrative.chart_texts(facts, list(figures))
    return Assembled(snapshot, figures)


def _split_word(split: str) -> str:
    """ "validation" for the chart legends ("the validation set"). """
    return split_phrase(split).removeprefix("the ").removesuffix(" set")


def _no_winner_reason(project: Project) -> str:
    """Why a project with a target has no best model (tracker.phrasing's reason names)."""
    if not Run.objects.live().filter(project=project, status=RunStatus.FINISHED).exists():
        return "no_finished_runs"
    if not leaderboard(project=project, limit=1):
        return "no_selection_metric"
    return "all_fail_guardrails"


def _judged_then(history: list, period_start: datetime) -> float | None:
    """The judged value of the best model at the start of the period (None if unusable)."""
    point = selectors.best_as_of(history, period_start)
    return point.judged_value if point and usable(point.judged_value) else None


def _decide(*, project: Project, current, history: list, period_start: datetime,
            period_end: datetime, time_zone: str, since: str,
            runs_finished: int) -> verdict.Verdict:
    """The verdict of the period from what its rules read: where the project stands now,
    the best model's history (selectors.progress_history) and the runs finished.

    One home for feeding verdict.decide: the rendered report and the web UI both ask here.
    """
    if current.target is None:
        return verdict.decide(target=None, no_winner_reason=None, current=None, start=None,
                              runs_finished=runs_finished, since=since)
    facts = narrative.TargetFacts.from_dict(current.target.as_dict())
    start, verdict_since = _judged_then(history, period_start), since
    if start is None and current.winner is not None:
        # No test result at the start of the period: the pace counts from its first one.
        fresh = [p for p in history if period_start < p.at <= period_end
                 and usable(p.judged_value) and p.run_id != str(current.winner.pk)]
        if fresh:
            start = fresh[0].judged_value
            verdict_since = narrative.since_first_result(_local_day(fresh[0].at, time_zone))
    no_winner_reason = _no_winner_reason(project) if current.winner is None else None
    return verdict.decide(target=facts, no_winner_reason=no_winner_reason,
                          current=current.judged_value, start=start,
                          runs_finished=runs_finished, since=verdict_since)


def current_verdict(*, project: Project, now: datetime | None = None,
                    current: Standing | None = None) -> verdict.Verdict:
    """The verdict a check-in would give right now, for the period since the last one.

    Reads only what the verdict rules need (where the project stands, the best model's
    history, how many runs finished in the period), never the charts, slices or activity of
    a whole report, so a page listing many projects can ask for each one. `current` is
    tracker.selectors.winner.standing(project) when the caller has it already.
    """
    now = now or timezone.now()
    checkin = CheckIn.objects.filter(project=project).first()
    tz = _report_zone(checkin)
    period_start = _period_start(project=project, checkin=checkin, end=now)
    previous = selectors.previous_checkin(project=project, before=period_start)
    since = narrative.since_words(_local_day(previous.period_end, tz) if previous else None,
                                  _local_day(period_start, tz))
    current = current or standing(project=project)
    history = (selectors.progress_history(project=project, target=current.target, until=now)
               if current.target is not None else [])
    return _decide(project=project, current=current, history=history,
                   period_start=period_start, period_end=now, time_zone=tz, since=since,
                   runs_finished=selectors.runs_finished(project=project, start=period_start,
                                                         end=now))


# --- Rendering -------------------------------------------------------------------------------

@dataclass(frozen=True)
class RenderOutcome:
    # "rendered"; "already" (rendered before); "busy" (another worker holds the lease);
    # "missing"; "failed" (gave up after too many attempts)
    state: str
    retry_in: float | None = None  # for "busy": when the other worker's lease runs out
    seconds: float | None = None


def draw_charts(figures: dict) -> dict:
    """Each figure as {"image": data URI} or, when it cannot be drawn, {"error": sentence}."""
    drawn = {}
    for name, figure in figures.items():
        try:
            drawn[name] = {"image": svg_data_uri(figure_to_svg(figure))}
        except ChartUnavailable as exc:
            logger.error("chart %s could not be drawn: %s", name, exc)
            drawn[name] = {"error": f"This chart could not be drawn: {exc}."}
    return drawn


def render_html(*, snapshot: dict, drawn: dict) -> str:
    return render_to_string("reports/report.html", {"s": snapshot, "charts": drawn})


def render_report(*, report_id: int) -> RenderOutcome:
    """Render a pending report to HTML and PDF and store both, once.

    The lease (a conditional UPDATE) keeps two workers from rendering the same report at
    the same time; one killed mid-render leaves an expiring lease for the next to take.
    """
    now = timezone.now()
    taken = (Report.objects.filter(pk=report_id, status=ReportStatus.PENDING)
             .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
             .update(lease_until=now + _lease(), render_attempts=F("render_attempts") + 1))
    if not taken:
        report = Report.objects.filter(pk=report_id).first()
        if report is None:
            return RenderOutcome("missing")
        if report.status != ReportStatus.PENDING:
            return RenderOutcome("already")
        return RenderOutcome("busy", retry_in=max(
            1.0, (report.lease_until - now).total_seconds() + 1))
    report = Report.objects.select_related("project").get(pk=report_id)
    if report.render_attempts > settings.REPORT_MAX_RENDER_ATTEMPTS:
        _give_up(report)
        return RenderOutcome("failed")
    started = time.perf_counter()
    try:
        assembled = assemble(project=report.project, period_start=report.period_start,
                             period_end=report.period_end, time_zone=report.time_zone,
                             report_id=report.pk)
        html = render_html(snapshot=assembled.snapshot, drawn=draw_charts(assembled.figures))
        pdf = html_to_pdf(html)
    except Exception as exc:
        # The lease stays: the dispatcher tries again once it runs out, up to
        # REPORT_MAX_RENDER_ATTEMPTS times.
        Report.objects.filter(pk=report.pk).update(
            render_error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    seconds = time.perf_counter() - started
    snapshot = {**assembled.snapshot, "pages": pdf.pages}
    filename = f"{report.project.slug}-check-in-{report.period_end:%Y-%m-%d}-{report.pk}.pdf"
    report.pdf.save(filename, ContentFile(pdf.content), save=False)
    stored = Report.objects.filter(pk=report.pk, status=ReportStatus.PENDING).update(
        status=ReportStatus.RENDERED, verdict=snapshot["verdict"]["kind"],
        verdict_sentence=snapshot["verdict"]["sentence"], snapshot=snapshot,
        figures=assembled.figures, html=html, pdf=report.pdf.name,
        rendered_at=timezone.now(), render_seconds=round(seconds, 3), render_error="",
        lease_until=timezone.now() + _lease(),
    )
    if not stored:  # our lease ran out and another worker finished first: keep theirs
        report.pdf.storage.delete(report.pdf.name)
        return RenderOutcome("already")
    return RenderOutcome("rendered", seconds=seconds)


def _give_up(report: Report) -> None:
    """After too many failed renders: close the report and say why on every delivery."""
    reason = (f"the report could not be rendered after {settings.REPORT_MAX_RENDER_ATTEMPTS} "
              f"attempts: {report.render_error or 'the worker stopped each time'}")
    logger.error("report %s: %s", report.pk, reason)
    with transaction.atomic():
        Delivery.objects.filter(report=report).exclude(
            status__in=FINAL_DELIVERY_STATUSES).update(status=DeliveryStatus.FAILED,
                                                       last_error=reason[:2000])
        Report.objects.filter(pk=report.pk).update(status=ReportStatus.DONE, lease_until=None,
                                                   render_error=reason[:2000])


# --- Delivery --------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeliveryOutcome:
    state: str  # "done", "waiting" (retries scheduled), "not_rendered", "missing"
    sent: int = 0
    retry_at: datetime | None = None


def _backoff(attempts: int) -> timedelta:
    """60 s, 2 min, 4 min … (REPORT_SMTP_RETRY_DELAY doubled), at most 30 minutes."""
    base = settings.REPORT_SMTP_RETRY_DELAY
    return timedelta(seconds=min(base * 2 ** max(0, attempts - 1), 1800))


def _is_transient(exc: Exception) -> bool:
    """Whether trying again later may help (server down, busy, 4xx), or not (5xx refusal)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return any(code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return True  # a configuration problem: retries deliver once it is fixed
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code < 500
    return True  # connection refused, timeouts, disconnects, anything unexpected


def _message_domain() -> str:
    sender = settings.DEFAULT_FROM_EMAIL
    return sender.rsplit("@", 1)[-1].strip("> ") if "@" in sender else "targetline.local"


def _send_due(deliveries, build) -> int:
    """Send each due delivery once: claim it ("sending"), send, record the outcome.

    The claim is a conditional UPDATE committed before SMTP is contacted; the outcome is
    committed right after. `build(delivery)` returns the EmailMessage.
    """
    now = timezone.now()
    due = list(deliveries.filter(status__in=OPEN_DELIVERY_STATUSES)
               .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)))
    if not due:
        return 0
    sent = 0
    for delivery in due:
        claimed = Delivery.objects.filter(
            pk=delivery.pk, status=delivery.status, attempts=delivery.attempts,
        ).update(status=DeliveryStatus.SENDING, attempts=F("attempts") + 1,
                 claimed_at=timezone.now())
        if not claimed:
            continue  # another worker has it
        attempts = delivery.attempts + 1
        try:
            build(delivery).send()
        except Exception as exc:
            transient = _is_transient(exc)
            final = not transient or attempts >= settings.REPORT_SMTP_MAX_ATTEMPTS
            logger.warning("email to %s failed (attempt %d): %s", delivery.email, attempts,
                           exc)
            Delivery.objects.filter(pk=delivery.pk).update(
                status=DeliveryStatus.FAILED if final else DeliveryStatus.RETRY,
                last_error=f"{type(exc).__name__}: {exc}"[:2000],
                next_attempt_at=None if final else timezone.now() + _backoff(attempts),
            )
            continue
        Delivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error="",
            next_attempt_at=None)
        sent += 1
    return sent


def _next_retry(deliveries) -> datetime | None:
    return (deliveries.filter(status=DeliveryStatus.RETRY)
            .aggregate(at=Min("next_attempt_at"))["at"])


def _report_message(report: Report, pdf_bytes: bytes):
    snapshot = report.snapshot
    target = snapshot.get("target") or {}
    filename = (f"{report.project.slug}-check-in-"
                f"{_local_day(report.period_end, report.time_zone).isoformat()}.pdf")
    subject = narrative.report_subject(project=report.project.name,
                                       verdict_label=snapshot["verdict"]["label"])
    body = narrative.report_email_body(
        project=report.project.name, period=snapshot["period"]["text"],
        verdict_label=snapshot["verdict"]["label"],
        verdict_sentence=snapshot["verdict"]["sentence"],
        target_sentence=target.get("sentence"), pages=snapshot.get("pages", 1))

    def build(delivery: Delivery) -> EmailMessage:
        message = EmailMessage(
            subject=subject, body=body, to=[delivery.email],
            headers={"Message-ID": f"<report-{report.pk}.{delivery.pk}@{_message_domain()}>"},
        )
        message.attach(filename, pdf_bytes, "application/pdf")
        return message

    return build


def deliver_report(*, report_id: int) -> DeliveryOutcome:
    """Email a rendered report to every recipient who has not had it yet."""
    report = Report.objects.select_related("project").filter(pk=report_id).first()
    if report is None:
        return DeliveryOutcome("missing")
    if report.status == ReportStatus.PENDING:
        return DeliveryOutcome("not_rendered")
    deliveries = Delivery.objects.filter(report=report)
    sent = 0
    if report.status == ReportStatus.RENDERED:
        Report.objects.filter(pk=report.pk).update(lease_until=timezone.now() + _lease())
        if deliveries.filter(status__in=OPEN_DELIVERY_STATUSES).exists():
            with report.pdf.open("rb") as handle:
                pdf_bytes = handle.read()
            sent = _send_due(deliveries, _report_message(report, pdf_bytes))
    first_sent = (deliveries.filter(status=DeliveryStatus.SENT)
                  .aggregate(at=Min("sent_at"))["at"])
    if first_sent:
        Report.objects.filter(pk=report.pk, sent_at__isnull=True).update(sent_at=first_sent)
    if deliveries.exclude(status__in=FINAL_DELIVERY_STATUSES).exists():
        retry_at = _next_retry(deliveries)
        if retry_at is not None:
            Report.objects.filter(pk=report.pk).update(lease_until=retry_at + _lease())
        return DeliveryOutcome("waiting", sent=sent, retry_at=retry_at)
    Report.objects.filter(pk=report.pk).update(status=ReportStatus.DONE, lease_until=None)
    return DeliveryOutcome("done", sent=sent)


def deliver_alert(*, alert_id: int) -> DeliveryOutcome:
    """Email an alert to every recipient who has not had it yet."""
    alert = Alert.objects.select_related("project").filter(pk=alert_id).first()
    if alert is None:
        return DeliveryOutcome("missing")
    deliveries = Delivery.objects.filter(alert=alert)

    def build(delivery: Delivery) -> EmailMessage:
        return EmailMessage(
            subject=alert.subject, body=alert.body, to=[delivery.email],
            headers={"Message-ID": f"<alert-{alert.pk}.{delivery.pk}@{_message_domain()}>"})

    sent = _send_due(deliveries, build)
    if deliveries.exclude(status__in=FINAL_DELIVERY_STATUSES).exists():
        return DeliveryOutcome("waiting", sent=sent, retry_at=_next_retry(deliveries))
    return DeliveryOutcome("done", sent=sent)


# --- Alerts ----------------------------------------------------------------------------------

def _target_key(target: dict) -> str:
    return "|".join(str(target[k]) for k in ("metric", "direction", "threshold", "judged_on",
                                             "selected_on"))


def check_alerts(*, project_id: int, run_id: str | None = None,
                 now: datetime | None = None) -> list[Alert]:
    """Alert owners and recipients when the target is met for the first time, or when the
    best model changes because of run `run_id`; each event once. Without `run_id` (the
    target or the guardrails changed, no run did) only a target met for the first time is
    news: a best model that changed because the rules did is told by the next report, with
    the change of rules beside it.

    "First time" and "previous best" come from replaying the winner rules over the runs
    in the order they finished (selectors.progress_history), not from earlier alerts, so a
    project that had a best model before alerts existed is told the right story. Each
    event has a unique key, taken in the database: two workers checking at once send one.
    """
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return []
    current = standing(project=project)
    if current.target is None or current.winner is None:
        return []
    now = now or timezone.now()
    target = current.target.as_dict()
    facts = narrative.TargetFacts.from_dict(target)
    winner = current.winner
    history = selectors.progress_history(project=project, target=current.target, until=now)
    in_step = bool(history) and history[-1].run_id == str(winner.pk)
    previous = history[-2] if in_step and len(history) > 1 else None
    previous_id = previous.run_id if previous else None
    winner_key = f"{previous_id or '-'}->{winner.pk}"
    new_winner = (in_step and run_id is not None and run_id in {str(winner.pk), previous_id}
                  and not Alert.objects.filter(project=project, kind=AlertKind.WINNER_CHANGED,
                                               key=winner_key).exists())
    met_key = _target_key(target)
    met_before = any(
        usable(p.judged_value) and (p.judged_value >= facts.threshold
                                    if facts.direction == "maximize"
                                    else p.judged_value <= facts.threshold)
        for p in history[:-1]) if in_step else False
    first_met = (bool(current.met) and not met_before and not Alert.objects.filter(
        project=project, kind=AlertKind.TARGET_MET, key=met_key).exists())
    if not new_winner and not first_met:
        return []
    winner_words = (narrative.new_winner_sentence(
        run=winner.name, experiment=winner.experiment.name,
        previous=previous.run_name if previous else None) if new_winner else None)
    snapshot = {"run_id": str(winner.pk), "run_name": winner.name,
                "previous_run_id": previous_id, "target": target,
                "judged_value": finite_or_none(current.judged_value), "met": current.met}
    body = narrative.alert_body(project=project.name, target_met=first_met,
                                new_winner=winner_words, winner_sentence=current.sentence,
                                target_sentence=narrative.target_sentence(facts))
    subject = narrative.alert_subject(project=project.name, target_met=first_met)
    if previous_id and not Run.objects.filter(pk=previous_id).exists():
        previous_id = None
    created: list[Alert] = []
    with transaction.atomic():
        lead = None
        if first_met:
            lead = _create_alert(project=project, kind=AlertKind.TARGET_MET, key=met_key,
                                 winner=winner, subject=subject, body=body, snapshot=snapshot,
                                 previous_id=previous_id)
            if lead:
                created.append(lead)
        if new_winner:
            told = _create_alert(project=project, kind=AlertKind.WINNER_CHANGED,
                                 key=winner_key, winner=winner, subject=subject, body=body,
                                 snapshot=snapshot, previous_id=previous_id, sent_with=lead)
            if told:
                created.append(told)
        emails = selectors.alert_recipients(project=project)
        for alert in created:
            if alert.sent_with_id is None:
                Delivery.objects.bulk_create(Delivery(alert=alert, email=e) for e in emails)
                enqueue_task("deliver_alert_task", alert.pk)
    return created


def _create_alert(*, project: Project, kind: str, key: str, winner, subject: str, body: str,
                  snapshot: dict, previous_id: str | None = None,
                  sent_with: Alert | None = None) -> Alert | None:
    try:
        with transaction.atomic():
            return Alert.objects.create(
                project=project, kind=kind, key=key, run=winner,
                previous_run_id=previous_id, subject=subject, body=body,
                snapshot=snapshot, sent_with=sent_with)
    except IntegrityError:
        return None  # another worker recorded the same event first


# --- The dispatcher --------------------------------------------------------------------------

def recover_stalled_work(*, now: datetime | None = None) -> dict:
    """Hand work whose worker died (or whose task was lost) to another worker.

    - a delivery still "sending" a lease after it began: the worker died mid-send; mark it
      "unknown" and never send it again (the email may have gone out);
    - a pending or rendered report whose lease ran out: queue its next step again;
    - alert emails waiting longer than a lease: queue them again.
    """
    now = now or timezone.now()
    stale = now - _lease()
    unknown = Delivery.objects.filter(status=DeliveryStatus.SENDING,
                                      claimed_at__lt=stale).update(
        status=DeliveryStatus.UNKNOWN,
        last_error="the worker stopped while sending this email; it may or may not have "
                   "arrived, so it is not sent again")
    # Lease run out (or never taken), and not queued again within the last lease: a backlog
    # of slow renders must not multiply into a pile of duplicate tasks.
    stalled = ((Q(lease_until__lt=now) | Q(lease_until__isnull=True))
               & (Q(queued_at__lt=stale) | Q(queued_at__isnull=True, created_at__lt=stale)))
    to_render = list(Report.objects.filter(stalled, status=ReportStatus.PENDING)
                     .values_list("id", flat=True))
    to_deliver = list(Report.objects.filter(stalled, status=ReportStatus.RENDERED)
                      .values_list("id", flat=True))
    Report.objects.filter(id__in=to_render + to_deliver).update(queued_at=now)
    for report_id in to_render:
        enqueue_task("render_report_task", report_id)
    for report_id in to_deliver:
        enqueue_task("deliver_report_task", report_id)
    alerts = list(Delivery.objects.filter(alert__isnull=False).filter(
        Q(status=DeliveryStatus.PENDING, created_at__lt=stale)
        | Q(status=DeliveryStatus.RETRY, next_attempt_at__lt=stale),
    ).values_list("alert_id", flat=True).distinct())
    for alert_id in alerts:
        enqueue_task("deliver_alert_task", alert_id)
    return {"unknown": unknown, "render": len(to_render), "deliver": len(to_deliver),
            "alerts": len(alerts)}


def tick(*, now: datetime | None = None) -> dict:
    """What Celery beat runs every REPORT_DISPATCH_INTERVAL seconds."""
    now = now or timezone.now()
    reports = dispatch_due_checkins(now=now)
    recovered = recover_stalled_work(now=now)
    return {"dispatched": [r.pk for r in reports], **recovered}
