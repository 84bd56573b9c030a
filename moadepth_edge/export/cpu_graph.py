"""Rewrites of the float graph for ONNX Runtime's CPU kernels, applied before CPU quantization,
and the small graph editor they share (attention: cpu_attention.py).

Each rewrite computes the same function with fewer, larger nodes:
- `gemm_to_matmul`: Gemm with a constant weight -> MatMul + Add (dynamic quantization covers
  MatMul only; ORT then fuses the bias into DynamicQuantizeMatMul).
- `patchify_conv`: a convolution whose stride equals its kernel (ViT's patch embedding) ->
  non-overlapping patches by Reshape/Transpose and one MatMul, which is then quantized.
A pattern that does not match is left as it is.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .._lazy import lazy_import
from .graph import constant_names


def attrs(node: Any) -> dict[str, Any]:
    helper = lazy_import("onnx").helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


class Graph:
    """Lookups over one ONNX graph, and the edits the rewrites make to it."""

    def __init__(self, proto: Any) -> None:
        self.proto, self.graph = proto, proto.graph
        self.nodes = list(self.graph.node)  # one snapshot: node identity holds within it
        self.inits = {i.name: i for i in self.graph.initializer}
        self.constants = constant_names(self.graph)
        self.producer = {o: n for n in self.nodes for o in n.output}
        self.consumers: dict[str, list[Any]] = {}
        for n in self.nodes:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)
        self.outputs = {o.name for o in self.graph.output}
        self._n = 0
        self._edits: list[tuple[list[Any], list[Any], Any]] = []

    def array(self, name: str) -> np.ndarray | None:
        init = self.inits.get(name)
        return None if init is None else lazy_import("onnx").numpy_helper.to_array(init)

    def add_init(self, array: np.ndarray, hint: str) -> str:
        self._n += 1
        name = f"{hint}_cpu{self._n}"
        self.graph.initializer.append(lazy_import("onnx").numpy_helper.from_array(array, name))
        return name

    def replace(self, old: list[Any], new: list[Any], at: Any) -> None:
        """Remove `old` and put `new` where `at` was (the producer of the replaced output, so
        every input of `new` is computed before it and every reader of its output after it).
        Takes effect at `commit`."""
        self._edits.append((old, new, at))

    def commit(self) -> int:
        """Write the edits into the graph, drop what nothing reads; returns the edit count."""
        if not self._edits:
            return 0
        gone = {id(n) for old, _, _ in self._edits for n in old}
        insert = {id(at): new for _, new, at in self._edits}
        kept = []
        for n in self.nodes:
            kept += insert.get(id(n), [])
            if id(n) not in gone:
                kept.append(n)
        del self.graph.node[:]
        self.graph.node.extend(kept)
        prune(self.proto)
        return len(self._edits)


def linear(g: Graph, node: Any) -> tuple[np.ndarray, str | None, Any] | None:
    """(weight as [in, out], bias name or None, node producing the result) of a Linear layer
    exported as MatMul (+ Add of a constant) or Gemm; None if `node` is not one."""
    if node.op_type == "Gemm":
        a = attrs(node)
        w = g.array(node.input[1])
        if w is None or a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
            return None
        bias = node.input[2] if len(node.input) > 2 and node.input[2] in g.inits else None
        return (w.T if a.get("transB", 0) else w), bias, node
    if node.op_type != "MatMul" or g.array(node.input[1]) is None:
        return None
    users = g.consumers.get(node.output[0], [])
    if len(users) == 1 and users[0].op_type == "Add":
        other = [i for i in users[0].input if i != node.output[0]]
        if len(other) == 1 and other[0] in g.inits:
            return g.array(node.input[1]), other[0], users[0]
    return g.array(node.input[1]), None, node


def gemm_to_matmul(proto: Any) -> int:
    """Gemm(A, constant B[, constant C]) with alpha = beta = 1 and A not transposed ->
    MatMul (+ Add). In place; returns the number of nodes rewritten."""
    helper = lazy_import("onnx").helper
    g = Graph(proto)
    for node in [n for n in g.nodes if n.op_type == "Gemm"]:
        lin = linear(g, node)
        if lin is None or (len(node.input) > 2 and node.input[2] and lin[1] is None):
            continue
        w, bias, _ = lin
        mm_out = f"{node.output[0]}_mm" if bias else node.output[0]
        new = [helper.make_node("MatMul", [node.input[0], g.add_init(np.ascontiguousarray(w), f"{node.name}_w")],
                                [mm_out], node.name)]
        if bias:
            new.append(helper.make_node("Add", [mm_out, bias], [node.output[0]], f"{node.name}_bias"))
        g.replace([node], new, at=node)
    return g.commit()


def shapes(proto: Any) -> dict[str, list[int | str]]:
    """Tensor shapes by ONNX shape inference (with data propagation): an int per static
    dimension, the symbol's name (or "") otherwise."""
    onnx = lazy_import("onnx")
    inferred = onnx.shape_inference.infer_shapes(proto, data_prop=True)
    return {v.name: [d.dim_value if d.HasField("dim_value") else d.dim_param for d in v.type.tensor_type.shape.dim]
            for v in list(inferred.graph.value_info) + list(inferred.graph.input)}


