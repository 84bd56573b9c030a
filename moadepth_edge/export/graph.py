"""Small ONNX graph utilities shared by the exporter, the FP16 converter and the quantizer."""
from __future__ import annotations

import re
from typing import Any

_SCOPES_KEY = "pkg.torch.onnx.name_scopes"


def module_scope(node: Any) -> tuple[str, ...]:
    """The PyTorch module path a node came from, as parts: ("moa", "1", "fc1", ...).

    The TorchScript exporter writes it into the node name ("/moa.1/fc1/MatMul"); the dynamo
    exporter into the node's metadata (a list of dotted scopes, deepest last).
    """
    for prop in node.metadata_props:
        if prop.key == _SCOPES_KEY:
            scopes = re.findall(r"'([^']*)'", prop.value)
            deepest = scopes[-2] if len(scopes) >= 2 else ""
            return tuple(p for p in deepest.split(".") if p)
    parts = [p for p in re.split(r"[./]", node.name) if p]
    return tuple(parts[:-1])


def constant_names(graph: Any) -> set[str]:
    """Initializers and Constant-node outputs of a graph."""
    names = {i.name for i in graph.initializer}
    return names | {o for n in graph.node if n.op_type == "Constant" for o in n.output}


def inline_identity_initializers(graph: Any) -> None:
    """Feed initializers straight to their consumers where the exporter put an Identity
    in between (it deduplicates equal initializers that way), so a Gemm's bias is seen as
    constant by the quantizer. In place."""
    inits = {i.name for i in graph.initializer}
    outputs = {o.name for o in graph.output}
    alias = {n.output[0]: n.input[0] for n in graph.node
             if n.op_type == "Identity" and n.input[0] in inits and n.output[0] not in outputs}
    if not alias:
        return
    kept = [n for n in graph.node if not (n.op_type == "Identity" and n.output[0] in alias)]
    for node in kept:
        for i, name in enumerate(node.input):
            if name in alias:
                node.input[i] = alias[name]
    del graph.node[:]
    graph.node.extend(kept)
