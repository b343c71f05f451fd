"""The filter language parsed by recursive descent: filters, single fields and sort keys."""

from __future__ import annotations

from tracker.query.checks import Written, check_comparison
from tracker.query.fields import field_from_token
from tracker.query.lexer import END, WORD_OPERATORS, Lexer, Token
from tracker.query.syntax import MAX_NESTING, And, Comparison, Field, FilterError, Node, Not, Or


def parse_filter(text: str) -> Node | None:
    """Parse a run filter; blank text means no filter and gives ``None``."""
    parser = _Parser(text)
    if parser.peek().kind == END:
        return None
    node = parser.expression()
    token = parser.peek()
    if token.kind == ")":
        raise FilterError('unexpected ")"', token.start, hint='there is no "(" to close')
    if token.kind != END:
        raise FilterError(f"unexpected {parser.show(token)}", token.start, hint="expected and/or")
    return node


def parse_field(text: str) -> Field:
    """Parse a single field reference, such as a sort key without its leading ``-``."""
    parser = _Parser(text)
    field = parser.field()
    token = parser.peek()
    if token.kind != END:
        raise FilterError(f"unexpected {parser.show(token)} after the field", token.start)
    return field


def parse_order_by(text: str) -> list[tuple[Field, bool]]:
    """Parse comma-separated sort keys, each optionally prefixed by ``-`` (descending).

    ``"-validation.f1,name"`` gives ``[(validation.f1, True), (name, False)]``;
    blank text gives ``[]``.
    """
    parser = _Parser(text)
    keys: list[tuple[Field, bool]] = []
    if parser.peek().kind == END:
        return keys
    while True:
        descending = parser.peek().kind == "-"
        if descending:
            parser.advance()
        start = parser.peek().start
        field = parser.field()
        if field.kind == "dataset":
            raise FilterError(f"runs cannot be sorted by datasets.{field.name} (a run may "
                              "have several datasets)", start)
        keys.append((field, descending))
        token = parser.peek()
        if token.kind == END:
            return keys
        if token.kind != ",":
            raise FilterError(
                f"unexpected {parser.show(token)}",
                token.start,
                hint="separate sort keys with commas, e.g. -validation.f1,name",
            )
        parser.advance()


class _Parser:
    """Recursive descent over: or_expr := and_expr ("or" and_expr)*,
    and_expr := not_expr ("and" not_expr)*, not_expr := "not" not_expr | primary,
    primary := "(" or_expr ")" | field operator value.
    """

    def __init__(self, text: str):
        self.text = text
        self.lexer = Lexer(text)
        self.lookahead: Token | None = None
        self.nesting = 0

    def peek(self) -> Token:
        if self.lookahead is None:
            self.lookahead = self.lexer.next_token()
        return self.lookahead

    def advance(self) -> Token:
        token = self.peek()
        self.lookahead = None
        return token

    def at_keyword(self, word: str) -> bool:
        token = self.peek()
        return token.kind == "keyword" and token.value == word

    def source(self, token: Token) -> str:
        return self.text[token.start : token.end]

    def show(self, token: Token) -> str:
        """How a token is quoted in messages: operators in double quotes, words in single."""
        if token.kind == END:
            return "the end of the text"
        source = self.source(token)
        if len(source) > 40:
            source = source[:37] + "..."
        if token.kind == "string":
            return source
        if token.kind in ("op", "(", ")", ",", "-"):
            return f'"{source}"'
        return f"'{source}'"

    def expression(self) -> Node:
        items = [self.conjunction()]
        while self.at_keyword("or"):
            self.advance()
            items.append(self.conjunction())
        return _combine(Or, items)

    def conjunction(self) -> Node:
        items = [self.negation()]
        while self.at_keyword("and"):
            self.advance()
            items.append(self.negation())
        return _combine(And, items)

    def negation(self) -> Node:
        if not self.at_keyword("not"):
            return self.primary()
        token = self.advance()
        self.enter(token)
        node = Not(self.negation())
        self.nesting -= 1
        return node

    def primary(self) -> Node:
        token = self.peek()
        if token.kind != "(":
            return self.comparison()
        self.advance()
        self.enter(token)
        if self.peek().kind == ")":
            raise FilterError("empty parentheses", token.start)
        node = self.expression()
        closing = self.peek()
        if closing.kind == END:
            raise FilterError(
                f'unclosed "(" (opened at offset {token.start}): missing ")"', closing.start
            )
        if closing.kind != ")":
            raise FilterError(
                f"unexpected {self.show(closing)}",
                closing.start,
                hint=f'expected and, or or ")" to close the "(" at offset {token.start}',
            )
        self.advance()
        self.nesting -= 1
        return node

    def enter(self, token: Token) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise FilterError(
                f"the filter is nested too deeply (more than {MAX_NESTING} levels)", token.start
            )

    def field(self) -> Field:
        token = self.advance()
        if token.kind != "field":
            raise FilterError(
                f"expected a field such as validation.f1, params.lr or status, "
                f"found {self.show(token)}",
                token.start,
            )
        return field_from_token(token, self.text)

    def comparison(self) -> Comparison:
        field_token = self.peek()
        field = self.field()
        op_token = self.advance()
        if op_token.kind == "op":
            op = op_token.value
        elif op_token.kind == "keyword" and op_token.value in WORD_OPERATORS:
            op = WORD_OPERATORS[op_token.value]
        else:
            raise FilterError(
                f"expected an operator (=, !=, <, <=, >, >=, ~) after {self.show(field_token)}",
                op_token.start,
            )
        value_token = self.advance()
        value = self.value(value_token, op_token)
        checked = check_comparison(field, op, value, Written(
            field=self.source(field_token), op_at=op_token.start, value_at=value_token.start,
            value=self.source(value_token), shown_value=self.show(value_token)))
        return Comparison(field, op, checked)

    def value(self, token: Token, op_token: Token) -> float | str | bool | None:
        if token.kind in ("number", "string"):
            return token.value
        if token.kind == "keyword" and token.value in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[token.value]
        after = f'after "{self.source(op_token)}"'
        if token.kind == END:
            raise FilterError(f"expected a value {after}", token.start)
        hint = None
        if token.kind == "field":
            hint = f'put text in quotes: "{self.source(token)}"'
        raise FilterError(
            f"expected a value {after}, found {self.show(token)}", token.start, hint=hint
        )


def _combine(kind: type[And] | type[Or], items: list[Node]) -> Node:
    """One item stays as it is; several become ``kind``, flattening nested ones of that kind."""
    if len(items) == 1:
        return items[0]
    flat: list[Node] = []
    for item in items:
        flat.extend(item.items if isinstance(item, kind) else (item,))
    return kind(tuple(flat))
