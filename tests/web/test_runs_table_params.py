"""Param cells of the runs table: a number is a number whoever logged it."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import make_run
from tests.web.data import SLUG

pytestmark = pytest.mark.django_db


def test_params_that_read_as_numbers_align_as_numbers(demo):
    make_run(demo.project, demo.olivia, name="from-mlflow",
             params={"model": "logreg", "C": "2.0", "solver": "True"})
    client = Client()
    client.force_login(demo.olivia)

    def cells(text):
        response = client.get(reverse("web:runs", args=[SLUG]),
                              {"filter": text, "col": ["params.C", "params.solver"]})
        return {row["run"].name: row["cells"] for row in response.context["table"]}

    # A column of text the MLflow client sent is aligned as the SDK's numbers are.
    only = cells('name = "from-mlflow"')["from-mlflow"]
    assert only[0]["text"] == "2.0" and only[0]["css"] == "num"
    assert only[1]["css"] == ""  # "True" is not a number
    mixed = cells("params.C >= 0")
    assert len(mixed) > 1 and all(row[0]["css"] == "num" for row in mixed.values())
