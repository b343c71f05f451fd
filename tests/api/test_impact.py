"""Business results over the v1 API: an A/B test or a backtest recorded, read back with its
difference, 95 % interval (checked against scipy), verdict and sentence; listed newest end
first a page at a time; deleted; every mistake a 400 naming its field."""

import math

import numpy as np
import pytest
from scipy import stats

from tests.api.answers import error_body
from tests.factories import make_run
from tracker.models import ImpactResult

P = "/api/v1/projects/news-topics"
# The issue's example: 71.0 % of 5,000 and 76.0 % of 7,400 tickets.
ISSUE = {"kind": "ab_test", "metric": "first-contact resolution", "direction": "maximize",
         "control": {"successes": 3550, "n": 5000}, "treatment": {"successes": 5624, "n": 7400},
         "started_at": "2026-11-02T00:00:00Z", "ended_at": "2026-11-17T00:00:00Z"}


@pytest.fixture
def winner(project, owner):
    return make_run(project, owner, name="lr-c1", series={"validation.f1": 0.88,
                                                         "test.f1": 0.87})


@pytest.fixture
def deployment(api, winner):
    answer = api.post(f"{P}/deployments/", {"run": str(winner.id), "environment": "production",
                                            "started_at": "2026-11-02T00:00:00Z"},
                      format="json")
    assert answer.status_code == 201, answer.json()
    return answer.json()


def _record(client, **body):
    answer = client.post(f"{P}/impact/", body, format="json")
    assert answer.status_code == 201, answer.json()
    return answer.json()


def _wilson(successes, n):
    found = stats.binomtest(successes, n).proportion_ci(0.95, method="wilson")
    return found.low, found.high


def test_the_issues_ab_test_reads_back_with_its_interval(roles, project, deployment, winner):
    assert roles["owner"].patch(P, {"case_noun": "tickets"}, format="json").status_code == 200
    recorded = _record(roles["member"], **ISSUE, deployment=deployment["id"],
                       note="two weeks, half the agents")
    assert recorded["sentence"] == (
        "In the A/B test from 2 to 16 November (12,400 tickets), first-contact resolution "
        "went from 71.0 % to 76.0 %: 5.0 points better (95 % interval: 3.4 to 6.6 points), "
        "a real improvement.")
    assert {k: v for k, v in recorded.items() if k not in ("id", "difference", "sentence",
                                                           "created_at")} == {
        "kind": "ab_test", "deployment": deployment["id"], "run": str(winner.id),
        "metric": "first-contact resolution", "direction": "maximize", "unit": "",
        "control": {"successes": 3550, "n": 5000}, "treatment": {"successes": 5624, "n": 7400},
        "started_at": "2026-11-02T00:00:00+00:00", "ended_at": "2026-11-17T00:00:00+00:00",
        "note": "two weeks, half the agents", "verdict": "improvement",
        "created_by": "member-user"}
    # Newcombe's interval, from scipy's Wilson interval of each group.
    p1, p2 = 3550 / 5000, 5624 / 7400
    (low1, high1), (low2, high2) = _wilson(3550, 5000), _wilson(5624, 7400)
    difference = recorded["difference"]
    assert difference["method"] == "newcombe"
    assert difference["estimate"] == pytest.approx(p2 - p1, rel=1e-12)
    assert difference["low"] == pytest.approx(p2 - p1 - math.hypot(p2 - low2, high1 - p1),
                                              rel=1e-9)
    assert difference["high"] == pytest.approx(p2 - p1 + math.hypot(high2 - p2, p1 - low1),
                                               rel=1e-9)
    assert (round(difference["low"] * 100, 1), round(difference["high"] * 100, 1)) == (3.4, 6.6)

    url = f"/api/v1/impact/{recorded['id']}"
    assert roles["viewer"].get(url).json() == recorded
    assert roles["viewer"].get(f"{P}/impact/").json() == {"results": [recorded], "next": None}


def test_equal_groups_of_71_and_76_percent_end_just_under_six_and_a_half_points(api, project,
                                                                                deployment):
    # 4,402 and 4,712 of 6,200 each: Newcombe's upper bound is 6.549 points, Wald's 6.551;
    # the sentence quotes Newcombe's, so "6.5" where a Wald interval would say "6.6".
    recorded = _record(api, **{**ISSUE, "control": {"successes": 4402, "n": 6200},
                               "treatment": {"successes": 4712, "n": 6200}},
                       deployment=deployment["id"])
    assert (round(recorded["difference"]["low"], 5), round(recorded["difference"]["high"], 5)) == (
        0.03448, 0.06549)
    assert recorded["sentence"] == (
        "In the A/B test from 2 to 16 November (12,400 cases), first-contact resolution "
        "went from 71.0 % to 76.0 %: 5.0 points better (95 % interval: 3.4 to 6.5 points), "
        "a real improvement.")


