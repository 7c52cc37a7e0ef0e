"""Topics: named boolean queries (config/topics.toml) that tag documents, Brandwatch-style.

Why a hand-written recursive-descent parser: the grammar is small, the error messages matter more
than the grammar (an analyst tuning a query needs "line 2, column 14: missing ')'" with a caret,
not a parser-generator trace), and it keeps this module free of dependencies. Pure: no spaCy, no
database; the warehouse side is warehouse/topics.py, the command line pipeline/topics_cli.py.

Query language (operators in CAPITALS; lowercase ``and``/``or``/``not`` are ordinary words)::

    query    := or_expr
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := not_expr (["AND"] not_expr)*        adjacent terms are ANDed (implicit AND)
    not_expr := "NOT" not_expr | near_expr
    near_expr:= primary ("NEAR/n" | "NEAR/nf" primary)*
    primary  := "(" or_expr ")" | field ":" value | '"phrase"' | word

- Precedence, tightest first: NEAR/n, NOT, AND, OR. ``a OR b c`` is ``a OR (b AND c)``;
  ``NOT a b`` is ``(NOT a) AND b``; ``NOT a NEAR/3 b`` is ``NOT (a NEAR/3 b)``.
- Tokens: a document's title and body are split into ``\\w+`` runs (letters, digits, underscore,
  any script) after NFKC normalisation and case folding; everything else (punctuation, hyphens,
  apostrophes, emoji) separates tokens and is otherwise ignored. Queries are tokenised the same
  way, so ``"live shopping"`` matches "live-shopping", "Live, shopping" and "LIVE SHOPPING", and a
  bare ``live-shopping`` is the phrase ``"live shopping"``. ``TikTok's`` is the tokens tiktok, s.
  Accents are kept ("café" does not match "cafe").
- ``word*`` matches any token starting with ``word`` (also inside phrases: ``"payout* delay*"``).
  A ``*`` anywhere but the end of a word is an error.
- ``a NEAR/n b``: a and b (words, phrases, wildcards or an OR of them) in either order with at
  most n other tokens between them (``NEAR/0`` = adjacent). ``NEAR/nf``: a must come first.
  Overlapping matches do not count as near.
- Fields (value bare or quoted, case-insensitive, trailing ``*`` allowed): ``source:`` (reddit,
  news), ``channel:`` (subreddit, with or without ``r/``, or site domain, with or without
  ``www.``), ``entity:`` (entity id such as ``platform/whatnot`` or canonical name such as
  ``"TikTok Shop"``), ``theme:`` (theme id from config/themes.toml), ``lang:`` (ISO 639-1),
  ``author:`` (with or without ``u/``).
- Only the first 1,000,000 characters of title + body are searched (:data:`MAX_TEXT_CHARS`).
- A query that matches a document with no text and no fields at all (``NOT spam`` alone) is
  refused: it would tag nearly everything, which is never what a saved topic means.
"""

from __future__ import annotations

import bisect
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIELDS = ("author", "channel", "entity", "lang", "source", "theme")
_WORD_RE = re.compile(r"\w+")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_NEAR_RE = re.compile(r"^NEAR/(\d+)(f?)$")
_FIELD_RE = re.compile(r"^([A-Za-z_]+):")
OPEN_QUOTES = '"\u201c\u201d'  # straight and curly quotes: queries get pasted from documents
_STOP = set('()"\u201c\u201d')
# Characters of title + body a query sees. Why a cap: hostile input (issue 12: a 10,000,000-char
# post) would otherwise become millions of tokens and their positions, hundreds of MB per document.
# Ten times the NLP's default [nlp] max_text_chars, so every analysed character is searchable.
MAX_TEXT_CHARS = 1_000_000


# --------------------------------------------------------------------------------------- errors
class TopicQueryError(ValueError):
    """A query that does not parse, with where (1-based line and column) and a caret display."""

    def __init__(self, message: str, query: str, offset: int, topic: str | None = None) -> None:
        self.message = message
        self.query = query
        self.offset = max(0, min(offset, len(query)))
        self.line = query.count("\n", 0, self.offset) + 1
        self.column = self.offset - (query.rfind("\n", 0, self.offset) + 1) + 1
        self.topic = topic
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = f'topic "{self.topic}": ' if self.topic else ""
        return f"{where}line {self.line}, column {self.column}: {self.message}"

    def caret(self) -> str:
        """The offending query line and a caret under the column (tabs kept so they line up)."""
        text = self.query.split("\n")[self.line - 1]
        pad = "".join("\t" if ch == "\t" else " " for ch in text[: self.column - 1])
        return f"{text}\n{pad}^"

    def with_topic(self, topic: str) -> TopicQueryError:
        return TopicQueryError(self.message, self.query, self.offset, topic)


