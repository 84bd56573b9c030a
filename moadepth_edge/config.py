"""Frozen configuration dataclasses, saved beside every artifact (checkpoint, ONNX, engine).

This module imports nothing heavy: the runtime (no torch) reads the same configs.
Every choice the paper leaves open is a field here, with its default documented.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Literal, TypeVar

T = TypeVar("T")

# CLIP's image normalisation (OpenAI and LAION ViT-B/32 share it).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

# NYU Depth V2 scene types (the 27 of the official labelled set, merged to readable names).
NYU_SCENES = (
    "basement", "bathroom", "bedroom", "bookstore", "cafe", "classroom", "computer lab",
    "conference room", "dining room", "dinette", "excercise room", "foyer", "furniture store",
    "home office", "home storage", "indoor balcony", "kitchen", "laundry room", "living room",
    "office", "office kitchen", "playroom", "printer room", "reception room", "student lounge",
    "study", "study room",
)


@dataclass(frozen=True)
class ClipCfg:
    """The OpenCLIP backbone.

    model_name: an open_clip architecture ("ViT-B-32", "RN50") or a config registered by
        moadepth_edge.model.clip_encoder (the tiny test towers).
    pretrained: an open_clip pretrained tag ("openai", "laion2b_s34b_b79k"), a local weights
        file, or None for random init. Only used when a model is first built, never on load.
    quick_gelu: OpenAI's weights were trained with QuickGELU; LAION's with GELU.
    """

    model_name: str = "ViT-B-32"
    pretrained: str | None = "openai"
    quick_gelu: bool = True


@dataclass(frozen=True)
class MoACfg:
    """Mixture-of-Adapters on the residual stream after the listed blocks (0-indexed)."""

    layers: tuple[int, ...] = (2, 5, 8, 11)
    num_experts: int = 4
    bottleneck: int = 64
    router_hidden: int = 128
    tau: float = 2.0


@dataclass(frozen=True)
class BinsCfg:
    """Depth bins of the classification head. spacing: "log" (default) or "linear"."""

    n_bins: int = 128
    min_depth: float = 0.1
    max_depth: float = 10.0
    spacing: Literal["log", "linear"] = "log"


@dataclass(frozen=True)
class HeadCfg:
    """Hybrid head on the token grid.

    fusion: "gate" (learned per-pixel sigmoid gate between bin depth and regressed depth)
        or "mean" (their average).
    upsampler: "bilinear" (the 1-channel depth is upsampled to the input size, as the
        authors' earlier code does). Bin softmax, expectation and fusion run on the token grid.
    """

    hidden: int = 256
    fusion: Literal["gate", "mean"] = "gate"
    upsampler: Literal["bilinear"] = "bilinear"


@dataclass(frozen=True)
class ContextCfg:
    """Global context vector: mean of L2-normalised text embeddings of scene prompts."""

    template: str = "a photo of a {}"
    scenes: tuple[str, ...] = NYU_SCENES


@dataclass(frozen=True)
class DepthCLIPCfg:
    """Zero-shot DepthCLIP baseline (Zhang et al. 2022)."""

    template: str = "This {} is {}"
    object_name: str = "object"
    words: tuple[str, ...] = (
        "giant", "extremely close", "close", "not in distance", "a little remote", "far", "unseen",
    )
    depths: tuple[float, ...] = (1.00, 1.50, 2.00, 2.25, 2.50, 2.75, 3.00)
    logit_scale: float = 100.0
    temperature: float = 0.1


@dataclass(frozen=True)
class PreprocessCfg:
    """What a model expects of its input; the runtime reads this, never its own constants.

    The model itself takes RGB float in [0, 1], NCHW, at `size`; mean/std are applied inside
    the model (and folded into the patch embedding on export).
    """

    size: tuple[int, int] = (224, 224)  # (height, width)
    color: Literal["RGB"] = "RGB"
    layout: Literal["NCHW"] = "NCHW"
    scale: float = 1.0 / 255.0
    resize: Literal["bilinear", "area"] = "bilinear"
    mean: tuple[float, float, float] = CLIP_MEAN
    std: tuple[float, float, float] = CLIP_STD


@dataclass(frozen=True)
class ModelCfg:
    """A whole depth model. kind: "moa" (MoA-DepthCLIP) or "depthclip" (zero-shot baseline)."""

    name: str = "moadepth-vitb32"
    kind: Literal["moa", "depthclip"] = "moa"
    clip: ClipCfg = field(default_factory=ClipCfg)
    moa: MoACfg = field(default_factory=MoACfg)
    bins: BinsCfg = field(default_factory=BinsCfg)
    head: HeadCfg = field(default_factory=HeadCfg)
    context: ContextCfg = field(default_factory=ContextCfg)
    depthclip: DepthCLIPCfg = field(default_factory=DepthCLIPCfg)
    preprocess: PreprocessCfg = field(default_factory=PreprocessCfg)
    trainable_blocks: int = 4  # the last N transformer blocks train; the rest is frozen

    @property
    def image_size(self) -> tuple[int, int]:
        return self.preprocess.size


@dataclass(frozen=True)
class LossCfg:
    """Loss weights (paper: 1.0 CE + 1.0 L1 + 0.5 SILog) and SILog's variance focus."""

    ce: float = 1.0
    l1: float = 1.0
    silog: float = 0.5
    silog_lambda: float = 0.85


@dataclass(frozen=True)
class TrainCfg:
    """Optimisation (paper: AdamW, lr 1e-5 constant, wd 1e-4, 30 epochs, batch 8)."""

    lr: float = 1e-5
    weight_decay: float = 1e-4
    epochs: int = 30
    batch_size: int = 8
    schedule: Literal["constant", "cosine", "onecycle"] = "constant"
    warmup_steps: int = 0
    grad_clip: float = 1.0
    amp: bool = True  # mixed precision where the device supports it (CUDA)
    eval_every: int = 1  # epochs
    seed: int = 0
    num_workers: int = 2
    loss: LossCfg = field(default_factory=LossCfg)


# ---------------------------------------------------------------------------------------------
# (de)serialisation: dataclass <-> plain JSON dict, tuples restored from lists.


def to_dict(cfg: Any) -> dict[str, Any]:
    """A JSON-ready dict of a (nested) config dataclass."""
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild a config dataclass from `to_dict` output; unknown keys are an error."""
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - set(known)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
    kwargs = {}
    hints = _resolved_types(cls)
    for name, value in data.items():
        kwargs[name] = _coerce(hints[name], value)
    return cls(**kwargs)


def _resolved_types(cls: type) -> dict[str, Any]:
    import typing

    return typing.get_type_hints(cls)


def _coerce(tp: Any, value: Any) -> Any:
    import typing

    if is_dataclass(tp) and isinstance(value, dict):
        return from_dict(tp, value)
    origin = typing.get_origin(tp)
    if origin is tuple and isinstance(value, (list, tuple)):
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v) for v in value)
        return tuple(_coerce(a, v) for a, v in zip(args, value))
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        for arg in typing.get_args(tp):
            if arg is type(None) and value is None:
                return None
            if is_dataclass(arg) and isinstance(value, dict):
                return from_dict(arg, value)
        return value
    return value


def replace(cfg: T, **changes: Any) -> T:
    """dataclasses.replace, re-exported for convenience."""
    return dataclasses.replace(cfg, **changes)  # type: ignore[type-var]


# ---------------------------------------------------------------------------------------------
# presets

_TINY_CLIP = ClipCfg(model_name="moadepth-tiny-vit", pretrained=None, quick_gelu=False)


def _presets() -> dict[str, ModelCfg]:
    tiny_moa = MoACfg(layers=(1, 3), num_experts=4, bottleneck=8, router_hidden=16, tau=2.0)
    tiny = ModelCfg(
        name="moadepth-tiny",
        clip=_TINY_CLIP,
        moa=tiny_moa,
        bins=BinsCfg(n_bins=32),
        head=HeadCfg(hidden=32),
        context=ContextCfg(scenes=("kitchen", "bedroom", "office")),
        preprocess=PreprocessCfg(size=(64, 64)),
        trainable_blocks=2,
    )
    return {
        # the paper's model: OpenCLIP ViT-B/32, OpenAI weights
        "moadepth-vitb32": ModelCfg(),
        # zero-shot baselines
        "depthclip-vitb32": ModelCfg(name="depthclip-vitb32", kind="depthclip"),
        "depthclip-rn50": ModelCfg(
            name="depthclip-rn50", kind="depthclip",
            clip=ClipCfg(model_name="RN50", pretrained="openai", quick_gelu=True),
        ),
        # tiny towers for tests and the CPU demo (4 layers, width 64, patch 32)
        "moadepth-tiny": tiny,
        "moadepth-tiny-224": replace(tiny, name="moadepth-tiny-224",
                                     preprocess=PreprocessCfg(size=(224, 224))),
        "depthclip-tiny": replace(tiny, name="depthclip-tiny", kind="depthclip"),
    }


PRESETS: dict[str, ModelCfg] = _presets()


def get_preset(name: str) -> ModelCfg:
    """A named ModelCfg preset; raises KeyError listing the known names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; known: {', '.join(sorted(PRESETS))}") from None
