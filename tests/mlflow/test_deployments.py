"""Setting the project's deploy alias or stage with the real mlflow client records a
production deployment of that version."""

import mlflow
from django.contrib.auth import get_user_model
from django.test import Client

from tracker.models import AuditEntry, Deployment, Project
from tracker.services import projects as project_services


def _registered(experiment: str, name: str, versions: int, folder) -> list[str]:
    """`versions` runs of the experiment (its project), each with a model folder registered
    as a version."""
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors: {}\n")
    mlflow.set_experiment(experiment)
    run_ids = []
    for _ in range(versions):
        with mlflow.start_run() as run:
            mlflow.log_metric("f1", 0.8)
            mlflow.log_artifacts(str(folder), "model")
        mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
        run_ids.append(run.info.run_id)
    return run_ids


def _production(slug: str) -> list[tuple]:
    return [(d.model_name, d.model_version_number, d.run_id.hex, d.ended_at is None,
             d.created_by.username)
            for d in Deployment.objects.filter(project__slug=slug, environment="production")
            .order_by("started_at", "id")]


def test_the_champion_alias_deploys_its_version_to_production(alice, tmp_path):
    first, second = _registered("churn", "churn-model", 2, tmp_path / "model")
    alice.set_registered_model_alias("churn-model", "challenger", "2")
    assert _production("churn") == []

    alice.set_registered_model_alias("churn-model", "champion", "1")
    assert _production("churn") == [("churn-model", 1, first, True, "alice")]
    # Set again on the same version: it was live already, nothing new.
    alice.set_registered_model_alias("churn-model", "champion", "1")
    alice.transition_model_version_stage("churn-model", "1", "Production")
    assert len(_production("churn")) == 1

    alice.set_registered_model_alias("churn-model", "champion", "2")
    assert _production("churn") == [("churn-model", 1, first, False, "alice"),
                                    ("churn-model", 2, second, True, "alice")]
    assert list(AuditEntry.objects.filter(project__slug="churn").order_by("at", "id")
                .values_list("action", "subject"))[-3:] == [
        ("deployment.start", "churn-model version 1 in production"),
        ("deployment.end", "churn-model version 1 in production"),
        ("deployment.start", "churn-model version 2 in production")]

    # The v1 API and the dashboard see it.
    browser = Client()
    browser.force_login(get_user_model().objects.get(username="alice"))
    live = browser.get("/api/v1/projects/churn/deployments/",
                       {"environment": "production", "live": "true"}).json()["results"]
    assert [(d["what"], d["note"]) for d in live] == [
        ("churn-model version 2", "alias champion set")]


def test_the_projects_own_alias_and_stage_deploy_instead(alice, tmp_path):
    _registered("ranking", "ranker", 2, tmp_path / "model")
    project_services.set_deploy_triggers(project=Project.objects.get(slug="ranking"),
                                         deploy_alias="prod", deploy_stage="Staging")
    alice.set_registered_model_alias("ranker", "champion", "1")
    alice.transition_model_version_stage("ranker", "1", "Production")
    assert _production("ranking") == []

    alice.transition_model_version_stage("ranker", "1", "Staging")
    alice.set_registered_model_alias("ranker", "prod", "2")
    assert [(d[1], d[3]) for d in _production("ranking")] == [(1, False), (2, True)]