class TopicConfigError(ValueError):
    """config/topics.toml is unreadable or malformed (not a query problem: see TopicQueryError)."""


# ------------------------------------------------------------------------------ tokenisation
def tokenize(text: str | None) -> list[str]:
    """The matching tokens of a text: NFKC-normalised, case-folded ``\\w+`` runs (see module doc)."""
    if not text:
        return []
    return _WORD_RE.findall(_fold(text))


# --------------------------------------------------------------------------------------- AST
@dataclass(frozen=True)
class Text:
    """A word or phrase: consecutive tokens; ``prefixes[i]`` makes word i a trailing wildcard."""

    words: tuple[str, ...]
    prefixes: tuple[bool, ...]
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Field:
    """``name:value``; ``value`` as written but case-folded, ``key`` what documents are compared on."""

    name: str
    value: str
    prefix: bool = False
    pos: int = field(default=0, compare=False)
    key: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", _norm_field(self.name, self.value))


@dataclass(frozen=True)
class Not:
    child: Node
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Near:
    left: Node
    right: Node
    distance: int
    ordered: bool = False
    pos: int = field(default=0, compare=False)


Node = Text | Field | Not | And | Or | Near


def is_positional(node: Node) -> bool:
    """Whether a node has token positions (so NEAR can use it): text, NEAR, or an OR of those."""
    if isinstance(node, Text | Near):
        return True
    return isinstance(node, Or) and all(is_positional(c) for c in node.children)


# -------------------------------------------------------------------------------------- lexer
@dataclass(frozen=True)
class _Tok:
    kind: str  # LP RP AND OR NOT NEAR WORD PHRASE FIELD EOF
    pos: int
    text: str = ""
    value: Any = None


def _fold(text: str) -> str:
    """NFKC + case folding, repeated to a fixed point (each can undo the other's normal form)."""
    for _ in range(4):
        folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
        if folded == text:
            break
        text = folded
    return text


def _fold_value(value: str) -> str:
    return " ".join(_fold(value).split())


_FIELD_PREFIXES = {"channel": ("/r/", "r/", "www."), "author": ("/u/", "u/")}


def _norm_field(name: str, value: str) -> str:
    """A field value (query side or document side) in the form both are compared in."""
    v = _fold_value(value)
    for prefix in _FIELD_PREFIXES.get(name, ()):
        if v.startswith(prefix) and len(v) > len(prefix):
            return v[len(prefix):]
    return v


def _read_quoted(q: str, i: int) -> tuple[str, int]:
    """Text inside the quote opening at ``i`` and the offset after the closing quote."""
    j = i + 1
    while j < len(q) and q[j] not in '"\u201c\u201d':
        j += 1
    if j >= len(q):
        raise TopicQueryError("unterminated quote: add the closing \"", q, i)
    return q[i + 1:j], j + 1


