"""Runs: create (idempotent with a client-chosen id), read, update, heartbeat, finish, delete,
and the search endpoint's paging and ordering."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.api.answers import error_body
from tests.factories import make_run
from tracker.services import metrics as metric_services
from tracker.services import runs as run_services

P = "/api/v1/projects/news-topics"


def _create(api, **fields):
    body = {"experiment": "tfidf-lr", **fields}
    return api.post(f"{P}/runs/", body, format="json")


@pytest.fixture
def run(api, project):
    response = _create(api, name="lr-1", params={"C": 1.0}, tags={"stage": "dev"},
                       notes="first try")
    assert response.status_code == 201
    return response.json()


# --- Create -----------------------------------------------------------------------


def test_create_answers_the_run_and_creates_the_experiment(api, project):
    response = _create(api, name="lr-1", params={"C": 1.0, "ngrams": "1-2"},
                       tags={"stage": "dev"}, baseline=True, git_commit="abc123", host="gpu-1")

    assert response.status_code == 201
    body = response.json()
    uuid.UUID(body["id"])
    assert (body["project"], body["experiment"], body["name"]) == (
        "news-topics", "tfidf-lr", "lr-1")
    assert body["status"] == "running"
    assert body["baseline"] is True
    assert body["params"] == {"C": 1.0, "ngrams": "1-2"}
    assert body["tags"] == {"stage": "dev"}
    assert (body["git_commit"], body["host"]) == ("abc123", "gpu-1")
    assert body["created_by"] == "olivia"
    assert body["ended_at"] is None
    assert body["metrics"] == []
    names = [e["name"] for e in api.get(f"{P}/experiments/").json()["results"]]
    assert names == ["tfidf-lr"]


def test_a_run_without_a_name_is_named_after_its_experiment(api, project):
    body = _create(api).json()

    assert body["name"] == f"tfidf-lr-{body['id'][:8]}"


def test_a_client_chosen_id_is_kept_and_a_retry_returns_the_same_run(api, project):
    run_id = str(uuid.uuid4())

    first = _create(api, id=run_id, name="lr-1", params={"C": 1.0})
    retry = _create(api, id=run_id, name="lr-1", params={"C": 1.0})

    assert first.status_code == 201
    assert first.json()["id"] == run_id
    assert retry.status_code == 200
    assert retry.json() == first.json()
    assert api.get(f"{P}/runs/").json()["count"] == 1


def test_the_same_id_in_another_project_is_a_conflict(api, project):
    run_id = str(uuid.uuid4())
    _create(api, id=run_id)
    api.post("/api/v1/projects/", {"slug": "churn"}, format="json")

    response = api.post("/api/v1/projects/churn/runs/", {"experiment": "e", "id": run_id},
                        format="json")

    error_body(response, 409, "id")
    assert api.get(f"/api/v1/runs/{run_id}").json()["project"] == "news-topics"


def test_a_run_for_a_misspelt_project_is_a_404_naming_the_one_meant(api, project, roles):
    response = api.post("/api/v1/projects/news-topcis/runs/", {"experiment": "e"},
                        format="json")

    body = error_body(response, 404, "project")
    assert body["error"] == 'No project "news-topcis"; did you mean "news-topics"?'
    assert body["similar"] == ["news-topics"]
    outsider = roles["outsider"].post("/api/v1/projects/news-topcis/runs/", {"experiment": "e"},
                                      format="json")
    assert error_body(outsider, 404, "project")["error"] == "no project 'news-topcis'"


@pytest.mark.parametrize(("body", "field"), [
    ({"id": "not-a-uuid"}, "id"),
    ({"experiment": ""}, "experiment"),
    ({"params": {"optimizer": {"lr": 0.1}}}, "params.optimizer"),
    ({"params": ["C", 1]}, "params"),
])
def test_a_bad_run_names_the_field(api, project, body, field):
    error_body(api.post(f"{P}/runs/", {"experiment": "e", **body}, format="json"), 400, field)


# --- Read and update ---------------------------------------------------------------


def test_get_returns_the_run(api, run):
    response = api.get(f"/api/v1/runs/{run['id']}")

    assert response.status_code == 200
    assert response.json() == run


def test_an_unknown_run_is_404(api, project):
    error_body(api.get(f"/api/v1/runs/{uuid.uuid4()}"), 404, "run")
    error_body(api.get("/api/v1/runs/not-a-uuid"), 404, "run")


def test_patch_changes_name_notes_and_merges_tags(api, run):
    response = api.patch(f"/api/v1/runs/{run['id']}", {
        "name": "lr-1-renamed", "notes": "C=1 overfits", "tags": {"reviewed": "yes"}},
        format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "lr-1-renamed"
    assert body["notes"] == "C=1 overfits"
    assert body["tags"] == {"stage": "dev", "reviewed": "yes"}

    overwrite = api.patch(f"/api/v1/runs/{run['id']}", {"tags": {"stage": "prod"}},
                          format="json")
    assert overwrite.json()["tags"] == {"stage": "prod", "reviewed": "yes"}
    assert overwrite.json()["name"] == "lr-1-renamed"  # untouched fields stay


def test_patch_status_sets_and_clears_the_end_time(api, run):
    killed = api.patch(f"/api/v1/runs/{run['id']}", {"status": "killed"}, format="json")

    assert killed.status_code == 200
    assert killed.json()["status"] == "killed"
    assert killed.json()["ended_at"] is not None

    running = api.patch(f"/api/v1/runs/{run['id']}", {"status": "running"}, format="json")
    assert running.json()["status"] == "running"
    assert running.json()["ended_at"] is None


def test_patch_with_an_unknown_status_names_the_field(api, run):
    error_body(api.patch(f"/api/v1/runs/{run['id']}", {"status": "done"}, format="json"), 400,
           "status")


def test_patch_can_flag_the_baseline(api, run):
    response = api.patch(f"/api/v1/runs/{run['id']}", {"baseline": True}, format="json")

    assert response.json()["baseline"] is True


# --- Heartbeat and finish ---------------------------------------------------------


def test_heartbeat_moves_last_heartbeat(api, run):
    before = datetime.fromisoformat(run["last_heartbeat"])

    response = api.post(f"/api/v1/runs/{run['id']}/heartbeat")

    assert response.status_code == 200
    beat = datetime.fromisoformat(response.json()["last_heartbeat"])
    assert beat > before
    got = api.get(f"/api/v1/runs/{run['id']}").json()
    assert datetime.fromisoformat(got["last_heartbeat"]) == beat
    assert got["status"] == "running"


@pytest.mark.parametrize("status", ["finished", "failed", "killed"])
def test_finish_sets_the_status_and_end_time(api, run, status):
    response = api.post(f"/api/v1/runs/{run['id']}/finish", {"status": status}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == status
    assert body["ended_at"] is not None
    assert body["duration_s"] >= 0
    assert api.get(f"/api/v1/runs/{run['id']}").json()["ended_at"] == body["ended_at"]


def test_finish_without_a_body_means_finished(api, run):
    response = api.post(f"/api/v1/runs/{run['id']}/finish")

    assert response.status_code == 200
    assert response.json()["status"] == "finished"


def test_finishing_twice_keeps_the_first_end_time(api, run):
    first = api.post(f"/api/v1/runs/{run['id']}/finish", {"status": "finished"}, format="json")
    second = api.post(f"/api/v1/runs/{run['id']}/finish", {"status": "failed"}, format="json")

    assert second.json()["status"] == "failed"
    assert second.json()["ended_at"] == first.json()["ended_at"]


def test_finish_with_status_done_names_the_field(api, run):
    response = api.post(f"/api/v1/runs/{run['id']}/finish", {"status": "done"}, format="json")

    error_body(response, 400, "status")
    assert api.get(f"/api/v1/runs/{run['id']}").json()["status"] == "running"


def test_finish_as_running_is_refused(api, run):
    response = api.post(f"/api/v1/runs/{run['id']}/finish", {"status": "running"},
                        format="json")

    error_body(response, 400, "status")


def test_a_finished_run_still_takes_points(api, run):
    api.post(f"/api/v1/runs/{run['id']}/finish", {"status": "finished"}, format="json")

    response = api.post(f"/api/v1/runs/{run['id']}/log-batch", {"metrics": [
        {"key": "f1", "split": "test", "step": 0, "value": 0.86, "timestamp": 1000}]},
        format="json")

    assert response.status_code == 200
    assert response.json()["points_stored"] == 1


# --- Delete -----------------------------------------------------------------------


def test_a_deleted_run_is_gone_and_takes_no_points(api, run):
    run_id = run["id"]

    response = api.delete(f"/api/v1/runs/{run_id}")

    assert response.status_code == 204
    error_body(api.get(f"/api/v1/runs/{run_id}"), 404, "run")
    log = api.post(f"/api/v1/runs/{run_id}/log-batch", {"metrics": [
        {"key": "loss", "split": "train", "step": 1, "value": 0.3, "timestamp": 1000}]},
        format="json")
    body = error_body(log, 409, "run")
    assert "deleted" in body["error"]
    search = api.get(f"{P}/runs/").json()
    assert search["results"] == []
    assert search["count"] == 0
    assert api.get(f"{P}/").json()["runs"] == 0
    assert api.delete(f"/api/v1/runs/{run_id}").status_code == 204  # idempotent


def test_creating_a_run_with_a_deleted_runs_id_is_refused(api, run):
    api.delete(f"/api/v1/runs/{run['id']}")

    retry = _create(api, id=run["id"], name="lr-1")

    assert retry.status_code == 409
    assert "deleted" in retry.json()["error"]


# --- Search: paging and ordering -----------------------------------------------------


@pytest.fixture
def seven_runs(project, owner):
    """Seven runs started a minute apart, created in a shuffled order."""
    t0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    ids = {}
    for i in (3, 0, 6, 1, 5, 2, 4):
        run, _ = run_services.create_run(project=project, user=owner, experiment="sweep",
                                         name=f"run-{i}", started_at=t0 + timedelta(minutes=i))
        ids[i] = str(run.id)
    return ids


def _all_pages(api, url):
    ids, pages = [], 0
    while url is not None:
        response = api.get(url)
        assert response.status_code == 200, response.json()
        body = response.json()
        assert len(body["results"]) <= 3
        ids += [r["id"] for r in body["results"]]
        url = body["next"]
        pages += 1
    return ids, pages


def test_following_next_visits_every_run_once_newest_first(api, seven_runs):
    ids, pages = _all_pages(api, f"{P}/runs/?page_size=3")

    assert pages == 3
    assert ids == [seven_runs[i] for i in (6, 5, 4, 3, 2, 1, 0)]
    assert len(set(ids)) == 7


def test_the_next_link_keeps_the_filter_and_order(api, seven_runs):
    first = api.get(f"{P}/runs/", {"page_size": 3, "order_by": "name",
                                   "filter": 'name ~ "run-%"'}).json()

    assert first["count"] == 7
    assert "order_by=name" in first["next"]
    assert "filter=" in first["next"]
    ids, _ = _all_pages(api, first["next"])
    assert ids == [seven_runs[i] for i in (3, 4, 5, 6)]


@pytest.mark.parametrize(("order_by", "expected"), [
    ("name", [0, 1, 2, 3, 4, 5, 6]),
    ("-name", [6, 5, 4, 3, 2, 1, 0]),
    ("started_at", [0, 1, 2, 3, 4, 5, 6]),
])
def test_order_by(api, seven_runs, order_by, expected):
    ids, _ = _all_pages(api, f"{P}/runs/?page_size=3&order_by={order_by}")

    assert ids == [seven_runs[i] for i in expected]


def test_order_by_a_metric_puts_runs_without_it_last(api, project, owner):
    runs = {}
    for name, f1 in (("a", 0.7), ("b", None), ("c", 0.9)):
        run, _ = run_services.create_run(project=project, user=owner, experiment="e", name=name)
        if f1 is not None:
            metric_services.log_batch(run=run, metrics=[
                {"key": "f1", "split": "validation", "step": 0, "value": f1, "timestamp": 1}])
        runs[name] = str(run.id)

    for order, expected in (("-validation.f1", "cab"), ("validation.f1", "acb")):
        body = api.get(f"{P}/runs/", {"order_by": order}).json()
        assert [r["name"] for r in body["results"]] == list(expected)


@pytest.mark.parametrize("order_by", ["name name", "-", "validation.", "name,,status"])
def test_a_bad_order_by_is_400_with_the_position(api, seven_runs, order_by):
    body = error_body(api.get(f"{P}/runs/", {"order_by": order_by}), 400, "order_by")

    assert isinstance(body["position"], int)
    assert 0 <= body["position"] <= len(order_by)


def test_a_bad_filter_is_400_with_the_position(api, seven_runs):
    body = error_body(api.get(f"{P}/runs/", {"filter": "validation.f1 >"}), 400, "filter")

    assert body["position"] == len("validation.f1 >")


@pytest.mark.parametrize("cursor", ["garbage!", "e30", "bm90LWpzb24", "eyJvIjogLTF9"])
def test_a_bad_cursor_names_the_field(api, seven_runs, cursor):
    error_body(api.get(f"{P}/runs/", {"cursor": cursor}), 400, "cursor")


@pytest.mark.parametrize("page_size", ["0", "-1", "abc", "1001"])
def test_a_bad_page_size_names_the_field(api, seven_runs, page_size):
    error_body(api.get(f"{P}/runs/", {"page_size": page_size}), 400, "page_size")


def test_a_run_started_while_paging_does_not_repeat_a_run(api, project, owner, seven_runs):
    first = api.get(f"{P}/runs/?page_size=3").json()
    run_services.create_run(project=project, user=owner, experiment="sweep", name="late")

    rest, _ = _all_pages(api, first["next"])

    seen = [r["id"] for r in first["results"]] + rest
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("order_by", ["-validation.f1", "params.C", "-tags.stage", "name",
                                      "experiment,-validation.f1", ""])
def test_paging_visits_every_run_once_in_any_order(api, project, owner, order_by):
    expected = []
    for i in range(11):
        series = {"validation.f1": round(0.5 + (i % 4) / 10, 2)} if i % 3 else {}
        params = {"C": i % 5} if i % 2 else {}
        tags = {"stage": ["dev", "prod"][i % 2]} if i % 4 else {}
        expected.append(make_run(project, owner, name=f"r{i:02d}", experiment=f"e{i % 3}",
                                 series=series, params=params, tags=tags).name)
    query = f"?page_size=3&order_by={order_by}" if order_by else "?page_size=3"
    url = f"/api/v1/projects/news-topics/runs/{query}"
    seen = []
    while url:
        body = api.get(url).json()
        seen += [r["name"] for r in body["results"]]
        url = body["next"]
    full = api.get(f"/api/v1/projects/news-topics/runs/?page_size=100&order_by={order_by}")
    assert seen == [r["name"] for r in full.json()["results"]]
    assert sorted(seen) == sorted(expected)
