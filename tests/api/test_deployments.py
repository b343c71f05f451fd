"""Deployments and live results over the v1 API: deploy a run or a registered model version,
one live deployment per environment, end it, and record live results once per window."""

import pytest

from tests.api.answers import error_body
from tests.factories import make_run
from tracker.services import model_registry as registry_services
from tracker.services import projects as project_services

P = "/api/v1/projects/news-topics"
WEEK1 = {"window_start": "2026-11-02T00:00:00Z", "window_end": "2026-11-09T00:00:00Z"}
WEEK2 = {"window_start": "2026-11-09T00:00:00Z", "window_end": "2026-11-16T00:00:00Z"}


@pytest.fixture
def version(project, owner, winner):
    model = registry_services.create_model(user=owner, name="topic-classifier",
                                           project=project)
    registry_services.create_version(user=owner, model=model, source="models:/m-1", run=winner)
    return registry_services.create_version(user=owner, model=model, source="models:/m-2",
                                            run=winner)


def _deploy(api, **body):
    answer = api.post(f"{P}/deployments/", body, format="json")
    assert answer.status_code == 201, answer.json()
    return answer.json()


def test_a_run_is_deployed_read_listed_and_ended(api, winner):
    deployment = _deploy(api, run=str(winner.id), environment="production",
                         started_at="2026-11-03T09:00:00Z", note="after the review")
    assert {k: deployment[k] for k in ("project", "environment", "run", "run_name", "model",
                                       "what", "started_at", "ended_at", "live", "note",
                                       "created_by")} == {
        "project": "news-topics", "environment": "production", "run": str(winner.id),
        "run_name": "lr-c1", "model": None, "what": "run lr-c1",
        "started_at": "2026-11-03T09:00:00+00:00", "ended_at": None, "live": True,
        "note": "after the review", "created_by": "olivia"}
    url = f"/api/v1/deployments/{deployment['id']}"
    assert api.get(url).json() == deployment
    assert [d["id"] for d in api.get(f"{P}/deployments/").json()["results"]] == [
        deployment["id"]]

    ended = api.post(f"{url}/end", {"ended_at": "2026-11-20T18:00:00Z"}, format="json")
    assert ended.status_code == 200, ended.json()
    assert (ended.json()["ended_at"], ended.json()["live"]) == (
        "2026-11-20T18:00:00+00:00", False)
    again = error_body(api.post(f"{url}/end", {}, format="json"), 409, "deployment")
    assert "already ended at 2026-11-20T18:00:00+00:00" in again["error"]
    assert api.get(f"{P}/deployments/", {"live": "true"}).json()["results"] == []


def test_a_registered_model_version_is_deployed_with_its_run(api, version, winner):
    deployment = _deploy(api, model={"name": "topic-classifier", "version": 2},
                         environment="shadow")
    assert deployment["model"] == {"name": "topic-classifier", "version": 2}
    assert deployment["what"] == "topic-classifier version 2"
    assert (deployment["run"], deployment["environment"]) == (str(winner.id), "shadow")


def test_a_new_deployment_ends_the_live_one_of_its_environment_only(api, project, owner,
                                                                     winner):
    other = make_run(project, owner, name="svm-2")
    first = _deploy(api, run=str(winner.id), environment="production",
                    started_at="2026-11-03T09:00:00Z")
    shadow = _deploy(api, run=str(other.id), environment="shadow",
                     started_at="2026-11-04T09:00:00Z")
    second = _deploy(api, run=str(other.id), environment="production",
                     started_at="2026-11-17T09:00:00Z")

    first = api.get(f"/api/v1/deployments/{first['id']}").json()
    assert (first["live"], first["ended_at"]) == (False, "2026-11-17T09:00:00+00:00")
    live = api.get(f"{P}/deployments/", {"environment": "production", "live": "true"}).json()
    assert [d["id"] for d in live["results"]] == [second["id"]]
    assert api.get(f"/api/v1/deployments/{shadow['id']}").json()["live"] is True
    timeline = api.get(f"{P}/deployments/").json()["results"]
    assert [d["id"] for d in timeline] == [second["id"], shadow["id"], first["id"]]
    # Before the live one's start: it would have to end before it began.
    early = error_body(api.post(f"{P}/deployments/", {
        "run": str(winner.id), "environment": "production",
        "started_at": "2026-11-10T09:00:00Z"}, format="json"), 409, "started_at")
    assert f"deployment {second['id']} live in production" in early["error"]


