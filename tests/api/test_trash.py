"""The trash: a run or a project deleted and restored through v1 comes back as it was
(points, summaries, artifacts, reports); only owners restore; what stays TRASH_DAYS in the
trash is purged with its points and artifact files."""

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.db import connection, transaction

from reports.models import Report
from reports.tasks import purge_trash
from tests.api.answers import error_body
from tracker.models import (
    Artifact,
    LoggedModel,
    MetricSummary,
    PointBlock,
    Project,
    Role,
    Run,
)
from tracker.services import artifacts as artifact_services
from tracker.services import experiments as experiment_services
from tracker.services import logged_models as logged_model_services
from tracker.services import metrics as metric_services
from tracker.services import projects as project_services
from tracker.services import runs as run_services

P = "/api/v1/projects/news-topics"
MLFLOW = "/api/2.0/mlflow"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def run(project, owner):
    run, _ = run_services.create_run(project=project, user=owner, experiment="tfidf-lr",
                                     name="lr-1", params={"C": 1.0})
    metric_services.log_batch(run=run, metrics=[
        {"key": "loss", "split": "train", "step": s, "value": 1 / (s + 1), "timestamp": 1000 + s}
        for s in range(50)] + [{"key": "f1", "split": "validation", "step": 49, "value": 0.8,
                               "timestamp": 2000}])
    artifact_services.store_artifact(run=run, path="models/model.pkl",
                                     fileobj=ContentFile(b"model bytes"))
    return run


@pytest.fixture
def member(project, make_user, client_for):
    user = make_user("mo")
    project_services.set_member(project=project, username="mo", role=Role.MEMBER)
    return client_for(user)


def _state(api, run) -> dict:
    """What a client reads of the run: its history, summaries and artifact."""
    history = api.get(f"/api/v1/runs/{run.id}/history?key=loss&split=train")
    assert history.status_code == 200, history.json()
    artifact = api.get(f"/api/v1/runs/{run.id}/artifacts/models/model.pkl")
    assert artifact.status_code == 200
    return {"points": len(history.json()["points"]),
            "metrics": api.get(f"/api/v1/runs/{run.id}/metrics").json(),
            "artifact": b"".join(artifact.streaming_content)
            if artifact.streaming else artifact.content}


def test_a_deleted_run_is_in_the_trash_and_comes_back_as_it_was(api, run):
    before = _state(api, run)
    assert before["points"] == 50

    assert api.delete(f"/api/v1/runs/{run.id}").status_code == 204
    error_body(api.get(f"/api/v1/runs/{run.id}"), 404, "run")
    trash = api.get("/api/v1/trash/").json()
    [item] = trash["runs"]
    assert (item["id"], item["name"], item["project"], item["experiment"]) == (
        str(run.id), "lr-1", "news-topics", "tfidf-lr")
    deleted_at = datetime.fromisoformat(item["deleted_at"])
    assert datetime.fromisoformat(item["purge_at"]) - deleted_at == timedelta(days=30)

    restored = api.post(f"/api/v1/runs/{run.id}/restore")

    assert restored.status_code == 200
    assert restored.json()["id"] == str(run.id)
    assert _state(api, run) == before
    assert api.get("/api/v1/trash/").json()["runs"] == []
    assert api.get(f"{P}/runs/").json()["count"] == 1


def test_a_live_run_cannot_be_restored(api, run):
    body = error_body(api.post(f"/api/v1/runs/{run.id}/restore"), 409, "run")
    assert "not in the trash" in body["error"]


def test_a_run_deleted_with_its_experiment_comes_back_with_it(api, run):
    experiment_services.delete_experiment(experiment=run.experiment)

    body = error_body(api.post(f"/api/v1/runs/{run.id}/restore"), 409, "experiment")

    assert "restore it first" in body["error"]
    trash = api.get("/api/v1/trash/").json()
    assert trash["runs"] == []
    assert [(e["name"], e["runs"]) for e in trash["experiments"]] == [("tfidf-lr", 1)]


