"""The mlflow-client side of the MLflow benchmark (benchmarks/mlflow.py): the workloads a
client process runs against one server (`python -m benchmarks.mlflow --client URL`) and the
paired ingest against several at once (`--paired`).
"""

import os
import statistics
import time

import mlflow
import psycopg
import requests
from mlflow.entities import Metric, Param

# --- The client workload (each phase runs in a fresh client process) ----------------------

PHASES = ("ingest", "history", "runs", "creation", "latency")
PHASE_TIMEOUT_S = 900


def workload(url: str, phase: str, sizes: dict) -> dict:
    """Drive one server through one phase with the mlflow client; returns its figures."""
    mlflow.set_tracking_uri(url)
    client = mlflow.MlflowClient(url)
    experiment_id = client.create_experiment(f"bench-{phase}-{time.time_ns()}")
    phases = {"ingest": _ingest, "history": _history, "runs": _runs,
              "creation": _creation, "latency": _latency}
    return phases[phase](client, experiment_id, sizes, url)


def _ingest(client, experiment_id: str, sizes: dict, url: str) -> dict:
    """runs x steps x metrics, 1,000 metrics a request."""
    batches = _ingest_batches(sizes)
    run_ids = [client.create_run(experiment_id).info.run_id for _ in range(sizes["runs"])]
    started = time.perf_counter()
    for run_id in run_ids:
        for batch in batches:
            client.log_batch(run_id, metrics=batch)
    return {"log_batch_rate": _ingest_points(sizes) / (time.perf_counter() - started)}


def _history(client, experiment_id: str, sizes: dict, url: str) -> dict:
    """One long series, read back whole (the client pages it)."""
    run_id = client.create_run(experiment_id).info.run_id
    for start in range(0, sizes["history"], 1000):
        client.log_batch(run_id, metrics=[
            Metric("val_loss", 1 / (s + 1), 1_700_000_000_000 + s, s)
            for s in range(start, min(start + 1000, sizes["history"]))])
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        history = client.get_metric_history(run_id, "val_loss")
        timings.append(time.perf_counter() - started)
        assert len(history) == sizes["history"], len(history)
    return {"history_s": min(timings)}


def _runs(client, experiment_id: str, sizes: dict, url: str) -> dict:
    """Create, log_batch, get, update; then search over those runs."""
    started = time.perf_counter()
    for i in range(sizes["search_runs"]):
        run_id = client.create_run(experiment_id).info.run_id
        client.log_batch(run_id, metrics=[Metric("val_f1", (i % 100) / 100, 1, 0),
                                          Metric("train_loss", 1 - (i % 100) / 100, 1, 0)],
                         params=[Param("model", "svm" if i % 2 else "lr"),
                                 Param("C", str(i % 10))])
        client.get_run(run_id)
        client.set_terminated(run_id)
    result = {"runs_per_s": sizes["search_runs"] / (time.perf_counter() - started)}
    _analyze(os.environ.get("BENCH_DATABASE_URL"))
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        found = client.search_runs([experiment_id],
                                   "metrics.val_f1 > 0.2 and params.model = 'svm'",
                                   order_by=["metrics.val_f1 DESC"], max_results=100)
        timings.append(time.perf_counter() - started)
        assert len(found) == min(100, sizes["search_runs"] * 4 // 10), len(found)
    result["search_s"] = statistics.median(timings)
    return result


def _start_tags() -> dict[str, str]:
    """The tags mlflow.start_run() sends with a run (user, source name and type, git
    commit when there is one), worked out once: what the client spends finding them is
    not the server's."""
    from mlflow.tracking.context import registry

    return registry.resolve_tags({})


def create_one_run(client, experiment_id: str, tags: dict[str, str], i: int) -> None:
    """One run as a script makes it with mlflow.start_run(), log_params (5), log_metrics (3)
    and end_run(): create, log_batch of the params, log_batch of the metrics, then
    set_terminated, which reads the run (runs/get) before it updates it."""
    run_id = client.create_run(experiment_id, tags=tags).info.run_id
    client.log_batch(run_id, params=[
        Param("model", "svm" if i % 2 else "logreg"), Param("lr", str(10 ** -(i % 5))),
        Param("epochs", str(10 + i % 7)), Param("batch_size", "64"),
        Param("seed", str(i))])
    now = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[Metric("f1", (i % 100) / 100, now, 0),
                                      Metric("loss", 1 - (i % 100) / 100, now, 0),
                                      Metric("latency_ms", 5.0 + i % 11, now, 0)])
    client.set_terminated(run_id)


def _creation(client, experiment_id: str, sizes: dict, url: str) -> dict:
    """The issue's run creation, one run after another (create_one_run)."""
    tags = _start_tags()
    create_one_run(client, experiment_id, tags, -1)  # the connection made, the code warm
    started = time.perf_counter()
    for i in range(sizes["creations"]):
        create_one_run(client, experiment_id, tags, i)
    return {"creation_per_s": sizes["creations"] / (time.perf_counter() - started)}


