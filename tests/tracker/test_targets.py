"""The target and the guardrails: thresholds in the metric's range, no quality guardrail on
the judged split, and a word when a metric no run has logged is named."""

import pytest

from tests.conftest import TARGET
from tests.factories import make_run
from tracker.errors import InvalidInput
from tracker.models import Guardrail
from tracker.selectors import targets as target_selectors
from tracker.selectors import winner as winner_selectors
from tracker.services import projects as project_services
from tracker.services import targets as target_services

pytestmark = pytest.mark.django_db


def refused(call, **kwargs) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        call(**kwargs)
    return caught.value


@pytest.mark.parametrize(
    ("metric", "threshold", "message"),
    [
        ("f1", 90, "target.threshold: F1 score is between 0 and 1, not 90; did you mean 0.90?"),
        ("accuracy", 97.5, "target.threshold: Accuracy is between 0 and 1, not 97.5; "
                           "did you mean 0.975?"),
        ("f1", 9000, "target.threshold: F1 score is between 0 and 1, not 9,000"),
        ("error_rate", -0.1, "target.threshold: Error rate is between 0 and 1, not -0.1"),
        ("roc_auc", 100, "target.threshold: ROC AUC is between 0 and 1, not 100; "
                         "did you mean 1.00?"),
        ("r2", 85, "target.threshold: R² is at most 1, not 85; did you mean 0.85?"),
        ("mae", -2, "target.threshold: Mean absolute error is never negative, not -2"),
    ],
)
def test_a_threshold_outside_the_metric_range_is_refused(project, owner, metric, threshold,
                                                         message):
    error = refused(target_services.set_target, project=project, user=owner,
                    target={**TARGET, "metric": metric, "threshold": threshold})

    assert (error.field, error.message) == ("target.threshold", message)
    project.target.refresh_from_db()
    assert (project.target.metric, project.target.threshold) == ("f1", 0.85)


@pytest.mark.parametrize("threshold", [0, 0.0001, 0.9, 1])
def test_a_fraction_threshold_at_the_edges_is_accepted(project, owner, threshold):
    target = target_services.set_target(project=project, user=owner,
                                        target={**TARGET, "threshold": threshold})
    assert target.threshold == threshold


def test_a_custom_metric_is_a_fraction_when_its_definition_says_it_out_of_100(project, owner):
    churn = {**TARGET, "metric": "churn_caught", "threshold": 80,
             "definition": "{percent} of every 100 churners are caught"}
    error = refused(target_services.set_target, project=project, user=owner, target=churn)
    assert error.message == ("target.threshold: churn_caught is between 0 and 1, not 80; "
                             "did you mean 0.80?")

    # Without {percent} the definition declares no range: any number is taken.
    counted = target_services.set_target(
        project=project, user=owner,
        target={**churn, "definition": "{value} churners are caught every week"})
    assert counted.threshold == 80


def test_a_guardrail_limit_outside_the_range_is_refused_naming_the_guardrail(project, owner):
    error = refused(target_services.set_guardrails, project=project, user=owner, guardrails=[
        {"metric": "latency_ms", "split": "test", "op": "<=", "value": 50},
        {"metric": "recall", "split": "validation", "op": ">=", "value": 90}])

    assert error.field == "guardrails[1].value"
    assert error.message == ("guardrails[1].value: Recall is between 0 and 1, not 90; "
                             "did you mean 0.90?")
    assert [g.metric for g in project.guardrails.all()] == ["latency_ms"]


def test_a_guardrail_on_the_target_metric_takes_the_target_definition_range(owner):
    project = project_services.create_project(
        user=owner, slug="churn", target={**TARGET, "metric": "churn_caught",
                                          "definition": "{percent} of churners caught"})
    error = refused(target_services.set_guardrails, project=project, user=owner, guardrails=[
        {"metric": "churn_caught", "split": "validation", "op": ">=", "value": 70}])
    assert "did you mean 0.70?" in error.message


def test_a_quality_guardrail_on_the_judged_split_is_refused(project, owner):
    error = refused(target_services.set_guardrails, project=project, user=owner, guardrails=[
        {"metric": "recall_malignant", "split": "test", "op": ">=", "value": 0.9}])

    assert error.field == "guardrails[0].split"
    assert error.message.startswith(
        "guardrails[0].split: recall_malignant on the test split would make winner selection "
        "read the test set; put the guardrail on validation.")
    assert "cost_metrics" in error.message


def test_a_quality_guardrail_on_a_slice_of_the_judged_split_is_refused_too(project, owner):
    error = refused(target_services.set_guardrails, project=project, user=owner, guardrails=[
        {"metric": "accuracy", "split": "test/long_texts", "op": ">=", "value": 0.8}])
    assert error.field == "guardrails[0].split"


def test_a_guardrail_on_the_target_metric_on_test_is_refused_even_for_a_cost(owner):
    project = project_services.create_project(user=owner, slug="fast", target={
        "metric": "latency_ms", "direction": "minimize", "threshold": 50})
    error = refused(target_services.set_guardrails, project=project, user=owner, guardrails=[
        {"metric": "latency_ms", "split": "test", "op": "<=", "value": 80}])
    assert error.message == (
        "guardrails[0].split: latency_ms on the test split would make winner selection read "
        "the test set; put the guardrail on validation. The target metric is read on test "
        "only to judge the winner.")


