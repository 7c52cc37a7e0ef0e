"""transforms/nlp.py helpers that do not need the spaCy model."""

from __future__ import annotations

import numpy
import srsly
import srsly.msgpack

from transforms.nlp import freeze_msgpack_extensions


def test_frozen_msgpack_extensions_keep_numpy_and_stop_rescanning() -> None:
    freeze_msgpack_extensions()
    freeze_msgpack_extensions()  # idempotent
    for registry in (srsly.msgpack.msgpack_encoders, srsly.msgpack.msgpack_decoders):
        assert "numpy" in registry.get_all()
        assert registry.get_all() is registry.get_all()  # a snapshot, not a fresh scan per call
    out = srsly.msgpack_loads(srsly.msgpack_dumps({"v": numpy.arange(3.0), "k": ["a", 1]}))
    assert out["v"].tolist() == [0.0, 1.0, 2.0] and out["k"] == ["a", 1]
