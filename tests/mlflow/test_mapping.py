"""The pure parts: metric-key -> split mapping, the collision rule, filter translation."""

import pytest

from api.mlflow.errors import MlflowError
from api.mlflow.filters import to_run_filter, to_run_order
from tracker.mlflow_mapping import (
    dataset_split,
    find_series,
    mlflow_key,
    resolve_series,
    series_named,
    split_metric_key,
)
from tracker.query.syntax import And, Comparison, Field, Not, Or


@pytest.mark.parametrize(("key", "series"), [
    ("train_loss", ("loss", "train")),
    ("training_loss", ("loss", "train")),
    ("train/loss", ("loss", "train")),
    ("val_f1", ("f1", "validation")),
    ("valid_f1", ("f1", "validation")),
    ("validation_f1", ("f1", "validation")),
    ("eval_f1", ("f1", "validation")),
    ("val/f1", ("f1", "validation")),
    ("test_accuracy", ("accuracy", "test")),
    ("test/accuracy", ("accuracy", "test")),
    ("loss", ("loss", "train")),
    ("val_", ("val_", "train")),
    ("validation", ("validation", "train")),
    ("value", ("value", "train")),
])
def test_metric_key_prefixes_name_the_split(key, series):
    assert split_metric_key(key) == series


def test_a_second_mlflow_key_for_the_same_series_keeps_its_full_name_on_train():
    resolved = resolve_series(["val_f1", "validation_f1", "val_f1"], {})
    assert resolved == {"val_f1": ("f1", "validation"),
                        "validation_f1": ("validation_f1", "train")}
    # in a later batch, too
    later = resolve_series(["eval_f1"], {("f1", "validation"): "val_f1"})
    assert later == {"eval_f1": ("eval_f1", "train")}


@pytest.mark.parametrize(("name", "context", "split"), [
    ("iris", "training", "train"),
    ("iris", "train", "train"),
    ("iris", "eval", "validation"),
    ("iris-eval", "", "validation"),
    ("customers", "validation", "validation"),
    ("X_test", "", "test"),
    ("holdout-2026", "", "test"),
    ("dev_set", "", "validation"),
    ("test-data", "training", "train"),  # what the run used it for comes first
    ("train-test", "", None),  # names two splits: says nothing
    ("dataset", "", None),
    ("contest", "", None),  # words, not substrings
])
def test_a_dataset_names_its_split_by_its_context_else_its_name(name, context, split):
    assert dataset_split(name, context) == split


def test_a_key_on_a_dataset_takes_its_split_unless_the_key_or_the_run_has_one():
    splits = {"accuracy": "test", "val_loss": "test", "loss": "validation"}
    assert resolve_series(["accuracy", "val_loss"], {}, splits) == {
        "accuracy": ("accuracy", "test"), "val_loss": ("loss", "validation")}
    # a key keeps the series it took first, whatever dataset it is logged on later
    assert resolve_series(["loss"], {("loss", "train"): "loss"}, splits) == {
        "loss": ("loss", "train")}
    assert resolve_series(["accuracy"], {("accuracy", "test"): "accuracy"}) == {
        "accuracy": ("accuracy", "test")}
    # the dataset's series taken by another key: the full key on train, as for prefixes
    assert resolve_series(["accuracy"], {("accuracy", "test"): "test_accuracy"}, splits) == {
        "accuracy": ("accuracy", "train")}


def test_series_logged_without_a_source_key_answer_to_the_key_that_maps_back():
    assert mlflow_key("f1", "validation") == "val_f1"
    assert mlflow_key("loss", "train") == "loss"
    assert mlflow_key("f1", "test/long_texts") == "test/long_texts/f1"
    assert mlflow_key("f1", "validation", "eval_f1") == "eval_f1"
    assert split_metric_key(mlflow_key("f1", "test")) == ("f1", "test")
    # an MLflow client logging "val_f1" to a run whose SDK logged validation.f1 joins it
    assert resolve_series(["val_f1"], {("f1", "validation"): "val_f1"}) == {
        "val_f1": ("f1", "validation")}


def test_the_series_of_a_key_is_found_whatever_rule_placed_it():
    existing = {("f1", "validation"): "val_f1", ("validation_f1", "train"): "validation_f1"}
    assert find_series("val_f1", existing) == ("f1", "validation")
    assert find_series("validation_f1", existing) == ("validation_f1", "train")
    assert find_series("test_f1", existing) is None


@pytest.mark.parametrize(("key", "split"), [
    ("f1", "validation"), ("loss", "train"), ("accuracy", "test"), ("f1", "test/long_texts"),
    ("val_f1", "train"), ("f1", "slice/with/slashes"),
])
def test_a_series_without_a_source_key_is_found_by_the_name_it_reads_as(key, split):
    assert (key, split) in series_named(mlflow_key(key, split))


