"""The run filter language: the AST it builds, the errors it reports, and that it never crashes."""

import pickle
import random

import pytest

from tracker.query.parser import parse_field, parse_filter, parse_order_by
from tracker.query.syntax import (
    ATTRIBUTES,
    MAX_NESTING,
    And,
    Comparison,
    Field,
    FilterError,
    Not,
    Or,
)


def metric(name, split="validation"):
    return Field("metric", name, split)


def param(name):
    return Field("param", name)


def tag(name):
    return Field("tag", name)


def attribute(name):
    return Field("attribute", name)


def filter_error(text, parse=parse_filter) -> FilterError:
    with pytest.raises(FilterError) as info:
        parse(text)
    return info.value


# --- what parses ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'validation.f1 > 0.8 and params.model = "svm"',
            And(
                (
                    Comparison(metric("f1"), ">", 0.8),
                    Comparison(param("model"), "=", "svm"),
                )
            ),
        ),
        ('tags.stage != "dev"', Comparison(tag("stage"), "!=", "dev")),
        ('status = "finished"', Comparison(attribute("status"), "=", "finished")),
        ("baseline = true", Comparison(attribute("baseline"), "=", True)),
        ("baseline != FALSE", Comparison(attribute("baseline"), "!=", False)),
        ('name ~ "lr-%"', Comparison(attribute("name"), "~", "lr-%")),
        ('name ~* "LR-%"', Comparison(attribute("name"), "~*", "LR-%")),
        ('name like "lr-%"', Comparison(attribute("name"), "~", "lr-%")),
        ('name ILIKE "LR-%"', Comparison(attribute("name"), "~*", "LR-%")),
        (
            "test/long_texts.f1 >= 0.7",
            Comparison(metric("f1", "test/long_texts"), ">=", 0.7),
        ),
        (
            "train/short-texts_2.loss < 1",
            Comparison(metric("loss", "train/short-texts_2"), "<", 1.0),
        ),
        ("validation.`f1.macro` > 0.5", Comparison(metric("f1.macro"), ">", 0.5)),
        ("test.`loss/total` <= 2", Comparison(metric("loss/total", "test"), "<=", 2.0)),
        ("params.`optimizer.lr` = 0.001", Comparison(param("optimizer.lr"), "=", 0.001)),
        ("param.lr = 1e-3", Comparison(param("lr"), "=", 0.001)),
        ('tag.owner = "ana"', Comparison(tag("owner"), "=", "ana")),
        ('tags.`team/area` ~ "nlp%"', Comparison(tag("team/area"), "~", "nlp%")),
        ('attributes.status = "failed"', Comparison(attribute("status"), "=", "failed")),
        ("validation.f1-macro > 0.5", Comparison(metric("f1-macro"), ">", 0.5)),
        ("validation.5xx_rate < 0.01", Comparison(metric("5xx_rate"), "<", 0.01)),
    ],
)
def test_it_parses_the_documented_examples(text, expected):
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("validation.f1 > 1", 1.0),
        ("validation.f1 > -2.5", -2.5),
        ("validation.f1 > 1e-3", 0.001),
        ("validation.f1 > 2.5E+2", 250.0),
        ("validation.f1 > .5", 0.5),
        ("validation.f1>-1", -1.0),
        ("validation.f1 > 3.", 3.0),
    ],
)
def test_numbers_are_floats(text, value):
    node = parse_filter(text)
    assert node == Comparison(metric("f1"), ">", value)
    assert type(node.value) is float