def test_an_experiment_deleted_through_v1_is_restored_from_the_trash_with_its_runs(
        api, member, project, run):
    before = _state(api, run)
    assert member.delete(f"{P}/experiments/tfidf-lr").status_code == 204
    [listed] = api.get("/api/v1/trash/").json()["experiments"]
    restore = f"/api/v1/trash/experiments/{listed['id']}/restore"

    # members delete, only owners restore; nobody restores what is not in their trash
    assert "in your trash" in error_body(member.post(restore), 404, "experiment")["error"]
    answer = api.post(restore)

    assert answer.status_code == 200, answer.json()
    assert (answer.json()["name"], answer.json()["runs"]) == ("tfidf-lr", 1)
    assert _state(api, run) == before  # its run, points and artifacts as they were
    assert api.get("/api/v1/trash/").json()["experiments"] == []
    assert api.post(restore).status_code == 404  # live again: in nobody's trash
    [entry] = [e for e in api.get(f"{P}/audit-log/").json()["results"]
               if e["action"] == "experiment.restore"]
    assert entry["user"] == "olivia"


def test_an_experiment_waits_for_its_trashed_project(api, project, run):
    experiment_services.delete_experiment(experiment=run.experiment)
    experiment_id = run.experiment.pk
    assert api.delete(P).status_code == 204

    body = error_body(api.post(f"/api/v1/trash/experiments/{experiment_id}/restore"), 409,
                      "project")

    assert "restore it first" in body["error"]


def test_members_delete_runs_but_only_owners_restore_them(api, member, run):
    assert member.delete(f"/api/v1/runs/{run.id}").status_code == 204

    refused = member.post(f"/api/v1/runs/{run.id}/restore")

    body = error_body(refused, 403, None)
    assert "only owners may do this" in body["error"]
    assert member.get("/api/v1/trash/").json() == {"projects": [], "experiments": [],
                                                   "runs": []}
    assert len(api.get("/api/v1/trash/").json()["runs"]) == 1


def test_a_deleted_project_is_hidden_and_comes_back_with_everything(api, member, project, run):
    report = Report.objects.create(project=project, period_start=datetime(2026, 11, 1, tzinfo=UTC),
                                   period_end=datetime(2026, 11, 8, tzinfo=UTC))
    before = _state(api, run)
    assert api.get(f"{P}/reports/").json()["results"]

    assert api.delete(f"{P}/").status_code == 204

    for client in (api, member):
        error_body(client.get(f"{P}/"), 404, "project")
        error_body(client.get(f"{P}/runs/"), 404, "project")
        assert client.get("/api/v1/projects/").json()["results"] == []
    log = api.post(f"/api/v1/runs/{run.id}/log-batch", {"metrics": [
        {"key": "loss", "split": "train", "step": 99, "value": 0.1, "timestamp": 9000}]},
        format="json")
    assert error_body(log, 409, "run")
    mlflow = api.get(f"{MLFLOW}/experiments/get?experiment_id={run.experiment_id}").json()
    assert mlflow["experiment"]["lifecycle_stage"] == "deleted"
    [trashed] = api.get("/api/v1/trash/").json()["projects"]
    assert (trashed["slug"], trashed["runs"]) == ("news-topics", 1)
    assert member.get("/api/v1/trash/").json()["projects"] == []
    error_body(member.post(f"{P}/restore"), 404, "project")

    restored = api.post(f"{P}/restore")

    assert restored.status_code == 200
    assert (restored.json()["slug"], restored.json()["runs"]) == ("news-topics", 1)
    assert _state(api, run) == before
    assert [r["id"] for r in api.get(f"{P}/reports/").json()["results"]] == [report.id]
    assert member.get(f"{P}/").status_code == 200
    mlflow = api.get(f"{MLFLOW}/experiments/get?experiment_id={run.experiment_id}").json()
    assert mlflow["experiment"]["lifecycle_stage"] == "active"


