"""Field names as a person writes them, and the warning for a metric, param or tag that no
run has, with the closest name that runs do have ("did you mean validation.f1?")."""

from __future__ import annotations

import difflib
import re

from tracker.query.syntax import And, Comparison, Field, Node, Not, Or

_BARE_NAME = re.compile(r"[A-Za-z0-9_-]+")  # as the lexer reads a name after a "."
_PREFIXES = {"param": "params", "tag": "tags"}
_NAMED_KINDS = ("metric", "param", "tag")
# How alike a name must be to be offered (difflib's ratio): "alpa" finds "alpha", "f1"
# does not find "lr".
_CUTOFF = 0.6


def field_text(field: Field) -> str:
    """The field as the filter language writes it: validation.f1, test/long_texts.f1,
    params.lr, tags.stage, params.`optimizer.lr`; an attribute by its name."""
    if field.kind not in _NAMED_KINDS:
        return field.name
    name = field.name
    if not _BARE_NAME.fullmatch(name):
        name = "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"
    head = field.split if field.kind == "metric" else _PREFIXES[field.kind]
    return f"{head}.{name}"


def named_fields(node: Node | None, extra: list[Field] | None = None) -> list[Field]:
    """The metrics, params and tags a filter names (then those of `extra`, e.g. sort keys),
    each once, in the order written."""
    found: list[Field] = []

    def walk(item) -> None:
        if isinstance(item, Comparison):
            add(item.field)
        elif isinstance(item, And | Or):
            for part in item.items:
                walk(part)
        elif isinstance(item, Not):
            walk(item.item)

    def add(field: Field) -> None:
        if field.kind in _NAMED_KINDS and field not in found:
            found.append(field)

    if node is not None:
        walk(node)
    for field in extra or ():
        add(field)
    return found


def unknown_field_warning(field: Field, known: list[Field]) -> dict:
    """{"field", "message", "suggestion"} for a field that no run has: the closest known
    field is named in the message and given as `suggestion` (None when nothing is close)."""
    if field.kind == "metric":
        missing = f"logged {field.name} on {field.split}"
    else:
        missing = f"a {field.kind} named {field.name}"
    message = f"No run in this project has {missing}"
    suggestion = closest_field(field, known)
    meant = field_text(suggestion) if suggestion else None
    message += f"; did you mean {meant}?" if meant else "."
    return {"field": field_text(field), "message": message, "suggestion": meant}


def closest_field(field: Field, known: list[Field]) -> Field | None:
    """The known field a person most likely meant: the same name in another case first, then
    a name spelt alike (metrics: on the same split first, then the same key on another
    split; params and tags: then the same name as a tag or a param)."""
    if field.kind == "metric":
        same_split = [k for k in known if k.kind == "metric" and k.split == field.split]
        found = _alike(field.name, same_split)
        if found is None:
            same_key = [k for k in known if k.kind == "metric"
                        and k.name.lower() == field.name.lower()]
            found = _alike(field.split or "", same_key, by_split=True, cutoff=0)
        return found
    same_kind = [k for k in known if k.kind == field.kind]
    found = _alike(field.name, same_kind)
    if found is None:
        found = next((k for k in known if k.kind in _PREFIXES and k.kind != field.kind
                      and k.name.lower() == field.name.lower()), None)
    return found


def _alike(text: str, candidates: list[Field], *, by_split: bool = False,
           cutoff: float = _CUTOFF) -> Field | None:
    """The candidate whose name (or split) equals `text` ignoring case, else the one spelt
    most alike, else the first that `text` abbreviates."""
    by_text: dict[str, Field] = {}
    for candidate in candidates:
        by_text.setdefault(((candidate.split or "") if by_split else candidate.name).lower(),
                           candidate)
    lowered = text.lower()
    if lowered in by_text:
        return by_text[lowered]
    close = difflib.get_close_matches(lowered, list(by_text), n=1, cutoff=cutoff)
    if close:
        return by_text[close[0]]
    # An abbreviation ("acc" for "accuracy") is not alike enough by ratio.
    longer = sorted(t for t in by_text if len(lowered) >= 3 and t.startswith(lowered))
    return by_text[longer[0]] if longer else None
