"""The agreed target and the guardrails: every change recorded (who, when, old, new)."""

from reports import narrative
from tests.api.answers import error_body
from tests.conftest import TARGET
from tests.factories import make_run
from tracker.models import Guardrail
from tracker.services import metrics as metric_services
from tracker.services import projects as project_services
from tracker.services import runs as run_services

P = "/api/v1/projects/news-topics"
GUARDRAIL = {"metric": "latency_ms", "split": "test", "op": "<=", "value": 50.0}


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

    error_body(response, 400, "target.direction")
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

    assert "an MLflow client's val_f1 is kept as f1 on validation" in error_body(
        response, 400, "target.metric")["error"]
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


def test_withdrawing_the_target_is_recorded_and_the_winner_says_so(api, project):
    assert api.delete(f"{P}/target").status_code == 204

    assert api.get(f"{P}/winner").json()["winner"] is None
    assert "no target has been agreed" in api.get(f"{P}/winner").json()["sentence"].lower()
    last = api.get(f"{P}/target/history").json()["results"][-1]
    assert (last["what"], last["changed_by"], last["new"]) == ("target", "olivia", None)
    assert last["old"]["threshold"] == 0.85


def test_the_target_reads_in_the_same_words_as_on_the_dashboard_and_in_reports(api, project):
    target = api.get(f"{P}/target").json()["target"]
    report_words = narrative.target_sentence(narrative.TargetFacts.from_target(project.target))

    assert target["sentence"] == "F1 score of at least 85 out of 100 on the test set"
    assert report_words.startswith(f"Target: {target['sentence']}, agreed by")


def test_a_target_read_and_sent_back_as_it_came_is_accepted(api, project):
    target = api.get(f"{P}/target").json()["target"]

    answer = api.put(f"{P}/target", {**target, "threshold": 0.9}, format="json")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["target"]["sentence"] == (
        "F1 score of at least 90 out of 100 on the test set")


# --- ranges, the judged split, warnings ------------------------------------------------------


def test_an_f1_threshold_of_90_is_refused_with_the_fraction_it_meant(api, project):
    before = _history(api)

    response = api.put(f"{P}/target", {**TARGET, "threshold": 90}, format="json")

    body = error_body(response, 400, "target.threshold")
    assert body["error"] == ("target.threshold: F1 score is between 0 and 1, not 90; "
                             "did you mean 0.90?")
    assert api.get(f"{P}/target").json()["target"]["threshold"] == 0.85
    assert _history(api) == before


def test_a_threshold_far_out_of_range_names_the_range_only(api, project):
    response = api.put(f"{P}/target", {**TARGET, "threshold": 9000}, format="json")

    body = error_body(response, 400, "target.threshold")
    assert body["error"] == "target.threshold: F1 score is between 0 and 1, not 9,000"


def test_a_project_created_or_changed_with_a_percentage_threshold_is_refused(api, project):
    created = api.post("/api/v1/projects/", {"slug": "churn", "target": {
        **TARGET, "metric": "accuracy", "threshold": 85}}, format="json")
    assert "did you mean 0.85?" in error_body(created, 400, "target.threshold")["error"]
    assert api.get("/api/v1/projects/churn").status_code == 404

    changed = api.patch(f"{P}/", {"name": "Renamed", "guardrails": [
        {"metric": "precision", "split": "validation", "op": ">=", "value": 80}]},
        format="json")
    assert "did you mean 0.80?" in error_body(changed, 400, "guardrails[0].value")["error"]
    assert api.get(f"{P}/").json()["name"] == "News topics"


def test_a_guardrail_limit_outside_the_range_is_refused(api, project):
    response = api.put(f"{P}/guardrails", {"guardrails": [
        GUARDRAIL, {"metric": "recall", "split": "validation", "op": ">=", "value": 90}]},
        format="json")

    body = error_body(response, 400, "guardrails[1].value")
    assert body["error"] == ("guardrails[1].value: Recall is between 0 and 1, not 90; "
                             "did you mean 0.90?")
    assert api.get(f"{P}/guardrails").json()["guardrails"] == [GUARDRAIL]


