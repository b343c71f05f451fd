"""Projects: create (with a target and guardrails, every mistake named), list, read, change."""

import pytest

from tests.api.answers import error_body
from tests.conftest import TARGET
from tracker.services import projects as project_services

PROJECTS = "/api/v1/projects/"
P = "/api/v1/projects/news-topics"
GUARDRAIL = {"metric": "latency_ms", "split": "test", "op": "<=", "value": 50.0}


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
    assert body["target"] == {**TARGET, "metric": "recall", "definition": "",
                              "sentence": "recall of at least 85 out of 100 on the test set"}
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

    assert "already exists" in error_body(response, 409, "slug")["error"]


@pytest.mark.parametrize("slug", ["News Topics", "news topics", "-news", "news/topics", "",
                                  "ü-topics", "a" * 101])
def test_a_bad_slug_names_the_field(api, slug):
    response = api.post(PROJECTS, {"slug": slug, "target": TARGET}, format="json")

    error_body(response, 400, "slug")


def test_a_missing_slug_names_the_field(api):
    error_body(api.post(PROJECTS, {"name": "No slug"}, format="json"), 400, "slug")


# --- A slug one typo away from a project of yours ---------------------------------------


@pytest.mark.parametrize("slug", ["news-topic", "news-topcis", "newstopics", "news_topics",
                                  "nevs-topicz"])
def test_a_slug_close_to_one_of_mine_is_refused_naming_it(api, project, slug):
    response = api.post(PROJECTS, {"slug": slug}, format="json")

    body = error_body(response, 400, "slug")
    assert body["error"] == (f'No project "{slug}"; did you mean "news-topics"? Send '
                             '"create": true to create it.')
    assert body["similar"] == ["news-topics"]
    assert api.get(f"{PROJECTS}{slug}/").status_code == 404


def test_create_true_creates_it_all_the_same(api, project):
    response = api.post(PROJECTS, {"slug": "news-topic", "create": True}, format="json")

    assert response.status_code == 201
    assert response.json()["slug"] == "news-topic"


def test_every_close_project_is_named_closest_first(api, project):
    api.post(PROJECTS, {"slug": "news-topics-v2", "create": True}, format="json")

    body = error_body(api.post(PROJECTS, {"slug": "news-topics2"}, format="json"), 400, "slug")

    assert body["similar"] == ["news-topics", "news-topics-v2"]
    assert 'did you mean "news-topics" or "news-topics-v2"?' in body["error"]


def test_only_projects_i_can_see_count(api, project, make_user, client_for):
    stranger = client_for(make_user("sam"))

    response = stranger.post(PROJECTS, {"slug": "news-topic"}, format="json")

    assert response.status_code == 201  # olivia's news-topics is none of sam's business


def test_far_slugs_and_short_ones_are_not_typos(api, project):
    for slug in ("news-tropical", "nlp", "cv"):
        assert api.post(PROJECTS, {"slug": slug}, format="json").status_code == 201, slug
    assert api.post(PROJECTS, {"slug": "np"}, format="json").status_code == 201


def test_a_taken_slug_is_still_a_conflict_before_any_typo(api, project):
    api.post(PROJECTS, {"slug": "news-topic", "create": True}, format="json")

    error_body(api.post(PROJECTS, {"slug": "news-topics"}, format="json"), 409, "slug")


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

    error_body(response, 400, field)
    assert api.get(f"{PROJECTS}churn/").status_code == 404  # nothing half-created


def test_judging_on_the_selection_split_is_refused_with_the_reason(api):
    response = api.post(PROJECTS, {"slug": "churn", "target": {
        **TARGET, "judged_on": "validation", "selected_on": "validation"}}, format="json")

    error = error_body(response, 400, "target.selected_on")["error"]
    assert "would be quoted too optimistically" in error


@pytest.mark.parametrize(("guardrail", "field"), [
    ({**GUARDRAIL, "op": "=="}, "guardrails[0].op"),
    ({**GUARDRAIL, "value": "fast"}, "guardrails[0].value"),
    ({**GUARDRAIL, "split": "valid"}, "guardrails[0].split"),
])
def test_a_bad_guardrail_field_is_named(api, guardrail, field):
    response = api.post(PROJECTS, {"slug": "churn", "target": TARGET, "guardrails": [guardrail]},
                        format="json")

    error_body(response, 400, field)


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


def test_a_patch_that_fails_changes_nothing(api, project):
    response = api.patch(f"{P}/", {"name": "Renamed", "target": {**TARGET, "direction": "up"}},
                         format="json")

    error_body(response, 400, "target.direction")
    assert api.get(f"{P}/").json()["name"] == "News topics"


# --- A project without a target -----------------------------------------------------------


def test_without_a_target_the_winner_endpoint_says_none_was_agreed(api):
    api.post(PROJECTS, {"slug": "churn"}, format="json")

    response = api.get(f"{PROJECTS}churn/winner")

    assert response.status_code == 200
    body = response.json()
    assert body["winner"] is None
    assert body["target"] is None
    assert body["sentence"].startswith("No target has been agreed yet")
    assert api.get(f"{PROJECTS}churn/target").json() == {"target": None, "warnings": []}
    assert api.get(f"{PROJECTS}churn/leaderboard").json()["results"] == []
