"""Reading the fields of an MLflow request: required values, strings, integers, lists,
key/value pairs and the offset page tokens of the searches that page in Python."""

import base64
import binascii
import json
import posixpath
import re

from api.mlflow.errors import invalid

INT64 = (-(2**63), 2**63 - 1)
MAX_NAME_LENGTH = 250
# What mlflow server adds to the errors of its request schemas (api/mlflow/schemas.py).
DOCS = " See the API docs for more information about request parameters."
_NAME = re.compile(r"^[/\w.\- :]*$")


def required(data, field: str) -> str:
    value = data.get(field)
    if value is None or value == "":
        raise invalid(f"Missing value for required parameter '{field}'.{DOCS}")
    return value


def required_string(data, field: str) -> str:
    value = required(data, field)
    if not isinstance(value, str):
        raise invalid(f"Invalid value {value!r} for parameter '{field}': expected a string")
    return value


def string(data, field: str, default: str = "") -> str:
    value = data.get(field, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise invalid(f"Invalid value {value!r} for parameter '{field}': expected a string")
    return value


def integer(data, field: str, default: int | None = None) -> int | None:
    value = data.get(field)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise invalid(f"Invalid value {value!r} for parameter '{field}': expected an integer")
    try:
        number = int(value)
        if isinstance(value, float) and number != value:
            raise ValueError
    except (TypeError, ValueError):
        raise invalid(f"Invalid value {value!r} for parameter '{field}': expected an "
                      "integer") from None
    if not INT64[0] <= number <= INT64[1]:
        raise invalid(f"Invalid value {value!r} for parameter '{field}': out of range")
    return number


def string_list(data, field: str) -> list:
    if hasattr(data, "getlist"):
        return data.getlist(field)
    value = data.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid(f"Invalid value {value!r} for parameter '{field}': expected a list")
    return value


def offset_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(base64.b64decode(token, validate=True))["offset"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise invalid(f"Invalid page token {token!r}") from None


def make_offset_token(offset: int) -> str:
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def key_values(items, what: str) -> list[tuple[str, object]]:
    if not isinstance(items, list):
        raise not_a(what, items)
    pairs = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise invalid(f"Invalid value for parameter '{what}[{i}]': expected an object")
        key = item.get("key")
        if key is None or key == "":
            raise invalid(f"Missing value for required parameter '{what}[{i}].key'.{DOCS}")
        if isinstance(key, list | dict):  # a list or an object cannot name a tag or a param
            raise invalid(f"Invalid value {json.dumps(key)} for parameter '{what}[{i}].key' "
                          f"supplied: expected a string.{DOCS}")
        pairs.append((key, item.get("value")))
    return pairs


def offset_page(found: list, data, *, key: str, default: int, most: int) -> dict:
    """One page of a search that sorts in Python: `max_results` (1 to `most`) items from the
    offset in `page_token`, and the token of the next page when there is one."""
    max_results = integer(data, "max_results", default)
    if not 1 <= max_results <= most:
        raise invalid(f"Invalid value {max_results} for parameter 'max_results' supplied. It "
                      f"must be at most {most} and positive.")
    offset = offset_token(data.get("page_token"))
    answer = {key: found[offset:offset + max_results]}
    if offset + max_results < len(found):
        answer["next_page_token"] = make_offset_token(offset + max_results)
    return answer


def check_name(name, what: str, entity: str | None = None) -> str:
    """MLflow's rule for metric, param and tag names (they may be used as file names), with
    its messages: `what` is the field as MLflow names it ("key", "params[0].key", "name" for
    log-metric's), `entity` what its length error calls it ("Metric name")."""
    if not isinstance(name, str) or name == "":
        raise invalid(f"Missing value for required parameter '{what}'.{DOCS}")
    if not _NAME.match(name):
        raise invalid(invalid_value(what, name, (
            "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), "
            "spaces ( ), colon(:) and slashes (/).")))
    normalized = posixpath.normpath(name)
    if normalized != name or normalized == "." or normalized.startswith(("..", "/")):
        raise invalid(invalid_value(what, name, (
            "Names may be treated as files in certain cases, and must not resolve to other "
            f"names when treated as such. This name would resolve to {normalized!r}")))
    if len(name) > MAX_NAME_LENGTH:
        raise invalid(f"'{entity or what}' exceeds the maximum length of {MAX_NAME_LENGTH} "
                      "characters")
    return name


def invalid_value(field: str, value, hint: str) -> str:
    """MLflow's message for a value that is not what `field` takes
    (mlflow.utils.validation.invalid_value)."""
    quoted = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return f"Invalid value {quoted} for parameter '{field}' supplied: {hint}"


def not_a(field: str, value):
    """mlflow server's error for a field whose value is not of its type."""
    return invalid(invalid_value(field, value, f" Hint: Value was of type "
                                               f"'{type(value).__name__}'.") + DOCS)


def json_path(path: str, field: str) -> str:
    """`field` of the item at `path` ("metrics[0]"), as MLflow names it: "metrics[0].key", or
    "key" for a call's own field."""
    return f"{path}.{field}" if path else field


def run_id(data) -> str:
    """The run a request names: `run_id`, or `run_uuid` as MLflow's older clients call it."""
    return data.get("run_id") or data.get("run_uuid") or ""
