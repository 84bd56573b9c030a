"""nn.MultiheadAttention as one ONNX Runtime Attention node (the CPU INT8 graph).

PyTorch exports each attention block as ~60 small nodes: shape arithmetic, the head split and
merge transposes, the q/k scaling, two batched MatMuls and a Softmax; on a CPU their dispatch
and memory traffic cost as much as the attention arithmetic. Here each block becomes

    x -> com.microsoft.Attention(W_in, b_in) -> MatMul(W_out) -> Add(b_out)

(one kernel projects to q, k and v, adds the bias, splits the heads, scales, softmaxes and
merges; the quantizer turns it into one QAttention, whose input projection is an integer
GEMM: measured 4% faster than a quantized MatMul, a Split and a MultiHeadAttention node,
benchmarks/cpu-amd-epyc/int8_candidates.txt). Blocks are found by structure, from each Softmax, not
by node names (the ONNX optimizer renames nodes): the scores' MatMul before it, the values'
MatMul after it, the projection with a constant [D, 3D] weight that q, k and v come from, and
the constant [D, D] projection the heads go into. Anything else (a mask, another scale, an
extra op) leaves the block as it is; quantize_cpu checks the rewritten graph numerically.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._lazy import lazy_import
from .cpu_graph import Graph, attrs, linear, shapes, use_contrib_ops

# ops between the projections and the products: layout, head split, shape arithmetic, scaling
_GLUE = {"Transpose", "Reshape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Slice", "Mul", "Div",
         "Sqrt", "Cast", "Mod", "Add", "Split", "Identity", "Shape", "Constant"}
_SWAP_01 = [1, 0, 2]


@dataclass
class _Block:
    x: str            # block input, (batch, seq, D) when batch_first else (seq, batch, D)
    y: str            # block output, same layout
    heads: int
    w_in: np.ndarray  # [D, 3D]
    b_in: np.ndarray  # [3D]
    w_out: np.ndarray  # [D, D]
    b_out: np.ndarray | None
    batch_first: bool
    softmax: str      # the Softmax output this block replaces


def _is_weight_matmul(g: Graph, node: Any) -> bool:
    return node.op_type in ("MatMul", "Gemm") and g.array(node.input[1]) is not None


def _data_users(g: Graph, tensor: str) -> list[Any]:
    """Readers of `tensor` other than Shape (which reads only its dimensions)."""
    return [c for c in g.consumers.get(tensor, []) if c.op_type != "Shape"]


def _input_projection(g: Graph, starts: list[str]) -> Any | None:
    """The one constant-weight MatMul/Gemm that the tensors `starts` are computed from through
    glue ops (Shape stops the walk: it reads no values); None if not exactly one."""
    found, seen, todo = [], set(), list(starts)
    while todo:
        node = g.producer.get(todo.pop())
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if _is_weight_matmul(g, node):
            found.append(node)
        elif node.op_type == "Shape":
            continue
        elif node.op_type not in _GLUE:
            return None
        else:
            todo += [i for i in node.input if i and i not in g.constants]
    return found[0] if len(found) == 1 else None


def _match(g: Graph, softmax: Any, known: dict[str, list[Any]]) -> _Block | None:
    qk = g.producer.get(softmax.input[0])
    after = _data_users(g, softmax.output[0])
    if qk is None or qk.op_type != "MatMul" or len(after) != 1 or after[0].op_type != "MatMul":
        return None
    av = after[0]
    if g.array(qk.input[1]) is not None or g.array(av.input[1]) is not None or av.input[0] != softmax.output[0]:
        return None
    if attrs(softmax).get("axis", -1) not in (-1, 3):
        return None
    scores = known.get(softmax.input[0], [])
    heads = scores[1] if len(scores) == 4 and isinstance(scores[1], int) else 0
    proj_in = _input_projection(g, [qk.input[0], qk.input[1], av.input[1]])
    # forward: heads merged back by Transpose/Reshape, then the output projection
    t, node = av.output[0], None
    while True:
        users = _data_users(g, t)
        if len(users) != 1:
            return None
        node = users[0]
        if _is_weight_matmul(g, node) or node.op_type not in ("Transpose", "Reshape"):
            break
        t = node.output[0]
    lin_in = linear(g, proj_in) if proj_in is not None else None
    lin_out = linear(g, node) if _is_weight_matmul(g, node) else None
    if lin_in is None or lin_out is None or lin_in[1] is None:
        return None
    (w_in, b_in, _), (w_out, b_out, out_node) = lin_in, lin_out
    d = w_out.shape[0]
    if w_in.shape != (d, 3 * d) or w_out.shape != (d, d) or not heads or d % heads:
        return None
    # the block's output: after the projection, the sequence-first result is reshaped to 3-D
    # and, for a batch-first module, transposed back
    y, tail = out_node.output[0], []
    while len(users := _data_users(g, y)) == 1 and users[0].op_type in ("Reshape", "Transpose"):
        tail.append(users[0])
        y = users[0].output[0]
    x_in = proj_in.input[0]
    x_node = g.producer.get(x_in)
    swap_in = x_node is not None and x_node.op_type == "Transpose" and attrs(x_node).get("perm") == _SWAP_01
    swap_out = bool(tail) and tail[-1].op_type == "Transpose" and attrs(tail[-1]).get("perm") == _SWAP_01
    if swap_in != swap_out:
        return None
    x = x_node.input[0] if swap_in else x_in
    return _Block(x, y, heads, w_in, g.array(b_in), w_out, g.array(b_out) if b_out else None,
                  batch_first=swap_in, softmax=softmax.output[0])


def fuse_attention(proto: Any, known: dict[str, list[Any]] | None = None) -> int:
    """Replace every matching attention block of `proto` (in place); returns how many.
    `known`: tensor shapes (cpu_graph.shapes), inferred here when not given."""
    onnx = lazy_import("onnx")
    known = shapes(proto) if known is None else known
    original = proto.SerializeToString()
    skip: set[str] = set()
    for _ in range(2):  # a second pass leaves out blocks whose old nodes something else still reads
        g = Graph(proto)
        blocks = [b for n in g.nodes if n.op_type == "Softmax" and (b := _match(g, n, known)) and b.softmax not in skip]
        for i, block in enumerate(blocks):
            g.replace([g.producer[block.y]], _nodes(g, block, f"/attention.{i}"), at=g.producer[block.y])
            proto.graph.value_info.append(  # typed, so the quantizer reads a type past this node
                onnx.helper.make_tensor_value_info(f"/attention.{i}/heads", onnx.TensorProto.FLOAT, None))
        done = g.commit()
        alive = {b.softmax for b in blocks} & {o for n in proto.graph.node for o in n.output}
        if not alive:
            break
        skip |= alive
        proto.ParseFromString(original)
    else:
        return 0
    if done:
        use_contrib_ops(proto)
    return done


def _nodes(g: Graph, b: _Block, p: str) -> list[Any]:
    """The replacement nodes computing `b.y` from `b.x`; names under the prefix `p`."""
    helper = lazy_import("onnx").helper
    new, x = [], b.x
    if not b.batch_first:  # Attention takes (batch, sequence, hidden)
        new.append(helper.make_node("Transpose", [x], [f"{p}/x"], f"{p}/ToBatchFirst", perm=_SWAP_01))
        x = f"{p}/x"
    new += [
        helper.make_node("Attention", [x, g.add_init(b.w_in, f"{p}/in_proj.weight"),
                                       g.add_init(b.b_in, f"{p}/in_proj.bias")],
                         [f"{p}/heads"], f"{p}/Attention", domain="com.microsoft", num_heads=b.heads),
        helper.make_node("MatMul", [f"{p}/heads", g.add_init(b.w_out, f"{p}/out_proj.weight")], [f"{p}/proj"],
                         f"{p}/out_proj/MatMul"),
    ]
    out = f"{p}/proj"
    if b.b_out is not None:
        new.append(helper.make_node("Add", [out, g.add_init(b.b_out, f"{p}/out_proj.bias")], [f"{p}/proj_b"],
                                    f"{p}/out_proj/Add"))
        out = f"{p}/proj_b"
    if not b.batch_first:
        new.append(helper.make_node("Transpose", [out], [f"{p}/y"], f"{p}/ToSequenceFirst", perm=_SWAP_01))
    new[-1].output[0] = b.y
    return new
