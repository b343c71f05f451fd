"""Projects, their agreed target and guardrails (every change recorded), members, experiments."""

import pytest

from tests.conftest import TARGET
from tracker.services import metrics as metric_services
from tracker.services import projects as project_services
from tracker.services import runs as run_services

PROJECTS = "/api/v1/projects/"
P = "/api/v1/projects/news-topics"
GUARDRAIL = {"metric": "latency_ms", "split": "test", "op": "<=", "value": 50.0}


def _error(response, status: int, field: str | None):
    assert response.status_code == status, response.json()
    body = response.json()
    assert body["field"] == field, body
    assert body["error"]
    return body["error"]


# --- Create and list ------------------------------------------------------------------


def test_the_creator_becomes_owner_and_gets_the_project_back(api):
    response = api.post(PROJECTS, {
        "slug": "churn", "name": "Churn", "description": "Who leaves next month",
        "target": {**TARGET, "metric": "recall"},
        "guardrails": [GUARDRAIL, {"metric": "model_size_mb", "op": "<=", "value": 200}],
    }, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["slug"] == "churn"
    assert body["name"] == "Churn"
    assert body["description"] == "Who leaves next month"
    assert body["role"] == "owner"
    assert body["target"] == {**TARGET, "metric": "recall", "definition": ""}
    assert body["guardrails"] == [
        GUARDRAIL, {"metric": "model_size_mb", "split": "test", "op": "<=", "value": 200.0}]
    assert body["runs"] == 0
    members = api.get(f"{PROJECTS}churn/members/").json()["results"]
    assert [(m["username"], m["role"]) for m in members] == [("olivia", "owner")]
    assert api.get(f"{PROJECTS}churn/").json() == body


def test_the_name_defaults_to_the_slug(api):
    body = api.post(PROJECTS, {"slug": "churn"}, format="json").json()

    assert body["name"] == "churn"
    assert body["target"] is None
    assert body["guardrails"] == []


def test_a_duplicate_slug_is_a_conflict(api, project):
    response = api.post(PROJECTS, {"slug": "news-topics", "name": "Again"}, format="json")

    assert "already exists" in _error(response, 409, "slug")


@pytest.mark.parametrize("slug", ["News Topics", "news topics", "-news", "news/topics", "",
                                  "ü-topics", "a" * 101])
def test_a_bad_slug_names_the_field(api, slug):
    response = api.post(PROJECTS, {"slug": slug, "target": TARGET}, format="json")

    _error(response, 400, "slug")


def test_a_missing_slug_names_the_field(api):
    _error(api.post(PROJECTS, {"name": "No slug"}, format="json"), 400, "slug")


@pytest.mark.parametrize(("change", "field"), [
    ({"direction": "up"}, "target.direction"),
    ({"threshold": "abc"}, "target.threshold"),
    ({"threshold": "NaN"}, "target.threshold"),
    ({"judged_on": "validation"}, "target.selected_on"),
    ({"selected_on": "valid"}, "target.selected_on"),
    ({"judged_on": "holdout"}, "target.judged_on"),
    ({"metric": None}, "target.metric"),
    ({"metric": ""}, "target.metric"),
    ({"agreed_on": "2 November"}, "target.agreed_on"),
    ({"colour": "blue"}, "target.colour"),
])
def test_a_bad_target_field_is_named(api, change, field):
    target = {k: v for k, v in {**TARGET, **change}.items() if v is not None}

    response = api.post(PROJECTS, {"slug": "churn", "target": target}, format="json")

    _error(response, 400, field)
    assert api.get(f"{PROJECTS}churn/").status_code == 404  # nothing half-created


def test_judging_on_the_selection_split_is_refused_with_the_reason(api):
    response = api.post(PROJECTS, {"slug": "churn", "target": {
        **TARGET, "judged_on": "validation", "selected_on": "validation"}}, format="json")

    assert "would be quoted too optimistically" in _error(response, 400, "target.selected_on")


@pytest.mark.parametrize(("guardrail", "field"), [
    ({**GUARDRAIL, "op": "=="}, "guardrails[0].op"),
    ({**GUARDRAIL, "value": "fast"}, "guardrails[0].value"),
    ({**GUARDRAIL, "split": "valid"}, "guardrails[0].split"),
])
def test_a_bad_guardrail_field_is_named(api, guardrail, field):
    response = api.post(PROJECTS, {"slug": "churn", "target": TARGET, "guardrails": [guardrail]},
                        format="json")

    _error(response, 400, field)


def test_the_list_shows_only_my_projects_with_my_role(api, project, make_user, client_for):
    stranger = client_for(make_user("sam"))
    stranger.post(PROJECTS, {"slug": "sams-secret"}, format="json")
    api.post(PROJECTS, {"slug": "churn"}, format="json")
    project_services.set_member(
        project=project_services.create_project(user=make_user("kim"), slug="kims"),
        username="olivia", role="viewer")

    results = api.get(PROJECTS).json()["results"]

    assert [(p["slug"], p["role"]) for p in results] == [
        ("churn", "owner"), ("kims", "viewer"), ("news-topics", "owner")]
    assert [p["slug"] for p in stranger.get(PROJECTS).json()["results"]] == ["sams-secret"]


def test_patch_renames_and_redescribes(api, project):
    response = api.patch(f"{P}/", {"name": "News topics v2", "description": "BBC feed"},
                         format="json")

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["description"]) == (
        "News topics v2", "BBC feed")
    assert api.get(f"{P}/").json()["name"] == "News topics v2"


