"""Profiles and drift over the v1 API: a run's reference profile, a deployment's live profile
per window binned with the reference's edges, the reference it reads, and the drift per
window with its bands and the predictions' shares."""

import pytest

from tests.api.answers import error_body
from tests.factories import make_run
from tracker.services import runs as run_services

P = "/api/v1/projects/news-topics"
WEEK1 = {"window_start": "2026-11-02T00:00:00Z", "window_end": "2026-11-09T00:00:00Z"}
WEEK2 = {"window_start": "2026-11-09T00:00:00Z", "window_end": "2026-11-16T00:00:00Z"}
EDGES = [0, 10, 20, 40, 80]
REFERENCE = {"count": 1000, "features": {
    "length": {"kind": "numeric", "edges": EDGES, "counts": [250, 250, 250, 250],
               "missing": 0},
    "channel": {"kind": "categorical", "counts": {"email": 600, "chat": 300, "other": 100}},
    "prediction": {"kind": "categorical", "counts": {"billing": 700, "refund": 300}}}}
# The worked example of docs/production.md: 0.2282, moderate.
SHIFTED = {"count": 1000, "features": {
    "length": {"kind": "numeric", "edges": EDGES, "counts": [100, 200, 300, 400]},
    "channel": {"kind": "categorical", "counts": {"email": 600, "chat": 300, "other": 100}},
    "prediction": {"kind": "categorical", "counts": {"billing": 500, "refund": 500}}}}


@pytest.fixture
def winner(project, owner):
    return make_run(project, owner, name="lr-c1", series={"validation.f1": 0.88,
                                                         "test.f1": 0.87})


@pytest.fixture
def deployment(api, winner):
    answer = api.post(f"{P}/deployments/", {"run": str(winner.id),
                                            "environment": "production"}, format="json")
    assert answer.status_code == 201, answer.json()
    return f"/api/v1/deployments/{answer.json()['id']}"


def test_a_runs_reference_profile_is_recorded_replaced_and_read(api, winner):
    url = f"/api/v1/runs/{winner.id}/profile"
    none = error_body(api.get(url), 404, "profile")
    assert none["error"] == ("run lr-c1 logged no reference profile: log one with "
                             "run.log_profile(X_train) or POST it here")

    first = api.post(url, REFERENCE, format="json")
    assert first.status_code == 201, first.json()
    assert (first.json()["run"], first.json()["run_name"], first.json()["profile"]) == (
        str(winner.id), "lr-c1", REFERENCE)
    # What the read answers may be sent back as it is: wrapped under "profile".
    again = api.post(url, {"profile": {**REFERENCE, "count": 999}}, format="json")
    assert again.status_code == 200, again.json()
    assert api.get(url).json()["profile"]["count"] == 999


@pytest.mark.parametrize(("profile", "field", "words"), [
    ({"count": 10, "features": {"length": {"kind": "numeric", "edges": [0, 10, 5],
                                           "counts": [5, 5]}}},
     "features.length.edges", "must be strictly increasing"),
    ({"count": 10, "features": {"length": {"kind": "numeric", "edges": [0, 10],
                                           "counts": [5, 5]}}},
     "features.length.counts", "len(edges) - 1 = 1 counts"),
    ({"count": 10, "features": {"channel": {"kind": "categorical",
                                            "counts": {"email": -1}}}},
     "features.channel.counts.email", "must be a non-negative integer"),
    ({"count": 10, "features": {"channel": {"kind": "categorical", "counts": {"email": 1},
                                            "missing": "many"}}},
     "features.channel.missing", "must be a non-negative integer"),
    ({"count": -1, "features": {}}, "count", "must be a non-negative integer"),
    ({"count": 10, "features": {"x": {"kind": "numeric", "edges": [0, 10**400],
                                      "counts": [1]}}},
     "features.x.edges", "must be finite numbers"),
])
def test_a_bad_reference_profile_is_refused_naming_its_path(api, winner, profile, field,
                                                            words):
    url = f"/api/v1/runs/{winner.id}/profile"
    answer = error_body(api.post(url, profile, format="json"), 400, field)
    assert answer["error"].startswith(field) and words in answer["error"]
    error_body(api.get(url), 404, "profile")


def test_a_deleted_run_takes_no_profile(api, winner):
    run_services.delete_run(run=winner)
    answer = error_body(api.post(f"/api/v1/runs/{winner.id}/profile", REFERENCE,
                                 format="json"), 409, "run")
    assert "was deleted" in answer["error"]


