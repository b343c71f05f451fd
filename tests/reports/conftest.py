import pytest
from django.utils import timezone

from reports import checkins, rendering, tasks, workflow
from reports.models import Report
from reports.narrative import day_text
from reports.periods import local_day
from tests.factories import make_run
from tests.reports.webhook_receiver import Receiver
from tracker.services import projects as project_services

TASKS = ("dispatch_checkins", "render_report_task", "deliver_report_task", "check_alerts_task",
         "check_production_alerts_task", "deliver_alert_task", "deliver_webhook_task")


@pytest.fixture(autouse=True)
def report_files(settings, tmp_path):
    """PDFs go to a temporary folder, not var/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def queued(monkeypatch):
    """Tasks the code under test queued, as (task name, args, options); nothing reaches a broker."""
    calls: list[tuple] = []
    for name in TASKS:
        task = getattr(tasks, name)

        def record(args=None, kwargs=None, _name=name, **options):
            calls.append((_name, tuple(args or ()), options))
        monkeypatch.setattr(task, "apply_async", record)
    return calls


@pytest.fixture
def no_charts(monkeypatch):
    """Render without Chromium: tests of the report's life cycle, not of its pictures."""
    monkeypatch.setattr(rendering, "draw_charts", lambda figures: {
        name: {"error": "This chart was not drawn in this test."} for name in figures})


@pytest.fixture
def with_runs(project, owner):
    """`project` (target F1 >= 0.85 on test, latency_ms <= 50) with a baseline and two
    candidates; "svm" is the best model (86 out of 100 on test)."""
    make_run(project, owner, name="rules", experiment="rules", baseline=True,
             series={"validation.f1": 0.70, "test.f1": 0.69, "test.latency_ms": 2})
    make_run(project, owner, name="lr", experiment="linear",
             series={"validation.f1": [0.7, 0.8], "test.f1": 0.79, "test.latency_ms": 5})
    make_run(project, owner, name="svm", experiment="svm",
             series={"validation.f1": [0.8, 0.84], "test.f1": 0.86, "test.latency_ms": 9,
                     "test/long_texts.f1": 0.71, "test/short_texts.f1": 0.9})
    return project


@pytest.fixture
def met_sentence(with_runs) -> str:
    """The verdict's sentence for `with_runs`, whose runs all finished today (in Paris)."""
    today = day_text(local_day(timezone.now(), "Europe/Paris"))
    return ("The best model's F1 score on the test set is 86 out of 100, at or above the "
            f"agreed bar of 85, and has been since {today}.")


@pytest.fixture
def checkin(with_runs, make_user):
    """A weekly check-in of `with_runs` for Dana (a viewer) and an outside address."""
    dana = make_user("dana")
    project_services.set_member(project=with_runs, username="dana", role="viewer")
    return checkins.save_checkin(project=with_runs, data={
        "cadence": "weekly", "weekday": "monday", "local_time": "09:00",
        "time_zone": "Europe/Paris", "recipients": [dana.username, "cfo@example.com"]})


@pytest.fixture
def rendered_report(checkin, no_charts):
    """A function: a report of `checkin` sent now (send_now's keywords) and rendered."""
    def render(**kwargs) -> Report:
        report = workflow.send_now(project=checkin.project, **kwargs)
        assert rendering.render_report(report_id=report.pk).state == "rendered"
        report.refresh_from_db()
        return report
    return render


@pytest.fixture
def receiver():
    """A real HTTP server on loopback receiving webhook posts (tests/reports/webhook_receiver)."""
    server = Receiver().start()
    yield server
    server.stop()
