"""Enricher end to end on small texts; the spaCy model loads once for the module."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from common.config import Settings
from common.context import RunContext
from common.documents import Document
from common.jsonl import read_jsonl, write_jsonl
from transforms.enrich import Enricher, enrich_night

CONFIG = Path(__file__).resolve().parents[1] / "config"


def _settings(tmp: Path) -> Settings:
    return Settings(data_dir=tmp, config_dir=CONFIG)


@pytest.fixture(scope="module")
def enricher(tmp_path_factory: pytest.TempPathFactory) -> Enricher:
    e = Enricher(_settings(tmp_path_factory.mktemp("data")))
    _ = e.nlp  # load once
    return e


def _doc(doc_id: str, title: str | None, body: str | None, **kw: object) -> Document:
    base = dict(doc_id=doc_id, source="reddit", kind="post", channel="TikTokShop", url=None, title=title,
                body=body, author="u", published_at="2026-11-03T10:00:00+00:00",
                fetched_at="2026-11-04T01:00:00+00:00", logical_date="2026-11-03", run_id="r1",
                raw_ref="raw.jsonl.gz:1")
    base.update(kw)
    return Document(**base)  # type: ignore[arg-type]


def _ids(result: dict) -> dict[str, dict]:
    return {e["id"]: e for e in result["entities"]}


def test_gazetteer_hits_and_canonicalisation(enricher: Enricher) -> None:
    out = enricher.enrich_text("TikTok's new shop tab launched in the U.S. and TSL hosts noticed it.")
    ids = _ids(out)
    assert "platform/tiktok" in ids and ids["platform/tiktok"]["name"] == "TikTok"
    assert ids["place/united-states"]["name"] == "United States"
    assert "platform/talkshoplive" in ids


def test_ner_only_entity_and_junk(enricher: Enricher) -> None:
    out = enricher.enrich_text(
        "Jennifer Walsh, chief executive of Northwind Traders, spoke in Chicago on Tuesday about 40 sellers. "
        "Subscribe to our newsletter."
    )
    ner = {e["id"] for e in out["entities"] if e["id"].startswith("ner/")}
    assert any("jennifer-walsh" in i for i in ner), out["entities"]
    assert any(i.startswith("ner/gpe/chicago") for i in ner), out["entities"]
    labels = {e["label"] for e in out["entities"]}
    assert not labels & {"DATE", "CARDINAL"}
    assert not any(e["name"].lower().startswith("subscribe") for e in out["entities"])


@pytest.mark.parametrize("text", [
    "Retailers said they would review results after the Christmas season.",
    "Conversion has been nice for us, around 6 percent of viewers.",
    "Seller blocked me after I asked for a refund. Worst seller ever.",
    "Congrats! That stream was fun.",
])
def test_sentence_initial_common_words_are_not_entities(enricher: Enricher, text: str) -> None:
    assert enricher.enrich_text(text)["entities"] == []


def test_sentence_initial_names_survive(enricher: Enricher) -> None:
    names = {e["name"] for e in enricher.enrich_text("Pyrex is great. German buyers love it.")["entities"]}
    assert {"Pyrex", "German"} <= names


def test_run_together_entities_are_split_or_dropped(enricher: Enricher) -> None:
    out = enricher.enrich_text("Sellers compared Facebook and YouTube for live selling.")
    names = {e["name"] for e in out["entities"]}
    assert "Facebook and YouTube" not in names
    assert {"Facebook", "YouTube"} <= names


def test_whatnot_is_case_sensitive(enricher: Enricher) -> None:
    out = enricher.enrich_text("I sell cards, stickers and whatnot at the weekend market.")
    assert "platform/whatnot" not in _ids(out)
    out = enricher.enrich_text("I sell cards on Whatnot at the weekend.")
    assert "platform/whatnot" in _ids(out)


def test_three_sentiment_levels(enricher: Enricher) -> None:
    out = enricher.enrich_text("Whatnot auctions are wonderful fun.\n\n"
                               "TikTok Shop refunds are a horrible mess.")
    assert [s["text"] for s in out["sentences"]] == ["Whatnot auctions are wonderful fun.",
                                                      "TikTok Shop refunds are a horrible mess."]
    first, second = (s["sentiment"] for s in out["sentences"])
    assert first > 0 > second
    ids = _ids(out)
    assert ids["platform/whatnot"]["sentiment"] == first
    assert ids["platform/tiktok-shop"]["sentiment"] == second
    assert -1.0 <= out["sentiment"] <= 1.0


def test_sentiment_signs(enricher: Enricher) -> None:
    pos = enricher.enrich_text("I absolutely love this live shopping app, the hosts are wonderful.")
    neg = enricher.enrich_text("This was a terrible, awful experience and the seller was rude.")
    assert pos["sentiment"] > 0.3
    assert neg["sentiment"] < -0.3


def test_source_scores_the_document_as_the_nightly_would(enricher: Enricher) -> None:
    """`pulse enrich --source`: a routed source's document score is the embedding model's (the
    nightly's), an unrouted one's or no source's the lexicon model's; a routed text's sentences
    and entities take the embedding model's score of their sentence (no contrast marker here), as
    the nightly's mentions do."""
    text = "Honestly Whatnot customer support is terrible."
    plain = enricher.enrich_text(text)
    news = enricher.enrich_text(text, source="news")
    other = enricher.enrich_text(text, source="forum")
    assert "sentiment_model" not in plain
    ids = enricher.sentiment_router.model_ids()  # what core.documents.sentiment_model stores (migration 012)
    assert (news["sentiment_model"], other["sentiment_model"]) == (ids["embedding"], ids["lexicon"])
    assert ids["embedding"].startswith("embedding-") and ids["lexicon"].startswith("lexicon-")
    assert other["sentiment"] == plain["sentiment"]
    sentences = next(enricher.analyze_texts([text]))["sentences"]
    expected = enricher.sentiment_router.score_analyses([text], [sentences])
    assert news["sentiment"] == pytest.approx(expected[0], abs=1e-4) and news["sentiment"] < 0
    assert news["sentiment"] != plain["sentiment"]
    assert [s["text"] for s in news["sentences"]] == [s["text"] for s in plain["sentences"]] == [text]
    assert news["sentences"][0]["sentiment"] == pytest.approx(news["sentiment"], abs=1e-4)  # one sentence
    assert other["sentences"] == plain["sentences"]
    assert [e["id"] for e in news["entities"]] == [e["id"] for e in plain["entities"]] == ["platform/whatnot"]
    assert news["entities"][0]["sentiment"] == pytest.approx(news["sentiment"], abs=1e-4)  # one sentence
    assert other["entities"] == plain["entities"]


def test_entity_sentiment_differs_in_mixed_text(enricher: Enricher) -> None:
    out = enricher.enrich_text(
        "Whatnot is fantastic and the buyers are great. TikTok Shop is a horrible, broken mess."
    )
    ids = _ids(out)
    assert ids["platform/whatnot"]["sentiment"] > 0.3
    assert ids["platform/tiktok-shop"]["sentiment"] < -0.3
    # aspect-style inside one contrastive sentence too
    out = enricher.enrich_text("Whatnot support was excellent, but TikTok Shop support was useless and rude.")
    ids = _ids(out)
    assert ids["platform/whatnot"]["sentiment"] > 0 > ids["platform/tiktok-shop"]["sentiment"]


def test_themes(enricher: Enricher) -> None:
    out = enricher.enrich_text("My refund never came and the package was lost; the seller scammed me.")
    assert "fraud-returns" in out["themes"]
    assert "logistics" in out["themes"]
    out = enricher.enrich_text("The FTC opened an investigation and Congress discussed a ban.")
    assert out["themes"] == ["regulation"]


def test_non_english_skipped(enricher: Enricher) -> None:
    out = enricher.enrich_text("Las ventas en vivo de TikTok Shop crecen muy rápido en México este año.")
    assert out == {"language": "es", "sentiment": None, "themes": [], "entities": [], "sentences": []}


def test_enrich_documents_tombstone_and_offsets(enricher: Enricher) -> None:
    docs = [
        _doc("t3_a", "TikTok Shop payouts", "Payouts on TikTok Shop are great now. Whatnot fees are awful."),
        _doc("t1_b", None, None, kind="comment", is_deleted=True, parent_id="t3_a"),
        _doc("t1_c", None, "Los precios en Shopee Live son muy buenos para todos los vendedores.",
             kind="comment"),
    ]
    res = enricher.enrich_documents(docs)
    rows = {r["doc_id"]: r for r in res.documents}
    assert rows["t1_b"]["sentiment"] is None and rows["t1_b"]["themes"] == []
    assert rows["t1_b"]["extra"]["nlp_skipped"] == "tombstone"
    assert rows["t1_c"]["language"] == "es" and rows["t1_c"]["extra"]["nlp_skipped"] == "non-english"
    assert rows["t3_a"]["language"] == "en" and rows["t3_a"]["sentiment"] is not None
    assert {m["doc_id"] for m in res.mentions} == {"t3_a"}
    text = docs[0].text
    for m in res.mentions:
        assert text[m["start_char"]:m["end_char"]] == m["surface"]
        assert m["sentence"] in text
    ids = {e["entity_id"]: e for e in res.entities}
    assert ids["platform/tiktok-shop"]["origin"] == "gazetteer"
    assert {m["entity_id"] for m in res.mentions} <= set(ids)
    whatnot = [m for m in res.mentions if m["entity_id"] == "platform/whatnot"][0]
    assert whatnot["sentiment"] < 0


def test_enrich_night_writes_three_files_and_reruns(enricher: Enricher, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    ctx = RunContext.for_night(settings, date(2026, 11, 3), run_id="r1")
    rows = [_doc("t3_a", "Whatnot", "Whatnot auctions are fun.").to_dict(),
            _doc("t3_b", None, None, is_deleted=True).to_dict()]
    write_jsonl(ctx.work_dir / "reddit.documents.jsonl", rows)
    write_jsonl(ctx.work_dir / "news.documents.jsonl",
                [{"doc_id": "bad"}, dataclasses.asdict(_doc("news_1", "QVC", "QVC sales fell.", source="news",
                                                            kind="article"))])
    e2 = Enricher(settings)
    e2._nlp = enricher.nlp  # reuse the loaded model: same config files
    summary = enrich_night(ctx, e2)
    out = ctx.work_dir / "enriched"
    docs = list(read_jsonl(out / "documents.jsonl"))
    assert {d["doc_id"] for d in docs} == {"t3_a", "t3_b", "news_1"}
    models = {d["doc_id"]: (d.get("extra") or {}).get("sentiment_model") for d in docs}
    ids = e2.sentiment_router.model_ids()  # routed (news, Reddit): the embedding model; a tombstone: none
    assert models == {"t3_a": ids["embedding"], "t3_b": None, "news_1": ids["embedding"]}
    assert summary["rejected_rows"] == 1
    mentions = list(read_jsonl(out / "mentions.jsonl"))
    entities = list(read_jsonl(out / "entities.jsonl"))
    assert {m["entity_id"] for m in mentions} <= {e["entity_id"] for e in entities}
    enrich_night(ctx, e2)
    assert len(list(read_jsonl(out / "mentions.jsonl"))) == len(mentions)


def test_jsonl_lines_batched_in_order_with_ids_and_errors(enricher: Enricher,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from transforms.enrich import enrich_jsonl_lines

    calls: list[int] = []
    real = enricher.enrich_texts

    def counting(texts, source=None):  # type: ignore[no-untyped-def]
        texts = list(texts)
        calls.append(len(texts))
        return real(texts, source)

    monkeypatch.setattr(enricher, "enrich_texts", counting)
    lines = ['{"id": "a", "text": "Whatnot is great."}', "", "not json",
             '{"id": 7, "text": "TikTok Shop is awful."}', '{"id": "c", "text": 5}',
             "[1, 2]", '{"id": "d", "text": "I love QVC."}']
    rows = list(enrich_jsonl_lines(enricher, lines, batch_size=2))
    assert [r.get("id") for r in rows] == ["a", None, 7, "c", None, "d"]
    assert rows[1] == {"line": 3, "error": rows[1]["error"]} and "not JSON" in rows[1]["error"]
    assert rows[3]["line"] == 5 and "text" in rows[3]["error"]
    assert rows[4]["line"] == 6 and "object" in rows[4]["error"]
    assert {e["id"] for e in rows[0]["entities"]} == {"platform/whatnot"}
    assert rows[2]["sentiment"] < 0 < rows[0]["sentiment"]
    assert set(rows[5]) == {"id", "language", "sentiment", "themes", "entities", "sentences"}
    assert calls == [2, 1]  # two batched calls for three good texts, not one call per line


def _cli_env(tmp_path: Path) -> dict[str, str]:
    """A bare environment for `pulse` subprocesses, keeping the tests' model cache (conftest) so
    the routed documents' embedding model is not derived into the user's ~/.cache."""
    import os

    return {"PATH": "/usr/bin:/bin", "PULSE_DATA_DIR": str(tmp_path),
            "PULSE_MODEL_CACHE": os.environ["PULSE_MODEL_CACHE"]}


def test_cli_enrich_jsonl_stdin(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    stdin = ('{"id": "x1", "text": "TSL hosts were wonderful."}\n'
             '{"id": "x2", "text": "Shopee Live was slow."}\n')
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "enrich", "--jsonl", "-"], input=stdin,
                          capture_output=True, text=True, cwd=root, timeout=300,
                          env=_cli_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["x1", "x2"]
    assert rows[0]["entities"][0]["id"] == "platform/talkshoplive"
    assert rows[0]["entities"][0]["mentions"] == 1 and rows[0]["entities"][0]["sentiment"] > 0
    page = tmp_path / "p.html"
    page.write_text("<html><body><nav>Subscribe</nav><article><h1>Whatnot grows</h1>"
                    "<p>Whatnot's breaks are wonderful.</p></article></body></html>")
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "enrich", str(page)], capture_output=True,
                          text=True, cwd=root, timeout=300,
                          env=_cli_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert {"language", "sentiment", "themes", "entities"} <= set(out) and out["language"] == "en"
    assert out["sentiment_model"].startswith("embedding-")  # --source news, the default: the nightly's
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "enrich", "--source", "none", str(page)],
                          capture_output=True, text=True, cwd=root, timeout=300, env=_cli_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "sentiment_model" not in json.loads(proc.stdout)
    assert [(e["id"], e["mentions"]) for e in out["entities"]] == [("platform/whatnot", 2)]
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "enrich", "--jsonl", str(tmp_path / "nope")],
                          capture_output=True, text=True, cwd=root, timeout=300,
                          env=_cli_env(tmp_path))
    assert proc.returncode != 0 and "no such file" in proc.stderr