def test_a_project_restored_leaves_runs_deleted_before_it_in_the_trash(api, project, run,
                                                                      owner):
    other, _ = run_services.create_run(project=project, user=owner, experiment="tfidf-lr",
                                       name="lr-2")
    api.delete(f"/api/v1/runs/{other.id}")
    api.delete(f"{P}/")

    api.post(f"{P}/restore")

    assert [r["name"] for r in api.get(f"{P}/runs/").json()["results"]] == ["lr-1"]
    assert [r["name"] for r in api.get("/api/v1/trash/").json()["runs"]] == ["lr-2"]


def test_a_trashed_projects_slug_stays_taken_and_says_why_to_its_owners(
        api, project, make_user, client_for):
    api.delete(f"{P}/")
    stranger = client_for(make_user("stranger"))

    body = error_body(api.post("/api/v1/projects/", {"slug": "news-topics"}, format="json"),
                      409, "slug")
    theirs = error_body(stranger.post("/api/v1/projects/", {"slug": "news-topics"},
                                      format="json"), 409, "slug")

    assert "in your trash" in body["error"]
    assert theirs["error"] == "a project with slug 'news-topics' already exists"


def test_only_owners_delete_a_project(member, project):
    body = error_body(member.delete(f"{P}/"), 403, None)
    assert "only owners may do this" in body["error"]
    assert Project.objects.get(pk=project.pk).deleted_at is None


def test_a_trashed_project_takes_no_new_runs_through_mlflow(api, project, run):
    api.delete(f"{P}/")

    answer = api.post(f"{MLFLOW}/experiments/restore",
                      {"experiment_id": str(run.experiment_id)}, format="json")

    assert answer.status_code >= 400
    assert Run.objects.get(pk=run.pk).deleted_at is not None


def _files(tmp_path) -> list[Path]:
    return [p for p in (tmp_path / "media").rglob("*") if p.is_file()]


def test_the_trash_is_purged_after_thirty_days_with_points_and_files(
        api, project, run, owner, tmp_path, django_capture_on_commit_callbacks):
    kept, _ = run_services.create_run(project=project, user=owner, experiment="tfidf-lr",
                                      name="kept")
    start = datetime.now(tz=UTC)
    with time_machine.travel(start, tick=False):
        api.delete(f"/api/v1/runs/{run.id}")
    assert len(_files(tmp_path)) == 1

    with time_machine.travel(start + timedelta(days=29, hours=23), tick=False):
        purge_trash()
    assert Run.objects.filter(pk=run.pk).exists()

    with (time_machine.travel(start + timedelta(days=30, minutes=1), tick=False),
          django_capture_on_commit_callbacks(execute=True)):
        purge_trash()

    assert not Run.objects.filter(pk=run.pk).exists()
    assert not MetricSummary.objects.filter(run_id=run.pk).exists()
    assert not PointBlock.objects.filter(summary__run_id=run.pk).exists()
    assert not Artifact.objects.filter(run_id=run.pk).exists()
    assert _files(tmp_path) == []
    assert Run.objects.filter(pk=kept.pk).exists()
    error_body(api.post(f"/api/v1/runs/{run.id}/restore"), 404, "run")
    [purged] = api.get(f"{P}/audit-log/").json()["results"][:1]
    assert (purged["action"], purged["user"]) == ("run.purge", None)


def test_a_trashed_project_is_purged_whole_after_the_configured_days(
        api, project, run, tmp_path, settings, django_capture_on_commit_callbacks):
    settings.TRASH_DAYS = 7
    report = Report.objects.create(project=project, period_start=datetime(2026, 11, 1, tzinfo=UTC),
                                   period_end=datetime(2026, 11, 8, tzinfo=UTC))
    report.pdf.save("report.pdf", ContentFile(b"%PDF-1.7"))
    assert len(_files(tmp_path)) == 2
    start = datetime.now(tz=UTC)
    with time_machine.travel(start, tick=False):
        api.delete(f"{P}/")
    assert api.get("/api/v1/trash/").json()["projects"][0]["purge_at"] == (
        start + timedelta(days=7)).isoformat()

    with (time_machine.travel(start + timedelta(days=7, seconds=1), tick=False),
          django_capture_on_commit_callbacks(execute=True)):
        purge_trash()

    assert not Project.objects.filter(pk=project.pk).exists()
    assert not Run.objects.filter(pk=run.pk).exists()
    assert not Report.objects.filter(pk=report.pk).exists()
    assert _files(tmp_path) == []  # the artifact and the report's PDF
    assert api.get("/api/v1/trash/").json()["projects"] == []


