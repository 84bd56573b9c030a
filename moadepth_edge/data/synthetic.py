"""Synthetic indoor RGB-D: random frames for training and tests, camera clips for demos.

Everything is deterministic from a seed and needs only numpy (plus OpenCV to write files).

    from moadepth_edge.data.synthetic import render_sample, write_clip, SyntheticReader
    sample = render_sample(seed=3, size=(480, 640))        # one Sample, exact depth
    clip = write_clip("out/clip", n_frames=30, seed=0)      # video + depth frames + intrinsics
    train = SyntheticReader(1000, split="train")            # a DepthReader

Intrinsics are NYU's Kinect calibration scaled to the frame size, depth spans about 0.5-10 m
(pixels beyond 10 m are rare and marked invalid).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator, Union

import numpy as np

from ..errors import UserError
from ..outputs import write_text
from .files import write_depth_png
from .sample import DepthReader, Intrinsics, Sample, make_sample, nyu_intrinsics
from .pinhole import Camera, camera_rays
from .scene import CAMERA_ZONE_Z, Scene, cast, random_scene

FocalScale = Union[float, tuple[float, float]]
MAX_DEPTH = 10.0
# seeds of held-out frames live far from training seeds so the two never share a room
HELDOUT_SEED_OFFSET = 1_000_000


def render(scene: Scene, camera: Camera, size: tuple[int, int] = (480, 640),
           intrinsics: Intrinsics | None = None) -> tuple[np.ndarray, np.ndarray]:
    """RGB uint8 (H, W, 3) and camera-z depth float32 (H, W) metres of `scene` from `camera`."""
    h, w = size
    dirs = camera_rays(camera, size, intrinsics)
    color, depth = cast(scene, np.asarray(camera.position, np.float32), dirs)
    rgb = (np.power(color, 1 / 2.2) * 255 + 0.5).astype(np.uint8).reshape(h, w, 3)
    return rgb, depth.astype(np.float32).reshape(h, w)


def random_camera(scene: Scene, rng: np.random.Generator) -> Camera:
    """A handheld-like viewpoint in the camera zone at the room's near end, facing in."""
    w, _, _ = scene.size
    return Camera(
        (float(rng.uniform(1.0, w - 1.0)), float(rng.uniform(1.0, 1.7)),
         float(rng.uniform(0.3, CAMERA_ZONE_Z - 0.2))),
        float(rng.uniform(-0.4, 0.4)), float(rng.uniform(-0.05, 0.3)),
    )


def camera_path(scene: Scene, n_frames: int, seed: int = 0) -> list[Camera]:
    """A smooth walk: a sideways sweep and a slow dolly in, panning across the room."""
    rng = np.random.default_rng(seed)
    w, _, _ = scene.size
    s = np.linspace(0.0, 1.0, max(n_frames, 1))
    phase = rng.uniform(0, 2 * np.pi)
    x = w / 2 + (w / 2 - 1.0) * 0.8 * np.sin(2 * np.pi * s + phase)
    z = 0.3 + (CAMERA_ZONE_Z - 0.5) * 0.5 * (1 - np.cos(np.pi * s))
    y = 1.35 + 0.05 * np.sin(6 * np.pi * s)
    yaw = 0.35 * np.sin(2 * np.pi * s + phase + np.pi)
    pitch = 0.12 + 0.08 * np.sin(4 * np.pi * s)
    return [Camera((float(a), float(b), float(c)), float(d), float(e))
            for a, b, c, d, e in zip(x, y, z, yaw, pitch)]


def camera_intrinsics(size: tuple[int, int], focal_scale: float = 1.0) -> Intrinsics:
    """The synthetic camera for a (height, width) frame: NYU's Kinect, scaled, with fx and fy
    times `focal_scale` (above 1: a narrower view; the principal point stays)."""
    if not (np.isfinite(focal_scale) and focal_scale > 0):
        raise UserError(f"focal scale must be a positive number, got {focal_scale}")
    k = nyu_intrinsics(*size)
    return Intrinsics(k.fx * focal_scale, k.fy * focal_scale, k.cx, k.cy)


