"""Checks on names and values, the same rules as the server's, applied at the call.

Bad input must raise ValueError in the training script, where the mistake is,
never later in a background thread where nobody would see it.
"""

from __future__ import annotations

import math
import re
from numbers import Integral

# The server's limits (tracker/limits.py); a batch over them would be refused.
MAX_POINTS_PER_BATCH = 10_000
MAX_PARAMS_PER_BATCH = 100
MAX_TAGS_PER_BATCH = 100
MAX_KEY_LENGTH = 250
MAX_NAME_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 100_000
MAX_TAG_VALUE_LENGTH = 100_000

_SPLIT_RE = re.compile(r"(train|validation|test)(/[A-Za-z0-9_\-]+)?\Z")
_KEY_RE = re.compile(r"[A-Za-z0-9_\-. /:]+\Z")
_SLUG_RE = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*\Z")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
RUN_STATUSES = ("finished", "failed", "killed")


def check_split(split: object) -> str:
    if not isinstance(split, str) or not _SPLIT_RE.match(split):
        raise ValueError(f"split {split!r} is not a split: use 'train', 'validation', 'test' "
                         "or a slice of one such as 'test/long_texts'")
    return split


def check_key(key: object, what: str = "metric name") -> str:
    if not isinstance(key, str) or not key.strip():
        raise ValueError(f"{what} must be a non-empty string, not {key!r}")
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"{what} {key[:40]!r}... is {len(key)} characters long; "
                         f"the limit is {MAX_KEY_LENGTH}")
    if not _KEY_RE.match(key):
        raise ValueError(f"{what} {key!r} may only contain letters, digits, spaces "
                         "and _ - . / :")
    return key


def check_slug(slug: object) -> str:
    if not isinstance(slug, str) or not _SLUG_RE.match(slug) or len(slug) > 100:
        raise ValueError(f"project {slug!r} must be a slug: lower-case letters and digits "
                         "separated by - or _ (at most 100 characters), e.g. 'news-topics'")
    return slug


def check_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{what} must be a non-empty string, not {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"{what} is {len(name)} characters long; the limit is "
                         f"{MAX_NAME_LENGTH}")
    return name.strip()


def to_value(key: str, value: object) -> float:
    """A metric value as a float: Python and numpy numbers, 0-d tensors; NaN and inf too."""
    if isinstance(value, (bool, str, bytes, complex)) or value is None:
        raise ValueError(f"metric {key!r} must be a number, not {value!r}")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"metric {key!r} must be a number, not {value!r}") from None


def to_step(step: object) -> int:
    if isinstance(step, bool) or not isinstance(step, Integral):
        if isinstance(step, float) and step.is_integer():
            step = int(step)
        else:
            raise ValueError(f"step must be an integer, not {step!r}")
    step = int(step)
    if not _INT64_MIN <= step <= _INT64_MAX:
        raise ValueError(f"step {step} does not fit in 64 bits")
    return step


def check_status(status: object) -> str:
    if status not in RUN_STATUSES:
        raise ValueError(f"status must be one of {', '.join(RUN_STATUSES)}, not {status!r}")
    return status  # type: ignore[return-value]


def flatten(mapping: object, what: str, prefix: str = "") -> dict:
    """{"optimizer": {"lr": 0.1}} -> {"optimizer.lr": 0.1}: the server keeps flat names."""
    if not isinstance(mapping, dict):
        raise ValueError(f"{what} must be a dict of name: value, not {type(mapping).__name__}")
    flat: dict = {}
    for key, value in mapping.items():
        if not isinstance(key, str):
            raise ValueError(f"{what} names must be strings, not {key!r}")
        name = prefix + key
        if isinstance(value, dict):
            flat.update(flatten(value, what, prefix=name + "."))
        else:
            flat[name] = value
    return flat


def clean_params(params: object) -> dict:
    """Params as the server stores them: scalars (str, number, bool, None) under flat names."""
    cleaned = {}
    for key, value in flatten(params, "params").items():
        check_key(key, what="param name")
        cleaned[key] = _param_value(key, value)
    return cleaned


def _param_value(key: str, value: object) -> object:
    if value is None or isinstance(value, (bool, str)):
        if isinstance(value, str) and len(value) > MAX_PARAM_VALUE_LENGTH:
            raise ValueError(f"param {key!r} is {len(value)} characters long; the limit is "
                             f"{MAX_PARAM_VALUE_LENGTH}")
        return value
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, (list, tuple)):
        # A list of layer sizes and such: stored as its text, the way people read it.
        return _param_value(key, repr(list(value)))
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        try:
            return _param_value(key, value.item())
        except (TypeError, ValueError):
            pass
    if isinstance(value, float) or hasattr(value, "__float__"):
        number = float(value)  # type: ignore[arg-type]
        return number if math.isfinite(number) else str(number)
    raise ValueError(f"param {key!r} must be a string, number, boolean or None, not "
                     f"{type(value).__name__}")


def clean_tags(tags: object) -> dict:
    cleaned = {}
    for key, value in flatten(tags, "tags").items():
        check_key(key, what="tag name")
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)):
            value = str(value)
        if not isinstance(value, str):
            raise ValueError(f"tag {key!r} must be a string, not {type(value).__name__}")
        if len(value) > MAX_TAG_VALUE_LENGTH:
            raise ValueError(f"tag {key!r} is {len(value)} characters long; the limit is "
                             f"{MAX_TAG_VALUE_LENGTH}")
        cleaned[key] = value
    return cleaned


def chunks(mapping: dict, size: int) -> list[dict]:
    items = list(mapping.items())
    return [dict(items[i:i + size]) for i in range(0, len(items), size)] or [{}]
