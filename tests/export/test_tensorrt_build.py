"""The builder's pure steps (ONNX inspection, option checks, CLI option merging) and the
`build` command on a machine without TensorRT."""
from __future__ import annotations

import importlib.util

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from moadepth_edge.formats.artifact import ModelArtifact
from moadepth_edge.cli.build import build_options
from moadepth_edge.cli.main import main
from moadepth_edge.config import get_preset
from moadepth_edge.errors import UserError
from moadepth_edge.export.tensorrt import BuildOptions, check_dla, check_options, inspect_onnx
from moadepth_edge.export.trt_compat import caps_for
from moadepth_edge.formats.profile import DimRange
from moadepth_edge.runtime.cuda_api import DeviceInfo

HAS_TRT = importlib.util.find_spec("tensorrt") is not None
ORIN = DeviceInfo("Orin", (8, 7), True, "12.6")
RTX = DeviceInfo("NVIDIA GeForce RTX 4090", (8, 9), False, "12.8")
T4 = DeviceInfo("Tesla T4", (7, 5), False, "12.8")


def _artifact(**kw) -> ModelArtifact:
    cfg = get_preset("moadepth-tiny")
    return ModelArtifact(model_cfg=cfg, **kw)


def write_onnx(path, *, variant: str = "fp32", inputs: int = 1, metadata: bool = True):
    """A real (tiny) ONNX graph: image -> Mul by a weight -> depth, in three precisions."""
    w = numpy_helper.from_array(np.full((1, 3, 1, 1), 0.5, np.float32), "w")
    nodes, inits = [helper.make_node("Mul", ["image", "w"], ["depth"])], [w]
    if variant == "fp16":
        inits = [numpy_helper.from_array(np.full((1, 3, 1, 1), 0.5, np.float16), "w16")]
        nodes = [helper.make_node("Cast", ["image"], ["x16"], to=TensorProto.FLOAT16),
                 helper.make_node("Mul", ["x16", "w16"], ["y16"]),
                 helper.make_node("Cast", ["y16"], ["depth"], to=TensorProto.FLOAT)]
    if variant == "int8":
        inits += [numpy_helper.from_array(np.array(0.01, np.float32), "s"),
                  numpy_helper.from_array(np.array(0, np.int8), "z")]
        nodes = [helper.make_node("QuantizeLinear", ["image", "s", "z"], ["q"]),
                 helper.make_node("DequantizeLinear", ["q", "s", "z"], ["dq"]),
                 helper.make_node("Mul", ["dq", "w"], ["depth"])]
    ins = [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 64, 64])]
    ins += [helper.make_tensor_value_info(f"extra{i}", TensorProto.FLOAT, [1]) for i in range(1, inputs)]
    out = helper.make_tensor_value_info("depth", TensorProto.FLOAT, ["N", 3, 64, 64])
    model = helper.make_model(helper.make_graph(nodes, "g", ins, [out], inits),
                              opset_imports=[helper.make_opsetid("", 17)])
    if metadata:
        precision = {"fp32": "fp32", "fp16": "fp16", "int8": "int8"}[variant]
        helper.set_model_props(model, _artifact(precision=precision).to_metadata_props())
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("variant,qdq,fp16", [("fp32", False, False), ("fp16", False, True), ("int8", True, False)])
def test_inspect_onnx_reads_input_metadata_and_precision_facts(tmp_path, variant, qdq, fp16):
    model = inspect_onnx(write_onnx(tmp_path / "m.onnx", variant=variant))
    assert (model.facts.has_qdq, model.facts.has_fp16) == (qdq, fp16)
    assert model.input_name == "image" and model.input_dims == (None, 3, 64, 64)
    assert model.layout == "NCHW" and model.artifact.precision == variant
    assert len(model.sha256) == 64


def test_inspect_onnx_refuses_unusable_files(tmp_path):
    with pytest.raises(UserError, match="not found"):
        inspect_onnx(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"\x00\x01junk")
    with pytest.raises(UserError, match="not a readable ONNX model"):
        inspect_onnx(tmp_path / "junk.onnx")
    with pytest.raises(UserError, match="no moadepth metadata"):
        inspect_onnx(write_onnx(tmp_path / "bare.onnx", metadata=False))
    with pytest.raises(UserError, match="has 2 inputs"):
        inspect_onnx(write_onnx(tmp_path / "two.onnx", inputs=2))


def test_check_options_refuses_what_the_gpu_cannot_do():
    caps = caps_for("10.3.0")
    check_options(BuildOptions(hardware_compat="ampere_plus"), RTX, caps)
    with pytest.raises(UserError, match="not supported on Jetson"):
        check_options(BuildOptions(hardware_compat="ampere_plus"), ORIN, caps)
    with pytest.raises(UserError, match="Ampere or newer.*sm_75"):
        check_options(BuildOptions(hardware_compat="ampere_plus"), T4, caps)
    with pytest.raises(UserError, match="needs TensorRT 11"):
        check_options(BuildOptions(hardware_compat="same_compute_capability"), RTX, caps)
    with pytest.raises(UserError, match="--workspace"):
        check_options(BuildOptions(workspace_mb=0), RTX, caps)


def test_check_dla():
    check_dla(None, 0)
    check_dla(1, 2)
    with pytest.raises(UserError, match="no DLA.*Orin Nano"):
        check_dla(0, 0)
    with pytest.raises(UserError, match="has 2 DLA core"):
        check_dla(2, 2)


def test_build_options_take_the_profile_and_let_flags_override():
    opts = build_options("jetson-agx-orin-int8-dla")
    assert (opts.precision, opts.workspace_mb, opts.dla_core) == ("int8", 2048, 0)
    assert opts.batch == DimRange(1, 1, 1) and opts.height == DimRange(224, 224, 224)
    opts = build_options("jetson-agx-orin-int8-dla", precision="fp16", workspace_mb=512, dla_core=1,
                         batch="1:2:4", hardware_compat=True)
    assert (opts.precision, opts.workspace_mb, opts.dla_core) == ("fp16", 512, 1)
    assert opts.batch == DimRange(1, 2, 4) and opts.hardware_compat == "ampere_plus"
    assert build_options(None) == BuildOptions()
    with pytest.raises(UserError, match="--precision must be one of"):
        build_options(None, precision="int4")


@pytest.mark.skipif(HAS_TRT, reason="TensorRT is installed here")
def test_build_without_tensorrt_says_how_to_install_it(tmp_path, capsys):
    onnx_path = write_onnx(tmp_path / "m.onnx")
    assert main(["build", str(onnx_path), "--precision", "fp16"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("error: TensorRT is not installed") and "pip install 'moadepth-edge[trt]'" in err
    assert not (tmp_path / "m.engine").exists()