def test_only_series_that_read_as_the_name_are_named_by_it():
    assert series_named("loss") == [("loss", "train")]
    assert set(series_named("val_f1")) == {("val_f1", "train"), ("f1", "validation")}
    # "test_" and "val_" read as the test and validation splits, never "test/" or "val/"
    assert ("f1", "validation") not in series_named("val/f1")
    assert ("f1", "validation") not in series_named("validation_f1")


def test_the_issue_example_filter_becomes_our_ast():
    node = to_run_filter("metrics.val_f1 > 0.8 and params.model = 'svm' and "
                         "tags.stage = 'dev' and attributes.status = 'FINISHED'")
    assert node == And((
        Comparison(Field("logged_metric", "val_f1"), ">", 0.8),
        Comparison(Field("param", "model", as_text=True), "=", "svm"),
        Comparison(Field("tag", "stage", as_text=True), "=", "dev"),
        Comparison(Field("attribute", "status"), "=", "finished"),
    ))


def test_mlflow_not_equal_needs_the_field_to_be_there():
    field = Field("param", "model", as_text=True)
    assert to_run_filter("params.model != 'svm'") == And((
        Comparison(field, "!=", None), Comparison(field, "!=", "svm")))


def test_other_mlflow_syntax():
    assert to_run_filter('tags.`mlflow.parentRunId` = "abc"') == Comparison(
        Field("tag", "mlflow.parentRunId", as_text=True), "=", "abc")
    assert to_run_filter("tags.mlflow.parentRunId = 'abc'") == Comparison(
        Field("tag", "mlflow.parentRunId", as_text=True), "=", "abc")
    assert to_run_filter("params.opt IS NULL") == Comparison(
        Field("param", "opt", as_text=True), "=", None)
    assert to_run_filter("attr.run_name ILIKE 'lr-%'") == Comparison(
        Field("attribute", "name"), "~*", "lr-%")
    assert to_run_filter("run_id IN ('a', 'b')") == Or((
        Comparison(Field("attribute", "id"), "=", "a"),
        Comparison(Field("attribute", "id"), "=", "b")))
    assert to_run_filter("status != 'RUNNING'") == Not(
        Comparison(Field("attribute", "status"), "=", "running"))
    assert to_run_filter("created >= 1700000000000") == Comparison(
        Field("attribute", "started_at"), ">=", 1.7e12)
    assert to_run_filter("metrics.test_acc < -1e-3 or (metrics.loss <= 2)") == Or((
        Comparison(Field("logged_metric", "test_acc"), "<", -0.001),
        Comparison(Field("logged_metric", "loss"), "<=", 2.0)))
    assert to_run_filter("") is None
    assert to_run_filter("datasets.context = 'training'") == Comparison(
        Field("dataset", "context"), "=", "training")


def test_a_backslash_in_a_value_escapes_the_quote_and_is_kept_for_like():
    assert to_run_filter(r"params.p LIKE '100\%'") == Comparison(
        Field("param", "p", as_text=True), "~", "100\\%")
    p = Field("param", "p", as_text=True)  # MLflow's params compare as the text given
    assert to_run_filter(r"params.p = 'it\'s'") == Comparison(p, "=", "it's")
    assert to_run_filter(r"params.p = 'a\\b'") == Comparison(p, "=", "a\\b")
    assert to_run_filter(r"params.`a\`b` = 'x'") == Comparison(
        Field("param", "a`b", as_text=True), "=", "x")


@pytest.mark.parametrize("text", [
    "metrics.acc > 'high'", "params.lr > 1", "params.lr = 0.1", "foo.bar = 1",
    "attributes.color = 'red'", "metrics.acc LIKE '%'", "datasets.rows = 'x'",
    "metrics.acc >", "metrics.acc > 1 and", "(metrics.acc > 1", "status IS NULL",
    "params.lr = 'unterminated",
])
def test_bad_filters_are_mlflow_invalid_parameter_values(text):
    with pytest.raises(MlflowError) as caught:
        to_run_filter(text)
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    assert caught.value.status == 400


def test_order_by_becomes_sort_keys():
    keys = to_run_order(["metrics.val_f1 DESC", "params.`optimizer.lr`", "start_time ASC",
                         "tags.mlflow.runName", "attributes.run_name desc"])
    assert keys == [(Field("logged_metric", "val_f1"), True),
                    (Field("param", "optimizer.lr", as_text=True), False),
                    (Field("attribute", "started_at"), False),
                    (Field("attribute", "name"), False), (Field("attribute", "name"), True)]
    assert to_run_order([]) == []
    with pytest.raises(MlflowError):
        to_run_order(["metrics.a b c"])
    with pytest.raises(MlflowError, match="duplicate"):
        to_run_order(["metrics.a", "metrics.a DESC"])