@pytest.mark.parametrize(
    ("text", "op"),
    [
        ("validation.f1 = 1", "="),
        ("validation.f1 == 1", "="),
        ("validation.f1 != 1", "!="),
        ("validation.f1 <> 1", "!="),
        ("validation.f1 < 1", "<"),
        ("validation.f1 <= 1", "<="),
        ("validation.f1 > 1", ">"),
        ("validation.f1 >= 1", ">="),
        ("validation.f1>=1", ">="),
    ],
)
def test_operators_and_their_synonyms(text, op):
    assert parse_filter(text) == Comparison(metric("f1"), op, 1.0)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('params.model = "svm"', "svm"),
        ("params.model = 'svm'", "svm"),
        (r'params.model = "say \"hi\""', 'say "hi"'),
        (r"params.model = 'it\'s'", "it's"),
        (r'params.model = "back\\slash"', "back\\slash"),
        (r'params.model = "100\%"', "100\\%"),  # other escapes reach the LIKE pattern intact
        ('params.model = "it\'s"', "it's"),
        ('params.model = ""', ""),
        ('params.model = "two words and or not"', "two words and or not"),
        ("params.model = 3", 3.0),
        ("params.model = true", True),
        ("params.model = null", None),
    ],
)
def test_param_values(text, value):
    assert parse_filter(text) == Comparison(param("model"), "=", value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ended_at = null", Comparison(attribute("ended_at"), "=", None)),
        ("validation.f1 != NULL", Comparison(metric("f1"), "!=", None)),
        ("tags.stage = null", Comparison(tag("stage"), "=", None)),
        ('started_at >= "2024-05-01"', Comparison(attribute("started_at"), ">=", "2024-05-01")),
        (
            'ended_at < "2024-05-01T12:30:00+02:00"',
            Comparison(attribute("ended_at"), "<", "2024-05-01T12:30:00+02:00"),
        ),
        (
            "started_at > 1714564800000",
            Comparison(attribute("started_at"), ">", 1714564800000.0),
        ),
        ("duration > 3600", Comparison(attribute("duration"), ">", 3600.0)),
        ('status = "FINISHED"', Comparison(attribute("status"), "=", "finished")),
        ('git_commit = "a1b2c3d"', Comparison(attribute("git_commit"), "=", "a1b2c3d")),
        ('experiment ~* "%tf-idf%"', Comparison(attribute("experiment"), "~*", "%tf-idf%")),
    ],
)
def test_attribute_and_null_comparisons(text, expected):
    assert parse_filter(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_blank_text_is_no_filter(text):
    assert parse_filter(text) is None


def test_every_attribute_can_be_named():
    for name in ATTRIBUTES:
        assert parse_field(name) == attribute(name)
        assert parse_field(f"attributes.{name}") == attribute(name)


# --- precedence, parentheses, keywords ---------------------------------------------

A = 'params.a = "1"'
B = 'params.b = "2"'
C = 'params.c = "3"'
a = Comparison(param("a"), "=", "1")
b = Comparison(param("b"), "=", "2")
c = Comparison(param("c"), "=", "3")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"{A} or {B} and {C}", Or((a, And((b, c))))),
        (f"{A} and {B} or {C}", Or((And((a, b)), c))),
        (f"not {A} and {B}", And((Not(a), b))),
        (f"not {A} or not {B}", Or((Not(a), Not(b)))),
        (f"not not {A}", Not(Not(a))),
        (f"({A} or {B}) and {C}", And((Or((a, b)), c))),
        (f"not ({A} and {B})", Not(And((a, b)))),
        (f"{A} and ({B} or ({C}))", And((a, Or((b, c))))),
        (f"(({A}))", a),
        (f"({A})and({B})", And((a, b))),
    ],
)
def test_precedence_is_not_then_and_then_or(text, expected):
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"{A} and {B} and {C}", And((a, b, c))),
        (f"{A} or {B} or {C}", Or((a, b, c))),
        (f"({A} and {B}) and {C}", And((a, b, c))),
        (f"{A} or ({B} or {C})", Or((a, b, c))),
        (f"({A} or {B}) and ({B} or {C})", And((Or((a, b)), Or((b, c))))),
    ],
)
def test_nested_ands_and_ors_of_the_same_kind_are_flattened(text, expected):
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        f"{A} AND {B} OR NOT {C}",
        f"{A} And {B} Or Not {C}",
        f"{A} and {B} or not {C}",
    ],
)
def test_keywords_are_case_insensitive(text):
    assert parse_filter(text) == Or((And((a, b)), Not(c)))


def test_the_ast_is_immutable_and_hashable():
    node = parse_filter(f"{A} and not {B}")
    with pytest.raises(AttributeError):
        node.items = ()
    assert len({node, parse_filter(f"{A} and not {B}")}) == 1