def patchify_conv(proto: Any, known: dict[str, list[int | str]] | None = None) -> int:
    """A 2-D Conv with a constant weight, stride == kernel, no padding, dilation 1, one group
    and a statically known input size divisible by the kernel -> Reshape, Transpose, Reshape,
    MatMul (+ Add), Transpose, Reshape: the same [N, C_out, H/k, W/k] output. In place.
    `known`: tensor shapes (`shapes`), inferred here when not given."""
    helper = lazy_import("onnx").helper
    known = shapes(proto) if known is None else known
    g = Graph(proto)
    for node in [n for n in g.nodes if n.op_type == "Conv"]:
        w = g.array(node.input[1])
        a = attrs(node)
        shape = known.get(node.input[0], [])
        if w is None or w.ndim != 4 or len(shape) != 4 or not all(isinstance(v, int) and v for v in shape[1:]):
            continue
        cout, cin, kh, kw = w.shape
        _, c, h, wd = shape
        if (a.get("strides") != [kh, kw] or any(a.get("pads", [0] * 4)) or a.get("group", 1) != 1
                or any(v != 1 for v in a.get("dilations", [1, 1])) or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET")
                or c != cin or h % kh or wd % kw):
            continue
        gh, gw = h // kh, wd // kw
        p = node.name
        const = lambda v, hint: g.add_init(np.array(v, np.int64), f"{p}/{hint}")  # noqa: E731
        mm = [f"{p}/patches6", f"{p}/patches_t", f"{p}/patches", f"{p}/proj", f"{p}/proj_b", f"{p}/proj_t"]
        new = [
            helper.make_node("Reshape", [node.input[0], const([0, c, gh, kh, gw, kw], "shape6")], [mm[0]], f"{p}/Reshape6"),
            helper.make_node("Transpose", [mm[0]], [mm[1]], f"{p}/Patches", perm=[0, 2, 4, 1, 3, 5]),
            helper.make_node("Reshape", [mm[1], const([0, gh * gw, c * kh * kw], "shape3")], [mm[2]], f"{p}/Reshape3"),
            helper.make_node("MatMul", [mm[2], g.add_init(np.ascontiguousarray(w.reshape(cout, -1).T), f"{p}/w")],
                             [mm[3]], f"{p}/MatMul"),
        ]
        out = mm[3]
        if len(node.input) > 2 and node.input[2]:
            new.append(helper.make_node("Add", [mm[3], node.input[2]], [mm[4]], f"{p}/Add"))
            out = mm[4]
        new += [helper.make_node("Transpose", [out], [mm[5]], f"{p}/ToChannels", perm=[0, 2, 1]),
                helper.make_node("Reshape", [mm[5], const([0, cout, gh, gw], "shape4")], [node.output[0]], f"{p}/Reshape4")]
        g.replace([node], new, at=node)
    return g.commit()


def use_contrib_ops(proto: Any) -> None:
    """Import ONNX Runtime's com.microsoft operator set into `proto` (once)."""
    if not any(o.domain == "com.microsoft" for o in proto.opset_import):
        proto.opset_import.append(lazy_import("onnx").helper.make_opsetid("com.microsoft", 1))


def prune(proto: Any) -> None:
    """Drop nodes whose outputs nothing reads and initializers no node reads. In place."""
    graph = proto.graph
    wanted = {o.name for o in graph.output}
    kept = []
    for node in reversed(list(graph.node)):
        if any(o in wanted for o in node.output):
            kept.append(node)
            wanted.update(i for i in node.input if i)
    kept.reverse()
    del graph.node[:]
    graph.node.extend(kept)
    inits = [i for i in graph.initializer if i.name in wanted]
    del graph.initializer[:]
    graph.initializer.extend(inits)
