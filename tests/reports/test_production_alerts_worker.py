"""End to end: a team posts its live results through the API and a real Celery worker
(tests/reports/test_worker.py's) emails the production alerts to a real SMTP server and
tells a webhook, a real HTTP receiver on loopback: each once per episode."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from reports.models import AlertKind
from tests.reports import test_worker
from tests.reports.test_production_alerts import REFERENCE, SHIFTED
from tests.reports.test_worker import wait_for
from tracker.selectors.winner import standing
from tracker.services import production as production_services

pytestmark = pytest.mark.django_db(transaction=True)

smtp = test_worker.smtp
start_worker = test_worker.start_worker
BASE = "https://targetline.example.com"
NOV_3 = datetime(2025, 11, 3, tzinfo=UTC)
WEEK = timedelta(days=7)
RECIPIENTS = ["cfo@example.com", "dana@example.com", "olivia@example.com"]
SIGNATURE = "-- \nTargetline (an alert is sent once per episode)"
F1_MEANS = "a balance of finding the cases that matter and being right when it flags one"


@pytest.fixture
def queued():
    """The conftest's stand-in broker, switched off: tasks queued here reach the worker."""
    return []


@pytest.fixture(autouse=True)
def webhook_environment(monkeypatch, settings):
    for name, value in {"WEBHOOK_ALLOW_PRIVATE": "true", "WEBHOOK_RETRY_DELAY": "1",
                        "PUBLIC_BASE_URL": BASE}.items():
        monkeypatch.setenv(name, value)
    settings.WEBHOOK_ALLOW_PRIVATE = True


class Team:
    """The owner's API client, posting a week of live results at a time."""

    def __init__(self, api, deployment_id: int, worker):
        self.api, self.deployment_id, self.worker = api, deployment_id, worker
        self.checks = 0

    def week(self, n: int, f1: float) -> None:
        start = NOV_3 + n * WEEK
        answer = self.api.post(f"/api/v1/deployments/{self.deployment_id}/results", {
            "window_start": start.isoformat(), "window_end": (start + WEEK).isoformat(),
            "metrics": {"f1": f1}, "count": 1240, "labelled": 310}, format="json")
        assert answer.status_code == 201, answer.json()
        self.settle()

    def settle(self) -> None:
        """Wait for the worker to have checked the alerts after this change too."""
        self.checks += 1
        wait_for(lambda: self.worker.text().count("check_production_alerts_task[")
                 >= 2 * self.checks, 60, "the production check", self.worker)  # got, done


def bodies(messages) -> list[str]:
    """The texts as written: SMTP carries lines ending in CRLF, and a last line break."""
    return [m.get_payload(decode=True).decode().replace("\r\n", "\n").removesuffix("\n")
            for m in messages]


BELOW_BAR_BODY = f"""\
The model live in production has fallen below the agreed bar.

Live since 3 November 2025: on 310 checked cases from 10 to 16 November 2025 the model \
scored 80 out of 100 on F1, {F1_MEANS}, below the agreed 85 (it scored 86 on the test set). \
Retraining is recommended.

- Live F1 score, from 10 to 16 November 2025: 80 out of 100, on 310 checked cases (of 1,240)
- The agreed bar: at least 85 out of 100
- On the test set: 86 out of 100

The Production page: {BASE}/p/news-topics/production/

You will hear of it again only if the live results recover and then fall short once more.

""" + SIGNATURE

DRIFT_BODY = f"""\
The inputs the live model sees no longer look like its training data.

Live since 3 November 2025: on 310 checked cases from 8 to 14 December 2025 the model scored \
90 out of 100 on F1, {F1_MEANS}, above the agreed 85 (it scored 86 on the test set). One input \
has shifted markedly since training: ticket length. The results still hold; watch the next ones.

- Live F1 score, from 8 to 14 December 2025: 90 out of 100, on 310 checked cases (of 1,240)
- The agreed bar: at least 85 out of 100
- On the test set: 86 out of 100

Drift of the live inputs from 8 to 14 December 2025 against the training data (population \
stability index: below 0.1 stable, 0.1 to 0.25 moderate, above 0.25 significant):
- ticket length: 0.4573, significant (new)
- channel: 0.0004, stable

The Production page: {BASE}/p/news-topics/production/

You will hear of an input again only once it has been back to stable and then shifts \
markedly once more.

""" + SIGNATURE


def test_live_results_and_drift_are_emailed_and_told_once_per_episode(
        start_worker, smtp, receiver, checkin, api):
    inbox = smtp.start()
    project = checkin.project
    hook = api.post(f"/api/v1/projects/{project.slug}/webhooks/", {
        "url": receiver.answer("/production", 200), "kind": "generic",
        "events": ["production.below_bar", "production.drift"]}, format="json")
    assert hook.status_code == 201, hook.json()
    svm = standing(project=project).winner
    deployed = api.post(f"/api/v1/projects/{project.slug}/deployments/", {
        "run": str(svm.pk), "environment": "production",
        "started_at": NOV_3.isoformat()}, format="json")
    assert deployed.status_code == 201, deployed.json()
    team = Team(api, deployed.json()["id"], start_worker())

    team.week(0, 0.88)  # above the bar
    team.week(1, 0.80)  # below: told
    wait_for(lambda: len(inbox.messages) == 3, 60, "the first alert", team.worker)
    team.week(2, 0.79)  # another week below: the same episode
    time.sleep(2)
    assert inbox.recipients() == RECIPIENTS
    assert {m["Subject"] for m in inbox.messages} == {
        "News topics: the live model fell below the agreed bar"}
    assert set(bodies(inbox.messages)) == {BELOW_BAR_BODY}

    team.week(3, 0.90)  # recovered
    team.week(4, 0.80)  # below again: told again
    wait_for(lambda: len(inbox.messages) == 6, 60, "the second alert", team.worker)

    # The deployed run's reference profile, then a week where one input
    # shifted (the routes that take them call these services).
    production_services.record_run_profile(run=svm, profile=REFERENCE)
    team.settle()
    team.week(5, 0.90)
    production_services.record_live_profile(
        deployment=project.deployments.get(), window_start=NOV_3 + 5 * WEEK,
        window_end=NOV_3 + 6 * WEEK, profile=SHIFTED)
    team.settle()
    wait_for(lambda: len(inbox.messages) == 9, 60, "the drift alert", team.worker)
    time.sleep(2)  # nothing else may arrive
    drift = inbox.messages[6:]
    assert sorted(m["To"] for m in drift) == RECIPIENTS
    assert {m["Subject"] for m in drift} == {
        "News topics: ticket length has shifted markedly since training"}
    assert set(bodies(drift)) == {DRIFT_BODY}
    assert len(inbox.messages) == 9

    wait_for(lambda: len(receiver.at("/production")) == 3, 30, "the notices", team.worker)
    posts = [p.json() for p in receiver.at("/production")]
    assert [p["event"] for p in posts] == [AlertKind.BELOW_BAR, AlertKind.BELOW_BAR,
                                           AlertKind.DRIFT]
    assert len({p["event_id"] for p in posts}) == 3
    assert all(p.signature_verifies(hook.json()["secret"])
               for p in receiver.at("/production"))
    assert posts[2]["drifted"] == ["ticket_length"]
    assert posts[0]["links"]["production"] == f"{BASE}/p/news-topics/production/"