# --- errors: exact positions and the words a person reads --------------------------


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        # unknown fields and splits
        ("statuz = 1", 0, ["unknown field 'statuz'", "params.X", "tags.X", "name, status"]),
        ("valid.f1 > 1", 0, ["unknown split 'valid'", "train, validation, test", "slice"]),
        ("dev/x.f1 > 1", 0, ["unknown split 'dev'"]),
        ("metrics.f1 > 1", 0, ["unknown split 'metrics'", "validation.f1"]),
        ("validation > 1", 0, ["'validation' is a split", "validation.f1"]),
        ("test/long_texts > 1", 0, ["'test/long_texts' is a split", "test/long_texts.f1"]),
        ("attributes.foo = 1", 11, ["unknown attribute 'foo'", "status"]),
        ("`status` = 1", 0, ["cannot start with a backquoted name"]),
        ("test/`a b`.f1 > 1", 5, ["slice name cannot be backquoted"]),
        ("params/lr = 1", 6, ["expected \".\" after 'params'"]),
        ("test/a/b.f1 > 1", 6, ["at most one slice"]),
        ("validation. f1 > 1", 11, ['expected a name after "."']),
        ("validation.f1.", 14, ['expected a name after "."']),
        ("params.`` = 1", 7, ["empty backquoted name"]),
        # names that need backquotes
        (
            "params.optimizer.lr = 1",
            16,
            ["unexpected \".\" in 'params.optimizer.lr'", "params.`optimizer.lr`"],
        ),
        ("validation.loss/total < 1", 15, ['unexpected "/"', "validation.`loss/total`"]),
        ("test/a.f1.macro > 1", 9, ["test/a.`f1.macro`"]),
        # strings, numbers, characters
        ("name = 'unterminated", 7, ["unterminated string"]),
        ('name = "ends with a quote\\"', 7, ["unterminated string"]),
        ("params.`oops = 1", 7, ["unterminated backquoted name"]),
        ("name # 1", 5, ["unexpected character '#'"]),
        ('name = "a" && name = "b"', 11, ["unexpected character '&'", 'use "and"']),
        ('name = "a" || name = "b"', 11, ["unexpected character '|'", 'use "or"']),
        ('! name = "a"', 0, ["unexpected character '!'", 'use "not"']),
        ("validation.f1 > 1abc", 16, ["invalid number '1abc'"]),
        ("validation.f1 > 1.2.3", 16, ["invalid number '1.2.3'"]),
        ("validation.f1 > 1e999", 16, ["too large"]),
        # structure
        ('(status = "failed"', 18, ['unclosed "("', "offset 0", 'missing ")"']),
        ('name = "x" and (status = "failed" or (baseline = true)', 54, ["offset 15"]),
        ('(status = "failed" name', 19, ["unexpected 'name'", 'to close the "(" at offset 0']),
        ("()", 0, ["empty parentheses"]),
        ('name = "x" and ( )', 15, ["empty parentheses"]),
        ('name = "x" foo', 11, ["unexpected 'foo'", "expected and/or"]),
        ('name = "x")', 10, ['unexpected ")"', 'no "(" to close']),
        ('name = "x" and', 14, ["expected a field", "the end of the text"]),
        ('name = "x" and or name = "y"', 15, ["expected a field", "found 'or'"]),
        ("not", 3, ["expected a field"]),
        ("> 1", 0, ['expected a field such as validation.f1, params.lr or status, found ">"']),
        # missing operator or value
        (
            "validation.f1 0.8",
            14,
            ["expected an operator (=, !=, <, <=, >, >=, ~) after 'validation.f1'"],
        ),
        ("validation.f1", 13, ["expected an operator", "after 'validation.f1'"]),
        ('name "x"', 5, ["expected an operator", "after 'name'"]),
        ("validation.f1 >", 15, ['expected a value after ">"']),
        ("validation.f1 >   ", 18, ['expected a value after ">"']),
        ("validation.f1 > and name = 'x'", 16, ['expected a value after ">"', "found 'and'"]),
        ("validation.f1 > > 1", 16, ['expected a value after ">", found ">"']),
        ("status = finished", 9, ["found 'finished'", 'put text in quotes: "finished"']),
        # types
        ('validation.f1 > "high"', 16, ['validation.f1 needs a number, found "high"']),
        ("validation.f1 = true", 16, ["needs a number", "found 'true'"]),
        ('validation.f1 ~ "x%"', 14, ['"~" matches text patterns', "validation.f1"]),
        ('validation.f1 like "x%"', 14, ['"~" matches text patterns']),
        ("validation.f1 < null", 16, ['null can only be compared with "=" (missing) or "!="']),
        ("params.lr > null", 12, ["null can only be compared"]),
        ('status = "done"', 9, ['unknown status "done"', "running, finished, failed, killed"]),
        ("status = 1", 9, ["unknown status '1'", "running, finished"]),
        ("status = null", 9, ["status is never null"]),
        ('status > "failed"', 7, ['status can only be compared with "=" or "!="']),
        ('status ~ "fin%"', 7, ['status can only be compared with "=" or "!="']),
        ('baseline = "yes"', 11, ['baseline needs true or false, found "yes"']),
        ("baseline = 1", 11, ["baseline needs true or false"]),
        ("baseline = null", 11, ["baseline needs true or false"]),
        ("baseline < true", 9, ['baseline can only be compared with "=" or "!="']),
        ("name ~ 3", 7, ['"~" needs a quoted pattern such as "lr-%", found \'3\'']),
        ("params.model ~* true", 16, ['"~*" needs a quoted pattern']),
        ("name = 3", 7, ["name needs a quoted text value", 'put it in quotes: "3"']),
        ("git_commit = true", 13, ["git_commit needs a quoted text value"]),
        ('started_at > "yesterday"', 13, ["ISO-8601", 'found "yesterday"']),
        ('started_at > "2024-13-01"', 13, ["ISO-8601"]),
        ("ended_at = false", 11, ["ISO-8601", "epoch milliseconds"]),
        ('started_at ~ "2024%"', 11, ['"~" matches text patterns', "started_at"]),
        ('duration > "1h"', 11, ["duration needs a number of seconds"]),
    ],
)
def test_errors_say_what_is_wrong_and_where(text, position, words):
    error = filter_error(text)
    assert error.position == position
    message = str(error)
    for word in words:
        assert word in message
    assert f"at position {position}" in message