def test_an_experiment_is_purged_with_its_runs_and_a_restored_one_never(
        api, project, run, owner, tmp_path, django_capture_on_commit_callbacks):
    other, _ = run_services.create_run(project=project, user=owner, experiment="bert",
                                       name="bert-1")
    start = datetime.now(tz=UTC)
    with time_machine.travel(start, tick=False):
        experiment_services.delete_experiment(experiment=run.experiment)
        experiment_services.delete_experiment(experiment=other.experiment)
    experiment_services.restore_experiment(experiment=other.experiment)

    with (time_machine.travel(start + timedelta(days=31), tick=False),
          django_capture_on_commit_callbacks(execute=True)):
        purge_trash()

    assert not Run.objects.filter(pk=run.pk).exists()
    assert _files(tmp_path) == []
    assert Run.objects.live().filter(pk=other.pk).exists()
    [purged] = [e for e in api.get(f"{P}/audit-log/").json()["results"]
                if e["action"] == "experiment.purge"]
    assert (purged["subject"], purged["user"]) == ("experiment tfidf-lr", None)


def waiting_on_the_lock(*, timeout: float) -> None:
    """Return once another connection waits for a row lock of this database."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                           "'Lock' AND datname = current_database()")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the restore never waited on the purge's lock")


@pytest.mark.django_db(transaction=True)
def test_a_restore_waiting_on_the_purge_of_its_run_is_told_the_run_is_gone(api, run, settings):
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("row locks between two connections need PostgreSQL")
    run_services.delete_run(run=run)
    locked, restore_started = threading.Event(), threading.Event()

    def purge_holding_the_lock():
        # what the trash's purge does: lock the run's row, then delete it, in one transaction
        try:
            with transaction.atomic():
                Run.objects.select_for_update().get(pk=run.pk)
                locked.set()
                restore_started.wait(5)
                waiting_on_the_lock(timeout=20)
                Run.objects.filter(pk=run.pk).delete()
        finally:
            connection.close()

    purger = threading.Thread(target=purge_holding_the_lock)
    purger.start()
    assert locked.wait(5)
    restore_started.set()
    answer = api.post(f"/api/v1/runs/{run.id}/restore")
    purger.join()
    assert "removed from the trash for good" in error_body(answer, 404, "run")["error"]
    assert not Run.objects.filter(pk=run.pk).exists()


def test_an_experiments_logged_models_of_no_run_go_with_it_files_and_all(
        project, run, owner, tmp_path, django_capture_on_commit_callbacks):
    """MLflow 3's models made outside any run (GenAI code) keep files of their own: purging
    their experiment removes those too."""
    model = logged_model_services.create_logged_model(user=owner, experiment=run.experiment,
                                                      name="support-agent")
    artifact_services.store_artifact(logged_model=model, path="MLmodel",
                                     fileobj=ContentFile(b"flavors: {}\n"))
    assert len(_files(tmp_path)) == 2
    start = datetime.now(tz=UTC)
    with time_machine.travel(start, tick=False):
        experiment_services.delete_experiment(experiment=run.experiment)
    with (time_machine.travel(start + timedelta(days=31), tick=False),
          django_capture_on_commit_callbacks(execute=True)):
        purge_trash()

    assert not LoggedModel.objects.filter(pk=model.pk).exists()
    assert _files(tmp_path) == []