def _lex(q: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i = 0
    n = len(q)
    while i < n:
        ch = q[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "()":
            toks.append(_Tok("LP" if ch == "(" else "RP", i, ch))
            i += 1
            continue
        if ch in OPEN_QUOTES:
            inner, end = _read_quoted(q, i)
            toks.append(_Tok("PHRASE", i, q[i:end], inner))
            i = end
            continue
        j = i
        while j < n and not q[j].isspace() and q[j] not in _STOP:
            j += 1
        run = q[i:j]
        if run in ("AND", "OR", "NOT"):
            toks.append(_Tok(run, i, run))
            i = j
            continue
        m = _NEAR_RE.match(run)
        if m:
            toks.append(_Tok("NEAR", i, run, (int(m.group(1)), m.group(2) == "f")))
            i = j
            continue
        if run.upper().startswith("NEAR/") or run == "NEAR":
            raise TopicQueryError("NEAR takes a distance in capitals: NEAR/3 (or NEAR/3f for 'in this "
                                  "order')", q, i)
        fm = _FIELD_RE.match(run)
        if fm:
            name = fm.group(1).lower()
            if name not in FIELDS:
                raise TopicQueryError(f"unknown field '{fm.group(1)}:' (fields: {', '.join(FIELDS)}); "
                                      "put the words in quotes to search for text with a colon", q, i)
            value, vpos = run[fm.end():], i + fm.end()
            if not value and j < n and q[j] in OPEN_QUOTES:
                value, j = _read_quoted(q, j)
                quoted = True
            else:
                quoted = False
            if not value.strip():
                raise TopicQueryError(f"'{name}:' needs a value, e.g. {name}:something (for several: "
                                      f"({name}:a OR {name}:b))", q, vpos)
            prefix = value.rstrip().endswith("*")
            body = value.rstrip()[:-1] if prefix else value
            if "*" in body or not body.strip():
                star = vpos + (quoted + value.index("*"))
                raise TopicQueryError("a wildcard * goes only at the end of a value (entity:platform/*)",
                                      q, star)
            toks.append(_Tok("FIELD", i, q[i:j], (name, _fold_value(body), prefix)))
            i = j
            continue
        if run in ("&&", "&", "||", "|"):
            raise TopicQueryError(f"'{run}' is not an operator here: write AND or OR", q, i)
        if run.startswith("!") or (run.startswith("-") and _WORD_RE.match(run, 1)):
            raise TopicQueryError(f"'{run[0]}' does not negate here: write NOT {run[1:]}", q, i)
        toks.append(_Tok("WORD", i, run))
        i = j
    toks.append(_Tok("EOF", n))
    return toks


def _words(q: str, chunk: str, at: int) -> tuple[list[str], list[bool]]:
    """Tokens and wildcard flags of one whitespace-free chunk of query text starting at ``at``."""
    star = chunk.find("*")
    if star != -1 and (star != len(chunk) - 1 or star == 0 or not _WORD_RE.match(chunk[star - 1])):
        raise TopicQueryError("a wildcard * goes only at the end of a word (refund*)", q, at + star)
    words = tokenize(chunk)
    flags = [False] * len(words)
    if star != -1 and words:
        flags[-1] = True
    return words, flags


def _text_node(q: str, tok: _Tok) -> Text:
    if tok.kind == "WORD":
        chunks = [(tok.text, tok.pos)]
    else:
        inner_start = tok.pos + 1
        chunks = [(m.group(), inner_start + m.start()) for m in re.finditer(r"\S+", tok.value)]
    words: list[str] = []
    flags: list[bool] = []
    for chunk, at in chunks:
        w, f = _words(q, chunk, at)
        words += w
        flags += f
    if not words:
        what = "phrase" if tok.kind == "PHRASE" else f"'{tok.text}'"
        raise TopicQueryError(f"{what} has no letters or digits to search for", q, tok.pos)
    return Text(tuple(words), tuple(flags), tok.pos)


# ------------------------------------------------------------------------------------- parser
_STARTS = ("LP", "WORD", "PHRASE", "FIELD", "NOT")


class _Parser:
    def __init__(self, query: str) -> None:
        self.q = query
        self.toks = _lex(query)
        self.i = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def fail(self, message: str, tok: _Tok | None = None) -> TopicQueryError:
        return TopicQueryError(message, self.q, (tok or self.tok).pos)

    @staticmethod
    def describe(t: _Tok) -> str:
        return "the end of the query" if t.kind == "EOF" else f"'{t.text}'"

    def parse(self) -> Node:
        if self.tok.kind == "EOF":
            raise self.fail("empty query")
        node = self.or_expr()
        if self.tok.kind == "RP":
            raise self.fail("unmatched ')'")
        if self.tok.kind != "EOF":  # pragma: no cover - every other token starts an AND operand
            raise self.fail(f"unexpected {self.describe(self.tok)}")
        return node

    def or_expr(self) -> Node:
        start = self.tok.pos
        items = [self.and_expr()]
        while self.tok.kind == "OR":
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items), start)

    def and_expr(self) -> Node:
        start = self.tok.pos
        items = [self.not_expr()]
        while True:
            if self.tok.kind == "AND":
                self.take()
                items.append(self.not_expr())
            elif self.tok.kind in _STARTS:
                items.append(self.not_expr())  # implicit AND
            else:
                break
        return items[0] if len(items) == 1 else And(tuple(items), start)

    def not_expr(self) -> Node:
        if self.tok.kind == "NOT":
            t = self.take()
            return Not(self.not_expr(), t.pos)
        return self.near_expr()

    def near_expr(self) -> Node:
        left = self.primary()
        while self.tok.kind == "NEAR":
            op = self.take()
            right = self.primary()
            for side, node in (("left", left), ("right", right)):
                if not is_positional(node):
                    raise TopicQueryError(f"{op.text} needs words, phrases or an OR of them on its {side}; "
                                          "fields, NOT and AND have no position", self.q, node.pos)
            distance, ordered = op.value
            left = Near(left, right, distance, ordered, left.pos)
        return left

    def primary(self) -> Node:
        t = self.tok
        if t.kind == "LP":
            self.take()
            if self.tok.kind == "RP":
                raise self.fail("empty parentheses")
            node = self.or_expr()
            if self.tok.kind != "RP":
                raise self.fail(f"missing ')' for the '(' at column {self._col(t.pos)}; found "
                                f"{self.describe(self.tok)}")
            self.take()
            return node
        if t.kind in ("WORD", "PHRASE"):
            self.take()
            return _text_node(self.q, t)
        if t.kind == "FIELD":
            self.take()
            name, value, prefix = t.value
            return Field(name, value, prefix, t.pos)
        if t.kind == "EOF":
            prev = self.toks[self.i - 1] if self.i else t
            raise self.fail(f"expected a word, phrase, field or '(' after '{prev.text}', found the end "
                            "of the query")
        raise self.fail(f"expected a word, phrase, field or '(', found {self.describe(t)}")

    def _col(self, pos: int) -> str:
        line = self.q.count("\n", 0, pos) + 1
        col = pos - (self.q.rfind("\n", 0, pos) + 1) + 1
        return f"{col}" if line == 1 else f"{col} of line {line}"