def test_a_quality_guardrail_on_the_test_split_is_refused_with_the_selection_split(api,
                                                                                  project):
    response = api.put(f"{P}/guardrails", {"guardrails": [
        {"metric": "recall_malignant", "split": "test", "op": ">=", "value": 0.9}]},
        format="json")

    body = error_body(response, 400, "guardrails[0].split")
    assert ("recall_malignant on the test split would make winner selection read the test "
            "set; put the guardrail on validation") in body["error"]
    assert api.get(f"{P}/guardrails").json()["guardrails"] == [GUARDRAIL]


def test_a_measure_of_cost_of_the_project_may_be_checked_on_test(api, project):
    p95 = {"metric": "latency_p95_ms", "split": "test", "op": "<=", "value": 80.0}

    response = api.put(f"{P}/guardrails", {"guardrails": [GUARDRAIL, p95],
                                           "cost_metrics": ["latency_p95_ms"]}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json() == {"guardrails": [GUARDRAIL, p95],
                               "cost_metrics": ["latency_p95_ms"], "warnings": []}
    assert api.get(f"{P}/").json()["cost_metrics"] == ["latency_p95_ms"]
    # Off the list while the guardrail checks it: refused, and nothing changes.
    refused = api.patch(f"{P}/", {"cost_metrics": []}, format="json")
    assert "guardrails[1] checks latency_p95_ms" in error_body(refused, 400,
                                                               "cost_metrics")["error"]
    assert api.get(f"{P}/guardrails").json()["cost_metrics"] == ["latency_p95_ms"]


def test_a_measure_of_quality_cannot_be_listed_as_cost(api, project):
    response = api.put(f"{P}/guardrails", {"guardrails": [
        {"metric": "recall", "split": "test", "op": ">=", "value": 0.9}],
        "cost_metrics": ["recall"]}, format="json")

    assert "cost_metrics[0]: recall measures quality, not cost" in error_body(
        response, 400, "cost_metrics[0]")["error"]


def _log(project, owner, **series):
    make_run(project, owner, name="r", series={k.replace("__", "."): v
                                               for k, v in series.items()})


def test_a_target_on_a_metric_no_run_logged_is_accepted_with_a_warning(api, project, owner):
    _log(project, owner, validation__accuracy=0.8, validation__loss=0.3, test__latency_ms=9)

    response = api.put(f"{P}/target", {**TARGET, "metric": "F1"}, format="json")

    assert response.status_code == 200
    assert response.json()["target"]["metric"] == "F1"
    assert response.json()["warnings"] == [{
        "field": "target.metric",
        "message": "No run has logged F1 on validation yet; runs log accuracy and loss."}]
    assert api.get(f"{P}/target").json()["warnings"] == response.json()["warnings"]


def test_a_guardrail_on_a_metric_no_run_logged_is_accepted_with_a_warning(api, project,
                                                                         owner):
    _log(project, owner, validation__f1=0.8, test__f1=0.8, test__latency_ms=9)
    size = {"metric": "model_size_mb", "split": "test", "op": "<=", "value": 200.0}

    response = api.put(f"{P}/guardrails", [GUARDRAIL, size], format="json")

    assert response.status_code == 200
    assert response.json()["warnings"] == [{
        "field": "guardrails[1].metric",
        "message": "No run has logged model_size_mb on test yet; runs log f1 and latency_ms."}]


def test_a_patch_answer_carries_the_warnings(api, project, owner):
    _log(project, owner, validation__accuracy=0.8, test__latency_ms=9)

    response = api.patch(f"{P}/", {"target": {**TARGET, "metric": "f1_macro"}}, format="json")

    assert response.status_code == 200
    assert response.json()["warnings"] == [{
        "field": "target.metric",
        "message": "No run has logged f1_macro on validation yet; runs log accuracy."}]


def test_without_runs_there_is_no_warning(api, project):
    response = api.put(f"{P}/target", {**TARGET, "metric": "accuracy"}, format="json")

    assert response.json()["warnings"] == []


def test_a_stored_quality_guardrail_on_test_is_read_back_with_a_warning(api, project):
    Guardrail.objects.create(project=project, metric="recall", split="test", op=">=",
                             value=0.9)

    answer = api.get(f"{P}/guardrails").json()

    assert answer["guardrails"][1] == {"metric": "recall", "split": "test", "op": ">=",
                                       "value": 0.9}
    assert answer["warnings"] == [{
        "field": "guardrails[1].split",
        "message": "The guardrail on recall on test is not applied: checked there, it would "
                   "make winner selection read the test set. Put it on validation, or remove "
                   "it."}]
    assert api.get(f"{P}/winner").status_code == 200
