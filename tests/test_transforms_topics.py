"""The topic query language (transforms/topics.py): operators, precedence, tokenisation, fields,
errors with positions, and property tests (round trips, no crash on any input, NEAR against a
brute-force reference)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from transforms.topics import (
    FIELDS,
    And,
    DocumentView,
    Field,
    Near,
    Not,
    Or,
    Text,
    Topic,
    TopicConfigError,
    TopicQueryError,
    _fold_value,
    evaluate,
    format_query,
    load_topics,
    parse_query,
    tag_documents,
    tokenize,
)

CONFIG = Path(__file__).resolve().parents[1] / "config"


def doc(text: str = "", **fields: object) -> DocumentView:
    return DocumentView.build(body=text, **fields)  # type: ignore[arg-type]


def m(query: str, text: str = "", **fields: object) -> bool:
    return evaluate(parse_query(query), doc(text, **fields))


# ----------------------------------------------------------------------------- tokenisation
def test_tokens_are_casefolded_word_runs() -> None:
    assert tokenize("Live-Shopping, TikTok's STRASSE 2x") == ["live", "shopping", "tiktok", "s", "strasse",
                                                             "2x"]
    assert tokenize("Straße") == tokenize("STRASSE")
    assert tokenize("ＴｉｋＴｏｋ") == ["tiktok"]  # full-width letters fold (NFKC)
    assert tokenize("🔥🔥") == [] and tokenize(None) == []


@pytest.mark.parametrize("text", ["live shopping", "Live-shopping!", "LIVE, shopping", "live\n\nshopping",
                                  "(live) [shopping]"])
def test_phrase_matches_across_punctuation_and_case(text: str) -> None:
    assert m('"live shopping"', text)
    assert m("live-shopping", text)  # a hyphenated bare word is the same phrase


def test_phrase_needs_adjacent_words_in_order() -> None:
    assert not m('"live shopping"', "shopping live")
    assert not m('"live shopping"', "live video shopping")
    assert not m('"live shopping"', "liveshopping")


def test_curly_quotes_make_phrases() -> None:
    assert parse_query("\u201clive shopping\u201d") == parse_query('"live shopping"')


# --------------------------------------------------------------------------------- operators
def test_and_or_not() -> None:
    assert m("payout AND late", "my payout is late")
    assert not m("payout AND late", "my payout arrived")
    assert m("payout OR refund", "refund please") and not m("payout OR refund", "hello")
    assert m("payout NOT late", "payout arrived") and not m("payout NOT late", "payout late")
    assert m("payout AND NOT late", "payout arrived")


def test_implicit_and_between_adjacent_terms() -> None:
    assert parse_query("payout late") == parse_query("payout AND late")
    assert parse_query('payout "still waiting" source:reddit') == \
        parse_query('payout AND "still waiting" AND source:reddit')
    assert not m("payout late", "payout only")


def test_lowercase_operators_are_words() -> None:
    assert parse_query("payout and late") == parse_query('payout AND "and" AND late')
    assert m("rock or roll", "rock or roll") and not m("rock or roll", "rock")


def test_precedence_not_over_and_over_or() -> None:
    # a OR b c == a OR (b AND c)
    assert parse_query("a OR b c") == Or((Text(("a",), (False,)), And((Text(("b",), (False,)),
                                                                        Text(("c",), (False,))))))
    assert m("a OR b c", "a") and not m("a OR b c", "c") and m("a OR b c", "b c")
    # NOT a b == (NOT a) AND b
    assert parse_query("NOT a b") == And((Not(Text(("a",), (False,))), Text(("b",), (False,))))
    assert m("NOT a b", "b") and not m("NOT a b", "a b")
    # parentheses override
    assert m("(a OR b) c", "b c") and not m("(a OR b) c", "a")
    assert not m("NOT (a b) c", "a b c") and m("NOT (a b) c", "a c")


def test_near_both_orders_and_distance() -> None:
    q = "payout NEAR/2 delayed"
    assert m(q, "payout delayed") and m(q, "delayed payout")
    assert m(q, "payout was badly delayed")  # two tokens between
    assert m(q, "delayed, sadly, the payout")  # punctuation is not a token
    assert not m(q, "payout was very badly delayed")  # three between
    assert m("a NEAR/0 b", "a b") and m("a NEAR/0 b", "b a") and not m("a NEAR/0 b", "a x b")


def test_near_forward_only() -> None:
    assert m("payout NEAR/3f late", "payout is late") and not m("payout NEAR/3f late", "late payout")


def test_near_with_phrases_wildcards_and_or_groups() -> None:
    q = '(payout* OR "bank transfer") NEAR/3 (late OR "on hold")'
    assert m(q, "Payouts are still on hold")
    assert m(q, "on hold: the bank transfer")
    assert m(q, "the bank transfer was late")
    assert not m(q, "payouts: weeks ago it was all fine and on time, never late")
    # a phrase spans several tokens: the gap is counted from its last word
    assert m('"bank transfer" NEAR/1 late', "bank transfer is late")
    assert not m('"bank transfer" NEAR/0 late', "bank transfer is late")


def test_near_does_not_pair_a_match_with_itself_and_chains() -> None:
    assert not m("payout NEAR/3 payout*", "payout")
    assert m("payout NEAR/3 payout*", "payout and payouts")
    assert m("a NEAR/1 b NEAR/1 c", "a b c") and not m("a NEAR/1 b NEAR/1 c", "a b x x x c")


def test_trailing_wildcards() -> None:
    assert m("refund*", "They REFUNDED me") and m("refund*", "refund") and not m("refund*", "refun")
    assert m('"free sample*"', "free samples!") and not m('"free sample*"', "free gift sample")
    assert m("live-shop*", "live shopping")


# ------------------------------------------------------------------------------------ fields
def test_source_channel_lang_author_fields() -> None:
    fields = dict(source="reddit", channel="TikTokShop", language="en", author="Seller_Bob")
    for q in ("source:reddit", "source:REDDIT", "channel:tiktokshop", "channel:r/TikTokShop", "channel:tik*",
              "lang:en", "author:seller_bob", "author:u/Seller_Bob"):
        assert m(q, "x", **fields), q
    for q in ("source:news", "channel:whatnot", "lang:de", "author:bob", "channel:shop*"):
        assert not m(q, "x", **fields), q
    assert m("channel:modernretail.co", "x", channel="www.modernretail.co")


def test_entity_by_id_or_name_and_wildcard() -> None:
    ents = ["platform/tiktok-shop", "TikTok Shop"]
    assert m("entity:platform/tiktok-shop", entities=ents)
    assert m('entity:"tiktok shop"', entities=ents) and m('entity:"TikTok  Shop"', entities=ents)
    assert m("entity:platform/*", entities=ents) and not m("entity:company/*", entities=ents)
    assert not m("entity:tiktok", entities=ents)  # a name is matched whole, not by word


def test_theme_field_and_fields_mix_with_text() -> None:
    q = "theme:trust (fake* OR counterfeit*) NOT source:news"
    assert m(q, "So many fakes", themes=["trust"], source="reddit")
    assert not m(q, "So many fakes", themes=["logistics"], source="reddit")
    assert not m(q, "So many fakes", themes=["trust"], source="news")


def test_hostile_length_is_searched_up_to_the_cap_only() -> None:
    from transforms.topics import MAX_TEXT_CHARS

    filler = "word " * (MAX_TEXT_CHARS // 5)
    view = doc("payout " + filler + "refund")  # "refund" sits past the cap
    assert evaluate(parse_query("payout"), view) and not evaluate(parse_query("refund"), view)
    assert len(view.tokens) <= MAX_TEXT_CHARS // 5 + 1


def test_missing_fields_never_match() -> None:
    assert not m("author:bob", "bob") and not m("lang:en", "english")


# ------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("query, line, column, words", [
    ("", 1, 1, "empty query"),
    ("(payout OR late", 1, 16, "missing ')'"),
    ("payout OR late)", 1, 15, "unmatched ')'"),
    ("payout AND", 1, 11, "after 'AND'"),
    ("payout OR OR late", 1, 11, "found 'OR'"),
    ("()", 1, 2, "empty parentheses"),
    ('"live shopping', 1, 1, "unterminated quote"),
    ("refund*ed", 1, 7, "wildcard"),
    ("*fund", 1, 1, "wildcard"),
    ("foo:bar", 1, 1, "unknown field 'foo:'"),
    ("payout source:", 1, 15, "'source:' needs a value"),
    ("payout NEAR late", 1, 8, "NEAR takes a distance"),
    ("payout near/3 late", 1, 8, "NEAR takes a distance"),
    ("payout NEAR/3 source:news", 1, 15, "NEAR/3 needs words"),
    ("NOT payout NEAR/3 (a b)", 1, 20, "NEAR/3 needs words"),
    ("payout && late", 1, 8, "write AND or OR"),
    ("payout -late", 1, 8, "write NOT late"),
    ("payout !!!", 1, 8, "write NOT"),
    ("payout ???", 1, 8, "no letters or digits"),
    ("NOT spam", 1, 1, "none of its terms"),
    ("NOT spam OR scam", 1, 1, "none of its terms"),
    ("payout\n  AND (late OR\n   )", 3, 4, "found ')'"),
    ("payout\n\tfoo:x", 2, 2, "unknown field"),
])
def test_errors_carry_line_and_column(query: str, line: int, column: int, words: str) -> None:
    with pytest.raises(TopicQueryError) as info:
        parse_query(query)
    err = info.value
    assert (err.line, err.column) == (line, column), str(err)
    assert words in err.message
    assert str(err).startswith(f"line {line}, column {column}: ")
    shown, caret = err.caret().split("\n")
    assert shown == query.split("\n")[line - 1]
    assert caret.endswith("^") and len(caret) == column


def test_caret_keeps_tabs_aligned() -> None:
    with pytest.raises(TopicQueryError) as info:
        parse_query("\tpayout OR")
    assert info.value.caret().split("\n")[1] == "\t         ^"


# ----------------------------------------------------------------------------- topics config
def test_shipped_topics_parse_and_match_their_story() -> None:
    topics = {t.name: t for t in load_topics(CONFIG / "topics.toml")}
    assert {"payout-complaints", "counterfeit-in-breaks", "tiktok-shop-affiliates"} <= set(topics)
    cases = {
        "payout-complaints": ("My Whatnot payout has been on hold for 10 days and is still delayed",
                              "Payout arrived on time, thanks!"),
        "counterfeit-in-breaks": ("Pulled a fake Prizm slab in that box break", "Fake news about breaks"),
        "tiktok-shop-affiliates": ("TikTok Shop raised the affiliate commission for creators",
                                   "TikTok Shop sales doubled this quarter"),
    }
    for name, (yes, no) in cases.items():
        ents = ["platform/tiktok-shop", "TikTok Shop"] if "TikTok Shop" in yes + no else []
        assert topics[name].matches(doc(yes, entities=ents)), name
        assert not topics[name].matches(doc(no, entities=ents)), name


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "topics.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_topic_file_errors(tmp_path: Path) -> None:
    with pytest.raises(TopicConfigError, match="two topics are named 'a'"):
        load_topics(write(tmp_path, '[[topic]]\nname="a"\nquery="x"\n[[topic]]\nname="a"\nquery="y"\n'))
    with pytest.raises(TopicConfigError, match="must be lower-case"):
        load_topics(write(tmp_path, '[[topic]]\nname="Bad Name"\nquery="x"\n'))
    with pytest.raises(TopicConfigError, match="needs a query"):
        load_topics(write(tmp_path, '[[topic]]\nname="a"\n'))
    with pytest.raises(TopicConfigError, match="unknown key"):
        load_topics(write(tmp_path, '[[topic]]\nname="a"\nquery="x"\nquerry="y"\n'))
    with pytest.raises(TopicConfigError, match="not valid TOML"):
        load_topics(write(tmp_path, "[[topic]\n"))
    with pytest.raises(TopicQueryError) as info:
        load_topics(write(tmp_path, "[[topic]]\nname = \"late\"\nquery = '''\npayout\n  (late OR'''\n"))
    # The position is within the query (TOML drops the newline right after the opening quotes).
    assert info.value.topic == "late" and (info.value.line, info.value.column) == (2, 11)
    assert str(info.value).startswith('topic "late": line 2, column 11')
    assert load_topics(tmp_path / "missing.toml", missing_ok=True) == []


def test_tag_documents_uses_mentions_and_entity_names() -> None:
    topics = [Topic.compile("tts", 'entity:"TikTok Shop" affiliate*'), Topic.compile("late", "late")]
    rows = [{"doc_id": "d1", "title": "Affiliates", "body": "late again", "source": "reddit"},
            {"doc_id": "d2", "title": None, "body": "affiliate program", "source": "news"},
            {"doc_id": "d3", "title": None, "body": None, "source": "reddit"}]
    mentions = [{"doc_id": "d1", "entity_id": "platform/tiktok-shop"}]
    entities = [{"entity_id": "platform/tiktok-shop", "name": "TikTok Shop"}]
    assert tag_documents(rows, mentions, topics, entities) == [("d1", "tts"), ("d1", "late")]
    assert tag_documents(rows, mentions, topics) == [("d1", "late")]  # no names without entities
    assert tag_documents(rows, mentions, []) == []


# -------------------------------------------------------------------------------- properties
_WORDS = st.sampled_from(["payout", "late", "shop", "tiktok", "live", "fake", "a", "b", "x1", "café", "жить"])


@st.composite
def texts(draw: st.DrawFn) -> Text:
    words = tuple(draw(st.lists(_WORDS, min_size=1, max_size=3)))
    return Text(words, tuple(draw(st.lists(st.booleans(), min_size=len(words), max_size=len(words)))))


_FIELD_VALUES = st.text(alphabet="abcXYZ/-._ 1é", min_size=1, max_size=12).map(_fold_value).filter(bool)
fields_ = st.builds(Field, st.sampled_from(FIELDS), _FIELD_VALUES, st.booleans())


def positional(depth: int = 2) -> st.SearchStrategy:
    base = texts()
    if depth == 0:
        return base
    inner = positional(depth - 1)
    return st.one_of(
        base,
        st.builds(lambda c: Or(tuple(c)), st.lists(inner, min_size=2, max_size=3)),
        st.builds(Near, inner, inner, st.integers(0, 5), st.booleans()),
    )


def queries(depth: int = 3) -> st.SearchStrategy:
    if depth == 0:
        return st.one_of(texts(), fields_)
    inner = queries(depth - 1)
    return st.one_of(
        texts(), fields_, positional(1),
        st.builds(Not, inner),
        st.builds(lambda c: And(tuple(c)), st.lists(inner, min_size=2, max_size=3)),
        st.builds(lambda c: Or(tuple(c)), st.lists(inner, min_size=2, max_size=3)),
    )


@settings(max_examples=300, deadline=None)
@given(queries())
def test_format_then_parse_round_trips(node) -> None:  # type: ignore[no-untyped-def]
    assume(not evaluate(node, DocumentView.empty()))  # purely negative queries are refused by design
    text = format_query(node)
    assert parse_query(text) == node, text
    assert format_query(parse_query(text)) == text


_FRAGMENTS = st.sampled_from(['"', "(", ")", " ", "\n", "\t", "*", ":", "-", "AND", "OR", "NOT", "NEAR/2",
                              "NEAR/0f", "NEAR", "near/1", "source:", "entity:", "foo:", "payout", "late",
                              "x*", "\u201c", "\u201d", "&&", "!", "é", "İ", "ﬁ"])


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.lists(_FRAGMENTS, max_size=12).map("".join), st.text(max_size=40)))
def test_any_input_parses_or_fails_with_a_position(query: str) -> None:
    try:
        node = parse_query(query)
    except TopicQueryError as err:
        lines = query.split("\n")
        assert 1 <= err.line <= len(lines)
        assert 1 <= err.column <= len(lines[err.line - 1]) + 1
        assert "\n" not in str(err)
        return
    text = format_query(node)
    assert parse_query(text) == node, text  # what parsed once prints back to the same query
    evaluate(node, doc(query + " payout late x1", entities=[query], themes=[query], source=query))


@settings(max_examples=200, deadline=None)
@given(st.lists(_WORDS, min_size=1, max_size=4),
       st.lists(st.sampled_from([" ", "-", ", ", "\n", "'", " -- ", "/", "…"]), min_size=4, max_size=4),
       st.booleans())
def test_phrase_matches_whatever_separates_and_cases_its_words(words, seps, upper) -> None:  # type: ignore[no-untyped-def]
    body = "".join(w.upper() if upper else w.title() for pair in zip(words, seps, strict=False)
                   for w in (pair[0] + pair[1],))
    assert m('"' + " ".join(words) + '"', "start. " + body + " end")


def _near_reference(tokens: list[str], a: str, b: str, n: int, ordered: bool) -> bool:
    pa = [i for i, t in enumerate(tokens) if t == a]
    pb = [i for i, t in enumerate(tokens) if t == b]
    return any(i != j and (j > i or not ordered) and abs(i - j) - 1 <= n
               for i, j in itertools.product(pa, pb))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c"]), max_size=12), st.integers(0, 4), st.booleans(),
       st.sampled_from([("a", "b"), ("b", "a"), ("a", "a")]))
def test_near_agrees_with_a_brute_force_reference(tokens, n, ordered, pair) -> None:  # type: ignore[no-untyped-def]
    a, b = pair
    q = f"{a} NEAR/{n}{'f' if ordered else ''} {b}"
    assert m(q, " ".join(tokens)) == _near_reference(tokens, a, b, n, ordered)
    if not ordered:
        assert m(q, " ".join(tokens)) == m(f"{b} NEAR/{n} {a}", " ".join(tokens))
