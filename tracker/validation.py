"""Checks on names and values shared by the v1 API, the MLflow endpoints and the services."""

import math
import re
from datetime import date

from tracker import limits
from tracker.errors import InvalidInput, LimitExceeded

SPLITS = ("train", "validation", "test")
_SPLIT_RE = re.compile(r"^(train|validation|test)(/[A-Za-z0-9_\-]+)?$")
_KEY_RE = re.compile(r"^[A-Za-z0-9_\-. /:]+$")
_SLUG_RE = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")


def check_split(split: object, *, field: str = "split") -> str:
    """A split: train, validation or test, or a named slice of one (test/long_texts)."""
    if not isinstance(split, str) or not _SPLIT_RE.match(split):
        raise InvalidInput(
            f"{field} {split!r} is not a split: use train, validation, test "
            "or a slice of one such as test/long_texts",
            field=field,
        )
    return split


def check_key(key: object, *, field: str = "key", what: str = "metric key") -> str:
    """A metric key, param or tag name: letters, digits, spaces and _ - . / :, not too long."""
    if not isinstance(key, str) or not key.strip():
        raise InvalidInput(f"{what} must be a non-empty string", field=field)
    if len(key) > limits.MAX_KEY_LENGTH:
        raise InvalidInput(
            f"{what} {key[:40]!r}… is {len(key)} characters; the limit is {limits.MAX_KEY_LENGTH}",
            field=field,
        )
    if not _KEY_RE.match(key):
        raise InvalidInput(
            f"{what} {key!r} may only contain letters, digits, spaces and _ - . / :",
            field=field,
        )
    return key


def check_name(name: object, *, field: str, what: str) -> str:
    """A name of an experiment or a run: a non-empty string, stripped, at most 250 characters."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"{what} must be a non-empty string", field=field)
    if len(name) > 250:
        raise InvalidInput(f"{what} is longer than 250 characters", field=field)
    return name.strip()


def check_slug(slug: object, *, field: str = "slug") -> str:
    """A project's slug: lower-case words joined by - or _, as it appears in URLs."""
    if not isinstance(slug, str) or not _SLUG_RE.match(slug) or len(slug) > 100:
        raise InvalidInput(
            f"{field} {slug!r} must be lower-case letters and digits separated by - or _ "
            "(at most 100 characters), e.g. news-topics",
            field=field,
        )
    return slug


def to_float(value: object, *, field: str) -> float:
    """A metric value: a number, or NaN/Infinity/-Infinity as bare JSON constants or strings."""
    if isinstance(value, bool):
        raise InvalidInput(f"{field} must be a number, not a boolean", field=field)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        special = {"nan": math.nan, "infinity": math.inf, "inf": math.inf,
                   "-infinity": -math.inf, "-inf": -math.inf, "+infinity": math.inf}
        lowered = value.strip().lower()
        if lowered in special:
            return special[lowered]
        try:
            return float(value)
        except ValueError:
            pass
    raise InvalidInput(f"{field} must be a number (or NaN, Infinity, -Infinity), "
                       f"not {value!r}", field=field)


def to_int(value: object, *, field: str, minimum: int | None = None) -> int:
    """An integer: a number without a fraction, or a string of one ("3", and as MLflow's
    protobuf JSON reading takes them, "3.0" and "1e3")."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidInput(f"{field} must be an integer, not {value!r}", field=field)
    try:
        try:
            number = int(value)
        except ValueError:
            if not isinstance(value, str):
                raise
            real = float(value)  # ValueError for no number
            number = int(real)  # ValueError for NaN, OverflowError for ±inf
            if number != real:  # a fraction
                raise ValueError from None
        if isinstance(value, float) and number != value:
            raise ValueError
    except (ValueError, OverflowError):
        raise InvalidInput(f"{field} must be an integer, not {value!r}", field=field) from None
    if not -(2**63) <= number < 2**63:
        raise InvalidInput(f"{field} {number} does not fit in 64 bits", field=field)
    if minimum is not None and number < minimum:
        raise InvalidInput(f"{field} must be at least {minimum}, not {number}", field=field)
    return number


def check_param_value(key: str, value: object) -> object:
    """A param's value as stored: a string, number, boolean or null (NaN and infinities as
    text, which JSON cannot hold)."""
    if value is None or isinstance(value, bool | int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        return value
    if isinstance(value, str):
        if len(value) > limits.MAX_PARAM_VALUE_LENGTH:
            raise InvalidInput(
                f"param {key!r} is {len(value)} characters long; "
                f"the limit is {limits.MAX_PARAM_VALUE_LENGTH}", field=f"params.{key}")
        return value
    raise InvalidInput(
        f"param {key!r} must be a string, number, boolean or null; "
        "flatten nested configurations into keys such as optimizer.lr",
        field=f"params.{key}",
    )


def clean_params(params: object) -> dict:
    """A request's params as an object of name: value, every name and value checked."""
    return _clean_named_values(params, kind="param", limit=limits.MAX_PARAMS_PER_BATCH,
                               check_value=check_param_value)


