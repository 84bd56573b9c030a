"""A random consumer camera: linear scene light -> an 8-bit picture like a webcam or Kinect's.

Auto-exposure (so brightness says nothing about distance), white balance, gamma and contrast,
vignetting, defocus / motion blur, sensor noise and JPEG compression, each drawn from the
generator passed in.
"""
from __future__ import annotations

import cv2
import numpy as np


def develop(linear: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """RGB uint8 (H, W, 3) of linear RGB float (H, W, 3) through a randomly drawn camera."""
    h, w, _ = linear.shape
    x = linear * np.float32(rng.uniform(0.1, 0.3) / max(float(np.mean(linear)), 1e-4))  # auto-exposure
    x = x * (1 + rng.uniform(-0.12, 0.12, 3)).astype(np.float32)  # white balance
    x = np.power(np.clip(x, 0, None), np.float32(1 / rng.uniform(1.8, 2.6)))
    x = x / (1 + np.float32(rng.uniform(0, 0.2)) * x)  # soft highlight roll-off
    grey = x.mean(axis=2, keepdims=True)
    x = grey + (x - grey) * np.float32(rng.uniform(0.8, 1.5))  # saturation
    x = 0.5 + (x - 0.5) * np.float32(rng.uniform(1.0, 1.5))  # contrast
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    x = x * (1 - np.float32(rng.uniform(0, 0.35)) * r2 / 2)[..., None]  # vignetting
    if rng.random() < 0.3:
        x = cv2.GaussianBlur(x, (0, 0), float(rng.uniform(0.3, 0.8)) * w / 160)
    elif rng.random() < 0.3:  # a little motion blur
        n = max(int(rng.uniform(1.5, 4) * w / 160), 2)
        kernel = np.zeros((n, n), np.float32)
        kernel[n // 2] = 1.0 / n
        m = cv2.getRotationMatrix2D((n / 2 - 0.5, n / 2 - 0.5), float(rng.uniform(0, 180)), 1.0)
        kernel = cv2.warpAffine(kernel, m, (n, n))
        x = cv2.filter2D(x, -1, kernel / max(float(kernel.sum()), 1e-6))
    x = x + rng.normal(0, rng.uniform(0.0, 0.03), x.shape).astype(np.float32)
    rgb = np.clip(x * 255 + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < 0.7:
        ok, buf = cv2.imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 95))])
        rgb = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return rgb