def test_the_message_reads_as_one_sentence_with_the_position():
    error = filter_error("validation.f1 >")
    assert str(error) == 'expected a value after ">" at position 15'
    assert error.message == 'expected a value after ">"'
    assert error.hint is None

    error = filter_error('name = "x" foo')
    assert str(error) == "unexpected 'foo' at position 11; expected and/or"

    error = filter_error("valid.f1 > 0.8")
    assert str(error) == (
        "unknown split 'valid' at position 0; "
        "splits are train, validation, test or a slice such as test/long_texts"
    )

    error = filter_error("statuz = 1")
    assert str(error).startswith(
        "unknown field 'statuz' at position 0; use a split (validation.f1), params.X, tags.X "
        "or one of: name, status, baseline, experiment, id, host, git_commit,"
    )


def test_the_error_is_a_value_error_and_survives_pickling():
    error = filter_error("status = finished")
    assert isinstance(error, ValueError)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.message, copy.position, copy.hint) == (error.message, error.position, error.hint)
    assert str(copy) == str(error)


def test_the_earliest_problem_in_the_text_is_reported():
    # The unterminated string comes later, so the unknown field is what the person fixes first.
    assert filter_error('statuz = 1 and name = "oops').position == 0


def test_deep_nesting_is_refused_instead_of_overflowing_the_stack():
    ok = "(" * MAX_NESTING + A + ")" * MAX_NESTING
    assert parse_filter(ok) == a
    error = filter_error("(" * (MAX_NESTING + 1) + A + ")" * (MAX_NESTING + 1))
    assert error.position == MAX_NESTING
    assert "nested too deeply" in error.message
    assert "nested too deeply" in filter_error("not " * 10_000 + A).message
    assert "nested too deeply" in filter_error("(" * 100_000).message


