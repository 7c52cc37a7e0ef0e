"""Canonicalisation and junk filtering of entity surfaces.

Why a module of its own: the same folding decides (a) whether a statistical-NER span is really a
gazetteer entity ("TikTok's" -> TikTok, "the U.S." -> United States), (b) the stable id of entities
the gazetteer does not know ("ner/org/acme-corp"), and (c) which spans are junk. If these three
disagreed, the same company would show up under two ids and the marts would split its mentions.
Pure functions, no spaCy import, so they are cheap to unit-test exhaustively.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

# Labels that are quantities or times, never "who/what is being talked about".
DROP_LABELS = frozenset({"DATE", "CARDINAL", "MONEY", "PERCENT", "TIME", "ORDINAL", "QUANTITY"})
# Labels kept from statistical NER; anything else (e.g. LANGUAGE) is dropped as noise.
KEEP_LABELS = frozenset(
    {"ORG", "PERSON", "GPE", "LOC", "PRODUCT", "NORP", "EVENT", "FAC", "WORK_OF_ART", "LAW"}
)
KIND_BY_LABEL = {
    "ORG": "organization",
    "PERSON": "person",
    "GPE": "place",
    "LOC": "place",
    "FAC": "place",
    "PRODUCT": "product",
    "NORP": "group",
    "EVENT": "event",
    "WORK_OF_ART": "work",
    "LAW": "law",
}

# Newsletter / web-page furniture that NER happily tags as ORG or PERSON.
BOILERPLATE = frozenset(
    {
        "subscribe", "subscribe now", "unsubscribe", "newsletter", "sign up", "sign in", "log in",
        "login", "read more", "click here", "advertisement", "sponsored", "share", "tweet",
        "follow us", "getty images", "getty", "shutterstock", "reuters photo", "ap photo",
        "photo", "image", "copyright", "all rights reserved", "privacy policy", "terms of service",
        "cookie policy", "cookies", "edit", "reply", "upvote", "downvote", "op", "tl;dr", "tldr",
        "eta", "imo", "imho", "lol", "lmao", "smh", "fyi", "dm", "dms", "pm", "ama", "edit2",
        "update", "related", "more", "home", "menu", "search", "contact us", "about us", "rss",
    }
)

# Forum and marketplace vocabulary: Reddit/Discord furniture ("Mod post.", "About: Mod", "Edit:",
# "OP here") and the roles of a marketplace ("Seller blocked me", "Buyers beware"). The small model
# tags these capitalised words as PERSON/ORG/GPE; a span made only of such words (and boilerplate)
# is never an entity. Compared on canonical keys, so "Mods", "MOD" and "mod's" all match.
FORUM_WORDS = frozenset(
    {
        "mod", "mods", "moderator", "moderators", "admin", "admins", "automod", "automoderator",
        "seller", "sellers", "buyer", "buyers", "vendor", "vendors", "customer", "customers",
        "host", "hosts", "streamer", "streamers", "viewer", "viewers", "bidder", "bidders",
        "op", "ops", "based", "edit", "edits", "edited", "update", "updates", "updated", "eta",
        "tl;dr", "tldr", "til", "lol", "lmao", "lmfao", "rofl", "imo", "imho", "fyi", "psa", "ama", "fwiw",
        "afaik", "iirc", "nsfw", "nsfl", "smh", "tbh", "ngl", "dm", "dms", "pm", "pms", "wtb", "wts",
        "wtt", "iso", "bump", "post", "posts", "thread", "threads", "reply", "replies", "comment",
        "comments", "upvote", "upvotes", "downvote", "downvotes", "karma", "flair", "sub",
        "subreddit", "redditor", "redditors", "user", "users", "poster", "lurker", "lurkers",
        "newbie", "noob", "noobs", "og", "about", "here", "rule", "rules", "faq", "pinned",
        "sticky", "megathread", "weekly", "daily", "discussion", "question", "help", "advice",
        "rant", "vent", "giveaway", "giveaways", "haul", "live", "shill", "scam", "scammer",
        "scammers", "ban", "banned", "pls", "plz", "thx", "ty", "gg", "irl", "btw", "omg", "wtf",
        "youtuber", "youtubers", "tiktoker", "tiktokers", "instagrammer", "instagrammers",
        "livestreamer", "livestreamers", "livestream", "livestreams",
    }
)
# Commerce metrics and trade shorthand a seller or an analyst writes in capitals ("my AOV dropped",
# "Whatnot's GMV topped $3 billion"): the small model files them as ORG or PERSON. A span made only
# of these (and forum words) is never an entity. Only terms that name no organisation or person
# elsewhere: CTA (Chicago's transit), CPC (a party), CAC (the Paris index), Roi and Mom are left out.
COMMERCE_TERMS = frozenset(
    {
        "gmv", "aov", "roas", "kpi", "kpis", "sku", "skus", "ltv", "arpu", "mau", "maus", "dau",
        "daus", "yoy", "qoq", "b2b", "b2c", "d2c", "dtc", "ugc", "ebitda", "capex", "opex", "bnpl",
        "moq", "ctr", "cvr", "cpm", "mcn", "mcns", "vod", "vods", "saas", "paas", "iaas",
    }
)
# Last words that make a capitalised name an organisation ("Tessellate Insights", "Kestrel Labs",
# "Take-Two Interactive"): the small model files such names as places or people. Only used on
# spans of two or more words, so a lone "Media" or "Capital" is not an organisation.
ORG_SUFFIXES = frozenset(
    {
        "inc", "incorporated", "corp", "corporation", "co", "company", "llc", "llp", "ltd", "limited",
        "plc", "gmbh", "ag", "sa", "nv", "bv", "pty", "group", "holdings", "partners", "capital",
        "ventures", "investments", "insights", "media", "labs", "lab", "studios", "studio",
        "productions", "pictures", "films", "records", "entertainment", "technologies",
        "technology", "systems", "solutions", "software", "interactive", "robotics", "networks",
        "analytics", "consulting", "consultants", "associates", "agency", "bank", "foundation",
        "institute", "university", "college", "council", "commission", "committee", "department",
        "ministry", "bureau", "association", "society", "federation", "union", "party", "club",
        "brands", "industries", "enterprises", "pharmaceuticals", "therapeutics", "motors",
        "airlines", "airways", "communications", "telecom", "research", "publishing", "press",
        "magazine", "newspaper", "network", "commerce", "marketplace", "collective", "cooperative",
        "senate", "congress", "parliament",
    }
)
# Institutions named head first ("Department of Homeland Security", "Centers for Disease Control
# and Prevention", "U.S. Attorney's Office for the Western District of New York", "Bank of
# England"): the small model misses most of these; transforms.nlp's institution matcher finds them.
INSTITUTION_HEADS = frozenset({
    "center", "centre", "centers", "centres", "department", "office", "ministry", "bureau", "institute",
    "university", "college", "commission", "committee", "council", "agency", "administration", "board",
    "court", "academy", "bank", "federation", "association", "society"})
# What an appositive noun says a name is ("Pocket Parlor, a shop in Quezon City"; "Streamstack, a
# scheduling tool"; "Matthijs Verhoeven, a spokesperson"): the small model often files invented
# shop and product names as people. Only unambiguous nouns are listed; "seller", "developer",
# "service", "platform", "speaker", "assistant", "manager", "owner", "creator" and "streamer" name
# people, firms and products alike and are left out.
APPOSITIVE_TYPES: dict[str, str] = {
    **dict.fromkeys((
        "company", "startup", "start-up", "shop", "store", "agency", "firm", "brand", "label", "band",
        "group", "house", "cooperative", "collective", "retailer", "maker", "manufacturer", "boutique",
        "bakery", "publisher", "chain", "bank", "lender", "insurer", "nonprofit", "charity", "outfitter",
        "distributor", "wholesaler", "supplier", "studio", "consultancy", "marketplace"), "ORG"),
    **dict.fromkeys((
        "analyst", "host", "president", "spokesperson", "spokesman", "spokeswoman", "official",
        "founder", "cofounder", "co-founder", "ceo", "friend", "brother", "sister", "mother",
        "father", "wife", "husband", "son", "daughter", "influencer", "designer",
        "lyricist", "singer", "rapper", "actor", "actress", "director", "editor", "reporter",
        "professor", "researcher", "economist", "lawyer", "attorney", "chef", "vlogger", "grandmother",
        "grandfather", "aunt", "uncle", "cousin", "mom", "dad", "employee", "executive", "veteran"),
        "PERSON"),
    **dict.fromkeys((
        "tool", "app", "application", "treatment", "vaccine", "injection", "drug",
        "medication", "serum", "lamp", "device", "phone", "smartphone", "console", "game", "headset",
        "software", "plugin", "extension", "cream", "moisturizer", "supplement", "gadget", "blender",
        "fryer", "tote", "sneaker", "jacket", "kit", "camera", "laptop", "tablet"), "PRODUCT"),
    **dict.fromkeys((
        "village", "town", "city", "suburb", "county", "province", "region", "district", "neighborhood",
        "neighbourhood", "island", "municipality", "borough", "hamlet", "capital"), "GPE"),
}
# Last words of the shops, agencies and talent firms live sellers name ("Northlight Talent",
# "Kitemark Digital", "Glowwave Official Store"); kept apart so that they still count as model
# words in brand_product_names (a listed brand's product line may end in one of them).
SHOP_ORG_SUFFIXES = frozenset({"talent", "provisions", "kitchen", "chamber", "digital", "cosmetics", "beauty",
                               "crafts", "roastery", "outdoor", "mcn", "store"})
ORG_SUFFIXES = ORG_SUFFIXES | SHOP_ORG_SUFFIXES
# Job titles: "Advocacy Director" or "Chief Marketing Officer" is a role, not a person, even when
# the small model files it as PERSON. A PERSON span whose last word is one of these is junk.
ROLE_WORDS = frozenset(
    {
        "director", "manager", "president", "vice", "ceo", "cfo", "coo", "cto", "cmo", "founder",
        "cofounder", "co-founder", "chairman", "chairwoman", "chair", "officer", "secretary",
        "minister", "spokesman", "spokeswoman", "spokesperson", "editor", "reporter", "analyst",
        "head", "lead", "executive", "governor", "senator", "mayor", "coach", "chief", "partner",
    }
)

# Titles and honorifics written before a name ("Lt. Col. Jane Roe", "Coach Sam Lee", "Dr. Ann
# Ray"): not part of the name (tests/fixtures/README.md, rule 4), so a PERSON span loses them.
TITLE_WORDS = frozenset(
    {
        "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "dame", "lord", "lady",
        "lt", "lieutenant", "col", "colonel", "gen", "general", "maj", "major", "capt", "captain",
        "sgt", "sergeant", "adm", "admiral", "cmdr", "commander", "sen", "senator", "rep",
        "representative", "gov", "governor", "mayor", "president", "vice", "prime", "minister",
        "secretary", "chancellor", "ambassador", "judge", "justice", "attorney", "coach", "king",
        "queen", "prince", "princess", "pope", "rev", "reverend", "father", "saint", "st", "ceo",
        "founder", "chairman", "chairwoman", "director", "officer", "chief", "host", "sheriff",
    }
)
# Roles written before a creator's or seller's name ("Seller Fernanda Olguin", "Creator Bex Harrow").
CREATOR_ROLE_WORDS = frozenset({"creator", "streamer", "seller", "songwriter", "singer", "designer", "artist",
                                "chef", "owner", "influencer", "vlogger", "blogger"})
TITLE_WORDS = TITLE_WORDS | CREATOR_ROLE_WORDS

# Last words that make a capitalised name an event ("Los Angeles Auto Show", "Climate Action
# Summit"): the small model files these as ORG, and the report must not count a trade show as a
# company. Only used on spans of two or more words.
EVENT_SUFFIXES = frozenset(
    {
        "show", "summit", "expo", "conference", "convention", "festival", "fest", "fair", "awards",
        "championship", "championships", "cup", "olympics", "tournament", "marathon",
        "week", "weekend", "gala", "con", "meetup", "hackathon", "showcase",
    }
)

_APOS = "'\u2019\u02bc`"
_POSSESSIVE = re.compile(rf"(?:[{_APOS}]s|(?<=s)[{_APOS}])$", re.IGNORECASE)
_LEADING_THE = re.compile(r"^the\s+", re.IGNORECASE)
_WS = re.compile(r"\s+")
_EDGE_PUNCT = "\"'\u2019\u2018\u201c\u201d`()[]{}<>,;:!?*_-|/\\#~"
_CONTRACTION = re.compile(rf"^(?:n[{_APOS}]t|[{_APOS}](?:s|re|ve|ll|d|m|t)|[{_APOS}])$", re.IGNORECASE)
_RUN_TOGETHER = re.compile(r"\s(?:and|or|vs\.?|versus)\s|,\s|\s/\s", re.IGNORECASE)
# An amount after a currency code ("MXN 310", "USD 1.2m"): money the small model took for a name.
_CURRENCY_AMOUNT = re.compile(r"^(?:USD|EUR|GBP|MXN|BRL|IDR|PHP|THB|VND|MYR|SGD|INR|CNY|RMB|JPY|KRW|AUD|"
                              r"CAD|HKD|TWD|NZD|CHF|ZAR|NGN|KES)\s?[\d.,]+\s?[kmb]?n?$", re.IGNORECASE)
_NUMERIC = re.compile(r"^[\d\s.,:%$€£¥+\-/#]+$")
_URLISH = re.compile(r"(?:https?://|www\.|@\w|\.(?:com|net|org|io)\b/)", re.IGNORECASE)
_WORDS = re.compile(r"[\w;']+")  # "about: mod" -> about, mod; "tl;dr" stays one word
_LEGAL_TAIL = re.compile(r",\s+(?:inc|corp|co|llc|llp|ltd|plc|gmbh|ag|sa)\.?$", re.IGNORECASE)
_SLUG_STRIP = re.compile(r"[^a-z0-9]+")


def normalize_surface(text: str) -> str:
    """The display form of a mention: whitespace collapsed, edge punctuation, a leading "the", a
    trailing possessive and a comma-separated legal form ("Acme, Inc.") removed, so "Acme, Inc."
    and "Acme" share one id. Case is kept (it is folded only for keys)."""
    s = _WS.sub(" ", unicodedata.normalize("NFKC", text)).strip()
    prev = None
    while s != prev:
        prev = s
        s = s.strip(_EDGE_PUNCT + " ")
        s = _POSSESSIVE.sub("", s).rstrip()
        s = _LEADING_THE.sub("", s)
        s = _LEGAL_TAIL.sub("", s)
    return s


def canonical_key(text: str) -> str:
    """Lookup key: the normalised surface, case-folded, accents and dots removed.

    "TikTok's", "the TIKTOK" and "tiktok" share a key; "U.S." and "US" share the key "us".
    """
    s = normalize_surface(text)
    s = unicodedata.normalize("NFKD", s)
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    s = s.casefold().replace(".", "")
    s = re.sub(r"[\-\u2010-\u2015]", " ", s)
    return _WS.sub(" ", s).strip()


def slugify(text: str) -> str:
    """ASCII slug for ids: "Acme Corp." -> "acme-corp"."""
    return _SLUG_STRIP.sub("-", canonical_key(text)).strip("-") or "unknown"


def org_suffix(name: str) -> bool:
    """True when a name of two or more words ends in an organisation word ("Kestrel Labs")."""
    words = canonical_key(name).replace(",", " ").split()
    return len(words) >= 2 and words[-1] in ORG_SUFFIXES


# Last words of a product or model name ("Switch Lite", "Founder's Edition", "AirPods Pro",
# "Elite Trainer Box"): the small model files these as people. Spans of two or more words only.
PRODUCT_SUFFIXES = frozenset(
    {
        "edition", "lite", "pro", "max", "mini", "plus", "ultra", "elite", "deluxe", "bundle",
        "console", "controller", "headphones", "earbuds", "speaker", "tumbler", "sneakers",
    }
)


def product_suffix(name: str) -> bool:
    """True when a name of two or more words ends in a product word ("Switch Lite")."""
    words = canonical_key(name).split()
    return len(words) >= 2 and words[-1] in PRODUCT_SUFFIXES


# A trailing model number makes a name of two or more words a product ("Glowwave Serum 2",
# "Zesto Air Fryer X2", "Galaxy S24") unless the first word says it is a numbered something else
# ("Channel 4", "Formula 1", "Area 51", "Season 2").
_MODEL_NUMBER = re.compile(r"[a-z]{0,2}\d{1,4}[a-z]{0,2}")
_NUMBERED_NOT_PRODUCT = frozenset({
    "channel", "formula", "covid", "area", "top", "fortune", "section", "article", "title", "chapter",
    "season", "episode", "volume", "vol", "issue", "part", "phase", "level", "day", "week", "q", "no",
    "number", "route", "highway", "interstate", "gate", "terminal", "pier", "platform", "studio",
    "room", "suite", "unit", "building", "floor", "class", "grade", "group", "stage", "round", "game",
    "world", "web", "industry", "g", "covid-19", "lot", "booth", "hall", "double", "expo", "fox", "abc",
    "nbc", "cbs",
})
_YEAR = re.compile(r"(?:19|20)\d\d")


def model_number_name(name: str) -> bool:
    """True when a name of two or more words ends in a model number (see _MODEL_NUMBER)."""
    words = canonical_key(name).split()
    return (len(words) >= 2 and _MODEL_NUMBER.fullmatch(words[-1]) is not None
            and _YEAR.fullmatch(words[-1]) is None and not words[-2].isdigit()
            and words[0] not in _NUMBERED_NOT_PRODUCT and not words[0].isdigit())


# Last words of a named street, venue or building ("Abbot Kinney Boulevard", "Johari Bazaar",
# "Los Angeles Convention Center"): the small model files them as people or organisations.
FAC_SUFFIXES = frozenset({
    "street", "avenue", "ave", "boulevard", "blvd", "road", "lane", "drive", "highway", "plaza",
    "square", "bazaar", "mall", "stadium", "arena", "airport", "bridge",
})
# Of those, the ones that are no one's surname ("Diane Lane", "Aubrey Plaza" are people): only
# these move a span the model filed as a PERSON.
_FAC_NOT_SURNAMES = frozenset({"street", "avenue", "ave", "boulevard", "blvd", "road", "highway", "bazaar",
                               "mall", "stadium", "arena", "airport"})
_FAC_TAILS = (("convention", "center"), ("convention", "centre"), ("exhibition", "center"),
              ("exhibition", "centre"), ("shopping", "center"), ("shopping", "centre"))


# First words of a street or square in the languages live sellers write addresses in
# ("Via della Spiga", "Calle Florida", "Plaza Mayor", "Jalan Alor").
# ("Via" and "Rue" are left out: "Via Varejo" and "Rue La La" are retailers.)
FAC_PREFIXES = frozenset({"calle", "avenida", "plaza", "piazza", "carrera", "jalan", "rua"})


def facility_suffix(name: str, person: bool = False) -> bool:
    """True when a name of two or more words is a street or venue: it ends in a street or venue
    word (see FAC_SUFFIXES) or starts with a foreign street word (FAC_PREFIXES). ``person``: the
    model called it a person, so only words that are no one's surname count."""
    words = canonical_key(name).split()
    if len(words) < 2:
        return False
    if person:
        return words[-1] in _FAC_NOT_SURNAMES or tuple(words[-2:]) in _FAC_TAILS
    return words[-1] in FAC_SUFFIXES or tuple(words[-2:]) in _FAC_TAILS or words[0] in FAC_PREFIXES


