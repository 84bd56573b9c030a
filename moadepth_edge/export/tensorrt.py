"""Build a TensorRT engine from an exported ONNX model, in small chained steps (as Polygraphy):

    inspect_onnx -> precision_plan (trt_compat) -> create_network + parse_onnx -> pin_fp32
    -> create_config (flags, workspace, DLA, compatibility) -> add_profile -> timing cache
    -> build_serialized -> write_engine (header + plan)

Each TensorRT-touching step is a few lines of documented API (TensorRT 10.3 and 11.x); every
decision lives in pure functions (trt_compat, trt_profile, `check_options`) that are tested on
machines without a GPU. The 10 <-> 11 differences are decided in trt_compat only.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .._lazy import lazy_import
from ..formats.artifact import ModelArtifact, read_artifact
from ..errors import MissingDependency, UserError
from ..formats.engine_file import EngineHeader, write_engine
from .trt_compat import HardwareCompat, OnnxFacts, PrecisionPlan, TrtCaps, caps_for, precision_plan
from ..formats.profile import DimRange
from .trt_profile import ShapeProfile, profile_shapes

if TYPE_CHECKING:
    import tensorrt as trt

    from ..runtime.cuda_api import DeviceInfo

INSTALL_HINT = ("TensorRT is not installed: pip install 'moadepth-edge[trt]' on a desktop GPU; "
                "on Jetson use JetPack's TensorRT (sudo apt install python3-libnvinfer) with Python 3.10")


@dataclass(frozen=True)
class BuildOptions:
    """Everything `moadepth-edge build` can set; None means "from the model / TensorRT default"."""

    precision: str | None = None  # fp32 / fp16 / int8 / best; None: the ONNX's own precision
    batch: DimRange | None = None
    height: DimRange | None = None
    width: DimRange | None = None
    workspace_mb: int | None = None
    timing_cache: Path | None = None
    dla_core: int | None = None
    version_compatible: bool = False
    hardware_compat: HardwareCompat = "none"
    raw: bool = False
    device: int = 0
    verbose: bool = False


@dataclass(frozen=True)
class OnnxModel:
    """What the builder reads from the ONNX file before TensorRT sees it."""

    path: Path
    sha256: str
    artifact: ModelArtifact
    input_name: str
    input_dims: tuple[int | None, ...]
    facts: OnnxFacts

    @property
    def layout(self) -> str:
        return "NHWC" if self.artifact.input_kind == "frame" else "NCHW"


def inspect_onnx(path: str | Path) -> OnnxModel:
    """Input, metadata and quantization/FP16 facts of an exported model (weights not loaded)."""
    onnx = lazy_import("onnx")
    path = Path(path)
    artifact = read_artifact(path)  # missing, empty, foreign or mislabelled: one line
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError and friends
        raise UserError(f"{path.name} is not a readable ONNX model: {exc}") from None
    graph, fp16 = model.graph, onnx.TensorProto.FLOAT16
    weights = {init.name for init in graph.initializer}
    inputs = [i for i in graph.input if i.name not in weights]
    if len(inputs) != 1:
        raise UserError(f"{path.name} has {len(inputs)} inputs; a depth model takes one")
    dims = tuple(d.dim_value if d.HasField("dim_value") else None
                 for d in inputs[0].type.tensor_type.shape.dim)
    artifact.check_graph_input(dims, path.name)
    int8 = artifact.extra.get("int8") or {}
    if int8.get("tensorrt") is False:  # uint8 Q/DQ or ONNX Runtime's CPU form (export/quantize_cpu.py)
        raise UserError(f"{path.name} is INT8 for ONNX Runtime on a CPU ({int8.get('activations')} activations); "
                        "TensorRT takes the symmetric Q/DQ file: export with --precision int8 "
                        "--int8-activations symmetric")
    ops = {node.op_type for node in graph.node}
    casts_fp16 = any(node.op_type == "Cast" and any(a.name == "to" and a.i == fp16 for a in node.attribute)
                     for node in graph.node)
    facts = OnnxFacts(
        has_qdq=bool(ops & {"QuantizeLinear", "DequantizeLinear"}),
        has_fp16=casts_fp16 or any(init.data_type == fp16 for init in graph.initializer),
    )
    return OnnxModel(path, file_sha256(path), artifact, inputs[0].name, dims, facts)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_options(opts: BuildOptions, device: "DeviceInfo", caps: TrtCaps) -> None:
    """UserError for options this GPU / TensorRT cannot honour (pure; before any building)."""
    if opts.hardware_compat != "none":
        caps.hardware_level_name(opts.hardware_compat)
        if device.integrated:
            raise UserError("hardware-compatible engines are not supported on Jetson; drop --hardware-compat")
        if device.compute_capability < (8, 0):
            raise UserError(f"hardware compatibility needs an Ampere or newer GPU to build on; "
                            f"{device.name} is sm_{''.join(map(str, device.compute_capability))}")
    if opts.workspace_mb is not None and opts.workspace_mb <= 0:
        raise UserError(f"--workspace must be a positive number of MiB, got {opts.workspace_mb}")
    if opts.dla_core is not None and opts.dla_core < 0:
        raise UserError(f"--dla-core must be 0 or more, got {opts.dla_core}")


def check_dla(dla_core: int | None, num_cores: int) -> None:
    """UserError when the requested DLA core does not exist on this device."""
    if dla_core is not None and dla_core >= num_cores:
        where = "this device has no DLA (Jetson Orin Nano and desktop GPUs have none)" if num_cores == 0 \
            else f"this device has {num_cores} DLA core(s)"
        raise UserError(f"--dla-core {dla_core}: {where}")


# -- TensorRT steps ----------------------------------------------------------------------------

def import_tensorrt() -> Any:
    """The tensorrt module, or MissingDependency with a one-line install hint."""
    try:
        return lazy_import("tensorrt")
    except MissingDependency:
        raise MissingDependency(INSTALL_HINT) from None


def create_network(trt: Any, builder: "trt.Builder", plan: PrecisionPlan) -> "trt.INetworkDefinition":
    flags = 0
    for name in plan.network_flags:
        flags |= 1 << int(getattr(trt.NetworkDefinitionCreationFlag, name))
    return builder.create_network(flags)


def parse_onnx(trt: Any, network: "trt.INetworkDefinition", path: Path, logger: "trt.ILogger") -> "trt.OnnxParser":
    """Parse the file (external weights are found beside it); keep the parser alive until built."""
    parser: trt.OnnxParser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(path)):
        detail = "no error reported"
        if parser.num_errors:
            first: trt.ParserError = parser.get_error(0)
            detail = f"first of {parser.num_errors}: node {first.node_name()!r}: {first.desc()}"
        raise UserError(f"TensorRT cannot parse {path.name} ({detail})")
    return parser


def pin_fp32(trt: Any, network: "trt.INetworkDefinition", layer_types: tuple[str, ...]) -> int:
    """Keep these layer types (LayerNorm) in FP32 under weak typing; returns how many were pinned."""
    wanted = {getattr(trt.LayerType, name) for name in layer_types}
    pinned = 0
    for i in range(network.num_layers):
        layer: trt.ILayer = network.get_layer(i)
        if layer.type in wanted:
            layer.precision = trt.float32
            for j in range(layer.num_outputs):
                layer.set_output_type(j, trt.float32)
            pinned += 1
    return pinned


def create_config(trt: Any, builder: "trt.Builder", plan: PrecisionPlan, opts: BuildOptions,
                  caps: TrtCaps) -> "trt.IBuilderConfig":
    config: trt.IBuilderConfig = builder.create_builder_config()
    for name in plan.flags:
        config.set_flag(getattr(trt.BuilderFlag, name))
    for name in plan.clear_flags:
        config.clear_flag(getattr(trt.BuilderFlag, name))
    if opts.workspace_mb:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(opts.workspace_mb) << 20)
    if opts.dla_core is not None:
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = int(opts.dla_core)  # GPU_FALLBACK comes with the precision plan
    if opts.version_compatible:
        config.set_flag(trt.BuilderFlag.VERSION_COMPATIBLE)
    if opts.hardware_compat != "none":
        level = caps.hardware_level_name(opts.hardware_compat)
        config.hardware_compatibility_level = getattr(trt.HardwareCompatibilityLevel, level)
    return config


def add_profile(builder: "trt.Builder", config: "trt.IBuilderConfig", name: str, shapes: ShapeProfile) -> None:
    profile: trt.IOptimizationProfile = builder.create_optimization_profile()
    profile.set_shape(name, shapes.min, shapes.opt, shapes.max)
    config.add_optimization_profile(profile)


def attach_timing_cache(config: "trt.IBuilderConfig", path: Path | None) -> bool:
    """Start from the cache file when it exists; False when it was unusable and a fresh one is used."""
    data = path.read_bytes() if path is not None and path.is_file() else b""
    cache: trt.ITimingCache = config.create_timing_cache(data)
    if cache is not None and config.set_timing_cache(cache, False):
        return True
    config.set_timing_cache(config.create_timing_cache(b""), False)  # another GPU's or a corrupt file
    return False


def save_timing_cache(config: "trt.IBuilderConfig", path: Path | None) -> None:
    if path is None:
        return
    cache: trt.ITimingCache = config.get_timing_cache()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(memoryview(cache.serialize()))
    tmp.replace(path)


def io_description(trt: Any, network: "trt.INetworkDefinition") -> dict[str, dict[str, Any]]:
    """name -> {mode, dtype, shape} of the parsed network's inputs and outputs (-1: dynamic)."""
    out: dict[str, dict[str, Any]] = {}
    for mode, count, get in (("input", network.num_inputs, network.get_input),
                             ("output", network.num_outputs, network.get_output)):
        for i in range(count):
            tensor: trt.ITensor = get(i)
            out[tensor.name] = {"mode": mode, "shape": list(tensor.shape),
                                "dtype": _dtype_name(trt, tensor.dtype)}
    return out


