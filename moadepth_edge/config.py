"""Frozen configuration dataclasses, saved beside every artifact (checkpoint, ONNX, engine).

This module imports nothing heavy: the runtime (no torch) reads the same configs.
Every choice the paper leaves open is a field here, with its default documented.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from .config_types import InvalidConfig, at_least, at_most, from_dict, require, validate_tree

__all__ = ["InvalidConfig", "from_dict", "to_dict", "validate_tree", "replace", "get_preset", "PRESETS"]

T = TypeVar("T")

# CLIP's image normalisation (OpenAI and LAION ViT-B/32 share it).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

# NYU Depth V2's Kinect colour camera (Silberman et al. 2012): fx, fy, cx, cy at 640x480. The
# camera of every model trained before the training camera was recorded (CameraCfg).
NYU_INTRINSICS = (518.8579, 519.46961, 325.58245, 253.73617)
NYU_SIZE = (480, 640)  # (height, width)

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

    def validate(self) -> None:
        require(bool(self.model_name.strip()), "model_name", "must not be empty")
        require(self.pretrained is None or bool(self.pretrained.strip()), "pretrained",
                "must be an open_clip tag, a weights file or null, not empty")


@dataclass(frozen=True)
class MoACfg:
    """Mixture-of-Adapters on the residual stream after the listed blocks (0-indexed)."""

    layers: tuple[int, ...] = (2, 5, 8, 11)
    num_experts: int = 4
    bottleneck: int = 64
    router_hidden: int = 128
    tau: float = 2.0

    def validate(self) -> None:
        bad = [i for i in self.layers if i < 0]
        require(not bad, "layers", f"block indices must be >= 0, got {list(self.layers)}")
        require(len(set(self.layers)) == len(self.layers), "layers", f"repeats a block: {list(self.layers)}")
        for name, most in (("num_experts", 64), ("bottleneck", 65536), ("router_hidden", 65536)):
            at_least(self, name, 1)
            at_most(self, name, most)
        at_least(self, "tau", 0, strict=True)


@dataclass(frozen=True)
class BinsCfg:
    """Depth bins of the classification head. spacing: "log" (default) or "linear"."""

    n_bins: int = 128
    min_depth: float = 0.1
    max_depth: float = 10.0
    spacing: Literal["log", "linear"] = "log"

    def validate(self) -> None:
        at_least(self, "n_bins", 2)
        at_most(self, "n_bins", 4096)
        at_least(self, "min_depth", 0, strict=True)
        at_most(self, "max_depth", 1e4)  # metres
        require(self.max_depth > self.min_depth, "max_depth",
                f"must be > min_depth ({self.min_depth:g}), got {self.max_depth!r}")


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

    def validate(self) -> None:
        at_least(self, "hidden", 1)
        at_most(self, "hidden", 65536)


@dataclass(frozen=True)
class ContextCfg:
    """Global context vector: mean of L2-normalised text embeddings of scene prompts."""

    template: str = "a photo of a {}"
    scenes: tuple[str, ...] = NYU_SCENES

    def validate(self) -> None:
        _check_template(self.template, "template", 1)
        require(len(self.scenes) > 0, "scenes", "needs at least one scene")


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

    def validate(self) -> None:
        _check_template(self.template, "template", 2)
        require(len(self.words) > 0, "words", "needs at least one distance word")
        require(len(self.depths) == len(self.words), "depths",
                f"needs one depth per distance word ({len(self.words)}), got {len(self.depths)}")
        require(all(d > 0 for d in self.depths), "depths", f"must all be > 0, got {list(self.depths)}")
        at_least(self, "logit_scale", 0, strict=True)
        at_least(self, "temperature", 0, strict=True)


@dataclass(frozen=True)
class PreprocessCfg:
    """What a model expects of its input; the runtime reads this, never its own constants.

    The model itself takes RGB float in [0, 1], NCHW, at `size`; mean/std are applied inside
    the model (and folded into the patch embedding on export). resize: bilinear, half-pixel
    centres, no antialiasing - the one rule OpenCV, an ONNX graph and TensorRT compute alike
    (formats/preprocess.py is its one implementation).
    """

    size: tuple[int, int] = (224, 224)  # (height, width)
    color: Literal["RGB"] = "RGB"
    layout: Literal["NCHW"] = "NCHW"
    scale: float = 1.0 / 255.0
    resize: Literal["bilinear"] = "bilinear"
    mean: tuple[float, float, float] = CLIP_MEAN
    std: tuple[float, float, float] = CLIP_STD

    def validate(self) -> None:
        require(all(1 <= v <= 8192 for v in self.size), "size",
                f"height and width must be 1..8192, got {list(self.size)}")
        at_least(self, "scale", 0, strict=True)
        require(all(v > 0 for v in self.std), "std", f"must all be > 0, got {list(self.std)}")


@dataclass(frozen=True)
class CameraCfg:
    """The camera a model was trained at: its focal lengths in the model's input pixels (the
    frame's focal through the preprocessing resize, formats/preprocess.py `input_focal`).

    source: where the numbers came from ("nyu-sync data", "canonical: ..."), for reports.
    Depth through another camera is scaled by f_camera / f_training (formats/camera.py).
    """

    fx: float
    fy: float
    source: str = ""

    def validate(self) -> None:
        at_least(self, "fx", 0, strict=True)
        at_least(self, "fy", 0, strict=True)


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
    # the training camera; None: not recorded (models from before it was, presets, zero-shot
    # baselines): NYU's Kinect at the input size is assumed, and reports say so
    camera: CameraCfg | None = None

    def validate(self) -> None:
        require(bool(self.name.strip()), "name", "must not be empty")
        at_least(self, "trainable_blocks", 0)


@dataclass(frozen=True)
class LossCfg:
    """Loss weights (paper: 1.0 CE + 1.0 L1 + 0.5 SILog) and SILog's variance focus."""

    ce: float = 1.0
    l1: float = 1.0
    silog: float = 0.5
    silog_lambda: float = 0.85

    def validate(self) -> None:
        for name in ("ce", "l1", "silog"):
            at_least(self, name, 0)
        require(0 <= self.silog_lambda <= 1, "silog_lambda", f"must be 0..1, got {self.silog_lambda!r}")


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
    # labels scaled to the canonical camera (NYU's Kinect at the model input): depth *
    # f_canonical / f_sample, so data from several cameras trains one model (formats/camera.py)
    canonical_focal: bool = False
    loss: LossCfg = field(default_factory=LossCfg)

    def validate(self) -> None:
        at_least(self, "lr", 0, strict=True)
        for name in ("weight_decay", "epochs", "warmup_steps", "grad_clip", "seed", "num_workers"):
            at_least(self, name, 0)
        for name in ("batch_size", "eval_every"):
            at_least(self, name, 1)
        at_most(self, "epochs", 1_000_000)


# ---------------------------------------------------------------------------------------------
# (de)serialisation: dataclass <-> plain JSON dict; from_dict (config_types) checks every
# value's type against the annotations and calls each config's validate().


def to_dict(cfg: Any) -> dict[str, Any]:
    """A JSON-ready dict of a (nested) config dataclass."""
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def _check_template(template: str, name: str, slots: int) -> None:
    try:
        template.format(*["x"] * slots)
        ok = template.count("{}") == slots
    except (IndexError, KeyError, ValueError):
        ok = False
    require(ok, name, f"must hold exactly {slots} '{{}}' placeholder(s), got {template!r}")


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
