"""After deployment, as a user reads it: the reference and live profiles of a deployment, its
drift, and the production answer (is the deployed model still above the agreed bar?).

The rules are pure (tracker.production_rules, tracker.drift); this module gathers their inputs
from the database: the project's target, the deployment live in production, its live results
of the target metric, the deployed run's test figure, and the drift of its latest live
profile against the run's reference profile.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.utils import timezone

from tracker import drift as drift_rules
from tracker import production_rules as rules
from tracker.models import Deployment, LiveProfile, LiveResult, Project, RunProfile, Target
from tracker.selectors.deployments import live_deployment
from tracker.selectors.winner import judged_value

NOT_DEPLOYED = "Nothing is live in production yet: record a deployment to follow its results."
NO_TARGET = ("No target is agreed yet, so the live results cannot be judged: agree on the "
             "metric and the bar first.")


def reference_profile(*, deployment: Deployment) -> RunProfile | None:
    """The deployed run's reference profile, when it logged one (a deployed model version
    uses its run's)."""
    if deployment.run_id is None:
        return None
    return RunProfile.objects.filter(run_id=deployment.run_id).first()


def live_profiles(*, deployment: Deployment) -> QuerySet[LiveProfile]:
    """The deployment's live profiles, one per window, oldest window first."""
    return LiveProfile.objects.filter(deployment=deployment)


@dataclass(frozen=True)
class DriftReading:
    """The drift of one live window against the reference: per feature, the most drifted
    first, and how the share of predictions per class moved (None without predictions)."""

    window_start: datetime
    window_end: datetime
    features: list[drift_rules.FeatureDrift]
    predictions: drift_rules.Predictions | None


def drift_readings(*, deployment: Deployment) -> list[DriftReading]:
    """The drift of each live window against the reference profile, oldest window first;
    empty when the deployed run has no reference profile."""
    reference = reference_profile(deployment=deployment)
    if reference is None:
        return []
    return [DriftReading(live.window_start, live.window_end,
                         drift_rules.drift(reference.profile, live.profile),
                         drift_rules.predictions(reference.profile, live.profile))
            for live in live_profiles(deployment=deployment)]


def latest_drift(*, deployment: Deployment) -> DriftReading | None:
    """The drift of the latest live window (by its end), or None without one to compare."""
    reference = reference_profile(deployment=deployment)
    latest = live_profiles(deployment=deployment).order_by("-window_end", "-window_start").first()
    if reference is None or latest is None:
        return None
    return DriftReading(latest.window_start, latest.window_end,
                        drift_rules.drift(reference.profile, latest.profile),
                        drift_rules.predictions(reference.profile, latest.profile))


def live_windows(*, results: list[LiveResult], metric: str,
                 zone: ZoneInfo | None = None) -> list[rules.LiveWindow]:
    """The live results as the rules read them: the metric's value per window (None when
    that window did not measure it), its moments in `zone` (the current time zone when
    None), so its days are the reader's."""
    return [rules.LiveWindow(timezone.localtime(r.window_start, zone),
                             timezone.localtime(r.window_end, zone), r.metrics.get(metric),
                             r.labelled)
            for r in results]


@dataclass(frozen=True)
class ProductionAnswer:
    """Is the model deployed in production still above the agreed bar? `status` is one of
    tracker.production_rules.STATUSES; `window` the live window quoted."""

    project: Project
    deployment: Deployment | None
    target: Target | None
    test_value: float | None
    results: list[LiveResult]
    status: str
    sentence: str
    retrain: bool = False
    reason: str = ""
    window: rules.LiveWindow | None = None
    drift: DriftReading | None = None
    windows: list[rules.LiveWindow] = field(default_factory=list)

    @property
    def quoted(self) -> LiveResult | None:
        """The live result of the window quoted."""
        if self.window is None:
            return None
        return next((r for r in self.results if (r.window_start, r.window_end) ==
                     (self.window.start, self.window.end)), None)


def production_answer(*, project: Project, today: date | None = None,
                      environment: str = "production",
                      time_zone: str | None = None) -> ProductionAnswer:
    """The production answer for the deployment live in `environment` (the rules of
    tracker.production_rules, drift from the latest live profile). Days are said in
    `time_zone` (an IANA name; the current time zone when None): a check-in report's."""
    zone = ZoneInfo(time_zone) if time_zone else None
    today = today or timezone.localdate(timezone=zone)
    deployment = live_deployment(project=project, environment=environment)
    target = Target.objects.filter(project=project).first()
    if deployment is None:
        return ProductionAnswer(project, None, target, None, [], rules.NO_RESULTS,
                                NOT_DEPLOYED)
    results = list(LiveResult.objects.filter(deployment=deployment))
    drift = latest_drift(deployment=deployment)
    if target is None:
        return ProductionAnswer(project, deployment, None, None, results, rules.NO_RESULTS,
                                NO_TARGET, drift=drift)
    test_value = judged_value(deployment.run, target) if deployment.run is not None else None
    windows = live_windows(results=results, metric=target.metric, zone=zone)
    found = rules.production(
        metric=target.metric, direction=target.direction, threshold=target.threshold,
        test_value=test_value, windows=windows, drift=drift.features if drift else [],
        live_since=timezone.localtime(deployment.started_at, zone), today=today,
        judged_on=target.judged_on, cases=project.case_noun or "cases",
        definition=target.definition or None)
    return ProductionAnswer(project, deployment, target, test_value, results, found.status,
                            found.sentence, found.retrain, found.reason, found.window, drift,
                            windows)
