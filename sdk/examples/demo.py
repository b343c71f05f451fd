"""The demo project: a real training script that fills Targetline with a small, honest project.

A postal service wants envelopes' handwritten postcode digits read by a model
instead of keyed in by people. The team agreed a target (macro F1 of at least
0.97 on held-out test digits) and a guardrail (at most 10 ms to read one digit,
or the sorting line slows down). This script trains what a data scientist would
try on scikit-learn's bundled digits data set (no download): a majority-class
baseline, logistic regression at three strengths, a linear model trained epoch
by epoch with SGD (learning curves), RBF support vector machines and a random
forest with a small random search. Every run logs its params, train /
validation / test metrics, two meaningful test slices, the latency of reading
one digit, the fitted model as an artifact, and the profile of its training inputs.

Then the winner is deployed and followed for eight weeks in production
(demo_production.py): live F1 per week, the inputs' drift as a new scanner fades the ink,
and an A/B test of the digits read without a person.

    TARGETLINE_URL=http://127.0.0.1:8000 TARGETLINE_TOKEN=... python sdk/examples/demo.py

`make run` runs it once on first start. Takes well under a minute on two cores.
"""

from __future__ import annotations

import itertools
import os
import pickle
import random
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from demo_production import follow_in_production, log_reference
from sklearn.datasets import load_digits
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_score, recall_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import targetline as tl

PROJECT = os.environ.get("TARGETLINE_DEMO_PROJECT", "digit-reader")
TARGET = {
    "metric": "f1", "direction": "maximize", "threshold": 0.97,
    "judged_on": "test", "selected_on": "validation",
    "agreed_by": "Dana Whitfield, Head of Mail Operations", "agreed_on": "2026-11-02",
}
GUARDRAILS = [{"metric": "latency_ms", "split": "test", "op": "<=", "value": 10}]
EXPERIMENTS = {
    "majority-class": "The floor: always answering the most common digit. Any model must beat "
                      "it by far to be worth deploying.",
    "logistic-regression": "Pixel intensities are close to linearly separable; a regularised "
                           "linear model may be enough and is fast to run.",
    "sgd-logistic": "The same linear model trained epoch by epoch with SGD shows when more "
                    "passes stop helping (early stopping on validation).",
    "svm-rbf": "A kernel SVM captures stroke shapes a linear model misses and still answers "
               "in well under a millisecond.",
    "random-forest": "Trees need no scaling and are robust; a small random search finds a good "
                     "size, but big forests may be too slow for the sorting line.",
}
# Digits people and models confuse most: the slice that tells whether a model is ready.
CONFUSABLE = (3, 5, 8, 9)
SEED = 20261102
SGD_EPOCHS = 40


def main() -> int:
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    api = tl.Api()
    set_up_project(api)
    data = load_data()
    started = time.monotonic()
    # Models are pickled here; log_artifact copies them into the spool at once.
    with tempfile.TemporaryDirectory(prefix="targetline-demo-") as folder:
        models = train_everything(data, Path(folder))
    standing = api.winner(PROJECT)
    print(f"\nAll runs logged in {time.monotonic() - started:.0f} s.")
    print(standing["sentence"])
    if standing["winner"] is not None and standing["winner"]["name"] in models:
        follow_in_production(api, PROJECT, standing["winner"]["name"], models, data)
    print(f"See it at {api.url}/p/{PROJECT}/")
    return 0