def test_the_reference_and_drift_say_why_there_is_none(api, deployment, winner):
    for what in ("reference", "drift"):
        answer = error_body(api.get(f"{deployment}/{what}"), 404, "reference")
        assert answer["error"] == (
            f"run lr-c1 (deployed by deployment {deployment.rsplit('/', 1)[1]}) logged no "
            f"reference profile: log one with run.log_profile(X_train) or POST "
            f"/api/v1/runs/{winner.id}/profile")


def test_live_profiles_are_kept_per_window_and_drift_is_read_per_window(api, deployment,
                                                                         winner):
    api.post(f"/api/v1/runs/{winner.id}/profile", REFERENCE, format="json")
    reference = api.get(f"{deployment}/reference").json()
    assert (reference["run"], reference["profile"]) == (str(winner.id), REFERENCE)
    assert reference["deployment"] == int(deployment.rsplit("/", 1)[1])

    url = f"{deployment}/profiles"
    second = api.post(url, {**WEEK2, "profile": SHIFTED}, format="json")
    assert second.status_code == 201, second.json()
    first = api.post(url, {**WEEK1, "profile": REFERENCE}, format="json")
    assert first.status_code == 201
    replaced = api.post(url, {**WEEK2, "profile": SHIFTED}, format="json")
    assert replaced.status_code == 200
    listed = api.get(url).json()["results"]
    assert [(p["window_start"], p["profile"]["count"]) for p in listed] == [
        ("2026-11-02T00:00:00+00:00", 1000), ("2026-11-09T00:00:00+00:00", 1000)]

    drift = api.get(f"{deployment}/drift").json()["results"]
    assert [d["window_start"] for d in drift] == ["2026-11-02T00:00:00+00:00",
                                                  "2026-11-09T00:00:00+00:00"]
    assert drift[0]["features"] == [
        {"feature": "channel", "psi": 0.0, "band": "stable"},
        {"feature": "length", "psi": 0.0, "band": "stable"}]
    assert drift[1]["features"] == [
        {"feature": "length", "psi": 0.2282, "band": "moderate"},
        {"feature": "channel", "psi": 0.0, "band": "stable"}]
    assert drift[1]["predictions"] == {
        "reference": {"billing": 0.7, "refund": 0.3}, "live": {"billing": 0.5, "refund": 0.5},
        "psi": 0.1695, "band": "moderate"}


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"profile": {"count": 10, "features": {"length": {"kind": "numeric", "edges": [0, 5, 80],
                                                       "counts": [5, 5]}}}},
     "profile.features.length.edges", "must be the reference profile's edges"),
    ({"profile": {"count": 10, "features": {"length": {"kind": "categorical",
                                                       "counts": {"a": 1}}}}},
     "profile.features.length.kind", "is numeric in the reference profile"),
    ({"profile": [1, 2]}, "profile", "must be an object with count and features"),
    ({"window_end": "2026-11-02T00:00:00Z"}, "window_end", "must be after window_start"),
])
def test_a_bad_live_profile_is_refused_naming_the_field(api, deployment, winner, change,
                                                        field, words):
    api.post(f"/api/v1/runs/{winner.id}/profile", REFERENCE, format="json")
    body = {**WEEK1, "profile": REFERENCE, **change}
    answer = error_body(api.post(f"{deployment}/profiles", body, format="json"), 400, field)
    assert words in answer["error"]
    assert api.get(f"{deployment}/profiles").json()["results"] == []


def test_roles_read_and_write_profiles_as_they_do_live_results(roles, project, owner):
    run = make_run(project, owner, name="lr-c1")
    created = roles["member"].post(f"{P}/deployments/", {
        "run": str(run.id), "environment": "production"}, format="json")
    url = f"/api/v1/deployments/{created.json()['id']}"
    profile_url = f"/api/v1/runs/{run.id}/profile"
    assert roles["viewer"].post(profile_url, REFERENCE, format="json").status_code == 403
    assert roles["outsider"].post(profile_url, REFERENCE, format="json").status_code == 404
    assert roles["member"].post(profile_url, REFERENCE, format="json").status_code == 201
    live = {**WEEK1, "profile": SHIFTED}
    assert roles["viewer"].post(f"{url}/profiles", live, format="json").status_code == 403
    assert roles["outsider"].post(f"{url}/profiles", live, format="json").status_code == 404
    assert roles["member"].post(f"{url}/profiles", live, format="json").status_code == 201
    for path in (profile_url, f"{url}/profiles", f"{url}/reference", f"{url}/drift"):
        assert roles["viewer"].get(path).status_code == 200, path
        assert roles["outsider"].get(path).status_code == 404, path
        assert roles["anonymous"].get(path).status_code == 401, path