# --- A project without a target -----------------------------------------------------------


def test_without_a_target_the_winner_endpoint_says_none_was_agreed(api):
    api.post(PROJECTS, {"slug": "churn"}, format="json")

    response = api.get(f"{PROJECTS}churn/winner")

    assert response.status_code == 200
    body = response.json()
    assert body["winner"] is None
    assert body["target"] is None
    assert body["sentence"].startswith("No target has been agreed yet")
    assert api.get(f"{PROJECTS}churn/target").json() == {"target": None}
    assert api.get(f"{PROJECTS}churn/leaderboard").json()["results"] == []


def test_withdrawing_the_target_is_recorded_and_the_winner_says_so(api, project):
    assert api.delete(f"{P}/target").status_code == 204

    assert api.get(f"{P}/winner").json()["winner"] is None
    assert "no target has been agreed" in api.get(f"{P}/winner").json()["sentence"].lower()
    last = api.get(f"{P}/target/history").json()["results"][-1]
    assert (last["what"], last["changed_by"], last["new"]) == ("target", "olivia", None)
    assert last["old"]["threshold"] == 0.85


# --- Target and guardrail history -------------------------------------------------


def _history(api):
    return api.get(f"{P}/target/history").json()["results"]


def test_creating_the_project_records_the_first_target_and_guardrails(api, project):
    history = _history(api)

    assert [(h["what"], h["changed_by"], h["old"]) for h in history] == [
        ("target", "olivia", None), ("guardrails", "olivia", [])]
    assert history[0]["new"]["threshold"] == 0.85
    assert history[1]["new"] == [GUARDRAIL]


def test_a_target_change_is_recorded_with_who_old_and_new(roles, project, make_user,
                                                          client_for):
    second_owner = make_user("dana")
    project_services.set_member(project=project, username="dana", role="owner")
    dana = client_for(second_owner)

    response = dana.put(f"{P}/target", {**TARGET, "threshold": 0.9}, format="json")

    assert response.status_code == 200
    assert response.json()["target"]["threshold"] == 0.9
    change = _history(dana)[-1]
    assert change["what"] == "target"
    assert change["changed_by"] == "dana"
    assert change["old"]["threshold"] == 0.85
    assert change["new"]["threshold"] == 0.9
    assert change["changed_at"]
    # Readable by anyone in the project.
    assert _history(roles["viewer"]) == _history(dana)


