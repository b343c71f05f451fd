"""The benchmark's own parts: the stub that measures the client's limit, and the report."""

from api.mlflow import bench


def test_the_stub_that_measures_the_clients_limit_answers_every_workload():
    sizes = {**bench.QUICK, "runs": 1, "steps": 200, "history": 2000, "search_runs": 20}
    stub = bench.start_stub(sizes)
    try:
        figures = bench._best([stub.run(phase, sizes) for phase in bench.PHASES])
    finally:
        stub.stop()
    assert figures["log_batch_rate"] > 0
    assert 0 < figures["history_s"] < 5
    assert figures["runs_per_s"] > 0
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