def test_a_backtest_of_means_on_a_run_matches_scipys_welch_interval(api, project, winner):
    rng = np.random.default_rng(23)
    control, treatment = rng.normal(12.4, 3.1, 40), rng.normal(11.0, 1.2, 25)
    expected = stats.ttest_ind(treatment, control, equal_var=False).confidence_interval(0.95)
    recorded = _record(
        api, kind="backtest", run=str(winner.id), metric="average handling time",
        direction="minimize", unit="minutes",
        control={"mean": float(control.mean()), "sd": float(control.std(ddof=1)), "n": 40},
        treatment={"mean": float(treatment.mean()), "sd": float(treatment.std(ddof=1)),
                   "n": 25},
        started_at="2026-10-01T00:00:00Z", ended_at="2026-11-01T00:00:00Z")
    assert (recorded["deployment"], recorded["run"], recorded["unit"]) == (
        None, str(winner.id), "minutes")
    assert recorded["difference"]["method"] == "welch"
    assert recorded["difference"]["low"] == pytest.approx(expected.low, rel=1e-9)
    assert recorded["difference"]["high"] == pytest.approx(expected.high, rel=1e-9)
    assert recorded["verdict"] == "improvement"  # lower is better, and it is lower
    assert recorded["sentence"].startswith(
        "In the backtest on data from 1 to 31 October (65 cases), average handling time "
        "would have gone from ")
    assert recorded["sentence"].endswith(", a real improvement.")


def test_the_list_is_newest_end_first_a_page_at_a_time(api, project, deployment):
    ends = ["2026-11-17T00:00:00Z", "2026-12-01T00:00:00Z", "2026-11-17T00:00:00Z",
            "2026-10-20T00:00:00Z"]
    ids = [_record(api, **{**ISSUE, "started_at": "2026-10-01T00:00:00Z", "ended_at": end},
                   deployment=deployment["id"])["id"] for end in ends]
    first = api.get(f"{P}/impact/", {"limit": 2}).json()
    assert [r["id"] for r in first["results"]] == [ids[1], ids[2]]
    second = api.get(f"{P}/impact/", {"limit": 2, "before": first["next"]}).json()
    assert [r["id"] for r in second["results"]] == [ids[0], ids[3]]
    assert second["next"] is None
    error_body(api.get(f"{P}/impact/", {"before": 987654}), 400, "before")
    error_body(api.get(f"{P}/impact/", {"limit": 0}), 400, "limit")


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"kind": "survey"}, "kind", "not a valid choice"),
    ({"direction": "up"}, "direction", "not a valid choice"),
    ({"metric": ""}, "metric", "blank"),
    ({"metric": "m" * 251}, "metric", "the limit is 250"),
    ({"unit": "u" * 51}, "unit", "the limit is 50"),
    ({"control": {"successes": 10, "n": 5}}, "control.successes", "cannot exceed control.n"),
    ({"control": {"successes": 1}}, "control.n", "integer of at least 1"),
    ({"treatment": {"mean": 5.0, "sd": 1.0, "n": 20}}, "treatment", "both be rates"),
    ({"treatment": {"mean": 5.0, "sd": -1.0, "n": 20}}, "treatment.sd", "negative"),
    ({"treatment": [1, 2]}, "treatment", "successes"),
    ({"started_at": "2 November"}, "started_at", "Datetime has wrong format"),
    ({"ended_at": "2026-11-31T00:00:00Z"}, "ended_at", "Datetime has wrong format"),
    ({"ended_at": "2026-11-01T00:00:00Z"}, "ended_at", "must be after started_at"),
    ({"deployment": None}, "deployment", "either"),
    ({"deployment": 987654}, "deployment", "no deployment 987654"),
    ({"deployment": "seven"}, "deployment", "must be an integer"),
    ({"run": "no-such-run"}, "deployment", "not both"),
])
def test_a_mistake_is_a_400_naming_its_field_and_stores_nothing(api, project, deployment,
                                                                 change, field, words):
    body = {**ISSUE, "deployment": deployment["id"], **change}
    answer = error_body(api.post(f"{P}/impact/", body, format="json"), 400, field)
    assert words in answer["error"], answer
    assert not ImpactResult.objects.exists()


def test_a_run_of_another_project_is_no_run(api, project, owner, make_user):
    from tracker.services import projects as project_services

    other = project_services.create_project(user=owner, slug="churn", name="Churn")
    theirs = make_run(other, owner, name="elsewhere")
    body = {**ISSUE, "run": str(theirs.id)}
    answer = error_body(api.post(f"{P}/impact/", body, format="json"), 400, "run")
    assert "no run" in answer["error"]


def test_viewers_read_members_record_and_delete_outsiders_learn_nothing(roles, project,
                                                                         deployment):
    body = {**ISSUE, "deployment": deployment["id"]}
    assert roles["viewer"].post(f"{P}/impact/", body, format="json").status_code == 403
    error_body(roles["outsider"].post(f"{P}/impact/", body, format="json"), 404, "project")
    recorded = _record(roles["member"], **body)
    url = f"/api/v1/impact/{recorded['id']}"
    assert roles["viewer"].get(url).status_code == 200
    assert roles["viewer"].delete(url).status_code == 403
    error_body(roles["outsider"].get(url), 404, "impact")
    error_body(roles["outsider"].delete(url), 404, "impact")
    error_body(roles["outsider"].get(f"{P}/impact/"), 404, "project")
    assert roles["anonymous"].get(url).status_code == 401

    assert roles["member"].delete(url).status_code == 204
    error_body(roles["owner"].get(url), 404, "impact")
    assert roles["owner"].get(f"{P}/impact/").json()["results"] == []
    actions = [e["action"] for e in roles["owner"].get(f"{P}/audit-log/").json()["results"]]
    assert actions[:2] == ["impact.delete", "impact.record"]
