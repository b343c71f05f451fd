"""The filter language's tokens, read on demand from the text."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from tracker.query.syntax import FilterError

END = "end"
KEYWORDS = frozenset({"and", "or", "not", "like", "ilike", "true", "false", "null"})
WORD_OPERATORS = {"like": "~", "ilike": "~*"}
# Longest first, so "<=" is not read as "<" followed by "=".
_SYMBOL_OPERATORS = (
    ("==", "="),
    ("!=", "!="),
    ("<>", "!="),
    ("<=", "<="),
    (">=", ">="),
    ("~*", "~*"),
    ("=", "="),
    ("<", "<"),
    (">", ">"),
    ("~", "~"),
)
_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NUMBER_TAIL = re.compile(r"[A-Za-z0-9_.]+")
_BARE_NAME = re.compile(r"[A-Za-z0-9_-]+")
_NAME_START = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_`"
_CHARACTER_HINTS = {
    "&": 'use "and"',
    "|": 'use "or"',
    "!": 'use "not", or "!=" for not equal',
}


@dataclass(frozen=True)
class Segment:
    """One part of a field reference: ``test``, ``long_texts`` and ``f1`` in test/long_texts.f1."""

    text: str
    start: int
    quoted: bool
    separator: str  # "" for the first segment, else "." or "/" written right before it


@dataclass(frozen=True)
class Token:
    """One token of the text, from `start` to `end`; `value` as the parser reads it."""

    kind: str  # "field", "keyword", "number", "string", "op", "(", ")", ",", "-" or "end"
    start: int
    end: int
    value: object = None


class Lexer:
    """Reads tokens on demand, so errors come out in the order they appear in the text."""

    def __init__(self, text: str):
        self.text = text
        self.position = 0

    def next_token(self) -> Token:
        text = self.text
        position = self.position
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            self.position = position
            return Token(END, position, position)
        token = self._read(position)
        self.position = token.end
        return token

    def _read(self, start: int) -> Token:
        text = self.text
        char = text[start]
        if char in "(),":
            return Token(char, start, start + 1)
        if char in "\"'":
            value, end = self._quoted(start, "string")
            return Token("string", start, end, value)
        if char in "0123456789.-" and _NUMBER.match(text, start):
            return self._number(start)
        if char == "-":
            return Token("-", start, start + 1)
        if char in _NAME_START:
            return self._field_or_keyword(start)
        for symbol, op in _SYMBOL_OPERATORS:
            if text.startswith(symbol, start):
                return Token("op", start, start + len(symbol), op)
        raise FilterError(f"unexpected character {char!r}", start, hint=_CHARACTER_HINTS.get(char))

    def _number(self, start: int) -> Token:
        match = _NUMBER.match(self.text, start)
        end = match.end()
        tail = _NUMBER_TAIL.match(self.text, end)
        if tail:
            raise FilterError(f"invalid number {self.text[start : tail.end()]!r}", start)
        value = float(match.group())
        if not math.isfinite(value):
            raise FilterError(f"number {match.group()!r} is too large", start)
        return Token("number", start, end, value)

    def _quoted(self, start: int, what: str) -> tuple[str, int]:
        """Read a quoted string or backquoted name starting at ``start``; return it and its end."""
        text = self.text
        quote = text[start]
        chars = []
        position = start + 1
        while position < len(text):
            char = text[position]
            if char == "\\" and text[position + 1 : position + 2] in (quote, "\\"):
                chars.append(text[position + 1])
                position += 2
            elif char == quote:
                return "".join(chars), position + 1
            else:
                chars.append(char)
                position += 1
        raise FilterError(f"unterminated {what}", start, hint=f"close it with {quote}")

    def _field_or_keyword(self, start: int) -> Token:
        text = self.text
        segments = []
        separator = ""
        position = start
        while True:
            if text.startswith("`", position):
                name, end = self._quoted(position, "backquoted name")
                if not name:
                    raise FilterError("empty backquoted name", position)
                segments.append(Segment(name, position, True, separator))
            else:
                match = _BARE_NAME.match(text, position)
                if not match:
                    raise FilterError(f'expected a name after "{separator}"', position)
                end = match.end()
                segments.append(Segment(match.group(), position, False, separator))
            position = end
            if position < len(text) and text[position] in "./":
                separator = text[position]
                position += 1
            else:
                break
        if len(segments) == 1 and not segments[0].quoted:
            word = segments[0].text.lower()
            if word in KEYWORDS:
                return Token("keyword", start, position, word)
        return Token("field", start, position, tuple(segments))
