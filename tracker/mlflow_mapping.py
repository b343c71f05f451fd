"""How MLflow metric keys map onto Targetline's (key, split) series, and back.

MLflow has no splits: scripts encode them in the key (``val_f1``, ``train/loss``).
Targetline keeps splits apart, so a key with a known prefix is stored as the
rest of the key on that split (``val_f1`` -> ``f1`` on ``validation``); any
other key keeps its name on ``train``. The key exactly as the client logged it
is kept on the series (``MetricSummary.source_key``), so the MLflow client
always reads back what it wrote.

A metric logged against a dataset (MLflow 3's ``log_metric(..., dataset=ds)``,
``mlflow.models.evaluate``) whose key names no split takes the split of that
dataset: the context the run logged it for (``mlflow.data.context``: "training",
"eval", "test"), else a word of its name ("iris-eval", "holdout"). An evaluation
metric is then not read as a training one.

Two different MLflow keys must never land in one series (``val_f1`` and
``validation_f1`` both map to ``f1`` on ``validation``): the first one logged to
a run takes the series, a later one is stored under its full key on ``train``.

Pure on purpose: no Django, so the rules are tested on their own.
"""

import re
from collections.abc import Iterable, Mapping

DEFAULT_SPLIT = "train"
# Where a run's links to MLflow 3's logged models are kept in its context
# (tracker.services.logged_models writes them): the models it used ([{"model_id"}], MLflow's
# model inputs) and those it produced ([{"model_id", "step"}], its model outputs).
MODEL_INPUTS_KEY = "mlflow_model_inputs"
MODEL_OUTPUTS_KEY = "mlflow_model_outputs"
# The tag by which MLflow nests a run under another (hyperparameter sweeps, autolog): the
# parent's id as 32 hex digits.
PARENT_RUN_TAG = "mlflow.parentRunId"
# What MLflow's system metrics monitor logs while a run runs (CPU, memory, disk, network,
# GPU), e.g. "system/cpu_utilization_percentage": about the machine, not the model.
SYSTEM_METRIC_PREFIX = "system/"

# Longest first, so "validation_" is not read as "val" + "idation_".
PREFIXES: tuple[tuple[str, str], ...] = (
    ("validation_", "validation"),
    ("training_", "train"),
    ("valid_", "validation"),
    ("train_", "train"),
    ("train/", "train"),
    ("eval_", "validation"),
    ("test_", "test"),
    ("test/", "test"),
    ("val_", "validation"),
    ("val/", "validation"),
)

# The run tag (and code dataset source tag) naming the script or notebook an MLflow client ran.
SOURCE_NAME_TAG = "mlflow.source.name"
# The input tag by which MLflow says what a run used a dataset for.
DATASET_CONTEXT_TAG = "mlflow.data.context"
# Words of a dataset's context or name that say which split it is.
_DATASET_WORDS = {
    "train": "train", "training": "train", "trn": "train",
    "val": "validation", "valid": "validation", "validation": "validation",
    "eval": "validation", "evaluation": "validation", "dev": "validation",
    "test": "test", "testing": "test", "holdout": "test",
}

# How a series without a source key (logged through the SDK or the v1 API) is
# named to an MLflow client: the prefix that maps back onto the same series.
_DISPLAY_PREFIX = {"train": "", "validation": "val_", "test": "test_"}


def is_system_metric(key: str) -> bool:
    """Whether an MLflow metric key is one of the system metrics monitor's."""
    return key.startswith(SYSTEM_METRIC_PREFIX)


def split_metric_key(mlflow_key: str) -> tuple[str, str]:
    """The (key, split) an MLflow metric key maps to, before any collision.

    >>> split_metric_key("val_f1")
    ('f1', 'validation')
    >>> split_metric_key("loss")
    ('loss', 'train')
    """
    for prefix, split in PREFIXES:
        if mlflow_key.startswith(prefix) and len(mlflow_key) > len(prefix):
            return mlflow_key[len(prefix):], split
    return mlflow_key, DEFAULT_SPLIT


def _split_in_words(text: str) -> str | None:
    splits = {_DATASET_WORDS[w] for w in re.split(r"[^a-z]+", text.lower()) if w in _DATASET_WORDS}
    return splits.pop() if len(splits) == 1 else None


