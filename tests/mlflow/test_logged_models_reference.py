"""MLflow 3's logged models, Targetline against a real `mlflow server` 3.17.

One script of the real mlflow client (models created outside a run, an unnamed model, the
active model of GenAI code, a run's model inputs and outputs, registry versions made from
a model) runs against both servers; what each answers is reduced to what does not depend
on the server (ids become labels, generated names their shape) and must be the same.
"""

import json
import os
import re
import uuid
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow.entities import LoggedModelInput
from sklearn.linear_model import LinearRegression

MODEL_ID = re.compile(r"^m-[0-9a-f]{32}$")
GENERATED_NAME = re.compile(r"^[a-z]+-[a-z]+-\d{1,4}$")


def _labels(answer, ids: dict[str, str]):
    """The answer with every model id replaced by its label."""
    text = json.dumps(answer, sort_keys=True)
    for model_id, label in ids.items():
        text = text.replace(model_id, label)
    return json.loads(text)


def scenario(uri: str, workdir: Path) -> dict:
    """What a team's MLflow 3 script sees of logged models on the server at `uri`."""
    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient(uri)
    experiment_id = mlflow.set_experiment(f"lm-{uuid.uuid4().hex[:8]}").experiment_id
    seen: dict = {}

    unnamed = mlflow.initialize_logged_model()
    agent = mlflow.initialize_logged_model(name="agent", model_type="agent",
                                           tags={"team": "nlp"})
    ids = {unnamed.model_id: "<unnamed>", agent.model_id: "<agent>"}
    seen["ids"] = [bool(MODEL_ID.match(m)) for m in (unnamed.model_id, agent.model_id)]
    seen["unnamed"] = {"name_shape": bool(GENERATED_NAME.match(unnamed.name)),
                       "source_run_id": unnamed.source_run_id or "",
                       "status": str(unnamed.status),
                       "experiment": unnamed.experiment_id == experiment_id}
    seen["agent"] = {"name": agent.name, "model_type": agent.model_type,
                     "team": agent.tags.get("team"), "status": str(agent.status),
                     "artifacts": agent.artifact_location.endswith(
                         f"/{experiment_id}/models/{agent.model_id}/artifacts")}
    two_more = [mlflow.initialize_logged_model().name for _ in range(2)]
    seen["generated_names_differ"] = len({unnamed.name, *two_more}) == 3

    # GenAI code: the active model, found again by its name
    mlflow.set_active_model(name="chatbot")
    chatbot_id = mlflow.get_active_model_id()
    ids[chatbot_id] = "<chatbot>"
    mlflow.set_active_model(name="chatbot")
    seen["same_active_model"] = mlflow.get_active_model_id() == chatbot_id
    chatbot = client.get_logged_model(chatbot_id)
    seen["chatbot"] = {"status": str(chatbot.status), "run": chatbot.source_run_id or "",
                       "external": chatbot.tags.get("mlflow.model.isExternal")}

    def names(filter_string):
        return sorted(ids.get(m.model_id, m.name)
                      for m in mlflow.search_logged_models(
                          experiment_ids=[experiment_id], filter_string=filter_string,
                          output_format="list"))
    seen["by_name"] = {"chatbot": names("name = 'chatbot'"),
                       "unnamed": names(f"name = '{unnamed.name}'"),
                       "agents": names("model_type = 'agent'"),
                       "no_run": len(names(None))}

    # A run's model inputs: the models its metrics name (the active one too), and log_inputs
    with mlflow.start_run() as run:
        mlflow.log_metric("accuracy", 0.5, model_id=agent.model_id)
        mlflow.log_metric("latency_ms", 30)  # for the active model
        client.log_inputs(run.info.run_id, models=[LoggedModelInput(unnamed.model_id)])
        client.log_inputs(run.info.run_id, models=[LoggedModelInput(unnamed.model_id)])
        mlflow.clear_active_model()
        fitted = LinearRegression().fit(np.arange(4).reshape(-1, 1), np.arange(4))
        logged = mlflow.sklearn.log_model(fitted, name="regressor")
        ids[logged.model_id] = "<regressor>"
    got = client.get_run(run.info.run_id)
    seen["model_inputs"] = sorted(_labels([i.model_id for i in got.inputs.model_inputs], ids))
    seen["model_outputs"] = _labels([(o.model_id, o.step) for o in got.outputs.model_outputs],
                                    ids)
    agent_metrics = client.get_logged_model(agent.model_id).metrics
    seen["agent_metrics"] = [(m.key, m.value, m.run_id == run.info.run_id)
                             for m in agent_metrics]
    regressor = client.get_logged_model(logged.model_id)
    seen["regressor"] = {"status": str(regressor.status),
                         "run": regressor.source_run_id == run.info.run_id}

    # Registry versions made from a logged model are listed on it
    registered = f"lm-reg-{uuid.uuid4().hex[:8]}"
    mlflow.register_model(f"models:/{logged.model_id}", registered)
    after_fluent = client.get_logged_model(logged.model_id).tags.get("mlflow.modelVersions")
    client.create_model_version(registered, f"models:/{logged.model_id}",
                                model_id=logged.model_id)
    client.create_registered_model(f"{registered}-b")
    client.create_model_version(f"{registered}-b", f"models:/{agent.model_id}",
                                model_id=agent.model_id)
    after_client = client.get_logged_model(logged.model_id).tags.get("mlflow.modelVersions")
    agent_versions = client.get_logged_model(agent.model_id).tags.get("mlflow.modelVersions")
    seen["model_versions"] = [
        text.replace(registered, "<registered>") for text in
        (after_fluent, after_client, agent_versions)]
    seen["search_all"] = len(mlflow.search_logged_models(experiment_ids=[experiment_id],
                                                         output_format="list"))

    # A model logged outside any run keeps its files, and loads back
    outside = mlflow.sklearn.log_model(fitted, name="outside")
    stored = client.get_logged_model(outside.model_id)
    seen["outside"] = {
        "run": stored.source_run_id or "", "status": str(stored.status),
        "prediction": [round(float(v), 6) for v in
                       mlflow.sklearn.load_model(outside.model_uri).predict([[5]])],
        "chatbot_files": sorted(os.listdir(mlflow.artifacts.download_artifacts(
            f"models:/{chatbot_id}", dst_path=str(workdir / uuid.uuid4().hex))))}
    seen["chatbot_metrics"] = sorted(m.key for m in client.get_logged_model(chatbot_id).metrics)
    return seen


@pytest.fixture
def both(alice, mlflow_reference, live_server, tmp_path):
    """Run a scenario on Targetline (as alice) and on mlflow server; both answers."""
    def run(script):
        try:
            return script(live_server.url, tmp_path), script(mlflow_reference, tmp_path)
        finally:
            mlflow.clear_active_model()
            mlflow.set_tracking_uri(live_server.url)
    return run


def test_logged_models_answer_as_mlflow_server(both):
    targetline, mlflow_server = both(scenario)
    assert targetline == mlflow_server
    # and what they both answer is what a team expects
    assert mlflow_server["unnamed"]["name_shape"] and mlflow_server["generated_names_differ"]
    assert mlflow_server["by_name"]["chatbot"] == ["<chatbot>"]
    assert mlflow_server["model_inputs"] == ["<agent>", "<chatbot>", "<unnamed>"]
    assert json.loads(mlflow_server["model_versions"][0]) == [
        {"name": "<registered>", "version": 1}, {"name": "<registered>", "version": "1"}]
