"""The benchmark's own parts: the stub that measures the client's limit, and the report."""

import mlflow

from benchmarks import mlflow as bench
from benchmarks import mlflow_workload as client_workload


def test_the_stub_that_measures_the_clients_limit_answers_every_workload():
    sizes = {**bench.QUICK, "runs": 1, "steps": 200, "history": 2000, "search_runs": 20,
             "creations": 10}
    stub = bench.start_stub(sizes)
    try:
        figures = bench._best([stub.run(phase, sizes) for phase in client_workload.PHASES])
    finally:
        stub.stop()
    assert figures["log_batch_rate"] > 0
    assert 0 < figures["history_s"] < 5
    assert figures["runs_per_s"] > 0
    assert figures["creation_per_s"] > 0
    assert 0 < figures["search_s"] < 5
    assert 0 < figures["request_ms"] < 1000


def test_the_best_of_repeated_tries_is_kept_and_reported_with_ratios():
    best = bench._best([{"log_batch_rate": 10.0, "history_s": 2.0},
                        {"log_batch_rate": 12.0, "history_s": 3.0}])
    assert best == {"log_batch_rate": 12.0, "history_s": 2.0}
    text = bench._report(bench.SIZES, {"log_batch_rate": 20_000.0, "history_s": 2.0},
                         "PostgreSQL", {"log_batch_rate": 4_000.0, "history_s": 8.0},
                         {"log_batch_rate": 40_000.0, "history_s": 1.6}, "mlflow server: x")
    assert "| log_batch, 1,000 metrics a request (points/s) | 20,000 | 4,000 | 5.0× | " \
           "40,000 | 50 % |" in text
    assert "| get_metric_history, 100,000 points (s) | 2.00 | 8.00 | 4.0× | 1.60 | 80 % |" in text


def test_the_paired_ingest_times_each_servers_own_calls(monkeypatch):
    # Nothing may differ between the servers but the server: each sends batches of its own
    # (objects another server's call warmed would flatter it), and each goes first in
    # half the turns.
    sizes = {**bench.QUICK, "runs": 2, "steps": 400}
    sent = []
    log_batch = mlflow.MlflowClient.log_batch

    def recording(client, run_id, metrics=(), **kwargs):
        sent.append((client._tracking_client.tracking_uri, metrics))
        return log_batch(client, run_id, metrics=metrics, **kwargs)

    monkeypatch.setattr(mlflow.MlflowClient, "log_batch", recording)
    urls, rates = _paired_on_two_stubs(client_workload.paired_ingest, sizes)
    assert set(rates) == {"client limit", "targetline"}
    assert all(rate > 0 for rate in rates.values())
    calls_per_server = sizes["runs"] * len(client_workload._ingest_batches(sizes))
    assert len(sent) == 2 * calls_per_server
    senders = {}
    for url, metrics in sent:
        assert senders.setdefault(id(metrics), url) == url, "a batch sent to two servers"
    firsts = [url for url, _ in sent[::2]]
    assert firsts.count(urls["targetline"]) == firsts.count(urls["client limit"])


def test_paired_tries_list_each_server_first_as_often():
    assert client_workload.paired_orders(["targetline", "client limit"], 3) == [
        ["targetline", "client limit"], ["client limit", "targetline"]] * 2
    assert len(client_workload.paired_orders(["a", "b"], 2)) == 2


def test_paired_tries_are_pooled_and_reported_as_a_share_of_the_limit():
    pooled = bench._pooled([{"targetline": 30_000.0, "client limit": 40_000.0},
                            {"targetline": 10_000.0, "client limit": 40_000.0}, {}])
    # the same points in each try: 1 / (1/30,000 + 1/10,000) per try, twice
    assert pooled == {"targetline": 15_000.0, "client limit": 40_000.0}
    text = bench._report(bench.SIZES, {}, "PostgreSQL", None, {}, "mlflow server: x",
                         {"ingest": pooled})
    assert text.endswith("Targetline 15,000 points/s, the client's own limit 40,000: "
                         "**38 %**.")
    text = bench._report(bench.SIZES, {}, "PostgreSQL", None, {}, "mlflow server: x",
                         {"ingest": pooled, "creation": {"targetline": 30.0,
                                                         "client limit": 50.0}})
    assert text.endswith("Targetline 30.0 runs/s, the client's own limit 50.0: **60 %**.")


def test_the_paired_run_creation_makes_each_run_on_every_server_in_turn(monkeypatch):
    # The four calls a run (set_terminated reads the run before it updates it),
    # each server first in every other turn.
    sizes = {**bench.QUICK, "creations": 4}
    created = []
    create_run = mlflow.MlflowClient.create_run

    def recording(client, experiment_id, **kwargs):
        created.append(client._tracking_client.tracking_uri)
        return create_run(client, experiment_id, **kwargs)

    monkeypatch.setattr(mlflow.MlflowClient, "create_run", recording)
    urls, rates = _paired_on_two_stubs(client_workload.paired_creation, sizes)
    assert set(rates) == {"client limit", "targetline"}
    assert all(rate > 0 for rate in rates.values())
    first, second = urls["client limit"], urls["targetline"]
    # one warm-up run on each, then the pairs, alternating
    assert created == [first, second, first, second, second, first, first, second,
                       second, first]


def _paired_on_two_stubs(paired, sizes: dict) -> tuple[dict[str, str], dict[str, float]]:
    """A paired workload against two stubs named as the benchmark names its servers:
    (their URLs, each one's rate)."""
    stubs = {"client limit": bench.start_stub(sizes), "targetline": bench.start_stub(sizes)}
    try:
        urls = {name: s.url for name, s in stubs.items()}
        return urls, paired(urls, sizes)
    finally:
        for stub in stubs.values():
            stub.stop()