def clean_tags(tags: object) -> dict:
    """A request's tags as an object of name: value, every value made a string."""
    return _clean_named_values(tags, kind="tag", limit=limits.MAX_TAGS_PER_BATCH,
                               check_value=check_tag_value)


def _clean_named_values(values: object, *, kind: str, limit: int, check_value) -> dict:
    plural = f"{kind}s"
    if not isinstance(values, dict):
        raise InvalidInput(f"{plural} must be an object of name: value", field=plural)
    if len(values) > limit:
        raise LimitExceeded(
            f"{len(values)} {plural} in one request; the limit is {limit}: split the batch",
            field=plural)
    return {check_key(k, field=f"{plural}.{k}", what=f"{kind} name"): check_value(k, v)
            for k, v in values.items()}


def check_tag_value(key: str, value: object) -> str:
    """A tag's value as stored: always a string (booleans and numbers written out)."""
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidInput(f"tag {key!r} must be a string", field=f"tags.{key}")
    if len(value) > limits.MAX_TAG_VALUE_LENGTH:
        raise InvalidInput(
            f"tag {key!r} is {len(value)} characters long; "
            f"the limit is {limits.MAX_TAG_VALUE_LENGTH}", field=f"tags.{key}")
    return value


def to_date(value: object, *, field: str) -> date | None:
    """A date given as a date or as ISO text (2026-11-23); None when blank."""
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{field} must be a date like 2026-11-23, not {value!r}",
                           field=field) from None


# JSON writes NUL and surrogates only as escapes: a body without one holds neither, so only
# a body with one need be searched (a batch of thousands of points is not).
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def may_hold_unstorable_text(raw_json: bytes) -> bool:
    """Whether a JSON text may hold a string the database cannot store (text_problem)."""
    return _SUSPECT_ESCAPE.search(raw_json) is not None


def text_problem(text: str) -> str | None:
    """Why the database cannot store `text`, or None. PostgreSQL refuses the NUL character
    in text and in JSON, and text that is not valid Unicode: a lone surrogate, which a
    JSON escape such as \\ud800 makes."""
    if "\x00" in text:
        return "must not contain the NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (it has a lone surrogate such as \\ud800)"
    return None


def unstorable_text(data: object, path: str = "") -> tuple[str, str] | None:
    """The first string in `data` (a value or a key, at any depth) that the database cannot
    store: (its dotted path, text_problem's reason); None when there is none."""
    if isinstance(data, str):
        problem = text_problem(data)
        return None if problem is None else (path or "body", problem)
    if isinstance(data, dict):
        for key, value in data.items():
            name = str(key)
            if isinstance(key, str) and (problem := text_problem(key)):
                name = repr(key)[1:-1]  # written out, escaped: the answer could not hold it
                where = f"{path}.{name}" if path else name
                return (where, problem.replace("must", "is a key that must", 1))
            where = f"{path}.{name}" if path else name
            if found := unstorable_text(value, where):
                return found
    elif isinstance(data, list | tuple):
        for i, item in enumerate(data):
            if found := unstorable_text(item, f"{path}[{i}]"):
                return found
    return None


def check_storable(data: object, *, field: str = "") -> None:
    """InvalidInput naming the first string in `data` the database cannot store."""
    if found := unstorable_text(data, field):
        where, problem = found
        raise InvalidInput(f"{where} {problem}", field=where)
