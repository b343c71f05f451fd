"""Hostile JSON for the MLflow endpoints: wrong types, huge and negative numbers, NaN and
infinities, unicode and control characters (in keys too), lone surrogates, unknown fields,
empty and oversized batches."""

import json

from hypothesis import strategies as st

# Text a careless or hostile client sends: control characters, NUL, lone surrogates,
# right-to-left marks, astral characters, and the words that mean something to a parser.
_ALPHABET = st.characters(codec=None, categories=None, exclude_characters="")
WEIRD_WORDS = ["", " ", "NaN", "Infinity", "-Infinity", "inf", "1e309", "-0", "0x10", "1_000",
               "../etc/passwd", "a/../../b", ".", "/", "%00", "\x00", "\ud800", "\u202e",
               "null", "true", "[]", "{}", "'; DROP TABLE tracker_run; --", "metrics.x > 1",
               "𝕏" * 300, "é" * 5000]
TEXT = st.one_of(st.text(_ALPHABET, max_size=40), st.sampled_from(WEIRD_WORDS))
KEY = st.one_of(st.text(_ALPHABET, min_size=1, max_size=12), st.sampled_from(WEIRD_WORDS))

INT64 = 2**63
NUMBER = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, INT64 - 1, INT64, -INT64, -INT64 - 1, 2**64, 10**30, -10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
)
SCALAR = st.one_of(st.none(), st.booleans(), NUMBER, TEXT)
HOSTILE = st.recursive(SCALAR, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(KEY, inner, max_size=3)), max_leaves=6)


def either(valid):
    """A valid value three times in five, else anything at all."""
    return st.one_of(valid, valid, valid, HOSTILE, HOSTILE)


def body(fields: dict, *, extra: bool = True):
    """An object whose `fields` (name: strategy) are each present or not, plus, with
    `extra`, unknown fields."""
    known = st.fixed_dictionaries({}, optional={name: either(valid)
                                                for name, valid in fields.items()})
    if not extra:
        return known
    return st.tuples(known, st.dictionaries(KEY, HOSTILE, max_size=2)).map(
        lambda parts: {**parts[1], **parts[0]})


# Valid-looking pieces of MLflow's bodies.
NAME = st.one_of(st.from_regex(r"\A[a-z][a-z0-9_./-]{0,15}\Z"), KEY)
TIMESTAMP = st.one_of(st.integers(min_value=0, max_value=2_000_000_000_000),
                      st.integers(min_value=0, max_value=2_000_000_000_000).map(str))
METRIC = body({"key": NAME, "value": NUMBER, "timestamp": TIMESTAMP,
               "step": st.integers(min_value=-10, max_value=10**6)}, extra=False)
KEY_VALUE = body({"key": NAME, "value": TEXT}, extra=False)


def batch_of(item, *, oversized: int):
    """A list of `item`s: empty, short, or `oversized` copies of one (over MLflow's limit)."""
    return st.one_of(st.just([]), st.lists(item, max_size=5),
                     item.map(lambda one: [one] * oversized))


def serialised(data) -> bytes:
    """The body as a client writes it: JSON, with bare NaN and Infinity as Python's json
    (and MLflow's client) writes them."""
    return json.dumps(data, allow_nan=True).encode("utf-8", "surrogatepass")


# Bodies that are no JSON object at all.
RAW_BODY = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([b"", b" ", b"null", b"[]", b"[1,2]", b'"text"', b"42", b"{", b'{"a":',
                     b"\xff\xfe{}", b'{"run_id": "\xff"}', b"{}" * 3, b'"{\\"a\\": 1}"',
                     b"[" * 5000 + b"]" * 5000, b'{"a":' * 5000 + b"1" + b"}" * 5000,
                     b'{"metrics": NaN}', b'{"a": 1e999999}', b'{"a": -1e999999}']),
    HOSTILE.map(serialised),
)
