"""Every tensorrt / CUDA runtime name our code uses exists in the real bindings.

The surfaces in scripts/trt_api/ were extracted from the TensorRT 10.3.0 and 11.4.0.106
bindings wheels and from cuda-python by scripts/check_trt_api.py (which regenerates them and
runs this file). Our source is scanned with `ast`:
- `trt.A` / `trt.A.B` anywhere in the TensorRT modules;
- `x.m` where `x` is annotated `trt.Cls` (parameter, local or `self.x` annotation) -> `Cls.m`;
- `self.rt.NAME` in the CUDA module -> the cuda-python runtime surface.
Names in trt_compat.VERSION_SPECIFIC must exist exactly in the majors they are declared for;
every other name must exist in both.
"""
from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

from moadepth_edge.export.trt_compat import (
    PRECISIONS, VERSION_SPECIFIC, OnnxFacts, caps_for, parse_version, precision_plan,
)
from moadepth_edge.errors import UserError

REPO = Path(__file__).resolve().parents[2]
API = REPO / "scripts" / "trt_api"
TRT_SURFACES = {"10.3.0": API / "tensorrt-10.3.0.txt", "11.4.0.106": API / "tensorrt-11.4.0.106.txt"}
CUDA_SURFACES = [API / "cuda-python-12.2.1-cudart.txt", API / "cuda-bindings-12.9.10-runtime.txt"]
TRT_MODULES = ["moadepth_edge/export/tensorrt.py", "moadepth_edge/runtime/backends/tensorrt.py"]
CUDA_MODULE = "moadepth_edge/runtime/cuda_api.py"


def load_surface(path: Path) -> set[str]:
    return {line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")}


def _chain(node: ast.AST) -> list[str] | None:
    """['trt', 'BuilderFlag', 'FP16'] for trt.BuilderFlag.FP16; None for non-name roots."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return None


def _annotated_class(annotation: ast.AST | None, alias: str) -> str | None:
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        annotation = ast.parse(annotation.value, mode="eval").body
    chain = _chain(annotation) if annotation is not None else None
    return chain[1] if chain and len(chain) == 2 and chain[0] == alias else None


def used_trt_names(source: str, alias: str = "trt") -> set[str]:
    """Qualified tensorrt names (`Cls`, `Cls.member`) a module's source uses."""
    tree = ast.parse(source)
    used: set[str] = set()
    self_types: dict[str, str] = {}  # `self.x: trt.Cls` anywhere in the module
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign) and (cls := _annotated_class(node.annotation, alias)):
            chain = _chain(node.target)
            if chain and chain[0] == "self" and len(chain) == 2:
                self_types[chain[1]] = cls
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    for fn in [tree, *functions]:
        local: dict[str, str] = {}
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for arg in [*fn.args.args, *fn.args.kwonlyargs]:
                if cls := _annotated_class(arg.annotation, alias):
                    local[arg.arg] = cls
        body = list(ast.walk(fn))
        for node in body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                if cls := _annotated_class(node.annotation, alias):
                    local[node.target.id] = cls
        for node in body:
            chain = _chain(node) if isinstance(node, ast.Attribute) else None
            if not chain:
                continue
            if chain[0] == alias:
                used.add(".".join(chain[1:3]))
            elif chain[0] in local:
                used.add(f"{local[chain[0]]}.{chain[1]}")
            elif chain[0] == "self" and len(chain) > 2 and chain[1] in self_types:
                used.add(f"{self_types[chain[1]]}.{chain[2]}")
    for node in ast.walk(tree):  # annotation strings name classes too
        if isinstance(node, ast.arg) and (cls := _annotated_class(node.annotation, alias)):
            used.add(cls)
    return used


def used_cudart_names(source: str) -> set[str]:
    used = set()
    for node in ast.walk(ast.parse(source)):
        chain = _chain(node) if isinstance(node, ast.Attribute) else None
        if chain and chain[:2] == ["self", "rt"] and len(chain) > 2:
            used.add(".".join(chain[2:4]))
    return used


def surface_problems(used: set[str], surfaces: dict[str, set[str]], specific: dict) -> list[str]:
    """Each used name missing where it should exist, or present where declared absent."""
    problems = []
    for name in sorted(used):
        for version, names in surfaces.items():
            major = parse_version(version)[0]
            first, last = specific.get(name, (0, None))
            expected = first <= major and (last is None or major <= last)
            if expected and name not in names:
                problems.append(f"{name} is missing from TensorRT {version}")
            if name in specific and not expected and name in names:
                problems.append(f"{name} is declared absent from TensorRT {version} but exists")
    return problems


@pytest.fixture(scope="module")
def trt_surfaces() -> dict[str, set[str]]:
    return {v: load_surface(p) for v, p in TRT_SURFACES.items()}


def test_every_tensorrt_name_we_use_exists_in_10_3_and_11_4(trt_surfaces):
    used = set().union(*(used_trt_names((REPO / m).read_text()) for m in TRT_MODULES))
    # the scan really sees the code (guards against a scanner that finds nothing)
    assert {"Builder.build_serialized_network", "IExecutionContext.execute_async_v3",
            "IExecutionContext.set_tensor_address", "ICudaEngine.get_tensor_profile_shape",
            "Runtime.deserialize_cuda_engine", "IBuilderConfig.set_memory_pool_limit",
            "OnnxParser.parse_from_file", "ILayer.set_output_type"} <= used
    assert surface_problems(used, trt_surfaces, VERSION_SPECIFIC) == []


def test_version_specific_declarations_match_the_bindings(trt_surfaces):
    assert surface_problems(set(VERSION_SPECIFIC), trt_surfaces, VERSION_SPECIFIC) == []


def test_an_unguarded_10_only_name_is_reported(trt_surfaces):
    source = "def f(config: 'trt.IBuilderConfig'):\n    config.set_flag(trt.BuilderFlag.FP16)\n"
    used = used_trt_names(source)
    assert {"IBuilderConfig.set_flag", "BuilderFlag.FP16"} <= used
    assert surface_problems(used, trt_surfaces, {}) == ["BuilderFlag.FP16 is missing from TensorRT 11.4.0.106"]


def test_every_precision_plan_names_real_flags(trt_surfaces):
    facts = [OnnxFacts(q, h) for q, h in itertools.product((False, True), repeat=2)]
    for version, names in trt_surfaces.items():
        caps = caps_for(version)
        for precision, fact, dla in itertools.product(PRECISIONS, facts, (False, True)):
            try:
                plan = precision_plan(caps, precision, fact, dla)
            except UserError:
                continue
            wanted = ([f"NetworkDefinitionCreationFlag.{f}" for f in plan.network_flags]
                      + [f"BuilderFlag.{f}" for f in plan.flags + plan.clear_flags]
                      + [f"LayerType.{t}" for t in plan.fp32_layers])
            assert [w for w in wanted if w not in names] == [], (version, precision, fact, dla)
        for level in ("none", "ampere_plus", "same_compute_capability"):
            try:
                assert f"HardwareCompatibilityLevel.{caps.hardware_level_name(level)}" in names
            except UserError:
                assert caps.major == 10 and level == "same_compute_capability"


def test_every_cuda_runtime_name_we_use_exists_in_cuda_python():
    used = used_cudart_names((REPO / CUDA_MODULE).read_text())
    assert {"cudaMallocHost", "cudaMemcpyAsync", "cudaStreamBeginCapture", "cudaGraphLaunch"} <= used
    for path in CUDA_SURFACES:
        names = load_surface(path)
        assert sorted(n for n in used if n not in names) == [], path.name