def parse_query(query: str) -> Node:
    """The AST of ``query``; a :class:`TopicQueryError` (with line and column) if it does not parse."""
    if not isinstance(query, str):
        raise TopicQueryError("a query must be text", "", 0)
    node = _Parser(query).parse()
    if evaluate(node, DocumentView.empty()):
        raise TopicQueryError("the query matches documents that contain none of its terms (e.g. NOT x "
                              "alone); add a word, phrase or field it must find", query, 0)
    return node


# ------------------------------------------------------------------------------------ printer
_PREC = {Or: 1, And: 2, Not: 3, Near: 4, Text: 5, Field: 5}


def _format_field(node: Field) -> str:
    v = node.value + ("*" if node.prefix else "")
    bare = not any(c.isspace() or c in _STOP for c in node.value)
    return f"{node.name}:{v}" if bare else f'{node.name}:"{v}"'


def format_query(node: Node) -> str:
    """Canonical text of a query: parses back to an equal AST (the round trip the tests check)."""
    def wrap(child: Node, need: bool) -> str:
        s = format_query(child)
        return f"({s})" if need else s

    if isinstance(node, Text):
        parts = [w + ("*" if p else "") for w, p in zip(node.words, node.prefixes, strict=True)]
        return parts[0] if len(parts) == 1 else '"' + " ".join(parts) + '"'
    if isinstance(node, Field):
        return _format_field(node)
    if isinstance(node, Not):
        return "NOT " + wrap(node.child, _PREC[type(node.child)] < _PREC[Not])
    if isinstance(node, And):
        return " AND ".join(wrap(c, _PREC[type(c)] <= _PREC[And]) for c in node.children)
    if isinstance(node, Or):
        return " OR ".join(wrap(c, _PREC[type(c)] <= _PREC[Or]) for c in node.children)
    if isinstance(node, Near):
        op = f"NEAR/{node.distance}{'f' if node.ordered else ''}"
        left = wrap(node.left, _PREC[type(node.left)] < _PREC[Near])
        right = wrap(node.right, _PREC[type(node.right)] <= _PREC[Near])
        return f"{left} {op} {right}"
    raise TypeError(f"not a query node: {node!r}")


