"""The training camera a new run records in its model config (ModelCfg.camera), read off the
training data's own intrinsics, and the canonical camera of `--canonical-focal` runs.

A handful of samples spread over the data set are probed: their focal lengths, converted to the
model input's pixels by the one preprocessing geometry (formats/preprocess.py `input_focal`).
Without --canonical-focal the data should come from one camera: the median is recorded, and
mixed cameras are reported (their labels are not comparable; --canonical-focal makes them so).
"""
from __future__ import annotations

import logging
import statistics

from ..config import CameraCfg, ModelCfg
from ..data.sample import DepthReader
from ..errors import UserError
from ..formats.camera import nyu_camera
from ..formats.preprocess import input_focal

log = logging.getLogger("moadepth_edge.train")
PROBES = 5
MIXED_SPREAD = 0.02  # focal lengths further apart than this (relative) are another camera


def probe_focals(reader: DepthReader, cfg: ModelCfg, probes: int = PROBES) -> list[tuple[float, float] | None]:
    """(fx, fy) in model input pixels of up to `probes` samples spread over `reader` (None for a
    sample without intrinsics)."""
    n, k = len(reader), min(probes, len(reader))
    picks = sorted({round(i * (n - 1) / max(k - 1, 1)) for i in range(k)})
    out: list[tuple[float, float] | None] = []
    for i in picks:
        s = reader[i]
        k = s.intrinsics
        out.append(None if k is None else input_focal(k.fx, k.fy, s.depth.shape, cfg.preprocess))
    return out


def training_camera(reader: DepthReader, cfg: ModelCfg, canonical: bool) -> CameraCfg | None:
    """The camera to record for a run on `reader`: the canonical one (NYU's Kinect at the input
    size) with `canonical`, else the data's (None when its samples carry no intrinsics)."""
    focals = probe_focals(reader, cfg)
    if canonical:
        if any(f is None for f in focals):
            raise UserError(f"--canonical-focal scales each label by its camera's focal, but the "
                            f"{reader.kind} samples carry no intrinsics; train without it")
        return nyu_camera(cfg, "canonical: NYU Kinect at the model input (labels normalised, --canonical-focal)")
    known = [f for f in focals if f is not None]
    if not known:
        log.warning("the %s samples carry no camera intrinsics: the model records no training camera, "
                    "and inference will assume NYU's Kinect", reader.kind)
        return None
    fx = statistics.median(f[0] for f in known)
    fy = statistics.median(f[1] for f in known)
    if any(abs(f[0] / fx - 1) > MIXED_SPREAD or abs(f[1] / fy - 1) > MIXED_SPREAD for f in known):
        log.warning("the %s samples come from cameras with different focal lengths: recording the "
                    "median (fx %.1f px); --canonical-focal trains them as one camera", reader.kind, fx)
    return CameraCfg(fx, fy, f"{reader.kind} data")
