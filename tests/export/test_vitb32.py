"""The paper's ViT-B/32 (random weights): the deployed graph's shape and its parity (~30 s)."""
from __future__ import annotations

import collections

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from moadepth_edge.export import export_onnx, relative_error
from moadepth_edge.export.graph import module_scope

pytestmark = pytest.mark.slow


def test_vitb32_export(tmp_path):
    from moadepth_edge.config import get_preset
    from moadepth_edge.model import build_model

    torch.manual_seed(0)
    model = build_model(get_preset("moadepth-vitb32"), pretrained=False)
    path = tmp_path / "vitb32.onnx"
    export_onnx(model, path, parity_batches=(1,))
    proto = onnx.load(str(path))
    ops = collections.Counter(n.op_type for n in proto.graph.node)
    assert ops["LayerNormalization"] == 2 * 12 + 2
    experts = collections.Counter()
    for n in proto.graph.node:
        scope = module_scope(n)
        if n.op_type in ("MatMul", "Gemm") and "moa" in scope and "router" not in scope:
            experts[scope[scope.index("moa") + 1]] += 1
    assert experts == {"2": 2, "5": 2, "8": 2, "11": 2}
    # no text tower: no token embedding table, no text-transformer weights
    assert not any(49408 in i.dims for i in proto.graph.initializer)
    assert not any("text" in i.name or "token_embedding" in i.name for i in proto.graph.initializer)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (1, 4):
        x = np.random.default_rng(batch).random((batch, 3, 224, 224), dtype=np.float32)
        with torch.no_grad():
            ref = model(torch.from_numpy(x)).numpy()
        assert relative_error(sess.run(None, {"image": x})[0], ref) < 1e-4
