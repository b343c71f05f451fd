"""The read replica (DATABASE_REPLICA_URL): pages and report assembly read from it, every
write and everything that reads its own writes (ingest, the API) from the primary."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connections, router, transaction
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from tests.factories import make_run
from tracker.models import MetricSummary, Run
from tracker.replica import REPLICA, replica_reads
from tracker.selectors import runs as run_selectors
from tracker.selectors import winner as winner_selectors
from web.replica import PIN_COOKIE, ReplicaReadsMiddleware

ROOT = Path(__file__).resolve().parent.parent
ROUTED = override_settings(DATABASE_ROUTERS=["config.database_router.ReplicaRouter"],
                           DATABASE_REPLICA_PIN_SECONDS=10)


@ROUTED
def test_reads_inside_replica_reads_go_to_the_replica_and_writes_to_the_primary():
    assert Run.objects.all().db == "default"
    with replica_reads():
        assert Run.objects.filter(name="x").db == REPLICA
        assert MetricSummary.objects.all().db == REPLICA
        assert router.db_for_write(Run) == "default"
    assert Run.objects.all().db == "default"
    assert router.allow_migrate("default", "tracker")
    assert not router.allow_migrate(REPLICA, "tracker")


@ROUTED
@pytest.mark.django_db(transaction=True)
def test_a_transaction_reads_the_primary_even_inside_replica_reads():
    with replica_reads(), transaction.atomic():
        assert Run.objects.all().db == "default"


def seen_by(request, *, model=Run):
    """(the alias the view's reads of `model` went to, the response)."""
    seen = {}

    def view(request):
        seen["db"] = model.objects.all().db
        return HttpResponse("ok")

    response = ReplicaReadsMiddleware(view)(request)
    return seen["db"], response


@ROUTED
def test_a_page_reads_the_replica_and_a_post_pins_the_browser_to_the_primary():
    factory = RequestFactory()
    assert seen_by(factory.get("/p/churn/"))[0] == REPLICA
    assert seen_by(factory.get("/p/churn/runs/"))[0] == REPLICA

    db, response = seen_by(factory.post("/p/churn/settings/target/"))
    assert db == "default"
    assert response.cookies[PIN_COOKIE]["max-age"] == 10

    pinned = factory.get("/p/churn/")
    pinned.COOKIES[PIN_COOKIE] = "1"
    assert seen_by(pinned)[0] == "default"


@ROUTED
def test_the_api_and_the_mlflow_endpoints_read_the_primary():
    factory = RequestFactory()
    assert seen_by(factory.get("/api/v1/projects/churn/runs/"))[0] == "default"
    assert seen_by(factory.get("/api/2.0/mlflow/runs/get?run_id=x"))[0] == "default"
    assert seen_by(factory.get("/readyz"))[0] == "default"


@pytest.fixture
def replica():
    """The replica's alias on the primary's own connection: a replica without lag. What is
    read through the alias says so in each object it returns (`_state.db`)."""
    connections[REPLICA] = connections["default"]
    yield
    del connections[REPLICA]


@ROUTED
@pytest.mark.django_db(transaction=True)
def test_the_selectors_of_a_page_and_a_report_read_the_replica(replica, project, owner):
    make_run(project, owner, name="seen", series={"validation.f1": [0.7, 0.9],
                                                  "test.f1": 0.88, "test.latency_ms": 20})
    with replica_reads():
        recent = run_selectors.recent_runs(project=project)
        winner = winner_selectors.pick_winner(project=project)
    assert [r.name for r in recent] == ["seen"] and winner.name == "seen"
    assert {r._state.db for r in recent} == {REPLICA}
    assert winner._state.db == REPLICA
    assert Run.objects.get(name="seen")._state.db == "default"


def settings_of(env: dict) -> str:
    code = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings';"
            "from django.conf import settings as s;"
            "print(sorted(s.DATABASES), getattr(s, 'DATABASE_ROUTERS', []),"
            "'web.replica.ReplicaReadsMiddleware' in s.MIDDLEWARE)")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, text=True,
                          capture_output=True, check=False)


def test_the_router_is_used_only_with_a_replica_url(tmp_path):
    base = {"PATH": "/usr/bin:/bin", "TARGETLINE_VAR_DIR": str(tmp_path), "SECRET_KEY": "x",
            "DATABASE_URL": "postgres://u@db:5432/targetline"}
    assert settings_of(base).stdout.strip() == "['default'] [] False"
    with_replica = settings_of({**base,
                                "DATABASE_REPLICA_URL": "postgres://u@replica:5432/targetline"})
    assert with_replica.stdout.strip() == (
        "['default', 'replica'] ['config.database_router.ReplicaRouter'] True")
    embedded = settings_of({**base, "DATABASE_URL": "",
                            "DATABASE_REPLICA_URL": "postgres://u@replica:5432/targetline"})
    assert "DATABASE_REPLICA_URL needs DATABASE_URL" in embedded.stderr