def test_deploying_and_ending_are_in_the_audit_log(api, winner):
    first = _deploy(api, run=str(winner.id), environment="production")
    _deploy(api, run=str(winner.id), environment="production")
    entries = api.get(f"{P}/audit-log/").json()["results"]
    assert [(e["action"], e["subject"]) for e in entries[:3]] == [
        ("deployment.start", "run lr-c1 in production"),
        ("deployment.end", "run lr-c1 in production"),
        ("deployment.start", "run lr-c1 in production")]
    assert entries[1]["details"]["deployment"] == first["id"]


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"environment": "production"}, "run", "either"),
    ({"run": "RUN", "model": {"name": "topic-classifier", "version": 1},
      "environment": "production"}, "run", "not both"),
    ({"run": "RUN", "environment": "Prod Env!"}, "environment", "not an environment"),
    ({"run": "RUN", "environment": "x" * 51}, "environment", "at most 50"),
    ({"run": "RUN"}, "environment", "required"),
    ({"run": "2b7f0c3e-0000-4000-8000-000000000000", "environment": "production"}, "run",
     "no run"),
    ({"run": 12, "environment": "production"}, "run", "no run"),
    ({"model": {"name": "nope", "version": 1}, "environment": "production"}, "model.name",
     "no registered model 'nope'"),
    ({"model": {"name": "topic-classifier", "version": 9}, "environment": "production"},
     "model.version", "has no version 9"),
    ({"model": {"name": "topic-classifier", "version": "two"}, "environment": "production"},
     "model.version", "integer"),
    ({"model": "topic-classifier", "environment": "production"}, "model", "object"),
    ({"run": "RUN", "environment": "production", "started_at": "yesterday"}, "started_at",
     "format"),
])
def test_a_bad_deployment_is_refused_naming_the_field(api, version, winner, body, field,
                                                      words):
    if body.get("run") == "RUN":
        body = {**body, "run": str(winner.id)}
    answer = error_body(api.post(f"{P}/deployments/", body, format="json"), 400, field)
    assert words in answer["error"]


def test_a_run_of_another_project_is_no_run_here(api, owner, make_user, client_for, winner):
    theirs = project_services.create_project(user=owner, slug="churn", name="Churn")
    elsewhere = make_run(theirs, owner, name="churn-1")
    answer = error_body(api.post(f"{P}/deployments/", {
        "run": str(elsewhere.id), "environment": "production"}, format="json"), 400, "run")
    assert answer["error"] == f"no run {str(elsewhere.id)!r} in project 'news-topics'"
    # A deployment of a project you are not in is not found.
    deployment = _deploy(api, run=str(winner.id), environment="production")
    outsider = client_for(make_user("otto"))
    error_body(outsider.get(f"/api/v1/deployments/{deployment['id']}"), 404, "deployment")
    error_body(api.get("/api/v1/deployments/99999999"), 404, "deployment")
    error_body(api.get("/api/v1/deployments/abc"), 404, "deployment")


def test_an_end_before_the_start_is_refused(api, winner):
    deployment = _deploy(api, run=str(winner.id), environment="production",
                         started_at="2026-11-03T09:00:00Z")
    answer = api.post(f"/api/v1/deployments/{deployment['id']}/end",
                      {"ended_at": "2026-11-01T00:00:00Z"}, format="json")
    assert "before the deployment's start" in error_body(answer, 400, "ended_at")["error"]