def build_engine(onnx_path: str | Path, out_path: str | Path, opts: BuildOptions,
                 step: Callable[[str], None] = lambda msg: None) -> EngineHeader:
    """Build `onnx_path` into `out_path` (header + plan); `step` hears each stage's name."""
    from ..runtime.cuda_api import load_cuda

    trt = import_tensorrt()
    step("reading the ONNX model")
    model = inspect_onnx(onnx_path)
    caps = caps_for(trt.__version__)
    cuda = load_cuda()
    device = cuda.device_info(opts.device)
    check_options(opts, device, caps)
    plan = precision_plan(caps, opts.precision or model.artifact.precision, model.facts, opts.dla_core is not None)
    shapes, notes = profile_shapes(model.input_dims, model.layout, opts.batch, opts.height, opts.width)
    for note in [*notes, f"precision {plan.precision}: {plan.note}"]:
        step(note)

    cuda.set_device(opts.device)
    logger = trt.Logger(trt.Logger.VERBOSE if opts.verbose else trt.Logger.WARNING)
    builder: trt.Builder = trt.Builder(logger)
    check_dla(opts.dla_core, int(builder.num_DLA_cores))
    step("parsing the network")
    network = create_network(trt, builder, plan)
    parser = parse_onnx(trt, network, model.path, logger)  # owns the weights: alive until built
    pin_fp32(trt, network, plan.fp32_layers)
    config = create_config(trt, builder, plan, opts, caps)
    add_profile(builder, config, model.input_name, shapes)
    if not attach_timing_cache(config, opts.timing_cache):
        step(f"timing cache {opts.timing_cache} is from another GPU/TensorRT or corrupt; starting a new one")
    step("building the engine (minutes on a Jetson)")
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise UserError(f"TensorRT could not build {model.path.name}; rerun with --verbose for its log")
    save_timing_cache(config, opts.timing_cache)

    header = EngineHeader(
        tensorrt_version=trt.__version__, cuda_version=device.cuda_version, gpu_name=device.name,
        compute_capability=device.compute_capability, precision=plan.precision,
        artifact=model.artifact, onnx_sha256=model.sha256, onnx_name=model.path.name,
        requested_precision=opts.precision or model.artifact.precision,
        integrated_gpu=device.integrated, dla_core=opts.dla_core,
        version_compatible=opts.version_compatible, hardware_compat=opts.hardware_compat,
        io=io_description(trt, network), profile={model.input_name: shapes.to_dict()},
    )
    step("writing the engine")
    write_engine(out_path, header, memoryview(serialized), raw=opts.raw)
    del parser
    return header


def _dtype_name(trt: Any, dtype: Any) -> str:
    try:
        import numpy as np

        return np.dtype(trt.nptype(dtype)).name
    except TypeError:  # bf16 / fp8 have no numpy type
        return str(dtype).split(".")[-1].lower()