def train_everything(data: dict, workdir: Path) -> dict:
    """The runs a data scientist would try, baseline first: {run name: (id, fitted model)}."""
    models = {}
    models["most-frequent"] = fit_and_log(
        data, workdir, "majority-class", "most-frequent",
        DummyClassifier(strategy="most_frequent"),
        {"model": "dummy", "strategy": "most_frequent"}, baseline=True)
    for c in (0.01, 0.1, 1.0):
        models[f"logreg-c{c:g}"] = fit_and_log(
            data, workdir, "logistic-regression", f"logreg-c{c:g}",
            make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=300)),
            {"model": "logistic_regression", "C": c, "scaling": "standard"})
    models[f"sgd-{SGD_EPOCHS}-epochs"] = sgd_with_epochs(data, workdir)
    for c in (1.0, 10.0):
        models[f"svm-c{c:g}"] = fit_and_log(
            data, workdir, "svm-rbf", f"svm-c{c:g}",
            make_pipeline(StandardScaler(), SVC(C=c, gamma="scale")),
            {"model": "svm", "kernel": "rbf", "C": c, "gamma": "scale"})
    space = {"n_estimators": [25, 50, 100, 200], "max_depth": [None, 8, 16],
             "max_features": ["sqrt", 0.25], "min_samples_leaf": [1, 2]}
    grid = [dict(zip(space, values)) for values in itertools.product(*space.values())]
    for trial, params in enumerate(random.Random(SEED).sample(grid, 5)):
        models[f"forest-trial-{trial + 1}"] = fit_and_log(
            data, workdir, "random-forest", f"forest-trial-{trial + 1}",
            RandomForestClassifier(random_state=SEED, **params),
            {"model": "random_forest", **params, "search_trial": trial + 1})
    return models


def set_up_project(api: tl.Api) -> None:
    try:
        api.create_project(PROJECT, name="Handwritten postcode reader",
                           description="Read the handwritten postcode digits on envelopes so "
                                       "mail is sorted without a person keying them in.",
                           target=TARGET, guardrails=GUARDRAILS)
        print(f"Created the project {PROJECT!r} with its target and latency guardrail.")
    except tl.ApiError as exc:
        if exc.status != 409:
            raise
        print(f"The project {PROJECT!r} exists already; adding runs to it.")
    # Whoever logs in to the quick start (the superuser `admin`) should see the project.
    try:
        api.add_member(PROJECT, "admin", role="owner")
    except tl.ApiError as exc:
        if not (exc.status == 400 and "no user named" in exc.message):
            raise
    for name, hypothesis in EXPERIMENTS.items():
        try:
            api.create_experiment(PROJECT, name, hypothesis=hypothesis)
        except tl.ApiError as exc:
            if exc.status != 409:
                raise


def load_data() -> dict:
    digits = load_digits()
    x, y = digits.data, digits.target
    x_train, x_rest, y_train, y_rest = train_test_split(x, y, test_size=0.4, stratify=y,
                                                        random_state=SEED)
    x_val, x_test, y_val, y_test = train_test_split(x_rest, y_rest, test_size=0.5,
                                                    stratify=y_rest, random_state=SEED)
    ink = x_test.sum(axis=1)
    return {
        "train": (x_train, y_train), "validation": (x_val, y_val), "test": (x_test, y_test),
        # Slices of the test set: the digits most often confused, and the faintest quarter
        # of the writing (the least ink), where scanners and pens fail.
        "test/confusable_digits": (x_test[np.isin(y_test, CONFUSABLE)],
                                   y_test[np.isin(y_test, CONFUSABLE)]),
        "test/faint_strokes": (x_test[ink <= np.quantile(ink, 0.25)],
                               y_test[ink <= np.quantile(ink, 0.25)]),
    }


def scores(model, x, y, labels) -> dict:
    predicted = model.predict(x)
    values = {
        "f1": f1_score(y, predicted, average="macro", labels=labels, zero_division=0),
        "accuracy": accuracy_score(y, predicted),
        "precision": precision_score(y, predicted, average="macro", labels=labels,
                                     zero_division=0),
        "recall": recall_score(y, predicted, average="macro", labels=labels, zero_division=0),
    }
    if hasattr(model, "predict_proba"):
        values["log_loss"] = log_loss(y, model.predict_proba(x), labels=model.classes_)
    return values


def latency_ms(model, x) -> float:
    """Median time to read one digit, as the sorting line asks: one image per call."""
    times = []
    for row in x[:40]:
        started = time.perf_counter()
        model.predict(row.reshape(1, -1))
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def log_evaluation(run: tl.Run, model, data: dict, step: int | None = None) -> dict:
    """Each split's scores, at `step` when the model evaluated is that step's (else without
    a step: test results then go to the run's last step)."""
    results = {}
    for split, (x, y) in data.items():
        labels = sorted(set(y))
        results[split] = scores(model, x, y, labels)
        run.log(results[split], split=split, step=step)
    run.log({"latency_ms": latency_ms(model, data["test"][0])}, split="test", step=step)
    return results


