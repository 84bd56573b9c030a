"""The Python API for embedding depth in your own program.

    from moadepth_edge import DepthEstimator

    with DepthEstimator("model.onnx") as est:          # backend picked by file suffix
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
from .result import Result
from .sources import Source, open_source


class DepthEstimator:
    """A loaded depth model. `backend`: "onnxruntime", "tensorrt", "torch" or None (by suffix);
    extra keyword options go to the backend (e.g. providers="cuda", threads=2)."""

    def __init__(self, model_path: str | Path, backend: str | None = None, **backend_opts: Any) -> None:
        self.backend = load_backend(model_path, backend, **backend_opts)
        self.preprocess = Preprocessor(self.backend.artifact)

    @property
    def artifact(self) -> ModelArtifact:
        """The model's metadata: config, preprocessing, precision, provenance."""
        return self.backend.artifact

    def predict(self, frame: np.ndarray) -> np.ndarray:
        """Depth in metres (HxW float32, the frame's size) of one BGR uint8 frame."""
        frame = as_bgr(frame)
        depth = self.backend.infer(self.preprocess(frame))
        return depth_to_frame(depth, frame.shape[:2])

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
            pipeline = Pipeline(self.backend, src, smooth=smooth, max_frames=max_frames, schedule=schedule)
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
