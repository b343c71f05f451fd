"""One meaning per param: numbers the SDK logged as JSON numbers and the text the MLflow
client sends compare alike in the filter language, and sort alike (tracker.param_values)."""

import pytest

from tests.factories import make_run
from tracker import run_pages
from tracker.run_search import search_runs

pytestmark = pytest.mark.django_db


@pytest.fixture
def runs(project, owner):
    """The same settings told the SDK's way (JSON numbers) and MLflow's way (text)."""
    for name, params in [
        ("sdk-int", {"C": 1, "epochs": 30, "lr": 0.001, "shuffle": True}),
        ("sdk-float", {"C": 1.0, "epochs": 30.0, "lr": 0.01}),
        ("mlflow", {"C": "1.0", "epochs": "30", "lr": "1e-3", "shuffle": "True"}),
        ("mlflow-small", {"C": "0.5", "epochs": "9", "lr": ".01", "shuffle": "False"}),
        ("sdk-ten", {"C": 10, "epochs": 100, "lr": 0.1, "shuffle": False}),
        ("text", {"C": "auto", "epochs": "many", "lr": "adaptive"}),
        ("none", {"C": None}),
        ("bare", {}),
    ]:
        make_run(project, owner, name=name, params=params)


def names(project, text, order_by="name"):
    return [r.name for r in search_runs(project=project, filter_text=text, order_by=order_by)]


ONE = ["mlflow", "sdk-float", "sdk-int"]


@pytest.mark.parametrize("text", [
    "params.C = 1", "params.C = 1.0", 'params.C = "1"', 'params.C = "1.0"', "params.C == 1.00",
    "params.C >= 1 and params.C <= 1", "params.C > 0.9 and params.C < 1.1",
])
def test_one_and_one_point_zero_are_the_same_param_whoever_logged_it(project, runs, text):
    assert names(project, text) == ONE


@pytest.mark.parametrize(("text", "expected"), [
    ("params.epochs = 30", ["mlflow", "sdk-float", "sdk-int"]),
    ('params.epochs = "30"', ["mlflow", "sdk-float", "sdk-int"]),
    ("params.epochs > 10", ["mlflow", "sdk-float", "sdk-int", "sdk-ten", "text"]),
    ("params.epochs < 10", ["mlflow-small"]),
    ("params.lr = 0.001", ["mlflow", "sdk-int"]),
    ('params.lr = "0.001"', ["mlflow", "sdk-int"]),
    ("params.lr = 0.01", ["mlflow-small", "sdk-float"]),
    ("params.lr <= 0.01", ["mlflow", "mlflow-small", "sdk-float", "sdk-int"]),
    ("params.C < 1", ["mlflow-small"]),
    ("params.C != 1", ["bare", "mlflow-small", "none", "sdk-ten", "text"]),
    ("not (params.C >= 1)", ["bare", "mlflow-small", "none"]),
])
def test_numbers_compare_as_numbers(project, runs, text, expected):
    assert names(project, text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # "auto" does not read as a number: it compares with the number's text, "10".
    ('params.C = "auto"', ["text"]),
    ("params.C > 10", ["text"]),
    ('params.C >= "a"', ["text"]),
    ('params.epochs < "n"', ["mlflow", "mlflow-small", "sdk-float", "sdk-int", "sdk-ten",
                            "text"]),
    ('params.C ~ "1%"', ["mlflow", "sdk-float", "sdk-int", "sdk-ten"]),
    ('params.lr ~* "ADAPT%"', ["text"]),
])
def test_other_values_compare_as_text(project, runs, text, expected):
    assert names(project, text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("params.shuffle = true", ["mlflow", "sdk-int"]),
    ("params.shuffle = false", ["mlflow-small", "sdk-ten"]),
    ("params.shuffle != true", ["bare", "mlflow-small", "none", "sdk-float", "sdk-ten", "text"]),
    ("params.C = null", ["bare", "none"]),
    ("params.C != null", ["mlflow", "mlflow-small", "sdk-float", "sdk-int", "sdk-ten", "text"]),
])
def test_booleans_and_null(project, runs, text, expected):
    assert names(project, text) == expected


def test_sorting_puts_numbers_first_by_value_then_text_then_runs_without(project, runs):
    ascending = names(project, "", "params.epochs")
    assert ascending[:1] == ["mlflow-small"]  # 9 < 30 < 100, though "9" > "30" as text
    assert set(ascending[1:4]) == {"mlflow", "sdk-float", "sdk-int"}
    assert ascending[4:] == ["sdk-ten", "text", "bare", "none"]
    descending = names(project, "", "-params.epochs")
    assert descending[0] == "sdk-ten" and set(descending[1:4]) == {"mlflow", "sdk-float",
                                                                   "sdk-int"}
    assert descending[4:] == ["mlflow-small", "text", "bare", "none"]


@pytest.mark.parametrize("order_by", ["params.lr", "-params.lr", "params.C,-name"])
def test_pages_of_a_param_order_follow_each_other(project, runs, order_by):
    everything = names(project, "", order_by)
    matching = search_runs(project=project, order_by=order_by)
    paged, cursor = [], None
    while True:
        rows, cursor = run_pages.page(matching, order_by=order_by, cursor=cursor, page_size=1)
        paged += [r.name for r in rows]
        if cursor is None:
            break
    assert paged == everything


def test_values_far_out_of_a_doubles_range_read_as_numbers(project, owner):
    make_run(project, owner, name="huge", params={"x": "1e400", "tags": "9" * 300})
    make_run(project, owner, name="tiny", params={"x": "-1e-300"})
    make_run(project, owner, name="one", params={"x": 1})
    assert names(project, "params.x > 1e300") == ["huge"]
    assert names(project, "params.x < 0") == ["tiny"]
    assert names(project, "", "params.x") == ["tiny", "one", "huge"]
    # Too many digits to read as a number: compared as text, without an error.
    assert names(project, "params.tags > 5") == ["huge"]


def test_names_django_would_misread_can_be_filtered(project, owner):
    make_run(project, owner, name="nested", params={"optimizer__lr": "0.1", "0": 5})
    assert names(project, "params.optimizer__lr = 0.1") == ["nested"]
    assert names(project, "params.`0` > 4") == ["nested"]


def test_tags_read_the_same_way(project, owner):
    make_run(project, owner, name="fold-1", tags={"fold": "1.0"})
    make_run(project, owner, name="fold-10", tags={"fold": "10"})
    make_run(project, owner, name="fold-9", tags={"fold": "9"})
    assert names(project, "tags.fold = 1") == ["fold-1"]
    assert names(project, "", "tags.fold") == ["fold-1", "fold-9", "fold-10"]
