"""The spaCy pipeline: model + paragraph breaks + gazetteer EntityRuler + our analysis component.

Why the analysis (sentences, sentiment, entity canonicalisation, themes) runs as a pipeline
component instead of after ``nlp.pipe``: with ``n_process=2`` spaCy parses in worker processes and
the parent only collects results. Doing our work in the parent would serialise it behind the
parse and cap the stage far below raw spaCy throughput; as a component it runs in the workers and
comes back as plain data in ``doc.user_data["pulse"]``.

This module imports spaCy at top level, so only import it lazily (transforms.enrich does).
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

import numpy
import spacy
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Span

from transforms.canonical import (
    APPOSITIVE_TYPES,
    COMMERCE_TERMS,
    CREATOR_ROLE_WORDS,
    EVENT_SUFFIXES,
    FORUM_WORDS,
    INSTITUTION_HEADS,
    KIND_BY_LABEL,
    ORG_SUFFIXES,
    ROLE_WORDS,
    SHOP_ORG_SUFFIXES,
    TITLE_WORDS,
    canonical_key,
    event_suffix,
    facility_suffix,
    institution_name,
    junk_reason,
    model_number_name,
    ner_entity_id,
    normalize_surface,
    org_suffix,
    place_names,
    product_suffix,
)
from transforms.gazetteer import Gazetteer, load_gazetteer
from transforms.sentiment import SentimentScorer
from transforms.themes import ThemeTagger, load_themes

USER_KEY = "pulse"


@Language.component("pulse_paragraph_breaks")
def paragraph_breaks(doc: Doc) -> Doc:
    """Force a sentence start after a line break, so a title never merges with the first body
    sentence (Document.text is title + "\\n\\n" + body) and list items stay separate; and forbid
    one inside a gazetteer entity (the small parser splits "TikTok | Shop is amazing")."""
    for i, token in enumerate(doc[:-1]):
        if token.is_space and "\n" in token.text:
            doc[i + 1].is_sent_start = True
    for ent in doc.ents:
        for token in ent[1:]:
            token.is_sent_start = False
    return doc


class PulseAnalyzer:
    """Turns a parsed Doc into plain data: sentences with scores, mentions, themes, sentiment.

    Results go to ``doc.user_data["pulse"]`` (serialisable, so they survive multiprocessing).
    """

    def __init__(self, nlp: Language, gazetteer_path: str, themes_path: str) -> None:
        self.gazetteer: Gazetteer = load_gazetteer(Path(gazetteer_path))
        self.scorer = SentimentScorer()

        def lemmatize(term: str) -> list[str]:
            # Lemmatise terms with the tagger+lemmatizer only: cheap and deterministic.
            doc = nlp.make_doc(term)
            for name in ("tok2vec", "tagger", "attribute_ruler", "lemmatizer"):
                if name in nlp.pipe_names:
                    doc = nlp.get_pipe(name)(doc)
            return [t.lemma_ or t.text for t in doc if not t.is_punct]

        self.tagger = ThemeTagger(load_themes(Path(themes_path)), lemmatize=lemmatize)
        self.given_names = self.gazetteer.given_names
        # Capitalised proper nouns ending in an organisation word ("Tessellate Insights"): the
        # small model misses or misfiles these; a Matcher (compiled, no Python per token) finds them.
        self.org_matcher = Matcher(nlp.vocab)
        proper = {"IN": ["NNP", "NNPS"]}
        self.org_matcher.add("ORG_SUFFIX", [[{"TAG": proper, "OP": "+"},
                                             {"LOWER": {"IN": sorted(ORG_SUFFIXES)}, "TAG": proper}]],
                             greedy="LONGEST")
        # Institutions named head first: [modifiers ['s]] Head of|for [the] Name [and Name]
        # [of [the] Name] ("Chinese Center for Disease Control and Prevention").
        head = {"LOWER": {"IN": sorted(INSTITUTION_HEADS)}, "TAG": proper}
        link, the = {"LOWER": {"IN": ["of", "for"]}}, {"LOWER": "the", "OP": "?"}
        name = {"TAG": proper, "OP": "+"}
        leads = ([{"TAG": proper, "OP": "*"}, head, link, the, name],
                 [{"TAG": proper, "OP": "+"}, {"TAG": "POS"}, head, link, the, name])  # "Attorney's Office"
        tails = ([], [{"LOWER": {"IN": ["and", "&"]}}, name], [link, the, name],
                 [{"LOWER": {"IN": ["and", "&"]}}, name, link, the, name])
        self.org_matcher.add("INSTITUTION", [lead + tail for lead in leads for tail in tails],
                             greedy="LONGEST")

    def __call__(self, doc: Doc) -> Doc:
        sents = list(doc.sents)
        sent_index = {s.start: i for i, s in enumerate(sents)}
        sent_parts = [self.scorer.parts(s.text) for s in sents]
        sent_scores = [self.scorer.score_parts([p]) for p in sent_parts]
        words: list[str] = []
        lemmas: list[str] = []
        lowercase_forms: set[str] = set()  # words this doc writes in lower case somewhere
        for t in doc:  # one pass: Token objects are built on each iteration, so don't iterate twice
            if not (t.is_space or t.is_punct):
                words.append(t.lower_)
                lemmas.append((t.lemma_ or t.text).lower())
                if t.is_lower:
                    lowercase_forms.add(t.text)
        mentions: list[dict[str, Any]] = []
        rejected: list[tuple[str, str]] = []
        clause_cache: dict[int, list[tuple[int, int, float]]] = {}
        text = doc.text  # built once: Doc.text joins every token on each access
        for ent in self._candidates(doc, text):
            info = self._resolve(ent, text, rejected, lowercase_forms)
            if info is None:
                continue
            start, end, surface = self._trim(ent)
            sent = ent.sent
            idx = sent_index.get(sent.start, 0)
            if idx not in clause_cache:  # several mentions in one sentence share its clauses
                clause_cache[idx] = self.scorer.clause_scores(sent.text, sent_scores[idx])
            score = self.scorer.mention_score(
                sent.text, start - sent.start_char, end - sent.start_char, sent_scores[idx], clause_cache[idx]
            )
            mentions.append(
                {
                    **info,
                    "sentence_idx": idx,
                    "start_char": start,
                    "end_char": end,
                    "surface": surface,
                    "sentence": sent.text.strip(),
                    "sentiment": round(score, 4),
                }
            )
        if mentions:
            consolidate_mentions(mentions)
        doc.user_data[USER_KEY] = {
            "sentiment": self.scorer.score_parts(sent_parts) if sent_parts else None,
            # sentence level: character offsets into the text and the sentence's score
            "sentences": [{"start_char": s.start_char, "end_char": s.end_char, "sentiment": round(v, 4)}
                          for s, v in zip(sents, sent_scores, strict=True) if s.text.strip()],
            "themes": self.tagger.tag(words, lemmas),
            "mentions": mentions,
            "rejected": rejected,
            "n_words": len(words),
        }
        # Nothing downstream reads the tok2vec tensor (96 floats per token); with n_process > 1
        # every Doc is serialised back to the parent, so dropping it here cuts that traffic.
        doc.tensor = numpy.zeros((0,), dtype="float32")
        return doc

    def _candidates(self, doc: Doc, text: str) -> list[Span]:
        """doc.ents with the small model's typical slips on names repaired (see the helpers).

        Each step looks only at entity spans and their neighbouring tokens (plus one compiled
        Matcher pass), so the cost stays ~1% of the parse: no Python loop over all tokens.
        """
        ents = list(doc.ents)
        ents = [e for e in ents if not _after_reddit_prefix(text, e.start_char)]
        ents = trim_function_words(doc, ents)
        ents = extend_compound_places(doc, ents)
        ents = brand_product_names(doc, ents)
        ents = add_org_suffix_names(doc, ents, self.org_matcher(doc, as_spans=True))
        ents = add_mixed_case_names(doc, ents, text)
        ents = merge_adjacent_names(doc, ents, self.given_names)
        ents = split_title_and_name(doc, ents, self.given_names)
        ents = relabel_names(doc, ents, self.given_names)
        ents = type_by_apposition(ents)
        return grow_people(doc, ents, self.given_names)

    @staticmethod
    def _trim(ent: Any) -> tuple[int, int, str]:
        """Offsets of the canonical part of the span (drops a leading "the", a trailing "'s")."""
        name = normalize_surface(ent.text)
        pos = ent.text.find(name) if name else -1
        if pos < 0:
            return ent.start_char, ent.end_char, ent.text
        start = ent.start_char + pos
        return start, start + len(name), name

    def _resolve(self, ent: Any, text: str, rejected: list[tuple[str, str]], lowercase_forms: AbstractSet[str]
                 ) -> dict[str, Any] | None:
        """Gazetteer entity (by ruler id, or by canonical key for NER spans), NER entity, or junk.

        The ruler's id is read from ``Span.id_``, not ``ent_id_``: the latter falls back to the root
        token's id, so a repaired span such as "New Mexico" would still claim to be place/mexico.
        """
        if ent.id_ and sentence_initial_verb(ent):
            rejected.append((ent.text, "sentence-initial verb"))
            return None
        if ent.id_:
            entry = self.gazetteer.get(ent.id_)
            if entry is not None:
                return {"entity_id": entry.id, "name": entry.name, "label": entry.label,
                        "kind": entry.kind, "origin": "gazetteer"}
        reason = junk_reason(ent.text, ent.label_)
        if reason is None and ent.kb_id_ != BRAND_PRODUCT:
            reason = page_furniture(ent, text, self.given_names)
        if reason is not None:
            if ent.label_ not in ("DATE", "CARDINAL", "MONEY", "PERCENT", "TIME", "ORDINAL", "QUANTITY"):
                rejected.append((ent.text, reason))
            return None
        entry = self.gazetteer.lookup(ent.text)
        if entry is not None:
            return {"entity_id": entry.id, "name": entry.name, "label": entry.label,
                    "kind": entry.kind, "origin": "gazetteer"}
        # A mixed-case word opening a sentence is still the name ("WeWork is headquartered ..."):
        # the tagger calls it a common noun there, which is what the check below looks at.
        reason = None if ent.kb_id_ == MIXED_CASE_NAME else sentence_initial_common_word(ent, lowercase_forms)
        if reason is not None:
            rejected.append((ent.text, reason))
            return None
        name = normalize_surface(ent.text)
        return {"entity_id": ner_entity_id(ent.label_, name), "name": name, "label": ent.label_,
                "kind": KIND_BY_LABEL.get(ent.label_, "other"), "origin": "ner"}


_PROPER_TAGS = frozenset({"NNP", "NNPS"})
# NER labels a person's name is often misfiled under by the small model.
_MISFILED_PERSON = frozenset({"ORG", "GPE", "LOC", "FAC", "PRODUCT", "NORP", "WORK_OF_ART", "EVENT"})
_NAME_LABELS = _MISFILED_PERSON | {"PERSON"}
_COORD = frozenset({"and", "&", ",", "or"})
_HEADER_LEADS = frozenset({"", "The", "the", "#", "##", "###", "**", "*", "-", "|"})
_NEWSLETTER_CUES = ("subscribe", "sign up", "signup", "unsubscribe", "newsletter")
# Words right before a place ("based in Curitiba", "couriers from Tema"); an organisation or
# product that is exactly a place name becomes the place only after one of them, because many
# companies and clubs carry a city's name ("Shares of Delta fell", "Toyota recalled").
_LOCATIVE = frozenset({"in", "from", "at", "near", "across", "outside", "around", "throughout", "into",
                       "to", "towards", "via"})
# Labels a "... Live" name is an organisation from (not a show: "Saturday Night Live").
_LIVE_SERVICE_LABELS = frozenset({"ORG", "PERSON", "PRODUCT", "GPE"})


def _misfiled_place(doc: Doc, ent: Span, label: str, words: list[str], name: str) -> bool:
    """A span the model filed as a person (two or more words: "São Paulo"), or as an organisation
    or product right after a locative word ("in Shenzhen"), that is exactly a place name
    (:func:`transforms.canonical.place_names`). A one-word person is left alone: "Dayton" or
    "Paris" alone is as often a person."""
    if name not in place_names():
        return False
    if label == "PERSON":
        return len(words) >= 2
    return label in ("ORG", "PRODUCT") and ent.start > 0 and doc[ent.start - 1].lower_ in _LOCATIVE


def _name_words(ent: Span) -> list[str]:
    """The words of a span that make up the name: no leading "the", no trailing possessive."""
    words = [t.text for t in ent]
    if words and words[0] in ("the", "The"):
        words = words[1:]
    while words and words[-1] in ("'s", "\u2019s", "'", "\u2019"):
        words = words[:-1]
    return words


def _is_name_token(text: str) -> bool:
    """A capitalised word or an initial ("Pfitzer", "McFee", "W."), as names are written."""
    return text[:1].isupper() and (text.replace(".", "").replace("-", "").replace("'", "").isalpha())


_PLACE_PREFIXES = frozenset({"New", "North", "South", "East", "West", "Northern", "Southern",
                             "Eastern", "Western", "Central", "Upper", "Lower", "Greater"})


def _after_reddit_prefix(text: str, start: int) -> bool:
    """A name right after "r/" or "u/" is a subreddit or a user handle ("/r/Europe"), not a mention."""
    return start >= 2 and text[start - 2:start].lower() in ("r/", "u/")


def trim_function_words(doc: Doc, ents: list[Span]) -> list[Span]:
    """Cut lower-case function words off the ends of a statistical span ("Glow Theory and" ->
    "Glow Theory", "Retail Dive on" -> "Retail Dive").

    Why: the small model sometimes runs a name into the next word of a list or a headline-style
    phrase, and the junk word then makes a separate entity id. Only lower-case stop words are cut,
    so "Bank of America" and "The Wrap" stay whole; a span that is nothing else is dropped.
    """
    out = []
    for ent in ents:
        start, end = ent.start, ent.end
        if not ent.id_:
            while start < end and doc[start].is_lower and doc[start].is_stop and doc[start].lower_ != "the":
                start += 1
            while end > start and doc[end - 1].is_lower and doc[end - 1].is_stop:
                end -= 1
        if start == end:
            continue
        out.append(ent if (start, end) == (ent.start, ent.end) else Span(doc, start, end, label=ent.label_))
    return out


def extend_compound_places(doc: Doc, ents: list[Span]) -> list[Span]:
    """A gazetteer place right after a compass word or "New", or right before "City", is part of
    a longer place name.

    Why: the ruler runs before NER and takes "Mexico" out of "New Mexico" (and "America" out of
    "North America"), so the report counted a US state as the country. The longer name becomes a
    statistical GPE span instead. Only a capitalised prefix that is in no entity itself counts.
    """
    out = []
    for ent in ents:
        prev = doc[ent.start - 1] if ent.start > 0 else None
        nxt = doc[ent.end] if ent.end < len(doc) else None
        if (ent.id_ and ent.label_ in ("GPE", "LOC") and prev is not None
                and prev.text in _PLACE_PREFIXES and not prev.ent_type_
                and (not out or out[-1].end <= prev.i)):
            out.append(Span(doc, prev.i, ent.end, label=ent.label_))
        elif (ent.id_ and ent.label_ == "GPE" and nxt is not None and nxt.text == "City"
              and not nxt.ent_type_ and doc[ent.end - 1].whitespace_):
            out.append(Span(doc, ent.start, ent.end + 1, label="GPE"))  # "Mexico City", not Mexico
        else:
            out.append(ent)
    return out


_NOT_MODEL_WORDS = ((ORG_SUFFIXES - SHOP_ORG_SUFFIXES) | ROLE_WORDS | (TITLE_WORDS - CREATOR_ROLE_WORDS)
                    | EVENT_SUFFIXES | {
    "platforms", "store", "stores", "services", "web", "stock", "stocks", "shares", "profit", "sales"})
BRAND_PRODUCT = "brand-product"  # Span.kb_id_ of a span made by brand_product_names
MIXED_CASE_NAME = "mixed-case"  # Span.kb_id_ of a span made by add_mixed_case_names


def _model_word(token: Any) -> bool:
    """A word that can name a product line after a brand: "Chrome", "Prizm", "Quencher", "S24"."""
    text = token.text
    if token.ent_type_ or token.is_sent_start or text.lower() in _NOT_MODEL_WORDS:
        return False
    if token.tag_ in _PROPER_TAGS and text[:1].isupper() and text.replace("-", "").isalnum():
        return True
    return token.tag_ == "CD" and any(ch.isalpha() for ch in text) and text.isalnum()  # "S24", "X5"


def _title_case(sent: Span) -> bool:
    """Most words of the sentence are capitalised: a headline ("Nike Beats Estimates On Strong
    Demand"), where the tagger calls every word a proper noun."""
    words = [t for t in sent if t.is_alpha and len(t) > 3]
    return len(words) >= 3 and sum(t.text[0].isupper() for t in words) >= 0.6 * len(words)


def brand_product_names(doc: Doc, ents: list[Span]) -> list[Span]:
    """A gazetteer brand or company followed by one or two model words is a product
    ("Topps Chrome", "Panini Prizm", "Stanley Quencher"), not the brand.

    Why: the ruler runs before NER and takes the brand out of the product's name, so a report
    counted the card maker when sellers talked about one of its product lines. The longer name
    becomes a statistical PRODUCT span (the guideline's "longest name"), marked ``BRAND_PRODUCT``
    so the page-furniture check leaves it alone as it would the brand ("- Topps Chrome" in a list).
    Only brand/ and company/ ids; only capitalised proper nouns or model numbers in no entity,
    never a role, title, event or organisation word ("Apple CEO", "Nike Store"); the name must end
    before a lower-case word or punctuation, so a longer name is never cut ("Apple Vision Pro"
    keeps the company); and never in a title-case headline ("Microsoft Cuts Jobs").
    """
    out = []
    for ent in ents:
        if ent.id_ and ent.id_.split("/", 1)[0] in ("brand", "company"):
            end = ent.end
            while (end < len(doc) and end - ent.end < 2 and _model_word(doc[end])
                   and doc[end - 1].whitespace_ and "\n" not in doc[end - 1].whitespace_):
                end += 1
            after = doc[end].text if end < len(doc) else ""
            if end > ent.end and not after[:1].isupper() and not after[:1].isdigit() \
                    and not _title_case(ent.sent):
                out.append(Span(doc, ent.start, end, label="PRODUCT", kb_id=BRAND_PRODUCT))
                continue
        out.append(ent)
    return out


# A word with a capital after a lower-case letter ("SpaceX", "WeWork", "AirPods", "iPhone",
# "easyJet", "GadgetGalaxy88"): how companies and products write their names, almost never an
# ordinary word. Not after "r/", "u/", "@", "#" or "/" (subreddits, handles, tags, paths) or inside
# a dotted name (a URL or a file).
_MIXED_CASE = re.compile(r"(?<![\w/@#.\-])((?:[A-Z][a-z]+|[a-z]+)[A-Z][A-Za-z0-9]*)(?![\w@/]|\.\w)")
# Mixed-case words that are not names: surnames with a prefix are left to the model (McCarthy,
# DeSantis, MacKenzie are people; McDonald's is a company), and a few common words and roles.
_MIXED_CASE_PREFIXES = ("Mc", "Mac", "De", "Di", "Da", "Du", "La", "Le", "Van", "Von", "Fitz", "O",
                        "Mr", "Ms", "Mrs", "Dr")
_MIXED_CASE_WORDS = FORUM_WORDS | COMMERCE_TERMS | {
    "phd", "phds", "devops", "ebook", "ebooks", "email", "emails", "ecommerce", "eshop", "ipo", "ipos",
    "tvs", "gif", "gifs", "diy", "faqs",
    # units and materials written in mixed case ("7 kWh", "5000 mAh", "sRGB", "GaN charger")
    "kw", "kwh", "mw", "mwh", "gw", "gwh", "twh", "kb", "mb", "gb", "tb", "kbps", "mbps", "gbps", "khz",
    "mhz", "ghz", "mah", "db", "ph", "srgb", "gan", "nm", "ml", "kg", "mg", "mm", "cm", "mmhg", "kda"}


def _mixed_case_word(word: str) -> bool:
    """A mixed-case word that can be a name: at least three lower-case letters, so that formulas,
    abbreviations and short coinages are not (mRNA, NiMH, LiFePO4, MoM, GenZ, GenAI)."""
    if word.lower() in _MIXED_CASE_WORDS or word.isupper() or sum(c.islower() for c in word) < 3:
        return False
    for prefix in _MIXED_CASE_PREFIXES:  # "McCarthy", "DeSantis", "O'Neil"-like: left to the model
        rest = word[len(prefix):]
        if word.startswith(prefix) and rest[:1].isupper() and rest[1:2].islower():
            return False
    return True


def add_mixed_case_names(doc: Doc, ents: list[Span], text: str) -> list[Span]:
    """Add company and product names written in mixed case that no entity covers ("SpaceX",
    "AirPods Pro", "iPhone 7", "WeWork").

    Why: the small model never tags many of them (on the tune side, 31 of 35 uncovered mixed-case
    words were gold names), and brands in live commerce are written this way (LiveMe, ShopLive).
    The word is an organisation, or a product when a model word or number follows it ("AirPods
    Pro", "iPhone 15"; not a count: "3 nights") or when the same document writes it as a product
    elsewhere ("AirPods Pro ... or AirPods"). A word starting in lower case ("iPhone", "eBike",
    "iGaming") is taken only as such a product: alone it is as often a common noun. Only words in
    no entity span, found by one regex pass over the text (no per-token Python).
    """
    hits = [(m.start(1), m.end(1)) for m in _MIXED_CASE.finditer(text) if _mixed_case_word(m.group(1))]
    if not hits:
        return ents
    taken = {i: e for e in ents for i in range(e.start, e.end)}
    found: list[tuple[int, int, str, str]] = []  # (start, end, label, head word)
    absorbed: set[Span] = set()  # a model number the model tagged on its own ("15" CARDINAL, "Pro 2")
    for start_char, end_char in hits:
        span = doc.char_span(start_char, end_char)
        if span is None or len(span) != 1 or span.start in taken:
            continue
        end = span.end
        while end < len(doc) and end - span.end < 2 and doc[end - 1].whitespace_ \
                and "\n" not in doc[end - 1].whitespace_:
            nxt = taken.get(end)
            if nxt is not None and not nxt.id_ and nxt.start == end and nxt.label_ in _MODEL_LABELS \
                    and nxt.end - span.end <= 2 and all(_model_word(t) or _model_number(t) or t.ent_type_
                                                        for t in nxt):
                absorbed.add(nxt)
                end = nxt.end
            elif nxt is None and (_model_word(doc[end]) or _model_number(doc[end])):
                end += 1
            else:
                break
        if end > span.end and _counts_something(doc, end):  # "LiveMe 3 nights": a count
            end = span.end
        product = end > span.end
        found.append((span.start, end, "PRODUCT" if product else "ORG", span.text))
        taken.update((i, span) for i in range(span.start, end))
    products = {head for _, _, label, head in found if label == "PRODUCT"}
    # The model's own one-word name for such a product is the product too ("iPhone 15 ... the iPhone").
    out = [Span(doc, e.start, e.end, label="PRODUCT", kb_id=e.kb_id_)
           if len(e) == 1 and not e.id_ and e.text in products and e.label_ in ("ORG", "PERSON", "GPE") else e
           for e in ents if e not in absorbed]
    out += [Span(doc, start, end, label="PRODUCT" if head in products else label, kb_id=MIXED_CASE_NAME)
            for start, end, label, head in found if head in products or head[:1].isupper()]
    out.sort(key=lambda e: e.start)
    return out


_MODEL_LABELS = frozenset({"CARDINAL", "ORDINAL", "PRODUCT"})
# Product-line words the tagger often calls common nouns ("AirPods Pro 2"): capitalised, they
# continue a product name.
_PRODUCT_LINE_WORDS = frozenset({"Pro", "Max", "Mini", "Ultra", "Plus", "Air", "Lite", "SE", "Neo", "Go"})


# Nouns a bare number counts ("LiveMe 3 nights", "2 sellers"): then the number is no model number.
_COUNTED_NOUNS = frozenset({
    "night", "nights", "day", "days", "week", "weeks", "month", "months", "year", "years", "hour",
    "hours", "minute", "minutes", "time", "times", "session", "sessions", "stream", "streams", "show",
    "shows", "episode", "episodes", "seller", "sellers", "buyer", "buyers", "people", "viewers",
    "followers", "orders", "streamers", "hosts"})


def _counts_something(doc: Doc, end: int) -> bool:
    """The name's last word is a bare number before a counted noun: a count, not a model number."""
    return doc[end - 1].text.isdigit() and end < len(doc) and doc[end].lower_ in _COUNTED_NOUNS


def _model_number(token: Any) -> bool:
    """A short model number or product-line word after a product name: "7", "15", "16e", "Pro"
    (not a year or a price)."""
    text = token.text
    return (token.like_num and text.isalnum() and len(text) <= 3 or bool(re.fullmatch(r"\d{1,3}[a-z]", text))
            or text in _PRODUCT_LINE_WORDS)


def add_org_suffix_names(doc: Doc, ents: list[Span], matches: list[Span]) -> list[Span]:
    """Add or relabel ORG names found by the org-suffix matcher ("Tessellate Insights").

    A match replaces the statistical spans it fully covers ("Kestrel Labs" as PERSON becomes ORG)
    and is added where there was none; it never touches gazetteer spans, and a match inside a
    longer statistical span ("Tyvak Nano-Satellite Systems") leaves that span alone.
    """
    if not matches:
        return ents
    out = list(ents)
    for m in matches:
        start = m.start
        while start >= 2 and doc[start - 1].text == "-" and not doc[start - 2].whitespace_ \
                and not doc[start - 1].whitespace_ and _is_name_token(doc[start - 2].text):
            start -= 2  # "Take-Two Interactive": the tagger calls "Take" a verb
        label = m.label_
        m = doc[start:m.end]
        if label == "INSTITUTION":
            m = _trim_institution(m, out)
            if m is None:
                continue
        overlap = [e for e in out if e.start < m.end and m.start < e.end]
        cut = _joining_coordinator(m, overlap)
        if cut is not None:  # "Bank of America and Wells Fargo": two names; keep the first
            m = doc[m.start:cut]
            overlap = [e for e in out if e.start < m.end and m.start < e.end]
        # A listed place inside an organisation's name is part of it ("U.S. Senate", "New York
        # State Assembly"); any other listed name, or a longer statistical span, wins.
        if any((e.id_ and not e.id_.startswith("place/")) or e.start < m.start or e.end > m.end
               for e in overlap):
            continue
        out = [e for e in out if e not in overlap]
        out.append(Span(doc, m.start, m.end, label="ORG"))
    out.sort(key=lambda e: e.start)
    return out


def _trim_institution(match: Span, ents: list[Span]) -> Span | None:
    """An institution match without what only follows or precedes it: a title and a person after
    it ("Department of Homeland Security Secretary Kristi Noem", "Bank of England Governor"), and
    a place before its possessive ("China's Ministry of Commerce": China is a place of its own).
    None when nothing of an institution is left."""
    doc = match.doc
    start, end = match.start, match.end
    for token in match:
        if token.tag_ == "POS" and any(e.start <= token.i - 1 < e.end and (
                e.id_.startswith("place/") or e.label_ in ("GPE", "LOC")) for e in ents):
            start = token.i + 1
    heads = [t.i for t in doc[start:end] if t.lower_ in INSTITUTION_HEADS]
    if not heads:
        return None
    for token in doc[heads[0] + 1:end]:
        person = any(e.start == token.i and e.label_ == "PERSON" and not e.id_ for e in ents)
        if token.lower_.rstrip(".") in ROLE_WORDS or token.lower_.rstrip(".") in TITLE_WORDS or person:
            end = token.i
            break
    while end > start and doc[end - 1].lower_ in ("of", "for", "the", "and", "&"):
        end -= 1
    span = doc[start:end]
    words = [t.lower_ for t in span]
    return span if institution_name(words) else None


def _joining_coordinator(match: Span, overlap: list[Span]) -> int | None:
    """The index of an "and"/"&" in the match that the model put between two of its own names
    ("Bank of America and Wells Fargo"), else None: such a match is two names, not one."""
    inside = [e for e in overlap if not e.id_]
    for token in match:
        if token.lower_ in ("and", "&") and not any(e.start <= token.i < e.end for e in inside) \
                and any(e.end <= token.i for e in inside) and any(e.start > token.i for e in inside):
            return token.i
    return None


def merge_adjacent_names(doc: Doc, ents: list[Span], given_names: AbstractSet[str]) -> list[Span]:
    """Join two statistical spans that touch ("Tristan"/GPE + "Ahumada"/PERSON) into one name.

    Why: the small model sometimes cuts a person's name in two and files the halves under
    different types, so a sign-off "from Tristan Ahumada" gave a place and a half-person. Only
    spans of capitalised words with nothing between them are joined (never gazetteer spans, never
    across a line break); the result is a PERSON when either part was one or the first word is a
    common given name, else it keeps the first part's label.
    """
    out: list[Span] = []
    for ent in ents:
        prev = out[-1] if out else None
        if (prev is not None and prev.end == ent.start and not prev.id_ and not ent.id_
                and prev.label_ in _NAME_LABELS and ent.label_ in _NAME_LABELS
                and len(prev) + len(ent) <= 4
                and all(_is_name_token(t.text) for t in doc[prev.start:ent.end])):
            person = "PERSON" in (prev.label_, ent.label_) or doc[prev.start].text in given_names
            label = "PERSON" if person else prev.label_
            out[-1] = Span(doc, prev.start, ent.end, label=label)
        else:
            out.append(ent)
    return out


def grow_people(doc: Doc, ents: list[Span], given_names: AbstractSet[str]) -> list[Span]:
    """Each statistical PERSON span without leading titles and extended by :func:`_grow_person`."""
    # Titles are dropped again after growing: a lone "Seller" grows over the name after it.
    return [_drop_titles(doc, _grow_person(doc, _drop_titles(doc, e), given_names))
            if e.label_ == "PERSON" and not e.id_ else e for e in ents]


def _drop_titles(doc: Doc, ent: Span) -> Span:
    """ "Lt Col Alexander Vindman" -> "Alexander Vindman", "Spokesperson Mao Ning" -> "Mao Ning":
    titles and job words are not part of a name."""
    start = ent.start
    while start < ent.end - 1 and (doc[start].lower_.rstrip(".") in TITLE_WORDS
                                   or doc[start].lower_.rstrip(".") in ROLE_WORDS or doc[start].text == "."):
        start += 1
    return ent if start == ent.start else Span(doc, start, ent.end, label=ent.label_)


def _grow_person(doc: Doc, ent: Span, given_names: AbstractSet[str]) -> Span:
    """Extend a person span over a surname (or given name) the model left outside it.

    "From Tristan Ahumada" came back as PERSON "Tristan" with "Ahumada" outside any entity. A
    capitalised proper noun right after the span, in the same sentence and in no other entity,
    joins it (up to four words); so does a common given name right before it.
    """
    start, end = ent.start, ent.end
    while (end < len(doc) and end - start < 4 and not doc[end].ent_type_ and doc[end].tag_ in _PROPER_TAGS
           and _is_name_token(doc[end].text) and not doc[end].is_sent_start and doc[end - 1].whitespace_):
        end += 1
    if (start > 0 and end - start < 4 and not doc[start - 1].ent_type_ and doc[start - 1].text in given_names
            and doc[start - 1].whitespace_ and not doc[start].is_sent_start):
        start -= 1
    return ent if (start, end) == (ent.start, ent.end) else Span(doc, start, end, label="PERSON")


def split_title_and_name(doc: Doc, ents: list[Span], given_names: AbstractSet[str]) -> list[Span]:
    """Split "Ukraine Marie Yovanovitch" or "Lexus Project Manager Fumihiko Hazama" into the words
    before a given name and the person.

    Why: news writes appositions without commas ("Whatnot CEO Jane Doe"), and the small model then
    returns one span under one type, so the person is lost and a junk organisation is counted. The
    person is the given name and the one or two capitalised words after it, ending the span; the
    words before keep the span's label (and are then judged like any other span). Spans already
    typed PERSON, and hyphenated names ("Sui-Lee Wee"), are not split.
    """
    out: list[Span] = []
    for ent in ents:
        n = len(ent)
        if ent.id_ or ent.label_ not in _MISFILED_PERSON or n < 3:
            out.append(ent)  # a PERSON span is left whole: "Owen John Dempsey" has two given names
            continue
        cut = next((k for k in range(1, n - 1) if ent[k].text in given_names and ent[k - 1].whitespace_
                    and n - k <= 3 and all(_is_name_token(t.text) for t in ent[k:])), None)
        if cut is None:
            out.append(ent)
            continue
        head = ent[:cut]
        while len(head) and (head[-1].is_punct or head[-1].lower_ in ("the", "of")):
            head = head[:-1]
        if len(head):
            out.append(Span(doc, head.start, head.end, label=ent.label_))
        out.append(Span(doc, ent.start + cut, ent.end, label="PERSON"))
    return out


# Labels an appositive noun may correct: the name-like ones the small model confuses.
_APPOSITION_LABELS = frozenset({"PERSON", "ORG", "PRODUCT", "NORP", "GPE", "WORK_OF_ART"})


def type_by_apposition(ents: list[Span]) -> list[Span]:
    """Retype a statistical name by the common noun in apposition to it ("Pocket Parlor, a shop
    in Quezon City" is an organisation; "Streamstack, a scheduling tool", a product;
    "Matthijs Verhoeven-Dlamini, a spokesperson", a person): canonical.APPOSITIVE_TYPES.

    Why: the writer says what the name is, and the small model, which has never seen the invented
    name, guesses from its shape. Only a noun the parser attaches as an apposition to the name's
    head (after it, or the noun before it: "the startup Reelstitch"); never a listed place ("Cambridge
    startup ..." stays the city) or a gazetteer name.
    """
    out = []
    for ent in ents:
        label = _appositive_label(ent)
        if label is not None and label != ent.label_:
            ent = Span(ent.doc, ent.start, ent.end, label=label, kb_id=ent.kb_id_)
        out.append(ent)
    return out


def _appositive_label(ent: Span) -> str | None:
    if ent.id_ or ent.label_ not in _APPOSITION_LABELS or ent.text in place_names():
        return None
    doc, root = ent.doc, ent.root
    if ent.start > 0 and doc[ent.start - 1].lower_ in ("the", "a", "an"):
        return None  # a modifier inside a longer phrase: "the Cambridge, Massachusetts-based startup"
    # The noun follows the name's comma with only its own modifiers between ("X, a family
    # kitchenware shop"; not "A of X, a shop", where it describes X), or comes right before it.
    nouns = [t for t in root.children if t.dep_ == "appos" and t.pos_ == "NOUN" and t.i > ent.end
             and doc[ent.end].text == "," and not any(w.pos_ in ("ADP", "VERB") or w.text == ","
                                                      for w in doc[ent.end + 1:t.i])]
    head = root.head
    if root.dep_ == "appos" and head.pos_ == "NOUN" and (head.i == ent.start - 1 or (
            head.i == ent.start - 2 and doc[ent.start - 1].text == ",")):  # "her shop, Baihao Family Tea"
        nouns.append(head)
    nouns = [t for t in nouns if doc[t.i - 1].text != "-"]  # "co-host" is not a host
    labels = {APPOSITIVE_TYPES.get(t.lower_) or APPOSITIVE_TYPES.get(t.lemma_.lower()) for t in nouns}
    labels.discard(None)
    return labels.pop() if len(labels) == 1 else None


def relabel_names(doc: Doc, ents: list[Span], given_names: AbstractSet[str]) -> list[Span]:
    """Fix the type of statistical spans from evidence the small model under-uses.

    - An ORG-looking name ("Tessellate Insights", "Kestrel Labs") is an ORG whatever NER said, and
      an event-looking one ("Los Angeles Auto Show", "Climate Action Summit") an EVENT.
    - A span of 1-4 capitalised words starting with a common given name ("Mason Rudolph" as ORG,
      "Tristan" as GPE) is a PERSON.
    - A product-looking name ("Switch Lite", "Premiere Edition") is a PRODUCT; a lone plural proper
      noun filed as a person ("Steelers") is an ORG.
    - A span of 2-3 capitalised words coordinated with a PERSON ("from X and Jeff Pfitzer") is a
      PERSON too: lists of names in bylines and sign-offs are lists of people.
    - A PERSON that does not start with a common given name is an ORG when it stands in a list
      with an organisation ("Lightspeed Venture Partners and Benchmark", "Estee Lauder, Nike and
      Dyson") or is a sponsor ("Presented by Bambuser").
    Gazetteer spans are never touched.
    """
    out = []
    for i, ent in enumerate(ents):
        label = ent.label_
        if ent.id_ or label not in _NAME_LABELS:
            out.append(ent)
            continue
        words = _name_words(ent)
        names = bool(words) and all(_is_name_token(w) for w in words)
        name = " ".join(words)
        if _misfiled_place(doc, ent, label, words, name) or _based_in(doc, ent, name):
            label = "GPE"
        elif len(words) >= 2 and event_suffix(name):
            label = "EVENT"
        elif len(words) >= 2 and (org_suffix(name)
                                  or (words[-1] == "Live" and label in _LIVE_SERVICE_LABELS)):
            label = "ORG"  # "Flode Live", "Huanyu Live": a live-shopping service, not a show
        elif len(words) >= 2 and facility_suffix(name, person=label == "PERSON"):
            label = "FAC"
        elif len(words) >= 2 and (product_suffix(name) or (
                label not in ("EVENT", "WORK_OF_ART") and model_number_name(name))):
            label = "PRODUCT"
        elif label == "PERSON" and len(ent) == 1 and ent[0].tag_ == "NNPS":
            label = "ORG"  # a plural proper noun ("Steelers", "Wildcats") is a team or a group
        elif label != "PERSON" and names and (
                (len(words) <= 4 and words[0] in given_names)
                or (2 <= len(words) <= 3 and _coordinated_with(doc, ents, i, "PERSON"))):
            label = "PERSON"
        elif label == "PERSON" and names and words[0] not in given_names and (
                _coordinated_with(doc, ents, i, "ORG") or _sponsor(doc, ent)):
            label = "ORG"
        out.append(ent if label == ent.label_ else Span(doc, ent.start, ent.end, label=label))
    return out


def _based_in(doc: Doc, ent: Span, name: str) -> bool:
    """A listed place written before "-based" ("an Amritsar-based agent", "a Shenzhen-based
    seller"): the place, whatever the model filed it as."""
    end = ent.end
    return (end + 1 < len(doc) and doc[end].text == "-" and doc[end + 1].lower_ == "based"
            and not doc[end - 1].whitespace_ and name in place_names())


def _coordinated_with(doc: Doc, ents: list[Span], i: int, label: str) -> bool:
    """The span is in a list ("X and Y", "X, Y") right next to an entity labelled ``label``."""
    ent = ents[i]
    nxt = ents[i + 1] if i + 1 < len(ents) else None
    if nxt is not None and nxt.label_ == label and nxt.start - ent.end == 1 \
            and doc[ent.end].lower_ in _COORD:
        return True
    prev = ents[i - 1] if i > 0 else None
    return prev is not None and prev.label_ == label and ent.start - prev.end == 1 \
        and doc[prev.end].lower_ in _COORD


_SPONSOR_CUES = frozenset({"presented", "sponsored", "powered", "brought"})


def _sponsor(doc: Doc, ent: Span) -> bool:
    """"Presented by X", "sponsored by X", "powered by X": a newsletter's sponsor is a company."""
    return (ent.start >= 2 and doc[ent.start - 1].lower_ == "by"
            and doc[ent.start - 2].lower_ in _SPONSOR_CUES)


def _looks_like_byline(ent: Any, given_names: AbstractSet[str]) -> bool:
    """A PERSON span in header position that is really a name: it starts with a common given name
    ("Erin Andrews: ESPN forced me...", "Maria Lopez" alone on a line). Without that evidence a
    capitalised line is taken for a header ("Quick Hits" comes back as PERSON too); bylines are
    usually written "By ...", which is not header position anyway."""
    if ent.label_ != "PERSON":
        return False
    words = [t for t in ent if not t.is_space and not t.is_punct]
    return bool(words) and words[0].text in given_names


_SIGN_OFF_DASHES = " \t-\u2013\u2014~*_"
_SIGN_OFF_JOINS = frozenset({"and", "&", ","})
_SPACED_DASH = re.compile(r"\s[-\u2013\u2014|]\s")
_SIGN_OFF_CUE = re.compile(r"\b(?:thanks|thank\s+you|cheers|see\s+you|until|best|regards|talk\s+soon|"
                           r"stay\s+tuned|bye|love|xo+)\b[^\n]{0,40}$", re.I)


def _first_name_sign_off(text: str, line_start: int, line_end: int, given_names: AbstractSet[str]) -> bool:
    """A newsletter's sign-off by first names ("- Tristan and Jeff", or "Sam & Dev" under "See you
    next week,"): a line of single names joined by "and"/"&"/",", one of them a common given name,
    that opens with a dash or follows a sign-off line. It names nobody a report could track. Full
    names ("Maria Lopez and Dev Patel") and a list after "were identified as" are not this."""
    raw = text[line_start: len(text) if line_end < 0 else line_end].strip()
    if not raw or len(raw) > 80:
        return False
    line = raw.lstrip(_SIGN_OFF_DASHES)
    if line == raw:  # no dash: the line before must close the letter
        prev_end = text.rfind("\n", 0, max(line_start - 1, 0))
        previous = text[prev_end + 1: max(line_start - 1, 0)].strip()
        if not previous:  # a blank line between: look one further up
            prev2 = text.rfind("\n", 0, max(prev_end, 0))
            previous = text[prev2 + 1: max(prev_end, 0)].strip()
        if not _SIGN_OFF_CUE.search(previous):
            return False
    words = line.replace(",", " , ").rstrip(" .!").split()
    if not words or len(words) > 7 or not any(w in given_names for w in words):
        return False
    previous_was_name = False
    for w in words:
        if w in _SIGN_OFF_JOINS:
            previous_was_name = False
        elif _is_name_token(w) and not previous_was_name:
            previous_was_name = True
        else:
            return False
    return previous_was_name


_DATE_WORDS = frozenset({
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "january", "february", "march", "april", "june", "july", "august", "september", "october",
    "november", "december", "mon", "tue", "wed", "thu", "fri", "sat", "sun", "monday", "tuesday",
    "wednesday", "thursday", "friday", "saturday", "sunday", "week", "issue", "no", "vol", "volume",
    "edition", "ep", "episode", "part",
})


def _dated_header_tail(after: str) -> bool:
    """What follows a header's name on its line in a newsletter: a dash or a bar, then only a date
    or an issue number ("- Week 14", "| Nov 12, 2026", "\u2014 Issue #42"). "- Q3 2026 Earnings
    Call Transcript" or "- CEO, Tesla" is not one."""
    if not after or after[0] not in "-\u2013\u2014|":
        return False
    words = [w for w in re.split(r"[\s,.#:/-]+", after.lstrip("-\u2013\u2014| ")) if w]
    return (bool(words) and len(words) <= 5 and any(w.isdigit() for w in words)
            and all(w.isdigit() or w.lower() in _DATE_WORDS or w.lower().rstrip("stndrh").isdigit()
                    for w in words))


def page_furniture(ent: Any, text: str, given_names: AbstractSet[str] = frozenset()) -> str | None:
    """Why a statistical span is newsletter or page furniture rather than an entity, or None.

    - A section header: the span opens its line (or its sentence, when a colon follows) and either
      ends the line, is followed by a colon, or by a dash and a date or issue number ("The Wrap",
      "Something Different: ...", "Quick Hits", "Seller Forum Digest - Week 14"). A PERSON span
      starting with a common given name is kept (see _looks_like_byline).
    - A newsletter plug: the line asks to subscribe or sign up ("Subscribe to The Daily Drop");
      the name in it is the newsletter itself.
    - A first-name sign-off: a PERSON on a line of single names after a dash or under a sign-off
      line ("- Tristan and Jeff"; see _first_name_sign_off). A lone given name elsewhere ("Ivan led
      that company") stays a person, as the guideline says.

    ``text`` is ``doc.text``, passed in because building it costs a pass over the whole Doc.
    """
    start = ent.start_char + len(ent.text) - len(ent.text.lstrip())  # spans can carry "\n\n"
    end = ent.start_char + len(ent.text.rstrip().rstrip(":"))  # "The Wrap:" keeps its colon outside
    dash = _SPACED_DASH.search(ent.text)  # "Reseller Roundup - Issue" came back as one span
    if dash:
        end = ent.start_char + dash.start()
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    after = text[end: len(text) if line_end < 0 else line_end].strip(" *_#|")
    if (after == "" or after.startswith(":") or _dated_header_tail(after)) \
            and not _looks_like_byline(ent, given_names):
        before = text[line_start:start].strip()
        if before not in _HEADER_LEADS and after.startswith(":"):
            before = text[max(line_start, ent.sent.start_char):start].strip()  # "... week. The Wrap: ..."
        if before in _HEADER_LEADS:
            return "section header"
    if ent.label_ == "PERSON" and _first_name_sign_off(text, line_start, line_end, given_names):
        return "first-name sign-off"
    if line_start < start:
        prefix = text[max(line_start, start - 300):start].lower()
        if any(cue in prefix for cue in _NEWSLETTER_CUES):
            return "newsletter boilerplate"
    return None


def consolidate_mentions(mentions: list[dict[str, Any]]) -> None:
    """Make one document's statistical mentions agree with each other (in place).

    - A lone surname ("Garrett", "Mr. Rudolph", "Trump's") that ends exactly one full person's name
      mentioned in the same document takes that person's id, so one person is counted once.
    - The same name filed under several types in one document ("Stadia" as ORG and as a place)
      takes its most frequent type (the first one on a tie), so it is not counted twice.
    Why per document: across documents the same surname can be different people; within one
    article or comment it almost never is. Gazetteer mentions are left as they are.
    """
    people: dict[str, list[dict[str, Any]]] = {}
    for m in mentions:
        if m["label"] == "PERSON" and " " in m["name"]:
            last = m["name"].rsplit(" ", 1)[1]
            if not any(p["entity_id"] == m["entity_id"] for p in people.get(last, ())):
                people.setdefault(last, []).append(m)
    votes: dict[str, dict[str, int]] = {}
    for m in mentions:
        if m["origin"] != "ner":
            continue
        full = people.get(m["name"]) if " " not in m["name"] else None
        if full is not None and len(full) == 1:
            for key in ("entity_id", "name", "label", "kind", "origin"):
                m[key] = full[0][key]
            continue
        tally = votes.setdefault(canonical_key(m["name"]), {})
        tally[m["label"]] = tally.get(m["label"], 0) + 1
    for m in mentions:
        if m["origin"] != "ner":
            continue
        tally = votes.get(canonical_key(m["name"]))
        if tally and len(tally) > 1:
            label = max(tally, key=lambda lab: tally[lab])  # dicts keep insertion order: ties -> first
            if label != m["label"]:
                m["label"], m["kind"] = label, KIND_BY_LABEL.get(label, "other")
                m["entity_id"] = ner_entity_id(label, m["name"])


def sentence_initial_verb(ent: Any) -> bool:
    """A one-word gazetteer name that opens its sentence as a verb in the base form: an imperative
    ("Flip through any seller's calendar...", "Shop the look"), not the app or the platform.

    Why: a few platform names are English verbs (Flip, Shop), and the case-sensitive list cannot
    tell them apart at the start of a sentence, where every word is capitalised; the tagger can
    ("Flip raised $60 million" is a proper noun, "Flip sellers say" an adjective). The next word must
    be lower case and the sentence not a title-case headline: there the tagger calls "Shopify" in
    "Shopify Stock Soars" a verb.
    """
    if len(ent) != 1 or ent[0].tag_ != "VB":
        return False
    token = ent[0]
    doc = token.doc
    if token.i + 1 >= len(doc) or not doc[token.i + 1].is_lower:  # "Shopify Stock Soars ..." is a headline
        return False
    return _opens_sentence(token) and not _title_case(token.sent)


def _opens_sentence(token: Any) -> bool:
    """Nothing but punctuation or space before the token in its sentence (opening quotes, dashes)."""
    sent = token.sent
    return all(t.is_punct or t.is_space for t in sent[: token.i - sent.start])


def sentence_initial_common_word(ent: Any, lowercase_forms: AbstractSet[str]) -> str | None:
    """Why a one-word NER span at the start of a sentence is an ordinary word, or None.

    Why: the small model takes a capitalised first word for a name ("Retailers said...",
    "Based in Germany...", "Congrats!", "Mod post."), and these polluted the report's places and
    organisations. Such a word is junk when the tagger does not call it a proper noun (nationality
    adjectives like "German" excepted), or when the same document writes it in lower case
    elsewhere ("Seller blocked me... the seller never answered"). Acronyms and words inside a
    sentence are left to NER; gazetteer names never reach this check.
    """
    if len(ent) != 1:
        return None
    token = ent[0]
    if token.text.isupper() or not token.text[:1].isupper():
        return None
    if not _opens_sentence(token):
        return None  # not the sentence's first word (opening quotes and dashes are skipped)
    if token.tag_ not in _PROPER_TAGS and not (ent.label_ == "NORP" and token.tag_ == "JJ"):
        return "sentence-initial common word"
    if token.text.lower() in lowercase_forms:
        return "sentence-initial common word (lower case elsewhere)"
    return None


@Language.factory("pulse_analyzer", default_config={"gazetteer_path": "", "themes_path": ""})
def make_analyzer(nlp: Language, name: str, gazetteer_path: str, themes_path: str) -> PulseAnalyzer:
    return PulseAnalyzer(nlp, gazetteer_path, themes_path)


def freeze_msgpack_extensions() -> None:
    """Make srsly's msgpack extension look-up a dictionary read instead of a package scan.

    Why: every ``srsly.msgpack_dumps``/``msgpack_loads`` (three per Doc each way when a Doc carries
    ``user_data``, as ours do, to come back from a worker process) calls ``get_all()`` on two
    catalogue registries, which scans the entry points of every installed distribution and copies
    catalogue's whole global registry. With Airflow's ~180 packages installed that took ~1.3 ms
    per call: most of the parent's CPU at ``n_process=2``, enough to cap the stage at 0.74x raw
    spaCy. Registrations are snapshotted once (entry-point extensions included), so behaviour is
    unchanged unless a package registering a msgpack extension is installed mid-run. Applied
    process-wide, so raw spaCy in the same process (bench/nlp.py's baseline) gains it too.
    """
    import srsly.msgpack as srsly_msgpack

    for registry in (srsly_msgpack.msgpack_encoders, srsly_msgpack.msgpack_decoders):
        snapshot = dict(registry.get_all())  # a second call snapshots the snapshot: harmless
        registry.get_all = lambda snapshot=snapshot: snapshot  # type: ignore[method-assign]


def build_pipeline(
    model: str, gazetteer_path: Path, themes_path: str | Path, analyzer: bool = True
) -> Language:
    """Load ``model`` (an installed package name or a path; never downloaded) and add our parts.

    ``analyzer=False`` leaves out our analysis component: bench/train_sentiment.py uses that to
    split training texts into sentences exactly as production does, before any model exists.

    Raises a clear error if the model is not installed, instead of spaCy's hint to download it.
    """
    freeze_msgpack_extensions()
    try:
        nlp = spacy.load(model)
    except OSError as exc:
        raise RuntimeError(
            f"spaCy model {model!r} is not installed (settings.nlp.spacy_model / PULSE_SPACY_MODEL);"
            " install it from the lock, nothing is downloaded at run time"
        ) from exc
    gazetteer = load_gazetteer(Path(gazetteer_path))
    # The ruler only needs tokens, so it runs before the parser (which then cannot split a
    # gazetteer name across sentences) and before "ner" (which keeps the ruler's spans).
    anchor = next((n for n in ("parser", "ner") if n in nlp.pipe_names), None)
    where = {"before": anchor} if anchor else {}
    ruler_config = {"validate": True, "overwrite_ents": False, "phrase_matcher_attr": "LOWER"}
    ruler = nlp.add_pipe("entity_ruler", config=ruler_config, **where)
    with nlp.select_pipes(enable="entity_ruler"):  # phrase patterns need only the tokenizer
        ruler.add_patterns(gazetteer.ruler_patterns(nlp.tokenizer))
    if "parser" in nlp.pipe_names:
        nlp.add_pipe("pulse_paragraph_breaks", before="parser")
    if not analyzer:
        return nlp
    nlp.add_pipe(
        "pulse_analyzer",
        last=True,
        config={"gazetteer_path": str(gazetteer_path), "themes_path": str(themes_path)},
    )
    return nlp
