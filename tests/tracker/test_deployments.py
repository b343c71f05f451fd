"""The deployment services below the API: one live deployment per environment, the
registry's alias and stage, and the admin's view of them."""

from datetime import UTC, datetime

import pytest

from tests.factories import make_run
from tracker.errors import Conflict
from tracker.models import Deployment
from tracker.services import deployments as deployment_services
from tracker.services import model_registry as registry_services

NOV_3 = datetime(2026, 11, 3, 9, tzinfo=UTC)


def test_a_model_in_no_project_deploys_nothing(owner):
    model = registry_services.create_model(user=owner, name="loose")
    version = registry_services.create_version(user=owner, model=model, source="s3://x")
    registry_services.set_alias(model=model, alias="champion", version=1, user=owner)
    registry_services.transition_stage(version=version, stage="Production", user=owner)
    assert deployment_services.deploy_registered_version(version=version, user=owner) is None
    assert not Deployment.objects.exists()


def test_the_version_live_already_is_not_deployed_twice(project, owner):
    run = make_run(project, owner, name="lr-c1")
    model = registry_services.create_model(user=owner, name="topics", project=project)
    version = registry_services.create_version(user=owner, model=model, source="m", run=run)
    first = deployment_services.deploy_registered_version(version=version, user=owner)
    again = deployment_services.deploy_registered_version(version=version, user=owner)
    assert first.pk == again.pk and Deployment.objects.count() == 1
    assert (first.run_id, first.what) == (run.id, "topics version 1")


def test_a_start_before_the_live_ones_is_refused_and_changes_nothing(project, owner):
    run = make_run(project, owner, name="lr-c1")
    live = deployment_services.start_deployment(project=project, user=owner,
                                                environment="production", run_id=str(run.id),
                                                started_at=NOV_3)
    with pytest.raises(Conflict) as refused:
        deployment_services.start_deployment(
            project=project, user=owner, environment="production", run_id=str(run.id),
            started_at=datetime(2026, 11, 1, tzinfo=UTC))
    assert refused.value.field == "started_at"
    live.refresh_from_db()
    assert live.ended_at is None and Deployment.objects.count() == 1


def test_the_admin_lists_deployments_with_their_results(admin_client, project, owner):
    run = make_run(project, owner, name="lr-c1")
    deployment = deployment_services.start_deployment(
        project=project, user=owner, environment="canary", run_id=str(run.id))
    deployment_services.record_live_result(
        deployment=deployment, window_start=NOV_3, window_end=datetime(2026, 11, 10, tzinfo=UTC),
        metrics={"f1": 0.8}, count=10, labelled=4)
    assert admin_client.get("/admin/tracker/deployment/").status_code == 200
    page = admin_client.get(f"/admin/tracker/deployment/{deployment.pk}/change/")
    assert page.status_code == 200 and b"labelled" in page.content.lower()
