"""The store between tasks (issue 14): pull, run, push; a private disk per task.

A ``file://`` URL is a real fsspec filesystem, so these tests exercise the same code an ``s3://``
URL does, without a server (``make demo-distributed`` runs the S3 path).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path

import pytest

from common.config import ConfigError, load_settings
from common.context import RunContext
from common.storage import Store, pull, push, stage_inputs, staged

NIGHT = date(2026, 11, 14)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_task_pulls_its_inputs_and_pushes_only_what_it_changed(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    url = store_dir.as_uri()
    _write(store_dir / "work/2026-11-14/reddit.documents.jsonl", '{"doc_id": "t3_a"}\n')
    _write(store_dir / "work/2026-11-13/reddit.documents.jsonl", "other night\n")
    _write(store_dir / "state/news/state.json", "{}")
    worker = tmp_path / "worker"
    wanted = stage_inputs("enrich", NIGHT)
    with staged(url, worker, wanted) as info:
        assert (worker / "work/2026-11-14/reddit.documents.jsonl").read_text() == '{"doc_id": "t3_a"}\n'
        assert not (worker / "work/2026-11-13").exists()  # another night is not this task's input
        _write(worker / "work/2026-11-14/enriched/documents.jsonl", "enriched\n")
    assert (info.pulled, info.pushed, info.deleted) == (2, 1, 0)
    assert (store_dir / "work/2026-11-14/enriched/documents.jsonl").read_text() == "enriched\n"


def test_a_deleted_file_goes_from_the_store_and_a_stale_local_one_from_the_disk(tmp_path: Path) -> None:
    """A failure note cleared by a retry must not outlive it on either side."""
    store_dir = tmp_path / "store"
    url = store_dir.as_uri()
    _write(store_dir / "work/2026-11-14/failures/enrich.json", "{}")
    worker = tmp_path / "worker"
    _write(worker / "work/2026-11-14/failures/validate.json", "{}")  # stale: the store has none
    with staged(url, worker, stage_inputs("enrich", NIGHT)) as info:
        assert not (worker / "work/2026-11-14/failures/validate.json").exists()
        (worker / "work/2026-11-14/failures/enrich.json").unlink()
    assert (info.removed, info.deleted) == (1, 1)
    assert not (store_dir / "work/2026-11-14/failures/enrich.json").exists()


def test_changes_are_pushed_when_the_task_fails(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    worker = tmp_path / "worker"
    with pytest.raises(RuntimeError), staged(store_dir.as_uri(), worker, stage_inputs("load", NIGHT)):
        _write(worker / "work/2026-11-14/failures/load.json", '{"stage": "load"}')
        raise RuntimeError("load failed")
    assert json.loads((store_dir / "work/2026-11-14/failures/load.json").read_text()) == {"stage": "load"}


def test_without_a_url_nothing_is_copied(tmp_path: Path) -> None:
    with staged("", tmp_path, stage_inputs("load", NIGHT)) as info:
        _write(tmp_path / "work/2026-11-14/x", "x")
    assert (info.pulled, info.pushed) == (0, 0)


def test_validate_also_reads_earlier_nights_volume_and_quality_history(tmp_path: Path) -> None:
    store = Store((tmp_path / "store").as_uri())
    for night in ("2026-11-13", "2026-11-07", "2026-11-01"):
        _write(tmp_path / "store/work" / night / "validation.json", "{}")
        _write(tmp_path / "store/work" / night / "enriched/documents.jsonl", "big\n")
    worker = tmp_path / "worker"
    copied, _ = pull(store, worker, stage_inputs("validate", NIGHT, trailing_nights=7))
    assert copied == 2  # 13th and 7th: within 7 nights; their enriched batches are not pulled
    assert sorted(p.relative_to(worker).as_posix() for p in worker.rglob("*.json")) == [
        "work/2026-11-07/validation.json", "work/2026-11-13/validation.json"]


def test_from_raw_pulls_the_nights_landing(tmp_path: Path) -> None:
    assert "raw/reddit/2026-11-14/" in stage_inputs("extract_reddit", NIGHT, from_raw=True)
    assert not any(p.startswith("raw/") for p in stage_inputs("extract_reddit", NIGHT))


def test_push_skips_another_writers_temporary_files(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    worker = tmp_path / "worker"
    _write(worker / "work/2026-11-14/.documents.jsonl.123.abc.tmp", "half")
    assert push(Store(store_dir.as_uri()), worker, {}) == (0, 0)


def test_storage_settings_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_STORAGE_URL", "bucket/prefix")
    with pytest.raises(ConfigError, match=r"PULSE_STORAGE_URL=bucket/prefix: \[storage\] url must be an"):
        load_settings()
    monkeypatch.setenv("PULSE_STORAGE_URL", "s3://bucket/prefix")
    assert load_settings().storage.url == "s3://bucket/prefix"


def test_extract_reads_watermarks_from_the_store_not_the_warehouse(tmp_path: Path) -> None:
    """The load writes state/watermarks.json; an extract of night N takes the max over earlier
    nights from it, on a worker that has no warehouse at all."""
    from pipeline.stages import _watermarks

    settings = dataclasses.replace(load_settings(), data_dir=tmp_path)
    def mark(source: str, night: str, hour: int) -> dict[str, str]:
        key = "r/a/new" if source == "reddit" else "x"
        stamp = f"{night}T{hour:02d}:00:00+00:00"
        return {"source": source, "source_key": key, "night": night, "watermark": stamp}

    _write(tmp_path / "state/watermarks.json", json.dumps({"marks": [
        mark("reddit", "2026-11-12", 10), mark("reddit", "2026-11-13", 9), mark("reddit", "2026-11-14", 9),
        mark("news", "2026-11-13", 9)]}))
    stored = _watermarks(RunContext.for_night(settings, NIGHT), "reddit")
    assert stored.origin == "watermarks file"
    assert {k: v.isoformat() for k, v in stored.marks.items()} == {"r/a/new": "2026-11-13T09:00:00+00:00"}
    assert not settings.warehouse_path.exists()


def test_an_object_store_data_dir_is_the_store_with_a_local_working_copy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_DATA_DIR", "s3://pulse-bucket/nightly")
    monkeypatch.setenv("PULSE_LOCAL_DIR", str(tmp_path / "cache"))
    settings = load_settings()
    assert settings.storage.url == "s3://pulse-bucket/nightly"
    assert settings.data_dir == tmp_path / "cache"
    monkeypatch.setenv("PULSE_STORAGE_URL", "s3://other/place")
    with pytest.raises(ConfigError, match="set one of them"):
        load_settings()


def test_the_load_pulls_exactly_the_lake_partitions_of_its_night() -> None:
    from common.storage import LAKE_TABLES
    from warehouse.lake import TABLES, store_prefixes

    assert LAKE_TABLES == TABLES
    wanted = stage_inputs("load", NIGHT)
    assert set(store_prefixes(NIGHT)) <= set(wanted)
    assert not any(p.startswith("lake/") for p in stage_inputs("enrich_merge", NIGHT))
