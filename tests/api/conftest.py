"""Fixtures of the production tests: the project's winner, deployed to production."""

import pytest

from tests.factories import make_run

P = "/api/v1/projects/news-topics"


@pytest.fixture
def winner(project, owner):
    """The run to deploy: 0.88 on validation, 0.87 on test."""
    return make_run(project, owner, name="lr-c1", series={"validation.f1": 0.88,
                                                         "test.f1": 0.87})


@pytest.fixture
def deploy(api):
    """Deploys a run to production through the API and returns the deployment."""
    def deploy(run, started_at="2026-11-03T09:00:00Z"):
        answer = api.post(f"{P}/deployments/", {"run": str(run.id), "environment": "production",
                                                "started_at": started_at}, format="json")
        assert answer.status_code == 201, answer.json()
        return answer.json()
    return deploy