def test_live_results_are_recorded_once_per_window(api, winner):
    deployment = _deploy(api, run=str(winner.id), environment="production")
    url = f"/api/v1/deployments/{deployment['id']}/results"
    first = api.post(url, {**WEEK1, "metrics": {"f1": 0.83}, "count": 1240, "labelled": 310,
                           "slices": {"long_texts": {"f1": 0.71}}}, format="json")
    assert first.status_code == 201, first.json()
    assert api.post(url, {**WEEK2, "metrics": {"f1": 0.80}, "count": 1100,
                          "labelled": 290}, format="json").status_code == 201
    # The same window again (a retry, or corrected figures): replaced, not added.
    replaced = api.post(url, {**WEEK1, "metrics": {"f1": 0.84, "accuracy": 0.9},
                              "count": 1240, "labelled": 320}, format="json")
    assert replaced.status_code == 200, replaced.json()

    results = api.get(url).json()["results"]
    assert [(r["window_start"], r["window_end"], r["metrics"], r["count"], r["labelled"],
             r["slices"]) for r in results] == [
        ("2026-11-02T00:00:00+00:00", "2026-11-09T00:00:00+00:00",
         {"f1": 0.84, "accuracy": 0.9}, 1240, 320, {}),
        ("2026-11-09T00:00:00+00:00", "2026-11-16T00:00:00+00:00", {"f1": 0.80}, 1100, 290,
         {})]


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"window_end": "2026-11-02T00:00:00Z"}, "window_end", "must be after window_start"),
    ({"window_start": None}, "window_start", "null"),
    ({"labelled": 2000}, "labelled", "cannot exceed count (1240)"),
    ({"count": -1}, "count", "greater than or equal to 0"),
    ({"count": 1.5}, "count", "integer"),
    ({"metrics": {"f1": "NaN"}}, "metrics.f1", "finite"),
    ({"metrics": {"f1": "Infinity"}}, "metrics.f1", "finite"),
    ({"metrics": {"f1": "high"}}, "metrics.f1", "must be a number"),
    ({"metrics": {"f1": True}}, "metrics.f1", "boolean"),
    ({"metrics": {"f 1?": 0.8}}, "metrics.f 1?", "may only contain"),
    ({"metrics": [0.8]}, "metrics", "object of metric name"),
    ({"slices": {"long_texts": {"f1": "NaN"}}}, "slices.long_texts.f1", "finite"),
    ({"slices": {"long texts!": {"f1": 0.7}}}, "slices.long texts!", "slice name"),
    ({"slices": {"long_texts": 0.7}}, "slices.long_texts", "object of metric name"),
    ({"slices": [1]}, "slices", "object of slice name"),
])
def test_a_bad_live_result_is_refused_naming_the_field(api, winner, change, field, words):
    deployment = _deploy(api, run=str(winner.id), environment="production")
    url = f"/api/v1/deployments/{deployment['id']}/results"
    body = {**WEEK1, "metrics": {"f1": 0.83}, "count": 1240, "labelled": 310, **change}
    answer = error_body(api.post(url, body, format="json"), 400, field)
    assert words in answer["error"]
    assert api.get(url).json()["results"] == []


def test_roles_deploy_end_and_record_as_they_write_runs(roles, project, owner):
    run = make_run(project, owner, name="lr-c1")
    body = {"run": str(run.id), "environment": "production"}
    assert roles["viewer"].post(f"{P}/deployments/", body, format="json").status_code == 403
    assert roles["outsider"].post(f"{P}/deployments/", body, format="json").status_code == 404
    created = roles["member"].post(f"{P}/deployments/", body, format="json")
    assert created.status_code == 201
    url = f"/api/v1/deployments/{created.json()['id']}"
    result = {**WEEK1, "metrics": {"f1": 0.83}, "count": 10, "labelled": 5}
    assert roles["viewer"].get(url).status_code == 200
    assert roles["viewer"].get(f"{url}/results").status_code == 200
    assert roles["viewer"].post(f"{url}/results", result, format="json").status_code == 403
    assert roles["viewer"].post(f"{url}/end", {}, format="json").status_code == 403
    assert roles["outsider"].get(url).status_code == 404
    assert roles["member"].post(f"{url}/results", result, format="json").status_code == 201
    assert roles["member"].post(f"{url}/end", {}, format="json").status_code == 200


def test_the_deploy_alias_and_stage_are_project_settings(api, project):
    project = api.get(P).json()
    assert (project["deploy_alias"], project["deploy_stage"]) == ("champion", "Production")
    changed = api.patch(P, {"deploy_alias": "prod", "deploy_stage": "staging"}, format="json")
    assert changed.status_code == 200, changed.json()
    assert (changed.json()["deploy_alias"], changed.json()["deploy_stage"]) == (
        "prod", "Staging")
    error_body(api.patch(P, {"deploy_alias": "not ok"}, format="json"), 400, "deploy_alias")
    error_body(api.patch(P, {"deploy_stage": "Live"}, format="json"), 400, "deploy_stage")


def test_filters_of_the_list_are_checked(api, project):
    error_body(api.get(f"{P}/deployments/", {"live": "maybe"}), 400, "live")
    error_body(api.get(f"{P}/deployments/", {"environment": "Prod!"}), 400, "environment")
