"""An ordinary MLflow tracking script, the kind MLflow's tutorials show.

It knows nothing about Targetline: it is run unmodified, with only
MLFLOW_TRACKING_URI and MLFLOW_TRACKING_TOKEN set (tests/mlflow/test_tutorial.py).
"""

import csv
import os
import tempfile

import mlflow
import numpy as np
from mlflow import MlflowClient
from sklearn.datasets import load_iris
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, confusion_matrix, log_loss
from sklearn.model_selection import train_test_split

X, y = load_iris(return_X_y=True)
X_train, X_rest, y_train, y_rest = train_test_split(X, y, test_size=0.4, random_state=42)
X_val, X_test, y_val, y_test = train_test_split(X_rest, y_rest, test_size=0.5, random_state=42)

params = {"loss": "log_loss", "alpha": 0.001, "learning_rate": "optimal", "random_state": 42}
epochs = 10

mlflow.set_experiment("MLflow Quickstart")

with mlflow.start_run(run_name="iris-sgd") as run:
    mlflow.log_params(params)
    mlflow.log_param("epochs", epochs)
    model = SGDClassifier(**params)
    for epoch in range(epochs):
        model.partial_fit(X_train, y_train, classes=np.unique(y))
        mlflow.log_metric("train_loss", log_loss(y_train, model.predict_proba(X_train)),
                          step=epoch)
        mlflow.log_metric("val_accuracy", accuracy_score(y_val, model.predict(X_val)),
                          step=epoch)
    mlflow.log_metric("test_accuracy", accuracy_score(y_test, model.predict(X_test)))
    mlflow.set_tag("Training Info", "Basic SGD model for iris data")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "confusion_matrix.csv")
        with open(path, "w", newline="") as f:
            csv.writer(f).writerows(confusion_matrix(y_test, model.predict(X_test)).tolist())
        mlflow.log_artifact(path)

client = MlflowClient()
experiment = client.get_experiment_by_name("MLflow Quickstart")
runs = client.search_runs([experiment.experiment_id], "metrics.val_accuracy > 0.5",
                          order_by=["metrics.val_accuracy DESC"])
print("runs found:", [r.info.run_name for r in runs])
history = client.get_metric_history(run.info.run_id, "val_accuracy")
print("val_accuracy by epoch:", [round(m.value, 3) for m in history])
print("artifacts:", [f.path for f in client.list_artifacts(run.info.run_id)])
assert len(history) == epochs
assert runs[0].data.params["alpha"] == "0.001"
print("run id:", run.info.run_id)