def test_a_project_created_with_a_quality_guardrail_on_test_is_not_created(owner):
    error = refused(project_services.create_project, user=owner, slug="tumor-screen",
                    target=dict(TARGET), guardrails=[
                        {"metric": "recall", "split": "test", "op": ">=", "value": 0.9}])
    assert error.field == "guardrails[0].split"


def test_cost_guardrails_on_test_and_quality_ones_on_validation_are_accepted(project, owner):
    rows = target_services.set_guardrails(project=project, user=owner, guardrails=[
        {"metric": "latency_ms", "split": "test", "op": "<=", "value": 50},
        {"metric": "model_size_mb", "split": "test", "op": "<=", "value": 200},
        {"metric": "throughput", "split": "test", "op": ">=", "value": 100},
        {"metric": "memory_mb", "split": "test/long_texts", "op": "<=", "value": 2048},
        {"metric": "recall", "split": "validation", "op": ">=", "value": 0.9}])
    assert len(rows) == 5


def test_a_project_lists_its_own_measures_of_cost(project, owner):
    guardrail = {"metric": "latency_p95_ms", "split": "test", "op": "<=", "value": 80}
    refused(target_services.set_guardrails, project=project, user=owner, guardrails=[guardrail])

    target_services.set_guardrails(project=project, user=owner, guardrails=[guardrail],
                                   cost_metrics=["latency_p95_ms", "latency_p95_ms"])

    project.refresh_from_db()
    assert project.cost_metrics == ["latency_p95_ms"]
    assert [g.metric for g in project.guardrails.all()] == ["latency_p95_ms"]
    # Taking it off the list while the guardrail checks it on test is refused.
    error = refused(target_services.set_cost_metrics, project=project, cost_metrics=[])
    assert error.field == "cost_metrics"
    assert "guardrails[0] checks latency_p95_ms on the test split" in error.message
    project.refresh_from_db()
    assert project.cost_metrics == ["latency_p95_ms"]


@pytest.mark.parametrize("name", ["f1", "recall", "loss", "mae"])
def test_a_known_measure_of_quality_cannot_be_listed_as_cost(project, name):
    error = refused(target_services.set_cost_metrics, project=project, cost_metrics=[name])
    assert error.field == "cost_metrics[0]"
    assert "measures quality, not cost" in error.message


# --- stored guardrails from before the rule ------------------------------------------------


def test_a_stored_quality_guardrail_on_test_is_kept_but_not_applied(project, owner):
    """Stored before the rule: kept (data is never lost), left out of winner selection so it
    never reads the test set, and named in a warning."""
    Guardrail.objects.create(project=project, metric="recall", split="test", op=">=",
                             value=0.99)
    make_run(project, owner, name="good", series={
        "validation.f1": 0.9, "test.f1": 0.88, "test.latency_ms": 20, "test.recall": 0.5})

    standing = winner_selectors.standing(project=project)

    assert standing.winner is not None and standing.winner.name == "good"
    assert [g["metric"] for g in standing.guardrails] == ["latency_ms"]
    assert project.guardrails.count() == 2
    assert target_selectors.guardrail_warnings(project=project) == [{
        "field": "guardrails[1].split",
        "message": "The guardrail on recall on test is not applied: checked there, it would "
                   "make winner selection read the test set. Put it on validation, or remove "
                   "it."}]


# --- warnings ----------------------------------------------------------------------------------


def test_no_warning_before_any_run_has_logged_a_metric(project, owner):
    make_run(project, owner, name="empty")

    assert target_selectors.target_warnings(project=project) == []
    assert target_selectors.guardrail_warnings(project=project) == []


def test_a_target_metric_no_run_logged_on_the_selection_split_is_named(project, owner):
    make_run(project, owner, name="r", series={
        "validation.accuracy": 0.8, "validation.loss": 0.4, "train.f1": 0.9,
        "test.latency_ms": 20})

    assert target_selectors.target_warnings(project=project) == [{
        "field": "target.metric",
        "message": "No run has logged f1 on validation yet; runs log accuracy and loss; f1 is "
                   "logged on train."}]
    assert target_selectors.guardrail_warnings(project=project) == []


def test_a_guardrail_metric_no_run_logged_on_its_split_is_named(project, owner):
    make_run(project, owner, name="r", series={"validation.f1": 0.8, "test.f1": 0.8})

    assert target_selectors.target_warnings(project=project) == []
    assert target_selectors.guardrail_warnings(project=project) == [{
        "field": "guardrails[0].metric",
        "message": "No run has logged latency_ms on test yet; runs log f1."}]


def test_a_long_list_of_logged_metrics_is_cut_short(project, owner):
    make_run(project, owner, name="r", series={
        f"validation.m{i:02d}": 0.5 for i in range(11)})

    message = target_selectors.target_warnings(project=project)[0]["message"]

    assert message == ("No run has logged f1 on validation yet; runs log m00, m01, m02, m03, "
                       "m04, m05, m06, m07 and 3 more.")
