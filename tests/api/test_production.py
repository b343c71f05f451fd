"""The production answer over the v1 API: what is live in production, its latest live window
against the agreed bar and the test figure, its drift, and the sentence, as a team reads it
week after week (above the bar, then below it)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.api.answers import error_body
from tests.factories import make_run
from tracker.models import Deployment
from tracker.selectors.production import NO_TARGET, NOT_DEPLOYED
from tracker.services import production as production_services

P = "/api/v1/projects/news-topics"
NOV_2 = datetime(2026, 11, 2, tzinfo=UTC)
WEEK = timedelta(days=7)
# A Friday, in the week after the second window: "last week" is that window.
TODAY = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

REFERENCE = {"count": 1000, "features": {
    "length": {"kind": "numeric", "edges": [0, 10, 20, 40, 80], "counts": [250, 250, 250, 250]},
    "channel": {"kind": "categorical", "counts": {"email": 600, "chat": 400}},
    "prediction": {"kind": "categorical", "counts": {"billing": 700, "refund": 300}}}}
SHIFTED = {"count": 1000, "features": {
    "length": {"kind": "numeric", "edges": [0, 10, 20, 40, 80], "counts": [100, 100, 300, 500]},
    "channel": {"kind": "categorical", "counts": {"email": 590, "chat": 410}},
    "prediction": {"kind": "categorical", "counts": {"billing": 600, "refund": 400}}}}


@pytest.fixture(autouse=True)
def on_friday_20_november():
    with time_machine.travel(TODAY, tick=True):
        yield


@pytest.fixture
def winner(project, owner):
    return make_run(project, owner, name="lr-c1", series={"validation.f1": 0.88,
                                                         "test.f1": 0.87})


def _deploy(api, run):
    answer = api.post(f"{P}/deployments/", {"run": str(run.id), "environment": "production",
                                            "started_at": "2026-11-03T09:00:00Z"},
                      format="json")
    assert answer.status_code == 201, answer.json()
    return answer.json()


def _week(api, deployment, n, f1, labelled=310):
    start = NOV_2 + n * WEEK
    answer = api.post(f"/api/v1/deployments/{deployment['id']}/results", {
        "window_start": start.isoformat(), "window_end": (start + WEEK).isoformat(),
        "metrics": {"f1": f1}, "count": 1240, "labelled": labelled}, format="json")
    assert answer.status_code == 201, answer.json()


def _production(client, **query):
    answer = client.get(f"{P}/production", query)
    assert answer.status_code == 200, answer.json()
    return answer.json()


def test_nothing_deployed_is_no_results_saying_so(api, project):
    assert _production(api) == {
        "deployment": None, "live": None, "test": None, "threshold": 0.85,
        "direction": "maximize", "status": "no results", "reason": "", "retrain": False,
        "drift": [], "drift_window": None, "predictions": None, "sentence": NOT_DEPLOYED,
        "windows": []}


def test_the_answer_follows_the_live_results_above_then_below_the_bar(api, project, winner):
    assert api.patch(P, {"case_noun": "tickets"}, format="json").status_code == 200
    deployment = _deploy(api, winner)
    waiting = _production(api)
    assert (waiting["deployment"], waiting["status"], waiting["live"]) == (
        deployment, "no results", None)
    assert waiting["test"] == {"value": 0.87, "split": "test"}
    assert waiting["sentence"] == ("Live since 3 November: no checked tickets yet, so we "
                                   "cannot say how the model does.")

    _week(api, deployment, 0, 0.88)
    holding = _production(api)
    assert (holding["status"], holding["retrain"], holding["reason"]) == (
        "holding", False, "")
    assert holding["sentence"] == (
        "Live since 3 November: on 310 checked tickets from 2 to 8 November the model scored "
        "88 out of 100 on F1, a balance of finding the cases that matter and being right "
        "when it flags one, above the agreed 85 (it scored 87 on the test set).")

    production_services.record_run_profile(run=winner, profile=REFERENCE)
    production_services.record_live_profile(
        deployment=Deployment.objects.get(pk=deployment["id"]), window_start=NOV_2 + WEEK,
        window_end=NOV_2 + 2 * WEEK, profile=SHIFTED)
    _week(api, deployment, 1, 0.83)
    below = _production(api)
    assert (below["status"], below["retrain"]) == ("below the bar", True)
    assert below["live"] == {"metric": "f1", "value": 0.83,
                             "window_start": "2026-11-09T00:00:00+00:00",
                             "window_end": "2026-11-16T00:00:00+00:00", "labelled": 310,
                             "count": 1240}
    assert below["sentence"] == (
        "Live since 3 November: on 310 checked tickets last week the model scored 83 out of "
        "100 on F1, a balance of finding the cases that matter and being right when it flags "
        "one, below the agreed 85 (it scored 87 on the test set). One input has shifted "
        "markedly since training: length. Retraining is recommended.")
    assert [(d["feature"], d["band"]) for d in below["drift"]] == [
        ("length", "significant"), ("channel", "stable")]
    assert below["drift"][0]["psi"] == 0.4573  # 2 × 0.1374 + 0.0091 + 0.1733
    assert below["drift_window"] == {"start": "2026-11-09T00:00:00+00:00",
                                     "end": "2026-11-16T00:00:00+00:00"}
    assert below["predictions"]["reference"] == {"billing": 0.7, "refund": 0.3}
    assert below["predictions"]["live"] == {"billing": 0.6, "refund": 0.4}
    assert [(w["window_start"], w["value"], w["labelled"]) for w in below["windows"]] == [
        ("2026-11-02T00:00:00+00:00", 0.88, 310), ("2026-11-09T00:00:00+00:00", 0.83, 310)]


def test_without_a_target_the_live_results_cannot_be_judged(api, project, winner):
    deployment = _deploy(api, winner)
    _week(api, deployment, 0, 0.88)
    assert api.delete(f"{P}/target").status_code == 204
    answer = _production(api)
    assert (answer["status"], answer["sentence"], answer["threshold"], answer["live"]) == (
        "no results", NO_TARGET, None, None)
    assert answer["deployment"]["id"] == deployment["id"]


def test_the_environment_is_chosen_and_checked(api, project, winner):
    _deploy(api, winner)
    assert _production(api, environment="shadow")["sentence"] == NOT_DEPLOYED
    assert _production(api, environment="production")["deployment"] is not None
    error_body(api.get(f"{P}/production", {"environment": "Prod!"}), 400, "environment")


def test_every_member_reads_it_and_outsiders_learn_nothing(roles, project):
    for role in ("owner", "member", "viewer"):
        assert roles[role].get(f"{P}/production").status_code == 200
    error_body(roles["outsider"].get(f"{P}/production"), 404, "project")
    assert roles["anonymous"].get(f"{P}/production").status_code == 401


def test_case_noun_is_a_setting_of_owners(roles, project):
    assert roles["viewer"].get(P).json()["case_noun"] == "cases"
    changed = roles["owner"].patch(P, {"case_noun": "  support calls "}, format="json")
    assert changed.status_code == 200, changed.json()
    assert changed.json()["case_noun"] == "support calls"
    assert roles["member"].patch(P, {"case_noun": "tickets"}, format="json").status_code == 403
    for bad, words in (("", "plural noun"), ("x" * 51, "51 characters"),
                       ("tickets!", "words of letters"), ("2 calls", "words of letters")):
        answer = error_body(roles["owner"].patch(P, {"case_noun": bad}, format="json"), 400,
                            "case_noun")
        assert words in answer["error"]
    assert roles["owner"].get(P).json()["case_noun"] == "support calls"
