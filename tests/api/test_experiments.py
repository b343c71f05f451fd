"""Experiments: create with a hypothesis, list with their run counts, read by name."""

from tests.api.answers import error_body

PROJECTS = "/api/v1/projects/"
P = "/api/v1/projects/news-topics"


def test_create_list_and_get_experiments(api, project):
    created = api.post(f"{P}/experiments/", {"name": "tf-idf + logistic regression",
                                             "hypothesis": "bigrams carry the topic"},
                       format="json")
    assert created.status_code == 201
    body = created.json()
    assert (body["name"], body["hypothesis"], body["runs"]) == (
        "tf-idf + logistic regression", "bigrams carry the topic", 0)
    api.post(f"{P}/experiments/", {"name": "distilbert"}, format="json")
    api.post(f"{P}/runs/", {"experiment": "distilbert", "name": "bert-1"}, format="json")

    listed = api.get(f"{P}/experiments/").json()["results"]
    assert [(e["name"], e["runs"]) for e in listed] == [
        ("tf-idf + logistic regression", 0), ("distilbert", 1)]

    got = api.get(f"{P}/experiments/tf-idf + logistic regression")
    assert got.status_code == 200
    assert got.json()["hypothesis"] == "bigrams carry the topic"
    assert api.get(f"{P}/experiments/distilbert").json()["runs"] == 1


def test_a_duplicate_experiment_is_a_conflict(api, project):
    api.post(f"{P}/experiments/", {"name": "distilbert"}, format="json")

    response = api.post(f"{P}/experiments/", {"name": "distilbert"}, format="json")

    assert "already exists" in error_body(response, 409, "name")["error"]


def test_the_same_experiment_name_is_fine_in_another_project(api, project):
    api.post(f"{P}/experiments/", {"name": "distilbert"}, format="json")
    api.post(PROJECTS, {"slug": "churn"}, format="json")

    response = api.post(f"{PROJECTS}churn/experiments/", {"name": "distilbert"}, format="json")

    assert response.status_code == 201


def test_an_unknown_experiment_is_404(api, project):
    response = api.get(f"{P}/experiments/no-such-experiment")

    assert "no-such-experiment" in error_body(response, 404, "experiment")["error"]


def test_an_experiment_needs_a_name(api, project):
    error_body(api.post(f"{P}/experiments/", {"hypothesis": "x"}, format="json"), 400, "name")


def test_an_experiments_run_count_leaves_out_deleted_runs(api, project):
    kept = api.post(f"{P}/runs/", {"experiment": "distilbert"}, format="json").json()
    gone = api.post(f"{P}/runs/", {"experiment": "distilbert"}, format="json").json()
    api.delete(f"/api/v1/runs/{gone['id']}")

    assert api.get(f"{P}/").json()["runs"] == 1
    assert api.get(f"{P}/runs/").json()["results"][0]["id"] == kept["id"]
    assert api.get(f"{P}/experiments/distilbert").json()["runs"] == 1