def test_two_threshold_changes_make_two_records_and_an_identical_put_none(api, project):
    before = len(_history(api))

    api.put(f"{P}/target", {**TARGET, "threshold": 0.87}, format="json")
    api.put(f"{P}/target", {**TARGET, "threshold": 0.9}, format="json")
    assert len(_history(api)) == before + 2

    same = api.put(f"{P}/target", {**TARGET, "threshold": 0.9}, format="json")

    assert same.status_code == 200
    history = _history(api)
    assert len(history) == before + 2
    assert [(h["old"]["threshold"], h["new"]["threshold"]) for h in history[-2:]] == [
        (0.85, 0.87), (0.87, 0.9)]


def test_a_target_changed_through_patch_is_recorded_too(api, project):
    response = api.patch(f"{P}/", {"target": {**TARGET, "direction": "minimize",
                                              "metric": "error_rate", "threshold": 0.1}},
                         format="json")

    assert response.status_code == 200
    assert response.json()["target"]["metric"] == "error_rate"
    change = _history(api)[-1]
    assert (change["old"]["metric"], change["new"]["metric"]) == ("f1", "error_rate")


def test_a_bad_target_put_names_the_field_and_changes_nothing(api, project):
    before = _history(api)

    response = api.put(f"{P}/target", {**TARGET, "direction": "up"}, format="json")

    _error(response, 400, "target.direction")
    assert api.get(f"{P}/target").json()["target"]["direction"] == "maximize"
    assert _history(api) == before


def test_a_target_named_by_an_mlflow_key_that_the_runs_hold_otherwise_is_refused(api, project,
                                                                                 owner):
    """MLflow's val_f1 is filed as f1 on validation: a target on "val_f1" would match no run."""
    run, _ = run_services.create_run(project=project, user=owner, experiment="e", name="r")
    metric_services.log_batch(run=run, metrics=[{"key": "f1", "split": "validation", "step": 0,
                                                 "value": 0.8}])
    before = _history(api)

    response = api.put(f"{P}/target", {**TARGET, "metric": "val_f1"}, format="json")

    assert "an MLflow client's val_f1 is kept as f1 on validation" in _error(
        response, 400, "target.metric")
    assert api.get(f"{P}/target").json()["target"]["metric"] == "f1"
    assert _history(api) == before


def test_replacing_guardrails_is_recorded(api, project):
    new = [{"metric": "latency_ms", "split": "test", "op": "<=", "value": 40.0},
           {"metric": "model_size_mb", "split": "test", "op": "<", "value": 200.0}]

    response = api.put(f"{P}/guardrails", {"guardrails": new}, format="json")

    assert response.status_code == 200
    assert response.json()["guardrails"] == new
    assert api.get(f"{P}/guardrails").json()["guardrails"] == new
    change = _history(api)[-1]
    assert (change["what"], change["changed_by"]) == ("guardrails", "olivia")
    assert change["old"] == [GUARDRAIL]
    assert change["new"] == new


def test_putting_the_same_guardrails_records_nothing(api, project):
    before = len(_history(api))

    response = api.put(f"{P}/guardrails", {"guardrails": [GUARDRAIL]}, format="json")

    assert response.status_code == 200
    assert len(_history(api)) == before


def test_guardrails_can_be_sent_as_a_bare_list_and_cleared(api, project):
    assert api.put(f"{P}/guardrails", [], format="json").json()["guardrails"] == []
    assert _history(api)[-1]["new"] == []


# --- Members --------------------------------------------------------------------


def _members(api):
    return {m["username"]: m["role"] for m in api.get(f"{P}/members/").json()["results"]}


def test_add_change_and_remove_a_member(api, project, make_user, client_for):
    kim = client_for(make_user("kim"))
    assert kim.get(f"{P}/").status_code == 404

    added = api.post(f"{P}/members/", {"username": "kim", "role": "viewer"}, format="json")
    assert added.status_code == 201
    assert (added.json()["username"], added.json()["role"]) == ("kim", "viewer")
    assert kim.get(f"{P}/").json()["role"] == "viewer"

    changed = api.patch(f"{P}/members/kim", {"role": "member"}, format="json")
    assert changed.status_code == 200
    assert changed.json()["role"] == "member"
    assert _members(api) == {"kim": "member", "olivia": "owner"}

    again = api.post(f"{P}/members/", {"username": "kim", "role": "owner"}, format="json")
    assert again.status_code == 200  # an existing member: a role change, not a new member
    assert _members(api)["kim"] == "owner"

    assert api.delete(f"{P}/members/kim").status_code == 204
    assert _members(api) == {"olivia": "owner"}
    assert kim.get(f"{P}/").status_code == 404


