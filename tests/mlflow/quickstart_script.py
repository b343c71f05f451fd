"""MLflow's own tracking quickstart, as its documentation gives it, with the model registry.

Unmodified apart from printing what it got back: trains a logistic regression on iris,
logs params, a metric and a tag, logs the model with `registered_model_name` (which
registers it), then loads it back by its logged-model URI and by its registered version.
Run with only MLFLOW_TRACKING_URI and MLFLOW_TRACKING_TOKEN set
(tests/mlflow/test_registry.py).
"""

import mlflow
import pandas as pd
from mlflow.models import infer_signature
from sklearn import datasets
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

X, y = datasets.load_iris(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

params = {"solver": "lbfgs", "max_iter": 1000, "multi_class": "auto", "random_state": 8888}
lr = LogisticRegression(**{k: v for k, v in params.items() if k != "multi_class"})
lr.fit(X_train, y_train)
y_pred = lr.predict(X_test)
accuracy = accuracy_score(y_test, y_pred)

mlflow.set_experiment("MLflow Quickstart")

with mlflow.start_run():
    mlflow.log_params(params)
    mlflow.log_metric("accuracy", accuracy)
    mlflow.set_tag("Training Info", "Basic LR model for iris data")
    signature = infer_signature(X_train, lr.predict(X_train))
    model_info = mlflow.sklearn.log_model(
        sk_model=lr,
        name="iris_model",
        signature=signature,
        input_example=X_train,
        registered_model_name="tracking-quickstart",
    )

loaded_model = mlflow.pyfunc.load_model(model_info.model_uri)
predictions = loaded_model.predict(X_test)
result = pd.DataFrame(X_test, columns=datasets.load_iris().feature_names)
result["actual_class"] = y_test
result["predicted_class"] = predictions
print("agreement:", float((result["actual_class"] == result["predicted_class"]).mean()))

version = model_info.registered_model_version
registered = mlflow.pyfunc.load_model(f"models:/tracking-quickstart/{version}")
print("registered version:", version)
print("same predictions:", bool((registered.predict(X_test) == predictions).all()))
