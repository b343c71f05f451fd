"""Field names as the filter language writes them, and the closest known name to a typo."""

import pytest

from tracker.query.names import closest_field, field_text, named_fields
from tracker.query.parser import parse_field, parse_filter
from tracker.query.syntax import Field

KNOWN = [Field("metric", "f1", "validation"), Field("metric", "f1", "test"),
         Field("metric", "f1", "test/long_texts"), Field("metric", "accuracy", "validation"),
         Field("metric", "loss", "train"), Field("param", "alpha"), Field("param", "model"),
         Field("param", "optimizer.lr"), Field("tag", "stage")]


@pytest.mark.parametrize("text", ["validation.f1", "test/long_texts.f1", "params.lr",
                                  "tags.stage", "params.`optimizer.lr`", "validation.`f1 macro`",
                                  r"params.`a\`b`", "status"])
def test_field_text_reads_back_as_the_same_field(text):
    field = parse_field(text)
    assert field_text(field) == text
    assert parse_field(field_text(field)) == field


@pytest.mark.parametrize(("typed", "meant"), [
    ("validation.F1", "validation.f1"),
    ("validation.acc", "validation.accuracy"),
    ("validation.loss", "train.loss"),
    ("test/long.f1", "test/long_texts.f1"),
    ("train.f1", "validation.f1"),
    ("params.alpa", "params.alpha"),
    ("params.Model", "params.model"),
    ("params.`optimiser.lr`", "params.`optimizer.lr`"),
    ("params.stage", "tags.stage"),
    ("tags.stag", "tags.stage"),
    ("validation.precision", None),
    ("params.epochs", None),
])
def test_the_closest_known_field(typed, meant):
    found = closest_field(parse_field(typed), KNOWN)
    assert (field_text(found) if found else None) == meant


def test_named_fields_are_listed_once_in_order_without_attributes():
    node = parse_filter('validation.f1 > 0.5 and not (params.C = 1 or status = "failed") '
                        "and validation.f1 < 0.9")
    assert [field_text(f) for f in named_fields(node, [parse_field("tags.stage"),
                                                       parse_field("params.C")])] == [
        "validation.f1", "params.C", "tags.stage"]
    assert named_fields(None) == []