def test_the_last_owner_cannot_be_removed(api, project):
    response = api.delete(f"{P}/members/olivia")

    assert "at least one owner" in _error(response, 409, "role")
    assert _members(api) == {"olivia": "owner"}


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_the_last_owner_cannot_be_demoted(api, project, role):
    by_patch = api.patch(f"{P}/members/olivia", {"role": role}, format="json")
    by_post = api.post(f"{P}/members/", {"username": "olivia", "role": role}, format="json")

    _error(by_patch, 409, "role")
    _error(by_post, 409, "role")
    assert _members(api) == {"olivia": "owner"}


def test_an_owner_can_step_down_once_there_is_another(api, project, make_user):
    make_user("dana")
    api.post(f"{P}/members/", {"username": "dana", "role": "owner"}, format="json")

    assert api.patch(f"{P}/members/olivia", {"role": "member"}, format="json").status_code == 200
    assert _members(api) == {"dana": "owner", "olivia": "member"}


def test_an_unknown_username_is_400(api, project):
    response = api.post(f"{P}/members/", {"username": "nobody", "role": "viewer"},
                        format="json")

    assert "nobody" in _error(response, 400, "username")


def test_an_unknown_role_is_400(api, project, make_user):
    make_user("kim")

    response = api.post(f"{P}/members/", {"username": "kim", "role": "admin"}, format="json")

    _error(response, 400, "role")


def test_removing_somebody_who_is_not_a_member_is_404(api, project, make_user):
    make_user("kim")

    _error(api.delete(f"{P}/members/kim"), 404, "username")


# --- Experiments ----------------------------------------------------------------


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

    assert "already exists" in _error(response, 409, "name")


def test_the_same_experiment_name_is_fine_in_another_project(api, project):
    api.post(f"{P}/experiments/", {"name": "distilbert"}, format="json")
    api.post(PROJECTS, {"slug": "churn"}, format="json")

    response = api.post(f"{PROJECTS}churn/experiments/", {"name": "distilbert"}, format="json")

    assert response.status_code == 201


def test_an_unknown_experiment_is_404(api, project):
    response = api.get(f"{P}/experiments/no-such-experiment")

    assert "no-such-experiment" in _error(response, 404, "experiment")


def test_an_experiment_needs_a_name(api, project):
    _error(api.post(f"{P}/experiments/", {"hypothesis": "x"}, format="json"), 400, "name")


# --- Found while writing these tests ------------------------------------------------


def test_a_patch_that_fails_changes_nothing(api, project):
    response = api.patch(f"{P}/", {"name": "Renamed", "target": {**TARGET, "direction": "up"}},
                         format="json")

    _error(response, 400, "target.direction")
    assert api.get(f"{P}/").json()["name"] == "News topics"


def test_patching_the_role_of_a_non_member_is_404(api, project, make_user, client_for):
    kim = client_for(make_user("kim"))

    response = api.patch(f"{P}/members/kim", {"role": "viewer"}, format="json")

    assert response.status_code == 404
    assert kim.get(f"{P}/").status_code == 404


def test_an_experiments_run_count_leaves_out_deleted_runs(api, project):
    kept = api.post(f"{P}/runs/", {"experiment": "distilbert"}, format="json").json()
    gone = api.post(f"{P}/runs/", {"experiment": "distilbert"}, format="json").json()
    api.delete(f"/api/v1/runs/{gone['id']}")

    assert api.get(f"{P}/").json()["runs"] == 1
    assert api.get(f"{P}/runs/").json()["results"][0]["id"] == kept["id"]
    assert api.get(f"{P}/experiments/distilbert").json()["runs"] == 1
