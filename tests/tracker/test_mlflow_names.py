"""The names MLflow gives unnamed logged models, as Targetline gives them."""

import random
import re

from tracker import mlflow_names

MLFLOWS_SHAPE = re.compile(r"^[a-z]+-[a-z]+-\d{1,4}$")


def test_a_name_has_mlflows_shape_and_length():
    random.seed(7)
    names = [mlflow_names.random_name() for _ in range(2000)]
    assert all(MLFLOWS_SHAPE.match(n) and len(n) <= 20 for n in names)
    assert len(set(names)) > 1900


def test_a_name_an_experiment_has_is_never_given_again():
    random.seed(1)
    first = mlflow_names.random_name()
    random.seed(1)
    assert mlflow_names.unused_name({first}) != first


def test_when_every_name_in_mlflows_range_is_taken_the_number_grows():
    class Everything:
        def __contains__(self, name):
            return int(name.rsplit("-", 1)[1]) <= 1000

    name = mlflow_names.unused_name(Everything(), tries=3)
    assert int(name.rsplit("-", 1)[1]) > 1000