def _latency(client, experiment_id: str, sizes: dict, url: str) -> dict:
    """One small request on a kept-alive connection."""
    session = requests.Session()
    headers = {}
    if os.environ.get("MLFLOW_TRACKING_TOKEN"):
        headers["Authorization"] = f"Bearer {os.environ['MLFLOW_TRACKING_TOKEN']}"
    latencies = []
    for _ in range(200):
        started = time.perf_counter()
        response = session.get(f"{url}/api/2.0/mlflow/experiments/get",
                               params={"experiment_id": experiment_id}, headers=headers)
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return {"request_ms": statistics.median(latencies[20:]) * 1000}


def _ingest_batches(sizes: dict) -> list:
    """The ingest workload's requests: each step's metrics, 1,000 metrics a request."""
    names = ["train_loss", "train_acc", "val_f1", "val_loss", "lr"][:sizes["metrics"]]
    steps_per_call = 1000 // len(names)
    batches = []
    for start in range(0, sizes["steps"], steps_per_call):
        steps = range(start, min(start + steps_per_call, sizes["steps"]))
        batches.append([Metric(k, (s % 97) / 97.0, 1_700_000_000_000 + s, s)
                        for s in steps for k in names])
    return batches


def _ingest_points(sizes: dict) -> int:
    return sizes["runs"] * sizes["steps"] * sizes["metrics"]


def paired_ingest(urls: dict[str, str], sizes: dict) -> dict[str, float]:
    """The ingest workload in one client process, each batch sent to every server in turn,
    so that all of them meet the same minutes of the machine: each server's points/s from
    the time its own log_batch calls took, the client's work of building each request
    included. The separate runs of the table meet different minutes, and on a shared
    machine the client's own speed varies by half from one minute to the next; paired,
    that variation falls on every server alike.

    What a call costs the client also depends on what came before it, so nothing may
    differ between the servers but the server. The order alternates between A B C and
    A C B (A B and B A for two): every server follows every other one equally often. Each
    server gets batches of its own, built alike before its calls: sharing one batch's
    objects, the first server to send them met them cold (two identical stubs measured
    11 % apart, 57,564 against 64,505 points/s). What remains is a few per cent for the
    first server listed (its client made first); the caller lists them in either order
    equally often (paired_orders).
    """
    names = list(urls)
    clients = {name: mlflow.MlflowClient(url) for name, url in urls.items()}
    run_ids = {}
    for name, client in clients.items():
        experiment_id = client.create_experiment(f"bench-paired-{time.time_ns()}")
        run_ids[name] = [client.create_run(experiment_id).info.run_id
                         for _ in range(sizes["runs"])]
    spent = dict.fromkeys(names, 0.0)
    # A B C A C B …, or A B B A …: each pair once per cycle
    orders = [names, names[:1] + names[:0:-1] if len(names) > 2 else names[::-1]]
    turn = 0
    for index in range(sizes["runs"]):
        batches = {name: _ingest_batches(sizes) for name in names}
        for step in range(len(batches[names[0]])):
            for name in orders[turn % 2]:
                started = time.perf_counter()
                clients[name].log_batch(run_ids[name][index], metrics=batches[name][step])
                spent[name] += time.perf_counter() - started
            turn += 1
    return {name: _ingest_points(sizes) / seconds for name, seconds in spent.items()}


def paired_orders(names: list[str], tries: int) -> list[list[str]]:
    """The servers of each paired try, listed first one way then the other: an even number
    of tries, at least `tries`, so that each comes first as often (paired_ingest)."""
    return [names if i % 2 == 0 else names[::-1] for i in range(tries + tries % 2)]


def _analyze(database_url: str | None) -> None:
    """Refresh the planner's statistics, as autovacuum does soon after a bulk load.

    Searched right after 1,000 runs were created, both servers' tables would
    still carry the statistics of empty tables, and PostgreSQL would plan for that.
    """
    if not database_url:
        return
    with psycopg.connect(database_url.replace("+psycopg2", ""), autocommit=True) as conn:
        conn.execute("ANALYZE")


def paired_creation(urls: dict[str, str], sizes: dict) -> dict[str, float]:
    """The run-creation workload in one client process, each run made on every server in
    turn (A B, then B A: each follows the other equally often), as paired_ingest does for
    batches; each server's runs/s from the time its own calls took."""
    names = list(urls)
    clients = {name: mlflow.MlflowClient(url) for name, url in urls.items()}
    tags = _start_tags()
    experiments = {name: client.create_experiment(f"bench-paired-runs-{time.time_ns()}")
                   for name, client in clients.items()}
    for name, client in clients.items():  # connections made, code warm
        create_one_run(client, experiments[name], tags, -1)
    spent = dict.fromkeys(names, 0.0)
    orders = [names, names[:1] + names[:0:-1] if len(names) > 2 else names[::-1]]
    for i in range(sizes["creations"]):
        for name in orders[i % 2]:
            started = time.perf_counter()
            create_one_run(clients[name], experiments[name], tags, i)
            spent[name] += time.perf_counter() - started
    return {name: sizes["creations"] / seconds for name, seconds in spent.items()}