@lru_cache(maxsize=1)
def place_names() -> frozenset[str]:
    """Countries, US states, continents and cities of 100,000+ people, as written (transforms/
    places.txt, generated from GeoNames by tools/make_places.py). Why: the small model files
    "Shenzhen", "Curitiba" or "Ukraine" as organisations; the list lets a span that *is* exactly
    a place name be filed as one. Case-sensitive: it is matched against capitalised spans only."""
    text = (Path(__file__).with_name("places.txt")).read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def event_suffix(name: str) -> bool:
    """True when a name of two or more words ends in an event word ("Milan Design Week")."""
    words = canonical_key(name).split()
    return len(words) >= 2 and words[-1] in EVENT_SUFFIXES


def ner_entity_id(label: str, name: str) -> str:
    """Stable id for an entity found only by statistical NER (architecture.md: Keys)."""
    return f"ner/{label.lower()}/{slugify(name)}"


def junk_reason(surface: str, label: str) -> str | None:
    """Why a statistical-NER span is not an entity worth storing, or None if it is fine.

    Only applied to NER spans: gazetteer hits are trusted (the gazetteer already decides about
    case, e.g. "Whatnot" vs "and whatnot").
    """
    if label in DROP_LABELS:
        return f"label {label} is a quantity/time"
    if label not in KEEP_LABELS:
        return f"label {label} not kept"
    raw = surface.strip()
    if _CONTRACTION.match(raw) or raw.lower().startswith(("n't", "n\u2019t")):
        return "contraction fragment"
    name = normalize_surface(raw)
    if len(name) < 2:
        return "too short"
    if "\n" in raw:
        return "spans a line break"
    if _NUMERIC.match(name) or _CURRENCY_AMOUNT.match(name):
        return "numeric"
    if not any(ch.isalpha() for ch in name):
        return "no letters"
    if not any(ch.isupper() for ch in name):
        return "lowercase word"
    key = canonical_key(name)
    if key in BOILERPLATE:
        return "boilerplate"
    words = _WORDS.findall(key)
    if all(w in FORUM_WORDS or w in BOILERPLATE for w in words):
        return "forum vocabulary"
    if all(w in COMMERCE_TERMS or w in FORUM_WORDS for w in words):
        return "commerce metric"
    if label == "PERSON" and words and words[-1] in ROLE_WORDS:
        return "job title"
    if _URLISH.search(name):
        return "url or handle"
    institution = label == "ORG" and institution_name(words)
    together = _RUN_TOGETHER.search(_LEGAL_TAIL.sub("", name))
    joined_by_and = together is not None and together.group(0).strip().lower() == "and"
    if together and label != "WORK_OF_ART" and not (institution and joined_by_and):
        return "several entities run together"
    if len(name.split()) > (12 if institution else 6):
        return "too long"
    return None


def institution_name(words: list[str]) -> bool:
    """An institution named head first: a head word followed by "of" or "for" ("Centers for
    Disease Control and Prevention", "Department of Health and Human Services"). Such names are
    long and may hold an "and" without being two names run together."""
    pairs = zip(words, words[1:], strict=False)
    return any(w in INSTITUTION_HEADS and nxt in ("of", "for") for w, nxt in pairs)