# ------------------------------------------------------------------------------ document view
@dataclass
class DocumentView:
    """What a query sees of one document: its tokens and its (normalised) field values."""

    tokens: Sequence[str]
    fields: Mapping[str, frozenset[str]]
    _positions: dict[str, list[int]] | None = field(default=None, repr=False)
    _vocab: list[str] | None = field(default=None, repr=False)

    @classmethod
    def empty(cls) -> DocumentView:
        return cls((), {})

    @classmethod
    def build(cls, *, title: str | None = None, body: str | None = None, source: str | None = None,
              channel: str | None = None, entities: Iterable[str] = (), themes: Iterable[str] = (),
              language: str | None = None, author: str | None = None) -> DocumentView:
        """A view from document fields; ``entities`` holds entity ids and names alike."""
        raw = {"source": [source], "channel": [channel], "entity": list(entities),
               "theme": list(themes or ()), "lang": [language], "author": [author]}
        fields = {k: frozenset(_norm_field(k, v) for v in vs if isinstance(v, str) and v.strip())
                  for k, vs in raw.items()}
        text = "\n\n".join(p for p in (title, body) if isinstance(p, str) and p)
        if len(text) > MAX_TEXT_CHARS:
            cut = text.rfind(" ", 0, MAX_TEXT_CHARS)  # not inside a word: no half-word token
            text = text[:cut if cut > 0 else MAX_TEXT_CHARS]
        return cls(tokenize(text), fields)

    @property
    def positions(self) -> dict[str, list[int]]:
        if self._positions is None:
            pos: dict[str, list[int]] = {}
            for i, t in enumerate(self.tokens):
                pos.setdefault(t, []).append(i)
            self._positions = pos
        return self._positions

    def word_positions(self, word: str, prefix: bool) -> list[int]:
        """Sorted positions of ``word`` (or of every token starting with it, for a wildcard)."""
        if not prefix:
            return self.positions.get(word, [])
        if self._vocab is None:
            self._vocab = sorted(self.positions)
        out: list[int] = []
        i = bisect.bisect_left(self._vocab, word)
        while i < len(self._vocab) and self._vocab[i].startswith(word):
            out += self.positions[self._vocab[i]]
            i += 1
        return sorted(out)

    def has_field(self, name: str, value: str, prefix: bool) -> bool:
        values = self.fields.get(name, frozenset())
        if prefix:
            return any(v.startswith(value) for v in values)
        return value in values


Span = tuple[int, int]  # first and last token position, inclusive


def _spans(node: Node, doc: DocumentView) -> list[Span]:
    """Every match of a positional node, sorted by start."""
    if isinstance(node, Text):
        firsts = doc.word_positions(node.words[0], node.prefixes[0])
        if len(node.words) == 1:
            return [(p, p) for p in firsts]
        rest = [set(doc.word_positions(w, p)) for w, p in zip(node.words[1:], node.prefixes[1:], strict=True)]
        k = len(node.words) - 1
        return [(p, p + k) for p in firsts if all(p + 1 + i in s for i, s in enumerate(rest))]
    if isinstance(node, Or):
        return sorted({s for c in node.children for s in _spans(c, doc)})
    if isinstance(node, Near):
        return _near(node, doc, first_only=False)
    raise TypeError(f"{type(node).__name__} has no positions")


def _near(node: Near, doc: DocumentView, first_only: bool) -> list[Span]:
    """Spans of ``left NEAR/n right``; with ``first_only``, at most one (for a yes/no question)."""
    left = _spans(node.left, doc)
    right = _spans(node.right, doc) if left else []
    if not right:
        return []
    n = node.distance
    starts = [s for s, _ in right]  # right is sorted by start
    by_end = sorted(right, key=lambda s: s[1])
    ends = [e for _, e in by_end]
    out: set[Span] = set()
    for a0, a1 in left:
        # right after left: its start in [a1 + 1, a1 + 1 + n]
        lo, hi = bisect.bisect_left(starts, a1 + 1), bisect.bisect_right(starts, a1 + 1 + n)
        out.update((a0, b1) for _, b1 in right[lo:hi])
        if not node.ordered:  # right before left: its end in [a0 - 1 - n, a0 - 1]
            lo, hi = bisect.bisect_left(ends, a0 - 1 - n), bisect.bisect_right(ends, a0 - 1)
            out.update((b0, a1) for b0, _ in by_end[lo:hi])
        if first_only and out:
            return [min(out)]
    return sorted(out)


def evaluate(node: Node, doc: DocumentView) -> bool:
    """Whether ``doc`` matches ``node``."""
    if isinstance(node, Text):
        if len(node.words) == 1:
            return bool(doc.word_positions(node.words[0], node.prefixes[0]))
        return bool(_spans(node, doc))
    if isinstance(node, Field):
        return doc.has_field(node.name, node.key, node.prefix)
    if isinstance(node, Not):
        return not evaluate(node.child, doc)
    if isinstance(node, And):
        return all(evaluate(c, doc) for c in node.children)
    if isinstance(node, Or):
        return any(evaluate(c, doc) for c in node.children)
    if isinstance(node, Near):
        return bool(_near(node, doc, first_only=True))
    raise TypeError(f"not a query node: {node!r}")


