"""Read the rows of CQL `INSERT INTO` statements, as Sunbird's test fixtures and `cqlsh` dumps hold them.

The upstream test data is a list of CQL inserts; reading it directly lets the same data feed our tests
without a Cassandra. Only literal values are understood. Choices worth knowing:

* identifiers are lower-cased unless double-quoted, as Cassandra does;
* string literals keep backslashes as they are (CQL has no backslash escapes; only `''` is one);
* UDT literals (`{id: 'x', score: 1}`) and maps (`{'k': 1}`) both become dicts; sets and tuples become lists
  (sets sorted and de-duplicated, as Cassandra returns them);
* function calls such as `toTimeStamp(toDate(now()))` become None, so a load gives the same rows every time
  (in the upstream fixtures they only fill `updated_on`, which no report reads);
* `BEGIN BATCH ... APPLY BATCH` wrappers are unwrapped; every other statement is skipped.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from exhaust.errors import SourceDataError

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>(?:--|//)[^\n]*|/\*.*?\*/)
  | (?P<string>'[^']*(?:''[^']*)*')
  | (?P<dollar>\$\$.*?\$\$)
  | (?P<qid>"[^"]*(?:""[^"]*)*")
  | (?P<uuid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-]))
  | (?P<blob>0[xX][0-9a-fA-F]*(?!\w))
  | (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?(?!\w))
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*|\w+)
  | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_UNTERMINATED = {"'": "string literal", "$": "$$ string literal", '"': "quoted identifier", "/": "comment"}
_LITERAL_WORDS = {"true", "false", "null", "nan", "infinity"}
_WORD_VALUES: dict[str, object] = {
    "true": True,
    "false": False,
    "null": None,
    "nan": float("nan"),
    "infinity": float("inf"),
}


@dataclass(frozen=True)
class _Token:
    kind: str  # string, qid, uuid, blob, number, id, punct
    text: str  # the value for string and qid, the source text otherwise
    line: int

    def shown(self) -> str:
        return f"'{self.text}'" if self.kind == "string" else self.text


class _Malformed(Exception):
    """A statement that does not parse; turned into SourceDataError with the statement's line."""

    def __init__(self, problem: str, token: _Token | None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.token = token


def parse_cql_inserts(text: str, *, origin: str = "CQL") -> Iterator[tuple[int, str, dict]]:
    """Yield (line of the statement, table name without keyspace, row) for each INSERT in `text`.

    Statements other than INSERT are skipped. A malformed INSERT raises SourceDataError naming `origin`
    and the line.
    """
    for statement in _statements(_tokens(text, origin)):
        statement = _unwrap_batch(statement)
        if not statement or statement[0].kind != "id" or statement[0].text.lower() != "insert":
            continue
        line = statement[0].line
        try:
            table, row = _InsertParser(statement).parse()
        except _Malformed as exc:
            where = ""
            if exc.token is not None:
                where = f" near {exc.token.shown()[:40]}"
                if exc.token.line != line:
                    where += f" (line {exc.token.line})"
            raise SourceDataError(f"{origin}, line {line}: malformed INSERT: {exc.problem}{where}") from None
        yield line, table, row


def _tokens(text: str, origin: str) -> Iterator[_Token]:
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        kind = match.lastgroup if match else None
        line = bisect.bisect_right(line_starts, pos)
        if match is None or (kind == "punct" and _is_unterminated(text, pos)):
            what = _UNTERMINATED.get(text[pos], "token")
            raise SourceDataError(f"{origin}, line {line}: unterminated {what}")
        pos = match.end()
        value = match.group()
        if kind in ("space", "comment"):
            continue
        if kind == "string":
            yield _Token("string", value[1:-1].replace("''", "'"), line)
        elif kind == "dollar":
            yield _Token("string", value[2:-2], line)
        elif kind == "qid":
            yield _Token("qid", value[1:-1].replace('""', '"'), line)
        else:
            yield _Token(kind or "", value, line)


def _is_unterminated(text: str, pos: int) -> bool:
    """A quote, `$$` or `/*` that reached the punctuation fallback never closes."""
    char = text[pos]
    return char in "'\"" or text.startswith("$$", pos) or text.startswith("/*", pos)


def _statements(tokens: Iterator[_Token]) -> Iterator[list[_Token]]:
    statement: list[_Token] = []
    for token in tokens:
        if token.kind == "punct" and token.text == ";":
            if statement:
                yield statement
            statement = []
        else:
            statement.append(token)
    if statement:
        yield statement


def _unwrap_batch(statement: list[_Token]) -> list[_Token]:
    """Drop a leading `BEGIN [UNLOGGED|LOGGED|COUNTER] BATCH [USING TIMESTAMP n]`."""
    words = [t.text.lower() if t.kind == "id" else None for t in statement[:4]]
    if not words or words[0] != "begin":
        return statement
    skip = 1
    if len(words) > skip and words[skip] in ("unlogged", "logged", "counter"):
        skip += 1
    if len(words) > skip and words[skip] == "batch":
        skip += 1
        rest = statement[skip:]
        if rest and rest[0].kind == "id" and rest[0].text.lower() == "using":
            rest = rest[3:]  # USING TIMESTAMP <n> sets write times, not row values
        return rest
    return statement


class _InsertParser:
    """Recursive-descent parser of one INSERT statement's tokens."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    # -- token helpers -------------------------------------------------------------------------------
    def peek(self, offset: int = 0) -> _Token | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            last = self.tokens[-1] if self.tokens else None
            raise _Malformed("statement ends too early", last)
        self.pos += 1
        return token

    def is_punct(self, char: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token is not None and token.kind == "punct" and token.text == char

    def is_word(self, word: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token is not None and token.kind == "id" and token.text.lower() == word

    def expect_punct(self, char: str) -> None:
        token = self.take()
        if token.kind != "punct" or token.text != char:
            raise _Malformed(f"expected '{char}'", token)

    def expect_word(self, word: str) -> None:
        token = self.take()
        if token.kind != "id" or token.text.lower() != word:
            raise _Malformed(f"expected {word.upper()}", token)

    def name(self) -> str:
        token = self.take()
        if token.kind == "id":
            return token.text.lower()
        if token.kind == "qid":
            return token.text
        raise _Malformed("expected a name", token)

    # -- statement -----------------------------------------------------------------------------------
    def parse(self) -> tuple[str, dict]:
        self.expect_word("insert")
        self.expect_word("into")
        table = self.name()
        if self.is_punct("."):
            self.take()
            table = self.name()
        if self.is_word("json"):
            self.take()
            row = self.json_row()
        else:
            row = self.values_row()
        self.trailing_clauses()
        return table, row

    def values_row(self) -> dict:
        self.expect_punct("(")
        columns = [self.name()]
        while self.is_punct(","):
            self.take()
            columns.append(self.name())
        self.expect_punct(")")
        self.expect_word("values")
        self.expect_punct("(")
        values = [self.value()]
        while self.is_punct(","):
            self.take()
            values.append(self.value())
        self.expect_punct(")")
        if len(values) != len(columns):
            raise _Malformed(f"{len(columns)} columns but {len(values)} values", self.peek(-1))
        duplicates = sorted({c for c in columns if columns.count(c) > 1})
        if duplicates:
            raise _Malformed(f"column {duplicates[0]} given twice", None)
        return dict(zip(columns, values, strict=True))

    def json_row(self) -> dict:
        token = self.take()
        if token.kind != "string":
            raise _Malformed("expected a JSON string after JSON", token)
        try:
            parsed = json.loads(token.text)
        except json.JSONDecodeError as exc:
            raise _Malformed(f"invalid JSON ({exc.msg})", token) from None
        if not isinstance(parsed, dict):
            raise _Malformed("the JSON value is not an object", token)
        if self.is_word("default"):
            self.take()
            self.take()  # NULL or UNSET
        return {_json_column(key): value for key, value in parsed.items()}

    def trailing_clauses(self) -> None:
        token = self.peek()
        if token is None:
            return
        if self.is_word("if"):
            self.take()
            self.expect_word("not")
            self.expect_word("exists")
            token = self.peek()
        if token is None:
            return
        if not self.is_word("using"):
            raise _Malformed("unexpected text after the values", token)
        # USING TTL/TIMESTAMP only affect storage, not the row.

    # -- values --------------------------------------------------------------------------------------
    def value(self) -> object:
        token = self.take()
        read = self._VALUE_READERS.get(token.kind)
        if read is None:
            raise _Malformed("expected a value", token)
        return read(self, token)

    def _blob(self, token: _Token) -> bytes:
        if len(token.text) % 2:
            raise _Malformed("a blob needs an even number of hex digits", token)
        return bytes.fromhex(token.text[2:])

    def _punct_value(self, token: _Token) -> object:
        """A signed number, a collection literal, or an error (bind markers, stray punctuation)."""
        text = token.text
        following = self.peek()
        if text in "-+" and following is not None and following.kind in ("number", "id"):
            return self._signed(token)
        opened = {"{": self.braces, "[": lambda: self.sequence("]"), "(": lambda: self.sequence(")")}
        if text in opened:
            return opened[text]()
        if text in "?:":
            raise _Malformed("bind markers are not supported in fixture files", token)
        raise _Malformed("expected a value", token)

    def _signed(self, sign: _Token) -> int | float:
        signed = self.value()
        if isinstance(signed, bool) or not isinstance(signed, int | float):
            raise _Malformed("a sign must precede a number", sign)
        return -signed if sign.text == "-" else signed

    def _word_value(self, token: _Token) -> object:
        """A function call (its value is None), or one of the literal words true, false, null, NaN, Infinity."""
        if self.is_punct("(") or (self.is_punct(".") and self.is_punct("(", 2)):
            self.function_call()
            return None
        word = token.text.lower()
        if word not in _WORD_VALUES:
            raise _Malformed("expected a value", token)
        return _WORD_VALUES[word]

    _VALUE_READERS: ClassVar[dict[str, Callable[[_InsertParser, _Token], object]]] = {
        "string": lambda self, token: token.text,
        "number": lambda self, token: _number(token.text),
        "uuid": lambda self, token: token.text.lower(),
        "blob": _blob,
        "punct": _punct_value,
        "id": _word_value,
    }

    def function_call(self) -> None:
        """Skip `name(args)` or `ks.name(args)`; see the module docstring for why the value is None."""
        if self.is_punct("."):
            self.take()
            self.take()
        self.expect_punct("(")
        if self.is_punct(")"):
            self.take()
            return None
        self.value()
        while self.is_punct(","):
            self.take()
            self.value()
        self.expect_punct(")")
        return None

    def sequence(self, close: str) -> list:
        items: list = []
        if self.is_punct(close):
            self.take()
            return items
        items.append(self.value())
        while self.is_punct(","):
            self.take()
            items.append(self.value())
        self.expect_punct(close)
        return items

    def braces(self) -> dict | list:
        """A map `{k: v}`, a UDT `{field: v}` (unquoted field names) or a set `{a, b}`."""
        if self.is_punct("}"):
            self.take()
            return {}
        first = self.peek()
        if first is not None and self.is_punct(":", 1) and self.is_udt_field(first):
            return self.udt()
        key = self.value()
        if not self.is_punct(":"):
            return self.set_rest(key)
        result: dict = {}
        while True:
            self.expect_punct(":")
            if isinstance(key, dict | list):
                raise _Malformed("collections as map keys are not supported", self.peek(-1))
            result[key] = self.value()
            if not self.is_punct(","):
                break
            self.take()
            key = self.value()
        self.expect_punct("}")
        return result

    @staticmethod
    def is_udt_field(token: _Token) -> bool:
        return token.kind == "qid" or (token.kind == "id" and token.text.lower() not in _LITERAL_WORDS)

    def udt(self) -> dict:
        result: dict = {}
        while True:
            field = self.name()
            self.expect_punct(":")
            result[field] = self.value()
            if not self.is_punct(","):
                break
            self.take()
        self.expect_punct("}")
        return result

    def set_rest(self, first: object) -> list:
        items = [first]
        while self.is_punct(","):
            self.take()
            items.append(self.value())
        self.expect_punct("}")
        try:
            return sorted(set(items))  # type: ignore[type-var]
        except TypeError:  # unhashable (frozen collections) or mixed types: keep as written
            return items


def _number(text: str) -> int | float:
    if any(c in text for c in ".eE"):
        return float(text)
    return int(text)


def _json_column(key: str) -> str:
    """Keys of `INSERT ... JSON` are column names: case-insensitive unless double-quoted inside the key."""
    if len(key) >= 2 and key.startswith('"') and key.endswith('"'):
        return key[1:-1]
    return key.lower()
