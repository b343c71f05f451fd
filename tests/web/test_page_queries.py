"""The runs table and the compare view ask the database as many times for 16 runs as for 56:
what they read grows with the rows they show, never with the number of runs in the
project."""

from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import make_run

pytestmark = pytest.mark.django_db


def _queries(client: Client, url: str) -> int:
    assert client.get(url).status_code == 200  # warm-up: the session, the first reads
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_page_queries_do_not_grow_with_the_number_of_runs(demo):
    client = Client()
    client.force_login(demo.olivia)
    compared = [str(run.id) for run in list(demo.runs.values())[:10]]
    urls = [
        f"/p/{demo.slug}/runs/",
        f"/p/{demo.slug}/runs/?" + urlencode({"filter": 'validation.f1 > 0.5 and '
                                                        'params.model = "logreg"',
                                              "order_by": "-validation.f1"}),
        f"/p/{demo.slug}/compare/?" + urlencode([("run", i) for i in compared]),
    ]
    before = [_queries(client, url) for url in urls]
    for i in range(40):  # runs below the baseline: the leaderboard keeps the same places
        make_run(demo.project, demo.olivia, name=f"more-{i:02d}",
                 experiment="tf-idf + logistic regression", params={"model": "logreg"},
                 series={"validation.f1": [0.2, 0.3], "test.f1": 0.28,
                         "test.latency_ms": 4.0, "train.loss": [1.0, 0.5]})
    assert [_queries(client, url) for url in urls] == before
