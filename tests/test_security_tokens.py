"""Failed token checks (v1 API, MLflow API) are counted per client address and per account,
and refused with 429 and Retry-After past the limit; a valid token never is.

Counted in the cache every web process shares: the database cache (the default) and Redis
(CACHE_URL) are both tried.
"""

import base64
import json
import os
import uuid

import pytest
import time_machine
from django.test import Client

from api import throttle
from tests.factories import make_run
from tracker.models import Run
from tracker.services import tokens as token_services

LIMIT = 20  # TOKEN_FAILURE_LIMIT's default
WINDOW = 60  # TOKEN_FAILURE_WINDOW's default
# The middle of a clock minute: a test's failures all fall in one window.
NOON = "2026-12-07 12:00:20+00:00"


def _redis_url() -> str | None:
    url = os.environ.get("CACHE_URL") or os.environ.get("CELERY_BROKER_URL", "")
    return url if url.startswith("redis://") else None


@pytest.fixture(params=["database", "redis"])
def shared_cache(request, settings):
    """The counts in the database cache (the default) or in Redis, under a key prefix of
    this test's own (nothing else in that Redis database is touched; its keys expire with
    their window). The database cache's rows go with the test's transaction."""
    if request.param == "database":
        settings.CACHES = {"default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "targetline_cache"}}
    else:
        url = _redis_url()
        if url is None:
            pytest.skip("no Redis: set CACHE_URL or CELERY_BROKER_URL to redis://")
        settings.CACHES = {"default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}
    return request.param


@pytest.fixture
def clock():
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


def basic(username: str, token: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{token}".encode()).decode()


def get_projects(token: str, **extra):
    return Client().get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Bearer {token}", **extra)


@pytest.mark.django_db
def test_wrong_tokens_are_refused_from_the_limit_on_and_a_valid_one_never(
        shared_cache, clock, api, owner):
    answers = [get_projects(f"tl_wrong-{i}") for i in range(LIMIT + 5)]
    assert [a.status_code for a in answers] == [401] * (LIMIT - 1) + [429] * 6
    assert answers[0].json()["error"].startswith("invalid or revoked token")
    refused = answers[LIMIT - 1]
    assert refused["Retry-After"] == "40"  # 12:00:20 -> the window ends at 12:01:00
    assert refused.json() == {
        "error": "too many failed token checks from this address or account; "
                 "try again in 40 seconds", "field": None}
    # The same address with a valid token: served, at once.
    assert api.get("/api/v1/projects/").status_code == 200
    # Another address is not refused.
    assert get_projects("tl_wrong", REMOTE_ADDR="203.0.113.9").status_code == 401
    # Once the window has passed, a wrong token is told it is wrong again.
    clock.shift(40)
    assert get_projects("tl_wrong").status_code == 401


@pytest.mark.django_db
def test_a_revoked_token_and_malformed_credentials_count_as_failures(clock, owner):
    token, raw = token_services.create_token(user=owner)
    token_services.revoke_token(token=token)
    statuses = [get_projects(raw).status_code for _ in range(LIMIT - 2)]
    statuses.append(Client().get("/api/v1/projects/",
                                 HTTP_AUTHORIZATION="Basic %%%").status_code)
    statuses.append(get_projects("").status_code)  # "Bearer " and nothing
    assert statuses == [401] * (LIMIT - 1) + [429]


@pytest.fixture
def mlflow_run(project, owner):
    return make_run(project, owner, name="mlflow-run", finish=None)


def log_metric(run: Run, authorization: str, **extra):
    body = {"run_id": run.pk.hex, "metrics": [
        {"key": "loss", "value": 0.5, "timestamp": 1_700_000_000_000, "step": 1}]}
    return Client().post("/api/2.0/mlflow/runs/log-batch", json.dumps(body),
                         content_type="application/json", HTTP_AUTHORIZATION=authorization,
                         **extra)


@pytest.mark.django_db
def test_the_mlflow_api_refuses_wrong_tokens_in_its_own_shape(shared_cache, clock,
                                                              mlflow_run, owner):
    answers = [log_metric(mlflow_run, f"Bearer tl_wrong-{i}") for i in range(LIMIT - 1)]
    answers.append(Client().get("/api/2.0/mlflow/runs/get", {"run_id": mlflow_run.pk.hex},
                                HTTP_AUTHORIZATION="Bearer tl_wrong"))
    assert [a.status_code for a in answers] == [401] * (LIMIT - 1) + [429]
    assert answers[0].json()["error_code"] == "UNAUTHENTICATED"
    assert answers[-1].json() == {
        "error_code": "REQUEST_LIMIT_EXCEEDED",
        "message": "too many failed token checks from this address or account; "
                   "try again in 40 seconds"}
    assert answers[-1]["Retry-After"] == "40"
    _, raw = token_services.create_token(user=owner)
    assert log_metric(mlflow_run, f"Bearer {raw}").status_code == 200
    assert mlflow_run.summaries.get(key="loss").count == 1


@pytest.mark.django_db
def test_basic_credentials_are_also_counted_per_account(clock, mlflow_run, owner):
    """An account attacked from many addresses is refused too (MLFLOW_TRACKING_USERNAME);
    its own scripts, with their valid token, keep logging."""
    statuses = [log_metric(mlflow_run, basic("olivia", f"guess-{i}"),
                           REMOTE_ADDR=f"198.51.100.{i}").status_code for i in range(LIMIT)]
    assert statuses == [401] * (LIMIT - 1) + [429]
    assert log_metric(mlflow_run, basic("olivia", "guess"),
                      REMOTE_ADDR="198.51.100.200").status_code == 429
    assert log_metric(mlflow_run, basic("someone-else", "guess"),
                      REMOTE_ADDR="198.51.100.201").status_code == 401
    _, raw = token_services.create_token(user=owner)
    assert log_metric(mlflow_run, basic("olivia", raw),
                      REMOTE_ADDR="198.51.100.200").status_code == 200


@pytest.mark.django_db
def test_behind_a_proxy_the_address_it_saw_is_counted(clock, settings):
    """What a client writes into X-Forwarded-For itself comes first, and is not believed."""
    settings.PROXY_COUNT = 1

    def attempt(i: int):
        return get_projects("tl_wrong", REMOTE_ADDR="10.0.0.2",  # the proxy
                            HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, 203.0.113.7")
    assert [attempt(i).status_code for i in range(LIMIT)] == [401] * (LIMIT - 1) + [429]
    # Another client behind the same proxy is not refused.
    assert get_projects("tl_wrong", REMOTE_ADDR="10.0.0.2",
                        HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 401


@pytest.mark.django_db
def test_the_limit_and_window_are_settings(clock, settings):
    settings.TOKEN_FAILURE_LIMIT = 3
    settings.TOKEN_FAILURE_WINDOW = 600
    assert [get_projects("tl_wrong").status_code for _ in range(3)] == [401, 401, 429]
    assert get_projects("tl_wrong")["Retry-After"] == "580"  # the window: 12:00 to 12:10
    clock.shift(579)
    assert get_projects("tl_wrong").status_code == 429
    clock.shift(1)
    assert get_projects("tl_wrong").status_code == 401


@pytest.mark.django_db
def test_a_valid_token_is_checked_without_counting_anything(monkeypatch, api, mlflow_run,
                                                            owner):
    """The logging hot path: a good token costs no step more than its lookup."""
    def fail(*args, **kwargs):
        raise AssertionError("a successful token check reached the failure counter")
    monkeypatch.setattr(throttle, "count_failed_check", fail)
    assert api.get("/api/v1/projects/").status_code == 200
    _, raw = token_services.create_token(user=owner)
    assert log_metric(mlflow_run, f"Bearer {raw}").status_code == 200
    assert Client().get("/api/2.0/mlflow/runs/get", {"run_id": mlflow_run.pk.hex},
                        HTTP_AUTHORIZATION=basic("olivia", raw)).status_code == 200
