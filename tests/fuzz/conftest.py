"""Shared by the fuzz tests: how many examples each property draws, the project they run
against, and the count of what they sent (printed at the end of the run)."""

import os
from collections import Counter
from datetime import timedelta

import pytest
from django.core import signals
from django.core.files.base import ContentFile
from django.db import close_old_connections
from django.utils import timezone

from reports.models import Report, ReportStatus, Webhook
from tests.factories import make_run
from tracker.models import Role
from tracker.services import artifacts as artifact_services
from tracker.services import deployments as deployment_services
from tracker.services import impact as impact_services
from tracker.services import invitations as invitation_services
from tracker.services import model_registry as registry_services
from tracker.services import production as production_services
from tracker.services import projects as project_services
from tracker.services import tokens as token_services

# Examples per operation (schemathesis) and per property (hypothesis). CI keeps the default;
# FUZZ_EXAMPLES=500 searches longer.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))

# Requests sent, by suite ("v1", "mlflow") and operation, and their answers by status class:
# summed up at the end of the run.
SENT: dict[str, Counter] = {"v1": Counter(), "mlflow": Counter()}
ANSWERED: dict[str, Counter] = {"v1": Counter(), "mlflow": Counter()}


def count(suite: str, operation: str, status: int) -> None:
    SENT[suite][operation] += 1
    ANSWERED[suite][f"{status // 100}xx"] += 1


def pytest_terminal_summary(terminalreporter):
    for suite, counts in SENT.items():
        if counts:
            answers = ", ".join(f"{n} {cls}" for cls, n in sorted(ANSWERED[suite].items()))
            terminalreporter.write_line(
                f"fuzz ({suite}): {sum(counts.values())} requests over {len(counts)} "
                f"operations ({answers}); FUZZ_EXAMPLES={EXAMPLES}")


@pytest.fixture
def in_process_requests():
    """Requests handed to the WSGI application within the test's transaction. As in
    Django's test client, the connection is not closed at each request's end: closing it
    would end the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(project, owner, make_user, settings, tmp_path):
    """`project`, owned by the fuzzing user, with something behind each path parameter:
    a member, an experiment, a finished run with points, an artifact and a reference
    profile, deployed to production, a registered
    model, a rendered report, a pending invitation; and the owner's token."""
    settings.MEDIA_ROOT = tmp_path / "media"
    member = make_user("mark")
    project_services.set_member(project=project, username=member.username, role=Role.MEMBER)
    run = make_run(project, owner, name="lr-1", experiment="tfidf-lr", params={"C": 1.0},
                   series={"train.loss": [0.9, 0.5], "validation.f1": 0.8, "test.f1": 0.79,
                           "test.latency_ms": 4})
    artifact_services.store_artifact(run=run, path="models/model.pkl",
                                     fileobj=ContentFile(b"model bytes"))
    model = registry_services.create_model(user=owner, name="topics", project=project)
    registry_services.create_version(user=owner, model=model, source="models:/m-1", run=run)
    deployment = deployment_services.start_deployment(
        project=project, user=owner, environment="production", run_id=str(run.id))
    production_services.record_run_profile(run=run, profile={"count": 100, "features": {
        "length": {"kind": "numeric", "edges": [0, 10, 80], "counts": [40, 60]},
        "channel": {"kind": "categorical", "counts": {"email": 70, "other": 30}}}})
    now = timezone.now()
    impact = impact_services.record_impact(
        project=project, user=owner, kind="backtest", metric="handling time",
        direction="minimize", control={"mean": 12.4, "sd": 3.1, "n": 40},
        treatment={"mean": 11.8, "sd": 1.2, "n": 25}, run_id=str(run.id),
        started_at=now - timedelta(days=30), ended_at=now)
    report = Report.objects.create(project=project, status=ReportStatus.RENDERED,
                                   period_start=now, period_end=now, html="<p>report</p>",
                                   rendered_at=now)
    report.pdf.save("report.pdf", ContentFile(b"%PDF-1.4 fuzz"), save=True)
    webhook = Webhook.objects.create(project=project, url="https://93.184.215.14/hooks/fuzz",
                                     kind="generic", events=["report"], secret="s" * 64)
    _, token = token_services.create_token(user=owner, name="fuzz")
    invitation = invitation_services.invite(project=project, email="dana@example.com",
                                            role=Role.VIEWER, by=owner,
                                            link_for=lambda raw: f"/invitations/{raw}/")
    return {"token": token, "path": {
        "invitation_id": str(invitation.pk),
        "slug": project.slug, "run_id": str(run.id), "username": member.username,
        "name": "tfidf-lr", "path": "models/model.pkl", "report_id": str(report.pk),
        "webhook_id": str(webhook.pk), "deployment_id": str(deployment.pk),
        "impact_id": str(impact.pk),
        "experiment_id": str(run.experiment_id)}}
