"""Depth to colour: colormaps (turbo, inferno, gray), fixed or automatic range, a legend bar.

Near is drawn warm / bright (red in turbo, yellow in inferno, white in gray), far cold / dark.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import UserError

COLORMAPS: dict[str, int | None] = {
    "turbo": cv2.COLORMAP_TURBO,
    "inferno": cv2.COLORMAP_INFERNO,
    "gray": None,
}
LEGEND_WIDTH = 64


@dataclass
class DepthColorizer:
    """Colours depth maps. `depth_range` (metres) fixes the scale; None picks it per frame
    from the 2nd-98th percentiles of valid depth, smoothed so the colours do not flicker."""

    colormap: str = "turbo"
    depth_range: tuple[float, float] | None = None
    legend: bool = True
    auto_momentum: float = 0.8

    def __post_init__(self) -> None:
        if self.colormap not in COLORMAPS:
            raise UserError(f"unknown colormap {self.colormap!r}; choose one of: {', '.join(COLORMAPS)}")
        if self.depth_range is not None:
            lo, hi = self.depth_range
            if not (0 <= lo < hi):
                raise UserError(f"depth range must be MIN:MAX with 0 <= MIN < MAX, got {lo}:{hi}")
        self._auto: tuple[float, float] | None = None
        self._legend_key: tuple | None = None
        self._legend: np.ndarray | None = None

    def current_range(self, depth: np.ndarray) -> tuple[float, float]:
        if self.depth_range is not None:
            return self.depth_range
        step = max(1, int(np.sqrt(depth.size / 20000)))  # ~20k samples are plenty for percentiles
        sub = depth[::step, ::step]
        valid = sub[np.isfinite(sub) & (sub > 0)]
        if valid.size == 0:
            return self._auto or (0.0, 1.0)
        lo, hi = (float(v) for v in np.percentile(valid, (2, 98)))
        hi = max(hi, lo + 1e-3)
        if self._auto is not None:
            m = self.auto_momentum
            lo = m * self._auto[0] + (1 - m) * lo
            hi = m * self._auto[1] + (1 - m) * hi
        self._auto = (lo, hi)
        return lo, hi

    def __call__(self, depth: np.ndarray) -> np.ndarray:
        """HxW metres -> HxWx3 BGR uint8 (with a legend bar on the right when `legend`)."""
        lo, hi = self.current_range(depth)
        image = colorize(depth, lo, hi, self.colormap)
        if self.legend:
            key = (depth.shape[0], round(lo, 2), round(hi, 2))  # redraw only when labels change
            if key != self._legend_key:
                self._legend = legend_bar(depth.shape[0], lo, hi, self.colormap)
                self._legend_key = key
            image = np.concatenate([image, self._legend], axis=1)
        return image


def colorize(depth: np.ndarray, lo: float, hi: float, colormap: str = "turbo") -> np.ndarray:
    """Map depth in [lo, hi] metres to BGR uint8; invalid (<= 0, NaN) pixels are black."""
    d = np.nan_to_num(depth.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    t = 1.0 - np.clip((d - lo) / max(hi - lo, 1e-6), 0.0, 1.0)  # near -> 1
    u8 = (t * 255.0 + 0.5).astype(np.uint8)
    cmap = COLORMAPS[colormap]
    image = cv2.cvtColor(u8, cv2.COLOR_GRAY2BGR) if cmap is None else cv2.applyColorMap(u8, cmap)
    image[d <= 0] = 0
    return image


def legend_bar(height: int, lo: float, hi: float, colormap: str = "turbo") -> np.ndarray:
    """A vertical colour bar `height` pixels tall, near at the top, labelled in metres."""
    ramp = np.linspace(lo, hi, max(height, 2), dtype=np.float32)[:, None]
    bar = colorize(np.repeat(ramp, 16, axis=1), lo, hi, colormap)
    panel = np.zeros((height, LEGEND_WIDTH, 3), np.uint8)
    panel[:, 4:20] = bar[:height]
    scale = max(0.3, min(0.45, height / 600))
    digits = 2 if hi - lo < 2 else 1
    for frac in (0.0, 0.5, 1.0):
        y = int(round(frac * (height - 1)))
        value = lo + frac * (hi - lo)
        ty = min(max(y + 4, 10), height - 3)
        cv2.line(panel, (20, y), (24, y), (255, 255, 255), 1)
        cv2.putText(panel, f"{value:.{digits}f}m", (25, ty), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (255, 255, 255), 1, cv2.LINE_AA)
    return panel


def put_lines(image: np.ndarray, lines: list[str], origin: tuple[int, int] = (8, 8)) -> np.ndarray:
    """Draw text lines with a dark backing box (in place) for legibility on any background."""
    scale = max(0.35, min(0.6, image.shape[0] / 800))
    x, y = origin
    for text in lines:
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        cv2.rectangle(image, (x - 3, y - 2), (x + tw + 3, y + th + base + 2), (0, 0, 0), -1)
        cv2.putText(image, text, (x, y + th), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (255, 255, 255), 1, cv2.LINE_AA)
        y += th + base + 6
    return image


def side_by_side(frame: np.ndarray, depth_bgr: np.ndarray, lines: list[str] | None = None) -> np.ndarray:
    """The camera frame | its coloured depth, with optional text lines over the frame."""
    h = frame.shape[0]
    if depth_bgr.shape[0] != h:
        w = int(round(depth_bgr.shape[1] * h / depth_bgr.shape[0]))
        depth_bgr = cv2.resize(depth_bgr, (w, h), interpolation=cv2.INTER_NEAREST)
    canvas = np.concatenate([frame, depth_bgr], axis=1)
    if lines:
        put_lines(canvas, lines)
    return canvas
