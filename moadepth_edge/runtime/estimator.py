"""The Python API for embedding depth in your own program.

    from moadepth_edge import DepthEstimator

    with DepthEstimator("model.onnx", intrinsics="camera.yaml") as est:  # backend by file suffix
        depth = est.predict(frame_bgr)                   # HxW float32 metres, frame's size
        for result in est.stream("clip.mp4"):            # or a camera index, csi://0, rtsp://...
            use(result.image, result.depth)
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ..errors import UserError
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
    formats/camera.py): "fx,fy,cx,cy" or a calibration file (data/camera_files.py), an
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
        source: str | int | Source | Sequence[str | int | Source],
        *,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        smooth: float = 0.0,
        max_frames: int | None = None,
        schedule: str | None = None,
        names: Sequence[str] | None = None,
        batching: bool = True,
    ) -> Iterator[Result]:
        """Yield a Result (index, image, depth, latency_s, fps, capture timestamp, age_s) per
        frame of `source`, with capture and inference overlapped. A file yields every frame in
        order; a live source (camera, stream, PacedSource) the newest frame each time the model
        is free (`schedule="throughput"` reads ahead instead: more frames, older depth).
        Breaking out of the loop closes the source.

        A list of sources streams them all at once: the frames ready from every stream go
        through one batched inference call, and each Result's `stream` names its stream
        (`names`, else camN / the file stem / streamK; `max_frames` is per stream;
        `batching=False`: one frame per call, in turn, for lower latency per frame). A stream
        that stalls does not hold up the others; one whose source fails ends, the others go
        on, and the RunFailure is raised once they are done."""
        if isinstance(source, (list, tuple)):
            yield from self._streams(list(source), names, width, height, fps, smooth, max_frames, batching)
            return
        src = source if isinstance(source, Source) else open_source(source, width, height, fps)
        try:
            pipeline = Pipeline(self.backend, src, smooth=smooth, max_frames=max_frames, schedule=schedule,
                                metric=self.metric)
        except BaseException:  # a bad option: the camera opened above must not stay open
            src.close()
            raise
        yield from pipeline.results()

    def _streams(self, sources: list, names: Sequence[str] | None, width: int | None, height: int | None,
                 fps: float | None, smooth: float, max_frames: int | None, batching: bool) -> Iterator[Result]:
        from .stream_names import stream_names
        from .streams import MultiPipeline, Stream

        if not sources:
            raise UserError("stream() needs at least one source")
        names = list(names) if names is not None else stream_names(
            [s.description if isinstance(s, Source) else s for s in sources])
        if len(names) != len(sources) or len(set(names)) != len(names):
            raise UserError(f"give one unique name per source, got {names} for {len(sources)} sources")
        streams: list[Stream] = []
        try:
            for name, spec in zip(names, sources):
                src = spec if isinstance(spec, Source) else open_source(spec, width, height, fps)
                m = self.metric  # the estimator's camera for every stream, each its own scale state
                streams.append(Stream(name, src, metric=MetricScale(m.cfg, m.intrinsics, m.size, m.origin)))
            pipeline = MultiPipeline(self.backend, streams, smooth=smooth, max_frames=max_frames,
                                     batching=batching)
        except BaseException:  # what was opened must not stay open
            for s in streams:
                s.source.close()
            raise
        yield from pipeline.results()
        if pipeline.failure is not None:
            raise pipeline.failure

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> "DepthEstimator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
