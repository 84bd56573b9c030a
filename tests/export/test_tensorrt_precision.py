"""The precision policy and version branching (trt_compat): what each TensorRT major builds."""
from __future__ import annotations

import pytest

from moadepth_edge.errors import UserError
from moadepth_edge.export.trt_compat import OnnxFacts, caps_for, parse_version, precision_plan

TRT10, TRT11 = caps_for("10.3.0"), caps_for("11.4.0.106")
FP32_ONNX, FP16_ONNX, QDQ_ONNX = OnnxFacts(False, False), OnnxFacts(False, True), OnnxFacts(True, False)


def test_parse_version():
    assert parse_version("10.3.0.26") == (10, 3, 0, 26)
    assert parse_version("11.4.0.106+cuda12") == (11, 4, 0, 106)
    with pytest.raises(ValueError):
        parse_version("tensorrt")


def test_branching_is_by_major():
    assert TRT10.weak_typing and TRT10.strongly_typed_flag
    assert not TRT11.weak_typing and not TRT11.strongly_typed_flag
    with pytest.raises(UserError, match="too old"):
        caps_for("8.6.1")


def test_fp32_is_strongly_typed_without_tf32_on_both():
    for caps, net in ((TRT10, ("STRONGLY_TYPED",)), (TRT11, ())):
        plan = precision_plan(caps, "fp32", FP32_ONNX)
        assert (plan.precision, plan.strongly_typed, plan.network_flags) == ("fp32", True, net)
        assert plan.clear_flags == ("TF32",) and plan.flags == ()


def test_fp16_from_fp32_onnx_uses_the_flag_and_pins_layernorm_on_10():
    plan = precision_plan(TRT10, "fp16", FP32_ONNX)
    assert not plan.strongly_typed
    assert plan.flags == ("FP16", "OBEY_PRECISION_CONSTRAINTS")
    assert plan.fp32_layers == ("NORMALIZATION",)


def test_fp16_from_fp32_onnx_on_11_asks_for_the_fp16_export():
    with pytest.raises(UserError, match="no FP16 builder flag.*export --precision fp16"):
        precision_plan(TRT11, "fp16", FP32_ONNX)


def test_fp16_onnx_is_built_strongly_typed_on_both():
    for caps in (TRT10, TRT11):
        plan = precision_plan(caps, "fp16", FP16_ONNX)
        assert plan.strongly_typed and plan.precision == "fp16" and "FP16" not in plan.flags


def test_int8_needs_a_qdq_onnx_and_never_calibrates():
    for caps in (TRT10, TRT11):
        with pytest.raises(UserError, match="Q/DQ.*implicit calibrator is not supported"):
            precision_plan(caps, "int8", FP32_ONNX)
        plan = precision_plan(caps, "int8", QDQ_ONNX)
        assert plan.strongly_typed and plan.precision == "int8" and "INT8" not in plan.flags


def test_best_lets_tensorrt_10_choose_and_builds_the_graph_types_on_11():
    plan = precision_plan(TRT10, "best", QDQ_ONNX)
    assert not plan.strongly_typed and {"FP16", "INT8"} <= set(plan.flags) and plan.precision == "int8"
    assert precision_plan(TRT10, "best", FP32_ONNX).precision == "fp16"
    for facts, expected in ((FP32_ONNX, "fp32"), (FP16_ONNX, "fp16"), (QDQ_ONNX, "int8")):
        plan = precision_plan(TRT11, "best", facts)
        assert plan.strongly_typed and plan.precision == expected and plan.flags == ()


@pytest.mark.parametrize("precision,facts,match", [
    ("fp32", QDQ_ONNX, "INT8-quantized"),
    ("fp16", QDQ_ONNX, "INT8-quantized"),
    ("fp32", FP16_ONNX, "FP16 export"),
    ("fp64", FP32_ONNX, "unknown precision"),
])
def test_contradictions_are_user_errors(precision, facts, match):
    with pytest.raises(UserError, match=match):
        precision_plan(TRT10, precision, facts)


def test_dla_needs_reduced_precision_and_falls_back_to_the_gpu():
    with pytest.raises(UserError, match="DLA runs FP16 or INT8"):
        precision_plan(TRT10, "fp32", FP32_ONNX, dla=True)
    int8 = precision_plan(TRT10, "int8", QDQ_ONNX, dla=True)  # 10.x DLA: flags, not strong typing
    assert not int8.strongly_typed and {"INT8", "FP16", "GPU_FALLBACK"} <= set(int8.flags)
    assert "OBEY_PRECISION_CONSTRAINTS" not in int8.flags
    fp16 = precision_plan(TRT11, "fp16", FP16_ONNX, dla=True)
    assert fp16.strongly_typed and fp16.flags == ("GPU_FALLBACK",)


def test_hardware_levels_per_major():
    assert TRT10.hardware_level_name("ampere_plus") == "AMPERE_PLUS"
    assert TRT11.hardware_level_name("same_compute_capability") == "SAME_COMPUTE_CAPABILITY"
    with pytest.raises(UserError, match="needs TensorRT 11"):
        TRT10.hardware_level_name("same_compute_capability")
    with pytest.raises(UserError, match="unknown hardware compatibility 'ampere'"):
        TRT11.hardware_level_name("ampere")  # e.g. a typo in a target profile
