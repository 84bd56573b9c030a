"""Metric scale across cameras (the canonical-camera rule of Metric3D and Depth Anything 3).

A model trained through one lens predicts the depth that lens would see: an object spanning p
pixels of focal f is f·S/p metres away. Through a camera of focal f' the same p pixels mean
f'·S/p, so depth is multiplied by f'/f, both focals in the model input's pixels (the camera's
converted by `preprocess.input_focal`, the very resize the model input goes through). The
training focal travels in the model config (ModelCfg.camera); models from before it did are
assumed to be NYU's Kinect, and `training_camera_text` says so. Torch-free.
"""
from __future__ import annotations

from ..config import NYU_INTRINSICS, NYU_SIZE, CameraCfg, ModelCfg
from .preprocess import focal_ratio, input_focal


def nyu_camera(cfg: ModelCfg, source: str) -> CameraCfg:
    """NYU's Kinect (518.86 px at 640 wide) in `cfg`'s input pixels."""
    fx, fy = input_focal(NYU_INTRINSICS[0], NYU_INTRINSICS[1], NYU_SIZE, cfg.preprocess)
    return CameraCfg(fx, fy, source)


def training_camera(cfg: ModelCfg) -> CameraCfg:
    """The camera `cfg`'s model was trained at; NYU's Kinect when the config predates the
    field (its `source` then says it is assumed)."""
    if cfg.camera is not None:
        return cfg.camera
    return nyu_camera(cfg, "assumed: NYU Kinect (the model does not record its training camera)")


def training_camera_text(cfg: ModelCfg) -> str:
    """One phrase for summaries: focal lengths, input size and where they come from."""
    cam = training_camera(cfg)
    h, w = cfg.preprocess.size
    return f"fx {cam.fx:.1f} fy {cam.fy:.1f} px at the {w}x{h} input, {cam.source or 'recorded'}"


def depth_scale(cfg: ModelCfg, fx: float, fy: float, frame_hw: tuple[int, int],
                crop: tuple[int, int, int, int] | None = None) -> float:
    """The factor that puts the model's depth of a `frame_hw` frame from a camera with focal
    (fx, fy) (that frame's pixels) into metres: f_camera / f_training in model input pixels."""
    cam = training_camera(cfg)
    return focal_ratio(input_focal(fx, fy, frame_hw, cfg.preprocess, crop), (cam.fx, cam.fy))
