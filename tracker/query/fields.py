"""Field references (validation.f1, params.lr, status) read from a field token, with an
error that names the segment that is wrong."""

from __future__ import annotations

from tracker.query.lexer import Segment, Token
from tracker.query.syntax import ATTRIBUTES, DATASET_FIELDS, SPLITS, Field, FilterError

_PREFIXES = {
    "params": "param",
    "param": "param",
    "tags": "tag",
    "tag": "tag",
    "attributes": "attribute",
    "datasets": "dataset",
    "dataset": "dataset",
}
_FIELD_KINDS_HINT = "use a split (validation.f1), params.X, tags.X or one of: " + ", ".join(
    ATTRIBUTES
)
_BACKQUOTE_EXAMPLE = "validation.`f1.macro`"


def field_from_token(token: Token, text: str) -> Field:
    """Turn a field token's segments into a Field, naming the segment that is wrong."""
    segments: tuple[Segment, ...] = token.value
    head = segments[0]
    if head.quoted:
        raise FilterError(
            "a field cannot start with a backquoted name",
            head.start,
            hint="backquotes go after a prefix, e.g. params.`optimizer.lr` or "
            + _BACKQUOTE_EXAMPLE,
        )
    if len(segments) == 1:
        return _attribute(head, token)
    if head.text in _PREFIXES:
        return _prefixed(segments, token, text)
    if head.text in SPLITS:
        return _metric(segments, token, text)
    if head.text in ("metrics", "metric"):
        hint = "metrics always name their split: validation.f1, test.f1 or test/long_texts.f1"
    else:
        hint = "splits are train, validation, test or a slice such as test/long_texts"
    raise FilterError(f"unknown split '{head.text}'", token.start, hint=hint)


def _attribute(head: Segment, token: Token) -> Field:
    """A field of one segment: an attribute of the run (status, name, ...)."""
    if head.text in ATTRIBUTES:
        return Field("attribute", head.text)
    if head.text in SPLITS:
        raise FilterError(
            f"'{head.text}' is a split, not a field",
            token.start,
            hint=f"name a metric, e.g. {head.text}.f1",
        )
    raise FilterError(f"unknown field '{head.text}'", token.start, hint=_FIELD_KINDS_HINT)


def _prefixed(segments: tuple[Segment, ...], token: Token, text: str) -> Field:
    """params.X, tags.X, attributes.X or datasets.X."""
    head, name = segments[0], segments[1]
    kind = _PREFIXES[head.text]
    if name.separator != ".":
        raise FilterError(f"expected \".\" after '{head.text}'", name.start - 1)
    _reject_extra_segments(segments, 2, token, text)
    if kind == "attribute" and name.text not in ATTRIBUTES:
        raise FilterError(
            f"unknown attribute '{name.text}'",
            name.start,
            hint="attributes are: " + ", ".join(ATTRIBUTES),
        )
    if kind == "dataset" and name.text not in DATASET_FIELDS:
        raise FilterError(
            f"unknown dataset field '{name.text}'",
            name.start,
            hint="datasets are filtered on "
            + ", ".join(f"datasets.{f}" for f in DATASET_FIELDS),
        )
    return Field(kind, name.text)


def _metric(segments: tuple[Segment, ...], token: Token, text: str) -> Field:
    """<split>.<key> or <split>/<slice>.<key>."""
    head = segments[0]
    source = text[token.start : token.end]
    split = head.text
    key_index = 1
    if segments[1].separator == "/":
        slice_ = segments[1]
        if slice_.quoted:
            raise FilterError("a slice name cannot be backquoted", slice_.start)
        split = f"{head.text}/{slice_.text}"
        key_index = 2
    if len(segments) == key_index:
        raise FilterError(
            f"'{source}' is a split, not a field",
            token.start,
            hint=f"name a metric, e.g. {source}.f1",
        )
    key = segments[key_index]
    if key.separator != ".":
        raise FilterError(
            f"expected \".\" and a metric key after '{text[token.start : key.start - 1]}'",
            key.start - 1,
            hint="a split has at most one slice, as in test/long_texts.f1",
        )
    _reject_extra_segments(segments, key_index + 1, token, text)
    return Field("metric", key.text, split)


def _reject_extra_segments(
    segments: tuple[Segment, ...], allowed: int, token: Token, text: str
) -> None:
    """Refuse ``params.optimizer.lr``: the name after the prefix is one segment."""
    if len(segments) <= allowed:
        return
    name = segments[allowed - 1]
    extra = segments[allowed]
    unquoted = text[name.start : token.end]
    if "`" in unquoted:
        example = _BACKQUOTE_EXAMPLE
    else:
        example = f"{text[token.start : name.start]}`{unquoted}`"
    raise FilterError(
        f"unexpected \"{extra.separator}\" in '{text[token.start : token.end]}'",
        extra.start - 1,
        hint=f'names containing "." or "/" go in backquotes, e.g. {example}',
    )
