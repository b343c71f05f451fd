"""GET /projects/{slug}/models/: the project's registered models and their versions."""

import pytest

from tests.factories import make_run
from tracker.selectors import model_registry as registry_selectors
from tracker.services import model_registry as registry_services

pytestmark = pytest.mark.django_db


def test_members_of_every_role_read_the_registered_models(project, roles, owner):
    first = make_run(project, owner, name="lr", series={"validation.f1": 0.8})
    second = make_run(project, owner, name="bert", series={"validation.f1": 0.9})
    model = registry_services.create_model(user=owner, name="topics", project=project,
                                  description="News topic classifier", tags={"team": "nlp"})
    registry_services.create_version(user=owner, model=model, source=f"runs:/{first.id.hex}/model",
                            run=first, description="first try")
    registry_services.create_version(user=owner, model=model, source="models:/m-x", run=second,
                            logged_model_id="m-x", tags={"checked": "yes"})
    registry_services.set_alias(model=model, alias="champion", version=2)
    registry_services.transition_stage(version=registry_selectors.version_of(model, 1),
                                       stage="archived")

    for role in ("owner", "member", "viewer"):
        answer = roles[role].get(f"/api/v1/projects/{project.slug}/models/")
        assert answer.status_code == 200, role
        [found] = answer.json()["results"]
        assert (found["name"], found["description"], found["tags"], found["aliases"],
                found["created_by"]) == ("topics", "News topic classifier", {"team": "nlp"},
                                         {"champion": 2}, owner.username)
        assert [(v["version"], v["stage"], v["aliases"], v["run_name"], v["run_id"])
                for v in found["versions"]] == [
            (2, "None", ["champion"], "bert", str(second.id)),
            (1, "Archived", [], "lr", str(first.id))]
        assert found["versions"][0]["tags"] == {"checked": "yes"}
        assert found["versions"][0]["logged_model_id"] == "m-x"
        assert found["versions"][1]["description"] == "first try"


def test_outsiders_and_strangers_get_nothing(project, roles):
    url = f"/api/v1/projects/{project.slug}/models/"
    assert roles["outsider"].get(url).status_code == 404
    assert roles["anonymous"].get(url).status_code == 401
    assert roles["owner"].get(url).json() == {"results": []}
    assert roles["owner"].post(url, {"name": "x"}, format="json").status_code == 405
