"""FP16 ONNX with the numerically fragile parts kept in FP32.

Kept in FP32: every LayerNormalization and Softmax (FP16 engines overflow on them), the
whole depth head and everything after it (bin softmax, expectation over bin centres,
regression, gate, upsampling: the head runs on the 7x7 token grid, so this costs nothing),
and a frame model's input preprocessing (resize of 0..255 values). The ViT's matrix
products, GELUs and attention run in FP16. Casts at the block boundaries are inserted by
onnxruntime.transformers.float16; inputs and outputs keep their types.
"""
from __future__ import annotations

from collections import defaultdict, deque
from typing import Any, Iterable

from .._lazy import lazy_import
from .graph import module_scope

FP32_OPS = ("LayerNormalization", "Softmax")
HEAD_SCOPE = "head"


def _name_nodes(graph: Any) -> None:
    seen: set[str] = set()
    for i, node in enumerate(graph.node):
        if not node.name or node.name in seen:
            node.name = f"{node.op_type}_{i}"
        seen.add(node.name)


def _closure(start: Iterable[Any], neighbours: dict[str, list[Any]], key) -> set[str]:
    """Names of the nodes reachable from `start` (inclusive) following `neighbours[key(node)]`."""
    out: set[str] = set()
    todo = deque(start)
    while todo:
        node = todo.popleft()
        if node.name in out:
            continue
        out.add(node.name)
        for k in key(node):
            todo.extend(neighbours.get(k, []))
    return out


def fp32_nodes(graph: Any) -> set[str]:
    """Names of the nodes the FP16 model keeps in FP32 (see the module docstring)."""
    consumers: dict[str, list[Any]] = defaultdict(list)
    producers: dict[str, list[Any]] = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            consumers[name].append(node)
        for name in node.output:
            producers[name].append(node)
    head = [n for n in graph.node if HEAD_SCOPE in module_scope(n)]
    keep = _closure(head, consumers, lambda n: n.output)
    convs = [n for n in graph.node if n.op_type == "Conv"]
    if convs:  # everything feeding the patch embedding (a frame model's resize), not the conv
        first = convs[0]
        keep |= _closure([p for i in first.input for p in producers.get(i, [])],
                         producers, lambda n: n.input)
    keep |= {n.name for n in graph.node if n.op_type in FP32_OPS}
    return keep


def convert_to_fp16(proto: Any) -> Any:
    """An FP16 copy of an FP32 ModelProto (float32 inputs/outputs kept)."""
    float16 = lazy_import("onnxruntime.transformers.float16")
    onnx = lazy_import("onnx")
    proto = onnx.ModelProto.FromString(proto.SerializeToString())
    _name_nodes(proto.graph)
    del proto.graph.value_info[:]  # stale after conversion; shape inference recomputes them
    proto = float16.convert_float_to_float16(
        proto, keep_io_types=True, node_block_list=sorted(fp32_nodes(proto.graph)),
        op_block_list=list(float16.DEFAULT_OP_BLOCK_LIST) + list(FP32_OPS),
    )
    # the converter appends its boundary Casts at the end of the node list
    OnnxModel = lazy_import("onnxruntime.transformers.onnx_model").OnnxModel
    wrapped = OnnxModel(proto)
    wrapped.topological_sort()
    return wrapped.model
