"""export_onnx: graph structure, metadata, ORT parity, dynamic axes, and failing without a trace."""
from __future__ import annotations

import collections

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from moadepth_edge.formats.artifact import ModelArtifact, read_artifact
from moadepth_edge.errors import CheckpointError, UserError
from moadepth_edge.export import ParityError, export_onnx, relative_error
from moadepth_edge.export.graph import module_scope


def _ops(proto) -> collections.Counter:
    return collections.Counter(n.op_type for n in proto.graph.node)


def _expert_matmuls(proto) -> dict[str, int]:
    """MatMul/Gemm per MoA module, router excluded."""
    out: dict[str, int] = collections.Counter()
    for n in proto.graph.node:
        scope = module_scope(n)
        if n.op_type in ("MatMul", "Gemm") and "moa" in scope and "router" not in scope:
            out[scope[scope.index("moa") + 1]] += 1
    return dict(out)


def _run(path, x):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def test_fused_graph_structure(tiny_onnx, tiny_model):
    path = tiny_onnx
    proto = onnx.load(str(path))
    ops = _ops(proto)
    assert ops["LayerNormalization"] == 2 * len(tiny_model.encoder.blocks) + 2
    assert _expert_matmuls(proto) == {"1": 2, "3": 2}
    producer = {o: n for n in proto.graph.node for o in n.output}
    inits = {i.name: i for i in proto.graph.initializer}
    (proj,) = [n for n in proto.graph.node if n.op_type == "MatMul" and "proj" in module_scope(n)]
    assert producer[proj.input[0]].op_type != "Concat"  # the context vector is folded into a bias
    assert list(inits[proj.input[1]].dims) == [tiny_model.encoder.out_dim, tiny_model.cfg.head.hidden]
    assert not any(n.op_type in ("Sub", "Div") and n.input[0] == "image" for n in proto.graph.node)
    conv = next(n for n in proto.graph.node if n.op_type == "Conv")
    assert conv.input[0] == "image" and len(conv.input) == 3  # normalisation folded: biased conv


def test_unfused_export_keeps_one_product_per_expert_layer(tiny_model, tmp_path):
    export_onnx(tiny_model, tmp_path / "unfused.onnx", fuse=False)
    assert _expert_matmuls(onnx.load(str(tmp_path / "unfused.onnx"))) == {"1": 8, "3": 8}


def test_metadata_carries_the_artifact(tiny_onnx, tiny_model):
    path, artifact = tiny_onnx, read_artifact(tiny_onnx)
    proto = onnx.load(str(path))
    stored = ModelArtifact.from_metadata_props({p.key: p.value for p in proto.metadata_props})
    assert stored == artifact
    assert stored.model_cfg == tiny_model.cfg and stored.preprocess == tiny_model.cfg.preprocess
    assert stored.input_kind == "image" and stored.dynamic_batch and stored.extra["fused"]
    assert stored.extra["parity_error"] < 1e-4
    onnx.checker.check_model(proto, full_check=True)


@pytest.mark.parametrize("batch", [1, 3])
def test_ort_matches_pytorch(tiny_onnx, tiny_model, batch):
    path = tiny_onnx
    x = np.random.default_rng(batch).random((batch, 3, 64, 64), dtype=np.float32)
    with torch.no_grad():
        ref = tiny_model(torch.from_numpy(x)).numpy()
    got = _run(path, x)
    assert got.shape == (batch, 1, 64, 64)
    assert relative_error(got, ref) < 1e-4


def test_checkpoint_export_records_its_hash(tiny_checkpoint, tmp_path):
    from moadepth_edge.model.checkpoint import checkpoint_sha256

    artifact = export_onnx(tiny_checkpoint, tmp_path / "m.onnx", dynamic_batch=False)
    assert artifact.checkpoint_sha256 == checkpoint_sha256(tiny_checkpoint)
    proto = onnx.load(str(tmp_path / "m.onnx"))
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 1


def test_dynamic_hw_takes_other_sizes(tiny_model, tmp_path):
    path = tmp_path / "dyn.onnx"
    artifact = export_onnx(tiny_model, path, dynamic_hw=True)
    assert artifact.dynamic_hw
    assert _ops(onnx.load(str(path)))["LayerNormalization"] >= 2
    x = np.random.default_rng(0).random((2, 3, 96, 128), dtype=np.float32)
    with torch.no_grad():
        ref = tiny_model(torch.from_numpy(x)).numpy()
    assert relative_error(_run(path, x), ref) < 1e-4


def test_embed_preprocess_takes_a_raw_frame(tiny_model, tmp_path):
    from moadepth_edge.formats.preprocess import Preprocessor, depth_to_frame

    path = tmp_path / "frame.onnx"
    artifact = export_onnx(tiny_model, path, embed_preprocess=True)
    assert (artifact.input_kind, artifact.input_name) == ("frame", "frame")
    frame = np.random.default_rng(0).integers(0, 256, (1, 120, 160, 3), dtype=np.uint8)
    depth = _run(path, frame)
    assert depth.shape == (1, 1, 120, 160)
    # the image-model route of the runtime (cv2 on uint8, then upsampling) agrees closely
    image_artifact = ModelArtifact(model_cfg=tiny_model.cfg)
    with torch.no_grad():
        grid = tiny_model(torch.from_numpy(Preprocessor(image_artifact)(frame[0]))).numpy()
    assert np.mean(np.abs(depth[0, 0] - depth_to_frame(grid, (120, 160)))) < 0.02 * depth.mean()


def test_parity_failure_writes_nothing(tiny_model, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ParityError, match="out of tolerance"):
        export_onnx(tiny_model, out / "m.onnx", tolerance=0.0, precision="fp16")
    assert list(out.iterdir()) == []


def test_bad_inputs_are_one_line_user_errors(tmp_path):
    (tmp_path / "ckpt").mkdir()
    with pytest.raises(CheckpointError, match="no config.json"):
        export_onnx(tmp_path / "ckpt", tmp_path / "m.onnx")
    with pytest.raises(UserError, match="neither a checkpoint folder nor a preset"):
        export_onnx("no-such-model", tmp_path / "m.onnx")
    with pytest.raises(UserError, match="needs calibration"):
        export_onnx("moadepth-tiny", tmp_path / "m.onnx", precision="int8")
    with pytest.raises(UserError, match="opset"):
        export_onnx("moadepth-tiny", tmp_path / "m.onnx", opset=13)
    assert not (tmp_path / "m.onnx").exists()


def test_simplify_keeps_layernorm_and_shrinks_the_graph(tiny_onnx, tiny_model, tmp_path):
    path = tiny_onnx
    artifact = export_onnx(tiny_model, tmp_path / "s.onnx", simplify=True)
    simple, plain = onnx.load(str(tmp_path / "s.onnx")), onnx.load(str(path))
    assert _ops(simple)["LayerNormalization"] == _ops(plain)["LayerNormalization"]
    assert len(simple.graph.node) < len(plain.graph.node)
    assert artifact.extra["parity_error"] < 1e-4


def test_depthclip_baseline_exports(tmp_path):
    artifact = export_onnx("depthclip-tiny", tmp_path / "dc.onnx", embed_preprocess=True)
    assert artifact.model_cfg.kind == "depthclip" and artifact.extra["parity_error"] < 1e-4