# --- fields and sort keys ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("validation.f1", metric("f1")),
        ("  test/long_texts.f1  ", metric("f1", "test/long_texts")),
        ("validation.`f1.macro`", metric("f1.macro")),
        ("params.lr", param("lr")),
        ("tags.stage", tag("stage")),
        ("started_at", attribute("started_at")),
        ("attributes.duration", attribute("duration")),
    ],
)
def test_parse_field(text, expected):
    assert parse_field(text) == expected


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("", 0, ["expected a field", "the end of the text"]),
        ("validation.f1 > 1", 14, ['unexpected ">" after the field']),
        ("-name", 0, ['found "-"']),
        ("and", 0, ["found 'and'"]),
        ("nam", 0, ["unknown field 'nam'"]),
    ],
)
def test_parse_field_errors(text, position, words):
    error = filter_error(text, parse=parse_field)
    assert error.position == position
    for word in words:
        assert word in str(error)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-validation.f1,name", [(metric("f1"), True), (attribute("name"), False)]),
        (
            " test/long_texts.f1 , -params.lr,tags.stage ",
            [(metric("f1", "test/long_texts"), False), (param("lr"), True), (tag("stage"), False)],
        ),
        ("-validation.`f1.macro`", [(metric("f1.macro"), True)]),
        ("- duration", [(attribute("duration"), True)]),
        ("", []),
        ("  ", []),
    ],
)
def test_parse_order_by(text, expected):
    assert parse_order_by(text) == expected


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("-validation.f1,", 15, ["expected a field", "the end of the text"]),
        ("name,,started_at", 5, ['found ","']),
        ("name started_at", 5, ["unexpected 'started_at'", "separate sort keys with commas"]),
        ("-", 1, ["expected a field"]),
        ("--name", 1, ['found "-"']),
        ("name,-valid.f1", 6, ["unknown split 'valid'"]),
        ("-5", 0, ["found '-5'"]),
    ],
)
def test_parse_order_by_errors(text, position, words):
    error = filter_error(text, parse=parse_order_by)
    assert error.position == position
    for word in words:
        assert word in str(error)


# --- robustness ----------------------------------------------------------------------

_SEEDS = [
    'validation.f1 > 0.8 and params.model = "svm"',
    'tags.stage != "dev" or not (status = "finished" and baseline = true)',
    "test/long_texts.f1 >= 0.7 AND validation.`f1.macro` > -2.5e-3",
    'name ~ \'lr-%\' or name ~* "LR-\\"%" or params.`optimizer.lr` <> null',
    'started_at >= "2024-05-01T12:30:00" and duration < 3600 and ended_at = null',
    "-validation.f1,name,-params.lr",
]
_PIECES = [
    *"()\"'`\\./,-~=!<>\n\x00é٣",
    *("~*", "==", "!=", "<>", ">=", " and ", " or ", " not ", "like", "null", "true", "  "),
    *("1e", "1e-3", ".5", "0x1", "validation.", "test/", "params.", "tags.", "status"),
]


def _mutate(rng: random.Random, text: str) -> str:
    for _ in range(rng.randint(1, 4)):
        position = rng.randint(0, len(text))
        choice = rng.random()
        if choice < 0.4:
            text = text[:position] + rng.choice(_PIECES) + text[position:]
        elif choice < 0.7:
            text = text[:position] + text[position + rng.randint(1, 5) :]
        elif choice < 0.85:
            start = rng.randint(0, len(text))
            text = text[:position] + text[start : start + rng.randint(1, 12)] + text[position:]
        else:
            text = text[:position] + chr(rng.randint(0, 0x2FF)) + text[position:]
    return text


def test_any_text_either_parses_or_raises_filter_error():
    rng = random.Random(20240501)
    texts = [_mutate(rng, rng.choice(_SEEDS)) for _ in range(4000)]
    texts += ["".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 12))) for _ in range(1000)]
    parsed = 0
    for text in texts:
        for parse in (parse_filter, parse_order_by, parse_field):
            try:
                parse(text)
            except FilterError as error:
                assert 0 <= error.position <= len(text), text
                assert error.message, text
            else:
                parsed += 1
    # The mutations are gentle enough that some texts still parse, so both paths are exercised.
    assert parsed > 100
