"""The Python API for embedding depth in your own program.

    from moadepth_edge import DepthEstimator

    with DepthEstimator("model.onnx", intrinsics="camera.yaml") as est:  # backend by file suffix
        depth = est.predict(frame_bgr)                   # HxW float32 metres, frame's size
        for result in est.stream("clip.mp4"):            # or a camera index, csi://0, rtsp://...
            use(result.image, result.depth)
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..formats.artifact import ModelArtifact
from .backends import load_backend
from .pipeline import Pipeline
from ..formats.preprocess import Preprocessor, as_bgr, depth_to_frame
from .metric_scale import MetricScale, camera_arg
from .result import Result
from .sources import Source, open_source


class DepthEstimator:
    """A loaded depth model. `backend`: "onnxruntime", "tensorrt", "torch" or None (by suffix);
    extra keyword options go to the backend (e.g. providers="cuda", threads=2).

    `intrinsics`: your camera's, so depth is in metres through your lens (f_camera / f_training,
    formats/camera.py): "fx,fy,cx,cy" or a calibration file (runtime/camera_files.py), an
    Intrinsics or (fx, fy, cx, cy) for the frames you pass, or (Intrinsics, (width, height)).
    Without them depth is in the training camera's scale (`metric.summary()` says which)."""

    def __init__(self, model_path: str | Path, backend: str | None = None, *, intrinsics: Any = None,
                 **backend_opts: Any) -> None:
        camera, size = camera_arg(intrinsics)  # a bad file fails before the model loads
        self.backend = load_backend(model_path, backend, **backend_opts)
        self.preprocess = Preprocessor(self.backend.artifact)
        self.metric = MetricScale(self.backend.artifact.model_cfg, camera, size)

    @property
    def artifact(self) -> ModelArtifact:
        """The model's metadata: config, preprocessing, precision, provenance."""
        return self.backend.artifact

    def predict(self, frame: np.ndarray) -> np.ndarray:
        """Depth in metres (HxW float32, the frame's size) of one BGR uint8 frame."""
        frame = as_bgr(frame)
        depth = self.backend.infer(self.preprocess(frame))
        return self.metric(depth_to_frame(depth, frame.shape[:2]), frame.shape[:2])

    def stream(
        self,
        source: str | int | Source,
        *,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        smooth: float = 0.0,
        max_frames: int | None = None,
        schedule: str | None = None,
    ) -> Iterator[Result]:
        """Yield a Result (index, image, depth, latency_s, fps, capture timestamp, age_s) per
        frame of `source`, with capture and inference overlapped. A file yields every frame in
        order; a live source (camera, stream, PacedSource) the newest frame each time the model
        is free (`schedule="throughput"` reads ahead instead: more frames, older depth).
        Breaking out of the loop closes the source."""
        src = source if isinstance(source, Source) else open_source(source, width, height, fps)
        try:
            pipeline = Pipeline(self.backend, src, smooth=smooth, max_frames=max_frames, schedule=schedule,
                                metric=self.metric)
        except BaseException:  # a bad option: the camera opened above must not stay open
            src.close()
            raise
        yield from pipeline.results()

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> "DepthEstimator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