def test_two_processes_keep_order_and_routing(enricher: Enricher) -> None:
    """With n_process=2 the Docs come back from worker processes; each result must still belong
    to its own input text, with skipped (empty, non-English) texts in their places."""
    texts = [
        "Whatnot sellers love the new live auction tools.",
        "",
        "Compré unos zapatos en el live de TikTok Shop y llegaron rotos, qué decepción con el vendedor.",
        "TikTok Shop refunds are slow and the seller never answered.",
    ] * 3
    one = list(enricher.analyze_texts(texts, n_process=1))
    two = list(enricher.analyze_texts(texts, n_process=2))
    assert [a["skipped"] for a in two] == [None, "empty", "non-english", None] * 3
    assert [(a["language"], a["sentiment"], a["themes"], [m["entity_id"] for m in a["mentions"]])
            for a in two] == [(a["language"], a["sentiment"], a["themes"],
                               [m["entity_id"] for m in a["mentions"]]) for a in one]
    assert two[0]["mentions"][0]["entity_id"] == "platform/whatnot"


def test_shards_merge_into_exactly_the_one_pass_batch(enricher: Enricher, tmp_path: Path) -> None:
    """issue 14: the mapped enrich (plan, shards, merge) writes the same files as one pass, byte
    for byte, whatever the shard size; NER aliases gathered across shards included."""
    from demo.replay.corpus import load_corpus
    from transforms.enrich import enrich_shard, merge_shards, plan_shards

    corpus = load_corpus()
    rows = []
    for post in corpus.reddit["posts"][:40]:
        rows.append(_doc(f"t3_{post['id']}", post["title"], post["selftext"] or None,
                         channel=post["subreddit"]).to_dict())
        for c in post.get("comments", [])[:2]:
            rows.append(_doc(f"t1_{c['id']}", None, c["body"], kind="comment",
                             channel=post["subreddit"]).to_dict())
    rows.append({"doc_id": "broken"})  # an unreadable row: quarantined once, by shard 0

    def run(shard_size: int, name: str) -> tuple[dict, dict[str, str]]:
        base = _settings(tmp_path / name)
        settings = dataclasses.replace(base, storage=dataclasses.replace(base.storage,
                                                                         enrich_shard_size=shard_size))
        ctx = RunContext.for_night(settings, date(2026, 11, 3), run_id="r1")
        write_jsonl(ctx.work_dir / "reddit.documents.jsonl", rows)
        e = Enricher(settings)
        e._nlp = enricher.nlp
        plan = plan_shards(ctx)
        for shard in range(plan["shards"]):
            enrich_shard(ctx, shard, e)
        summary = merge_shards(ctx)
        out = ctx.work_dir / "enriched"
        files = {p.name: p.read_text() for p in sorted(out.glob("*.jsonl"))}
        return {**summary, "plan_shards": plan["shards"]}, files

    one, one_files = run(10_000, "one")
    many, many_files = run(7, "many")
    assert one["plan_shards"] == 1 and many["plan_shards"] >= -(-(len(rows) - 1) // 7)
    assert many_files == one_files
    assert set(one_files) == {"documents.jsonl", "mentions.jsonl", "entities.jsonl",
                              "document_topics.jsonl", "quarantine.jsonl"}
    for key in ("documents", "mentions", "entities", "quarantined", "rejected_rows", "document_topics"):
        assert many[key] == one[key], key
    assert one["rejected_rows"] == 1 and one_files["quarantine.jsonl"].count("\n") == 1


@pytest.mark.parametrize(("docs", "size", "parallel", "max_shards", "expected"), [
    (0, 10, 2, 64, 1),      # an empty night still gets its one shard
    (5, 10, 2, 64, 1),      # one shard is never split further
    (90, 10, 2, 64, 10),    # 9 shards on 2 workers would run 5/4: rounded to 10 (5/5)
    (90, 10, 1, 64, 9),     # one at a time: no rounding
    (90, 10, 4, 64, 12),
    (90, 10, 4, 10, 10),    # max_shards wins over the rounding
    (3, 1, 4, 64, 3),       # never more shards than documents
])
def test_the_shard_count_is_whole_waves_of_the_parallel_shards(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        docs: int, size: int, parallel: int, max_shards: int, expected: int) -> None:
    """issue 14: 20,005 documents in 9 shards capped two workers at 1.8x (5 shards against 4);
    the planner rounds the count up to a multiple of PULSE_ENRICH_PARALLEL."""
    from transforms.enrich import plan_shards

    monkeypatch.setenv("PULSE_ENRICH_PARALLEL", str(parallel))
    base = _settings(tmp_path)
    settings = dataclasses.replace(base, storage=dataclasses.replace(
        base.storage, enrich_shard_size=size, max_shards=max_shards))
    ctx = RunContext.for_night(settings, date(2026, 11, 3), run_id="r1")
    write_jsonl(ctx.work_dir / "reddit.documents.jsonl",
                [_doc(f"t3_{i}", "Whatnot", "Whatnot auctions.").to_dict() for i in range(docs)])
    plan = plan_shards(ctx)
    assert plan["shards"] == expected
    counts = [list(plan["assignment"].values()).count(k) for k in range(plan["shards"])]
    assert docs == 0 or (min(counts) >= 1 and max(counts) - min(counts) <= 1)


def test_shards_hold_about_equal_words_not_equal_documents() -> None:
    """Long posts and one-line comments: shards are balanced by words (the enrich cost), stay
    contiguous in reading order, and every shard gets work even beside one huge document."""
    from transforms.enrich import balanced_assignment

    docs = [_doc(f"t3_{i}", None, "word " * (50 if i < 40 else 5)) for i in range(240)]
    plan = balanced_assignment(docs, 4)
    shards = [plan[d.doc_id] for d in docs]
    assert shards == sorted(shards) and set(shards) == {0, 1, 2, 3}
    words = [sum(len((d.body or "").split()) + 1 for d in docs if plan[d.doc_id] == k) for k in range(4)]
    assert max(words) <= 1.15 * min(words), words
    assert shards.count(0) < 20  # equal counts would put 60 documents, all 40 long posts, in shard 0
    huge = [_doc("t3_huge", None, "word " * 100_000)] + [_doc(f"t1_{i}", None, "hi") for i in range(5)]
    plan = balanced_assignment(huge, 3)
    assert sorted(set(plan.values())) == [0, 1, 2]
    assert balanced_assignment([], 1) == {}
    assert set(balanced_assignment(docs[:2], 5).values()) == {0, 1}  # clamped to the documents
    # Words count only up to the NLP cap (nlp.max_text_chars), as spaCy sees them: a capped
    # article weighs what is analysed, not its full length.
    capped = [_doc("t3_long", None, "word " * 2_000)]
    capped += [_doc(f"t1_{i}", None, "word " * 40) for i in range(10)]
    assert sorted(set(balanced_assignment(capped, 2, max_chars=1_000).values())) == [0, 1]
    assert list(balanced_assignment(capped, 2, max_chars=1_000).values()).count(0) > 1


def test_a_bad_enrich_parallel_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from common.config import ConfigError, enrich_parallel

    monkeypatch.setenv("PULSE_ENRICH_PARALLEL", "two")
    with pytest.raises(ConfigError, match="PULSE_ENRICH_PARALLEL must be a whole number >= 1, got 'two'"):
        enrich_parallel()


def test_a_missing_shard_fails_the_merge(enricher: Enricher, tmp_path: Path) -> None:
    from transforms.enrich import enrich_shard, merge_shards, plan_shards

    base = _settings(tmp_path)
    settings = dataclasses.replace(base, storage=dataclasses.replace(base.storage, enrich_shard_size=1))
    ctx = RunContext.for_night(settings, date(2026, 11, 3), run_id="r1")
    rows = [_doc("t3_a", "Whatnot", "Whatnot auctions.").to_dict(), _doc("t3_b", "QVC", "QVC.").to_dict()]
    write_jsonl(ctx.work_dir / "reddit.documents.jsonl", rows)
    e = Enricher(settings)
    e._nlp = enricher.nlp
    assert plan_shards(ctx)["shards"] == 2
    enrich_shard(ctx, 0, e)
    with pytest.raises(RuntimeError, match="enrich shard 1 of 2 is missing"):
        merge_shards(ctx)
    with pytest.raises(ValueError, match="outside the plan"):
        enrich_shard(ctx, 2, e)


def test_merge_keeps_the_first_shards_entity_and_gathers_aliases_from_every_shard(tmp_path: Path) -> None:
    """One pass names an NER entity by its first mention and lists every other surface as an
    alias; shards see only part of the mentions, so the merge recomputes the aliases."""
    from common.jsonl import write_json
    from transforms.enrich import merge_shards, shard_dir, write_rows_parquet

    ctx = RunContext.for_night(_settings(tmp_path), date(2026, 11, 3), run_id="r1")
    write_json(ctx.work_dir / "enriched" / "plan.json",
               {"shards": 2, "assignment": {"d1": 0, "d2": 1}, "run_id": "r1"})
    ner = {"entity_id": "ner/org/acme", "label": "ORG", "kind": "organization", "origin": "ner"}
    for shard, (doc, surface, name) in enumerate((("d1", "Acme Live", "Acme Live"),
                                                   ("d2", "ACME LIVE", "ACME LIVE"))):
        out = shard_dir(ctx.work_dir, shard)
        write_rows_parquet(out / "documents.parquet", [{"doc_id": doc, "title": None, "body": surface}])
        mention = {"doc_id": doc, "entity_id": "ner/org/acme", "surface": surface}
        write_rows_parquet(out / "mentions.parquet", [mention])
        write_rows_parquet(out / "entities.parquet", [{**ner, "name": name, "aliases": []}])
        write_jsonl(out / "quarantine.jsonl", [])
        write_json(out / "summary.json", {"run_id": "r1", "documents": 1, "words": 2, "seconds": 1.0})
    summary = merge_shards(ctx)
    entities = list(read_jsonl(ctx.work_dir / "enriched" / "entities.jsonl"))
    assert entities == [{**ner, "name": "Acme Live", "aliases": ["ACME LIVE"]}]
    assert (summary["documents"], summary["shards"], summary["words_per_s"]) == (2, 2, 2.0)


def test_shard_parquet_reads_back_exactly_what_was_written(tmp_path: Path) -> None:
    """Each shard writes Parquet; the merge must get every row back as it was: keys a row lacks,
    None, nested dicts and lists, ints beside floats, and a lone surrogate that is not UTF-8."""
    from transforms.enrich import read_rows_parquet, write_rows_parquet

    rows = [{"doc_id": "a", "extra": {"nlp_capped_from": 120000, "tags": ["x"]}, "sentiment": 0, "on": True},
            {"doc_id": "b", "sentiment": -0.25, "themes": [], "title": None, "on": False},
            {"doc_id": "c\ud800", "extra": {}, "sentiment": None, "themes": ["fees", "payouts"], "on": True}]
    path = tmp_path / "shard=0" / "documents.parquet"
    assert write_rows_parquet(path, rows) == 3
    assert read_rows_parquet(path) == rows
    import pyarrow.parquet as pq

    assert pq.read_table(path).num_rows == 3  # a real Parquet file
    write_rows_parquet(path, [])
    assert read_rows_parquet(path) == []


def test_an_integer_parquet_cannot_hold_costs_only_its_column(tmp_path: Path) -> None:
    """A hostile API value (a score of 10**30) must not fail the whole shard's write."""
    from transforms.enrich import read_rows_parquet, write_rows_parquet

    rows = [{"doc_id": "a", "score": 10**30}, {"doc_id": "b", "score": 3}]
    path = tmp_path / "documents.parquet"
    write_rows_parquet(path, rows)
    assert read_rows_parquet(path) == rows