def dataset_split(name: str, context: str = "") -> str | None:
    """The split a dataset is, by the context a run logged it for, else by its name; None
    when neither says (or they name more than one split, as "train-test" does).

    >>> dataset_split("iris", "training"), dataset_split("iris-eval"), dataset_split("data")
    ('train', 'validation', None)
    """
    return _split_in_words(context) or _split_in_words(name)


def mlflow_key(key: str, split: str, source_key: str = "") -> str:
    """The key an MLflow client sees for the series (key, split).

    The key it was logged under when an MLflow client logged it; otherwise a
    key that maps back onto the same series (``f1`` on ``validation`` reads as
    ``val_f1``; a slice such as ``test/long_texts`` reads as ``test/long_texts/f1``).
    """
    if source_key:
        return source_key
    if split in _DISPLAY_PREFIX:
        return _DISPLAY_PREFIX[split] + key
    return f"{split}/{key}"


def series_named(mlflow_key_wanted: str) -> list[tuple[str, str]]:
    """The series that answer to an MLflow key when they have no source key (logged
    through the SDK or the v1 API): the inverse of ``mlflow_key`` for them.

    >>> series_named("val_f1")
    [('val_f1', 'train'), ('f1', 'validation')]
    >>> series_named("test/long_texts/f1")
    [('test/long_texts/f1', 'train'), ('f1', 'test/long_texts')]
    """
    found = [(mlflow_key_wanted, DEFAULT_SPLIT)]
    for split, prefix in _DISPLAY_PREFIX.items():
        if prefix and mlflow_key_wanted.startswith(prefix) and len(mlflow_key_wanted) > len(prefix):
            found.append((mlflow_key_wanted[len(prefix):], split))
    for i, ch in enumerate(mlflow_key_wanted):
        split = mlflow_key_wanted[:i]
        if ch == "/" and split and split not in _DISPLAY_PREFIX and i + 1 < len(mlflow_key_wanted):
            found.append((mlflow_key_wanted[i + 1:], split))
    return found


def resolve_series(
    mlflow_keys: Iterable[str],
    existing: Mapping[tuple[str, str], str],
    dataset_splits: Mapping[str, str] | None = None,
) -> dict[str, tuple[str, str]]:
    """The series each MLflow key of a batch is stored in, applying the collision rule.

    ``existing`` maps the run's series (key, split) to the MLflow key each one
    answers to (see ``mlflow_key``); a key that already has a series keeps it.
    ``dataset_splits``: the split of the dataset a key was logged against
    (``dataset_split``), for a key whose prefix names none. A key whose mapped
    series already answers to another MLflow key, or was claimed earlier in the
    same batch by another key, is stored under its full key on ``train``
    instead, so two MLflow metrics never merge.
    """
    owners: dict[tuple[str, str], str] = dict(existing)
    owned = {name: series for series, name in existing.items()}
    resolved: dict[str, tuple[str, str]] = {}
    for name in mlflow_keys:
        if name in resolved:
            continue
        if name in owned:
            resolved[name] = owned[name]
            continue
        series = split_metric_key(name)
        if series == (name, DEFAULT_SPLIT) and dataset_splits and dataset_splits.get(name):
            series = (name, dataset_splits[name])
        owner = owners.get(series)
        if owner is not None and owner != name:
            series = (name, DEFAULT_SPLIT)
        owners.setdefault(series, name)
        resolved[name] = series
    return resolved


def find_series(
    mlflow_key_wanted: str,
    existing: Mapping[tuple[str, str], str],
) -> tuple[str, str] | None:
    """The series of a run that answers to an MLflow key, or None.

    ``existing`` is as for ``resolve_series``. The mapped series is tried first
    (the common case), then the full key on ``train`` (a collided key).
    """
    for series in (split_metric_key(mlflow_key_wanted), (mlflow_key_wanted, DEFAULT_SPLIT)):
        if existing.get(series) == mlflow_key_wanted:
            return series
    for series, name in existing.items():
        if name == mlflow_key_wanted:
            return series
    return None