def _focal_range(focal_scale: FocalScale) -> tuple[float, float]:
    lo, hi = (focal_scale, focal_scale) if np.isscalar(focal_scale) else focal_scale
    lo, hi = float(lo), float(hi)
    for v in (lo, hi):
        camera_intrinsics((1, 1), v)  # validates
    if lo > hi:
        raise UserError(f"focal scale range must run low to high, got {lo}-{hi}")
    return lo, hi


def frame_focal_scale(seed: int, focal_scale: FocalScale) -> float:
    """The focal scale of frame `seed`: a fixed scale as is, a (low, high) range drawn
    log-uniformly from a generator seeded by the frame's seed (the same every epoch)."""
    lo, hi = _focal_range(focal_scale)
    if lo == hi:
        return lo
    return float(np.exp(np.random.default_rng([seed, 2]).uniform(np.log(lo), np.log(hi))))


STYLES = ("boxes", "rooms")


def check_style(style: str) -> str:
    """`style` when it names a renderer; UserError listing them otherwise."""
    if style not in STYLES:
        raise UserError(f"unknown synthetic style {style!r}; use one of: {', '.join(STYLES)}")
    return style


def render_sample(seed: int, size: tuple[int, int] = (480, 640), focal_scale: float = 1.0,
                  style: str = "boxes") -> Sample:
    """One random room seen from one random viewpoint, as a Sample with exact depth and the
    intrinsics used (the training focal length times `focal_scale`).

    style "boxes": a room of boxes and cylinders lit from the camera, with haze (scene.py);
    "rooms": a furnished room, lit by its ceiling lights and windows, through a random
    consumer camera (rooms.py, room_render.py, photo.py)."""
    k = camera_intrinsics(size, focal_scale)
    if check_style(style) == "rooms":
        from .room_view import room_camera
        from .rooms import random_room

        camera, room = room_camera(random_room(seed), np.random.default_rng([seed, 1]))
        rgb, depth = _room_photo(room, camera, size, k, seed)
    else:
        scene = random_scene(seed)
        camera = random_camera(scene, np.random.default_rng([seed, 1]))
        rgb, depth = render(scene, camera, size, k)
    name = f"synthetic-{seed}" if style == "boxes" else f"synthetic-{style}-{seed}"
    return make_sample(rgb, depth, min_depth=1e-3, max_depth=MAX_DEPTH, intrinsics=k, name=name)


class SyntheticReader(DepthReader):
    """`n` random synthetic frames. split "train" uses seeds seed.., "heldout" seeds
    HELDOUT_SEED_OFFSET + seed.., so the splits never share a room. focal_scale: one scale
    for every frame, or a (low, high) range each frame draws from (`frame_focal_scale`).
    style: the renderer (`render_sample`)."""

    kind = "synthetic"

    def __init__(self, n: int, *, size: tuple[int, int] = (120, 160), seed: int = 0,
                 split: str = "train", focal_scale: FocalScale = 1.0, style: str = "boxes") -> None:
        if n <= 0:
            raise UserError(f"synthetic data needs a positive frame count, got {n}")
        if split not in ("train", "heldout"):
            raise UserError(f"synthetic split must be train or heldout, got {split!r}")
        self.n, self.size, self.style = n, size, check_style(style)
        self.base = seed + (HELDOUT_SEED_OFFSET if split == "heldout" else 0)
        self.focal_scale = _focal_range(focal_scale)

    def __len__(self) -> int:
        return self.n

    def load(self, index: int) -> Sample:
        seed = self.base + index
        return render_sample(seed, self.size, frame_focal_scale(seed, self.focal_scale), self.style)


# ---------------------------------------------------------------------------------------------
# clips