def save_model(run: tl.Run, model, workdir: Path) -> None:
    path = workdir / f"{run.id}.pkl"
    with open(path, "wb") as f:
        pickle.dump(model, f)
    run.log_artifact(path, name="model.pkl")


def fit_and_log(data: dict, workdir: Path, experiment: str, name: str, model, params: dict,
                baseline: bool = False) -> tuple:
    """Fit, evaluate and keep one model in a run of its own: (run id, fitted model)."""
    x_train, y_train = data["train"]
    with tl.init(project=PROJECT, experiment=experiment, name=name, params=params,
                 baseline=baseline, tags={"dataset": "sklearn-digits", "stage": "exploration"},
                 data_version="sklearn-digits-1797") as run:
        started = time.perf_counter()
        model.fit(x_train, y_train)
        run.log({"fit_seconds": time.perf_counter() - started})
        results = log_evaluation(run, model, data)
        save_model(run, model, workdir)
        log_reference(run, model, x_train)
    print(f"{name:>22}: validation F1 {results['validation']['f1']:.3f}, "
          f"test F1 {results['test']['f1']:.3f}")
    return run.id, model


def sgd_with_epochs(data: dict, workdir: Path, epochs: int = SGD_EPOCHS) -> tuple:
    """A linear model trained one pass at a time, with train and validation curves:
    (run id, the best epoch's model)."""
    x_train, y_train = data["train"]
    x_val, y_val = data["validation"]
    scaler = StandardScaler().fit(x_train)
    xs_train, xs_val = scaler.transform(x_train), scaler.transform(x_val)
    classes = np.unique(y_train)
    params = {"model": "sgd_logistic", "loss": "log_loss", "alpha": 1e-4,
              "learning_rate": "optimal", "epochs": epochs, "scaling": "standard"}
    sgd = SGDClassifier(loss="log_loss", alpha=1e-4, random_state=SEED)
    order = np.random.default_rng(SEED)
    best = (-1.0, 0, None)
    with tl.init(project=PROJECT, experiment="sgd-logistic", name=f"sgd-{epochs}-epochs",
                 params=params, tags={"dataset": "sklearn-digits", "stage": "exploration"},
                 data_version="sklearn-digits-1797") as run:
        for epoch in range(1, epochs + 1):
            shuffled = order.permutation(len(xs_train))
            sgd.partial_fit(xs_train[shuffled], y_train[shuffled], classes=classes)
            train = {"loss": log_loss(y_train, sgd.predict_proba(xs_train), labels=classes),
                     "f1": f1_score(y_train, sgd.predict(xs_train), average="macro")}
            val_f1 = f1_score(y_val, sgd.predict(xs_val), average="macro")
            validation = {"loss": log_loss(y_val, sgd.predict_proba(xs_val), labels=classes),
                          "f1": val_f1}
            run.log(train, step=epoch)
            run.log(validation, split="validation", step=epoch)
            if val_f1 > best[0]:
                best = (val_f1, epoch, pickle.dumps(sgd))
        # The model kept is the one from the best epoch on validation (early stopping).
        model = make_pipeline(scaler, pickle.loads(best[2]))
        run.log_params({"best_epoch": best[1]})
        test_data = {split: xy for split, xy in data.items() if split.startswith("test")}
        # Logged at the best epoch: the model evaluated is that epoch's, not the last one.
        results = log_evaluation(run, model, test_data, step=best[1])
        save_model(run, model, workdir)
        log_reference(run, model, x_train)
    print(f"{'sgd-' + str(epochs) + '-epochs':>22}: validation F1 {best[0]:.3f} at epoch "
          f"{best[1]}, test F1 {results['test']['f1']:.3f}")
    return run.id, model


if __name__ == "__main__":
    sys.exit(main())