# -------------------------------------------------------------------------------------- topics
@dataclass(frozen=True)
class Topic:
    name: str
    query: str
    node: Node
    description: str = ""

    @classmethod
    def compile(cls, name: str, query: str, description: str = "") -> Topic:
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise TopicConfigError(f"topic name {name!r} must be lower-case letters, digits, - or _ "
                                   "(at most 64, starting with a letter or digit)")
        try:
            node = parse_query(query)
        except TopicQueryError as exc:
            raise exc.with_topic(name) from None
        return cls(name, query, node, description)

    def matches(self, doc: DocumentView) -> bool:
        return evaluate(self.node, doc)


def parse_topics(data: Mapping[str, Any], origin: str = "topics") -> list[Topic]:
    """Topics from parsed TOML: ``[[topic]]`` tables with name, query and optional description."""
    items = data.get("topic", [])
    if not isinstance(items, list) or not all(isinstance(t, dict) for t in items):
        raise TopicConfigError(f"{origin}: expected [[topic]] tables")
    out: list[Topic] = []
    seen: set[str] = set()
    for i, item in enumerate(items, 1):
        unknown = sorted(set(item) - {"name", "query", "description"})
        if unknown:
            raise TopicConfigError(f"{origin}: topic #{i} has unknown key(s) {', '.join(unknown)}")
        name, query = item.get("name"), item.get("query")
        if not isinstance(query, str):
            raise TopicConfigError(f"{origin}: topic #{i} ({name!r}) needs a query string")
        topic = Topic.compile(name, query, str(item.get("description") or ""))
        if topic.name in seen:
            raise TopicConfigError(f"{origin}: two topics are named {topic.name!r}")
        seen.add(topic.name)
        out.append(topic)
    return out


def load_topics(path: Path, missing_ok: bool = False) -> list[Topic]:
    """Topics of a TOML file. ``missing_ok``: a missing file means no topics (the enrich stage)."""
    path = Path(path)
    if missing_ok and not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TopicConfigError(f"cannot read {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise TopicConfigError(f"{path}: not valid TOML: {exc}") from exc
    return parse_topics(data, str(path))


# --------------------------------------------------------------------------------------- tagging
def document_view(row: Mapping[str, Any], entity_keys: Iterable[str] = ()) -> DocumentView:
    """The view of an enriched document row (enriched/documents.jsonl or core.documents)."""
    return DocumentView.build(title=row.get("title"), body=row.get("body"), source=row.get("source"),
                              channel=row.get("channel"), entities=entity_keys,
                              themes=row.get("themes") or (), language=row.get("language"),
                              author=row.get("author"))


def tag_documents(rows: Iterable[Mapping[str, Any]], mentions: Iterable[Mapping[str, Any]],
                  topics: Sequence[Topic],
                  entities: Iterable[Mapping[str, Any]] = ()) -> list[tuple[str, str]]:
    """(doc_id, topic) for every document matching every topic, in document then topic order.

    ``mentions`` give each document's entity ids; ``entities`` (id -> name) add their names so
    ``entity:"TikTok Shop"`` works as well as ``entity:platform/tiktok-shop``.
    """
    if not topics:
        return []
    names = {e["entity_id"]: e.get("name") for e in entities if e.get("entity_id")}
    keys: dict[str, set[str]] = {}
    for m in mentions:
        eid = m.get("entity_id")
        if eid:
            keys.setdefault(m["doc_id"], set()).update(k for k in (eid, names.get(eid)) if k)
    out: list[tuple[str, str]] = []
    for row in rows:
        view = document_view(row, keys.get(row["doc_id"], ()))
        out += [(row["doc_id"], t.name) for t in topics if t.matches(view)]
    return out


def write_document_topics(path: Path, rows: Iterable[Mapping[str, Any]],
                          mentions: Iterable[Mapping[str, Any]], topics: Sequence[Topic],
                          entities: Iterable[Mapping[str, Any]] = ()) -> int:
    """enriched/document_topics.jsonl ({doc_id, topic} lines, atomically); returns the row count.

    Written even when empty: its presence tells the load that tagging ran for this batch.
    """
    from common.jsonl import write_jsonl

    tags = tag_documents(rows, mentions, topics, entities)
    return write_jsonl(Path(path), ({"doc_id": d, "topic": t} for d, t in tags))