@dataclass(frozen=True)
class ClipInfo:
    """What write_clip produced. depth_files[i] matches video frame i."""

    video: Path  # mp4 (MPEG-4 part 2, OpenCV's mp4v), RGB frames
    depth_files: tuple[Path, ...]  # uint16 PNG, millimetres (0 = invalid)
    intrinsics_file: Path  # JSON: fx, fy, cx, cy, width, height, fps, depth_scale
    intrinsics: Intrinsics
    size: tuple[int, int]  # (height, width)
    fps: float
    n_frames: int

    def read_depth(self, index: int) -> np.ndarray:
        """Depth frame `index` in metres (0 = invalid)."""
        from .files import read_depth

        return read_depth(self.depth_files[index], 1000.0)


def _room_photo(room, camera: Camera, size: tuple[int, int], k: Intrinsics,
                seed: int) -> tuple[np.ndarray, np.ndarray]:
    """RGB uint8 and depth of a furnished room through room `seed`'s random consumer camera
    (the same camera, exposure rule and all, for every frame of a clip)."""
    from .photo import develop
    from .room_render import render_room

    linear, depth = render_room(room, camera, size, k)
    return develop(linear, np.random.default_rng([seed, 3])), depth


def _clip_frames(seed: int, n_frames: int, size: tuple[int, int], k: Intrinsics,
                 style: str) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(RGB uint8, depth metres) of each frame of a camera walk through room `seed`."""
    if style == "rooms":
        from .room_view import room_walk
        from .rooms import random_room

        cameras, room = room_walk(random_room(seed), n_frames, np.random.default_rng([seed, 1]))
        for camera in cameras:
            yield _room_photo(room, camera, size, k, seed)
    else:
        scene = random_scene(seed)
        for camera in camera_path(scene, n_frames, seed):
            yield render(scene, camera, size, k)


def write_clip(out_dir: str | Path, n_frames: int = 60, size: tuple[int, int] = (480, 640),
               seed: int = 0, fps: float = 15.0, save_npy: bool = False, focal_scale: float = 1.0,
               style: str = "boxes", on_frame: Callable[[int], None] | None = None) -> ClipInfo:
    """Render a camera walk through one random room into `out_dir`:
    `rgb.mp4`, `depth/000000.png` ... (uint16 mm), optionally `depth/000000.npy` (float32 m),
    and `intrinsics.json` (the intrinsics used: the training focal length times `focal_scale`).
    style: the renderer, as for `render_sample`; on_frame(i) is called after frame i is written.
    Deterministic from `seed`."""
    import cv2

    if n_frames <= 0:
        raise UserError(f"a clip needs at least one frame, got {n_frames}")
    k = camera_intrinsics(size, focal_scale)
    check_style(style)
    out = Path(out_dir)
    (out / "depth").mkdir(parents=True, exist_ok=True)
    h, w = size
    video = out / "rgb.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise UserError(f"cannot open a video writer for {video}")
    depth_files = []
    try:
        for i, (rgb, depth) in enumerate(_clip_frames(seed, n_frames, size, k, style)):
            writer.write(np.ascontiguousarray(rgb[:, :, ::-1]))
            depth = np.where(depth < MAX_DEPTH, depth, 0.0).astype(np.float32)
            path = out / "depth" / f"{i:06d}.png"
            write_depth_png(path, depth)
            if save_npy:
                np.save(path.with_suffix(".npy"), depth)
            depth_files.append(path)
            if on_frame is not None:
                on_frame(i)
    finally:
        writer.release()
    meta = {**asdict(k), "width": w, "height": h, "fps": fps, "n_frames": n_frames,
            "depth_scale": 1000.0, "depth_format": "uint16 PNG, millimetres, 0 = invalid",
            "seed": seed, "focal_scale": focal_scale, "style": style}
    intrinsics_file = out / "intrinsics.json"
    write_text(intrinsics_file, json.dumps(meta, indent=2) + "\n")
    return ClipInfo(video, tuple(depth_files), intrinsics_file, k, size, fps, n_frames)
