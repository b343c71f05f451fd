"""A param means the same whether the SDK logged it (numbers as JSON numbers) or the MLflow
client did (every param as text): in the filter language of the v1 API, the SDK and the web
UI. MLflow's own search keeps MLflow's meaning, where params are strings."""

import targetline as tl


def _names(runs) -> list[str]:
    return sorted(r["name"] for r in runs)


def test_params_logged_by_the_sdk_and_by_mlflow_filter_and_sort_alike(alice, live_server,
                                                                     tmp_path):
    api = tl.Api(url=live_server.url, token=alice.token)
    api.create_project("sweep")
    experiment_id = alice.create_experiment("sweep", tags={"targetline.project": "sweep"})
    for name, c, epochs in [("mlflow-c1", "1.0", "30"), ("mlflow-c05", "0.5", "9")]:
        run_id = alice.create_run(experiment_id, run_name=name).info.run_id
        alice.log_param(run_id, "C", c)
        alice.log_param(run_id, "epochs", epochs)
        alice.set_terminated(run_id)
    for name, c, epochs in [("sdk-c1", 1, 30), ("sdk-c10", 10.0, 100)]:
        with tl.init(project="sweep", experiment="sweep", name=name,
                     params={"C": c, "epochs": epochs}, url=live_server.url, token=alice.token,
                     dir=str(tmp_path)):
            pass

    assert api.run(api.runs("sweep", filter='name = "sdk-c1"')[0]["id"])["params"] == {
        "C": 1, "epochs": 30}  # stored as the SDK sent them: numbers
    for text in ("params.C = 1", "params.C = 1.0", 'params.C = "1"', 'params.C = "1.0"',
                 "params.C >= 1 and params.C < 2"):
        assert _names(api.runs("sweep", filter=text)) == ["mlflow-c1", "sdk-c1"], text
    assert _names(api.runs("sweep", filter='params.epochs = "30"')) == ["mlflow-c1", "sdk-c1"]
    assert _names(api.runs("sweep", filter="params.epochs > 10")) == [
        "mlflow-c1", "sdk-c1", "sdk-c10"]
    by_epochs = [r["name"] for r in api.runs("sweep", order_by="params.epochs")]
    assert by_epochs[0] == "mlflow-c05" and by_epochs[-1] == "sdk-c10"  # 9 < 30 < 100

    # MLflow's search compares params as the strings MLflow clients log.
    found = alice.search_runs([experiment_id], "params.C = '1.0'")
    assert [r.info.run_name for r in found] == ["mlflow-c1"]
    assert alice.search_runs([experiment_id], "params.C = '1'") == []
