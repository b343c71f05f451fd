"""After deployment: store the input profiles drift is measured on, and decide (once per
episode) which production alerts are due.

A run's reference profile is checked for shape (tracker.drift.profile_errors); a live
profile also against the deployed run's reference, when there is one, so a window binned
with other edges is refused rather than silently left out of the drift. Without a reference
yet, live profiles are stored as sent and compared once the reference arrives.
"""

from datetime import date, datetime

from django.db import transaction

from tracker import drift as drift_rules
from tracker import limits, signals
from tracker import production_rules as rules
from tracker.errors import InvalidInput, LimitExceeded, NotFound
from tracker.models import Deployment, LiveProfile, Project, Run, RunProfile
from tracker.selectors.deployments import live_deployment
from tracker.selectors.production import ProductionAnswer, production_answer, reference_profile
from tracker.services.runs import check_not_deleted


def _checked(profile: object, *, reference: dict | None = None) -> dict:
    """The profile when valid; InvalidInput naming the first mistake's path otherwise."""
    features = profile.get("features") if isinstance(profile, dict) else None
    if isinstance(features, dict):
        if len(features) > limits.MAX_PROFILE_FEATURES:
            raise LimitExceeded(f"{len(features)} features in the profile; the limit is "
                                f"{limits.MAX_PROFILE_FEATURES}", field="features")
        for name, feature in features.items():
            bins = feature.get("counts") if isinstance(feature, dict) else None
            if isinstance(bins, list | dict) and len(bins) > limits.MAX_PROFILE_BINS:
                raise LimitExceeded(f"{len(bins)} bins in features.{name}; the limit is "
                                    f"{limits.MAX_PROFILE_BINS}", field=f"features.{name}")
    errors = drift_rules.profile_errors(profile, reference=reference)
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InvalidInput(f"{first.path} {first.message}{more}", field=first.path)
    return profile


def record_run_profile(*, run: Run, profile: object) -> tuple[RunProfile, bool]:
    """Store the run's reference profile (replacing an earlier one); (profile, created).
    A run in the trash takes none (Conflict), as it takes no points."""
    check_not_deleted(run)
    checked = _checked(profile)
    if not Run.objects.filter(pk=run.pk).exists():
        raise NotFound(f"no run {run.pk}", field="run")
    stored = RunProfile.objects.update_or_create(run=run, defaults={"profile": checked})
    if Deployment.objects.live().filter(run=run).exists():  # its drift is read against it
        signals.production_changed.send(sender=Project, project=run.project)
    return stored


def record_live_profile(*, deployment: Deployment, window_start: datetime,
                        window_end: datetime, profile: object) -> tuple[LiveProfile, bool]:
    """Store the deployment's profile of one window (the same window again replaces it);
    (profile, created)."""
    if window_end <= window_start:
        raise InvalidInput(f"window_end {window_end.isoformat()} must be after window_start "
                           f"{window_start.isoformat()}", field="window_end")
    reference = reference_profile(deployment=deployment)
    checked = _checked(profile, reference=reference.profile if reference else None)
    if not Deployment.objects.filter(pk=deployment.pk).exists():
        raise NotFound(f"no deployment {deployment.pk}", field="deployment")
    stored = LiveProfile.objects.update_or_create(
        deployment=deployment, window_start=window_start, window_end=window_end,
        defaults={"profile": checked})
    signals.production_changed.send(sender=Project, project=deployment.project)
    return stored


def due_alerts(*, project: Project, today: date | None = None,
               environment: str = "production") -> tuple[ProductionAnswer, rules.Alerts | None]:
    """The production answer and the alerts due now, once per episode: the deployment's
    stored episodes are read and updated under a row lock, so two workers evaluating at once
    send each alert once. No alerts (None) when nothing is deployed or no target is agreed.

    The row is locked before the answer is read: evaluations are applied in the order they
    take the lock, each reading figures at least as new as the one before (one that read
    older figures cannot reopen an episode a newer one closed). Called inside the caller's
    transaction, the lock holds until it commits, so the caller can record what it sends
    with the episodes it stores: both, or neither."""
    with transaction.atomic():
        live = live_deployment(project=project, environment=environment)
        locked = (Deployment.objects.select_for_update().filter(pk=live.pk).first()
                  if live is not None else None)
        answer = production_answer(project=project, today=today, environment=environment)
        if (locked is None or answer.deployment is None or answer.deployment.pk != locked.pk
                or answer.target is None):
            return answer, None
        drift = answer.drift.features if answer.drift else []
        alerts = rules.alerts_due(rules.Episodes.from_dict(locked.alert_episodes),
                                  status=answer.status, drift=drift)
        if alerts.episodes.as_dict() != rules.Episodes.from_dict(locked.alert_episodes).as_dict():
            locked.alert_episodes = alerts.episodes.as_dict()
            locked.save(update_fields=["alert_episodes"])
    return answer, alerts
