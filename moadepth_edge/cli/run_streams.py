"""`run` with several streams (`--camera 0 --camera 1`, repeated `--source`): one model, the
frames ready from all streams batched into one inference call (runtime/streams.py), each
stream with its own outputs: `--save out.mp4` -> `out_<stream>.mp4`, `--save-depth DIR` and
`--pointcloud DIR` -> `DIR/<stream>/`. Streams are named camN (cameras), csiN, the file or
folder stem (files; a repeated stem gets _2, _3...) or streamK (URLs, pipelines).

Every option and every stream's output path is checked before the model loads (one `error:`
line, exit 2). A stream whose source fails or stalls past --source-timeout ends on its own; the
others run to their end, every output is finalised, and then the run exits 1 naming it.
SIGINT / SIGTERM finalise every stream's outputs (exit 130 / 143).
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from .. import signals
from ..errors import RunFailure, UserError
from .run import _camera_index, _check_outputs, _parse_range, _positive, _ProgressSink, _StderrWarnings

_ONE_STREAM_ONLY = ("topic", "save_bag", "frame_id", "serve", "serve_token", "serve_fps")


def stream_outputs(save: Path | None, save_depth: Path | None, pointcloud: Path | None,
                   name: str) -> tuple[Path | None, Path | None, Path | None]:
    """Stream `name`'s video, depth folder and point-cloud folder."""
    video = save.with_name(f"{save.stem}_{name}{save.suffix}") if save is not None else None
    return video, save_depth / name if save_depth else None, pointcloud / name if pointcloud else None


def stream_specs(cameras: list[str], sources: list[str]) -> list[str | int]:
    """Camera indices (checked; one camera cannot be opened twice), then the sources, in order."""
    indices = [_camera_index(c) for c in cameras]
    repeated = sorted({i for i in indices if indices.count(i) > 1})
    if repeated:
        raise UserError(f"--camera {repeated[0]} is given twice; a camera can be opened once")
    return [*indices, *sources]


def per_stream_intrinsics(given: list[str], count: int) -> list[tuple[Any, Any]]:
    """(intrinsics, size) per stream: none given, one for all, or one per stream in order."""
    from ..data.camera_files import load_intrinsics

    if given and len(given) not in (1, count):
        raise UserError(f"--intrinsics is given {len(given)} times for {count} streams: give it once "
                        "(the same camera for all) or once per stream, in stream order")
    loaded = [load_intrinsics(text) for text in given]
    return [loaded[0] if len(loaded) == 1 else loaded[k] if loaded else (None, None) for k in range(count)]


def run_streams(*, model: Path, camera: list[str] | None, source: list[str] | None, backend: str | None,
                providers: str | None, threads: int | None, headless: bool, save: Path | None,
                save_depth: Path | None, depth_format: str, pointcloud: Path | None,
                intrinsics: list[str] | None, stride: int, colormap: str, depth_range: str | None,
                smooth: float, max_frames: int | None, width: int | None, height: int | None,
                fps: float | None, source_timeout: float, overwrite: bool, batch_streams: bool = True,
                **one_stream: Any) -> int:
    """`run` over several streams; the same options as one stream, except the ROS 2 and live
    view ones (refused: they take one stream)."""
    from ..runtime.backends import load_backend
    from ..runtime.metric_scale import MetricScale
    from ..runtime.sinks import depth_formats
    from ..runtime.sources.base import quiet_opencv
    from ..runtime.stream_names import stream_names
    from ..runtime.streams import MultiPipeline
    from ..runtime.viz import DepthColorizer

    for key in _ONE_STREAM_ONLY:
        if one_stream.get(key) is not None:
            raise UserError(f"--{key.replace('_', '-')} takes one stream; with several --camera / --source "
                            "use --save, --save-depth, --pointcloud or the window")
    specs = stream_specs(camera or [], source or [])
    names = stream_names(specs)
    colorizer = DepthColorizer(colormap, _parse_range(depth_range))
    intr = per_stream_intrinsics(intrinsics or [], len(specs))
    formats = depth_formats(depth_format)
    _positive("--fps", fps)
    _positive("--source-timeout", source_timeout)
    if save is not None:
        from ..runtime.video_writer import check_video_output

        check_video_output(save, "--save")  # the name as typed first; then each stream's
    outputs = [stream_outputs(save, save_depth, pointcloud, name) for name in names]
    for spec, (video, depth_dir, cloud_dir) in zip(specs, outputs):
        _check_outputs(video, depth_dir, cloud_dir, None if isinstance(spec, int) else spec, overwrite)
    opts = {k: v for k, v in (("providers", providers), ("threads", threads)) if v is not None}

    with _StderrWarnings(), quiet_opencv():
        runner = load_backend(model, backend, **opts)
        streams: list[Any] = []
        try:
            _warn_batch_limit(runner, len(specs))
            for spec, name, (video, depth_dir, cloud_dir), camera_intr in zip(specs, names, outputs, intr):
                streams.append(_open_stream(spec, name, video, depth_dir, cloud_dir, camera_intr, formats, stride,
                                            headless, fps, width, height, source_timeout))
            if not any(s.sinks for s in streams):
                logging.getLogger("moadepth_edge.runtime").warning(
                    "no display and nothing to save (--save, --save-depth, --pointcloud): measuring only")
            counts = [getattr(s.source, "count", None) or len(getattr(s.source, "paths", ())) for s in streams]
            progress = _ProgressSink(SimpleNamespace(count=sum(counts) if all(counts) else None))
            for s, given in zip(streams, intr):
                s.metric = MetricScale(runner.artifact.model_cfg, *given, origin=f"--intrinsics of {s.name}")
            pipeline = MultiPipeline(runner, streams, [progress], smooth=smooth, colorizer=colorizer,
                                     max_frames=max_frames, batching=batch_streams)
            streams = []  # the pipeline owns and closes them from here
            try:
                with signals.deferred():
                    stats = pipeline.run()
            finally:
                print(f"{pipeline.stats.stop_reason}: " + "\n".join(pipeline.stats.summary_lines()), file=sys.stderr)
                for s in pipeline.streams:
                    print(f"{s.name}: {s.metric.summary()}", file=sys.stderr)
        finally:
            for s in streams:
                for sink in s.sinks:
                    sink.close()
                s.source.close()
            runner.close()
    return _exit(pipeline, stats)


def _open_stream(spec: str | int, name: str, video: Path | None, depth_dir: Path | None, cloud_dir: Path | None,
                 camera_intr: tuple[Any, Any], formats: tuple[str, ...], stride: int, headless: bool,
                 fps: float | None, width: int | None, height: int | None, timeout_s: float) -> Any:
    """One opened stream with its sinks (the source is closed again if a sink cannot be made)."""
    from ..runtime.sinks import DepthSink, PointCloudSink, VideoSink, WindowSink, display_available
    from ..runtime.sources import open_source
    from ..runtime.streams import Stream

    src = open_source(spec, width, height, fps, timeout_s=timeout_s)
    stream = Stream(name, src, intrinsics=camera_intr[0])
    try:
        camera = getattr(src, "camera", None)  # a bag's own camera_info, unless --intrinsics
        intr = camera_intr if camera_intr[0] is not None or camera is None else (camera.intrinsics, camera.size)
        if video is not None:
            stream.sinks.append(VideoSink(video, fps=src.fps or fps or 30.0))
        if depth_dir is not None:
            stream.sinks.append(DepthSink(depth_dir, formats))
        if cloud_dir is not None:
            stream.sinks.append(PointCloudSink(cloud_dir, intr[0], intr[1], stride))
        if not headless and display_available():
            stream.sinks.append(WindowSink(f"moadepth-edge: {name}"))
    except BaseException:
        for sink in stream.sinks:
            sink.close()
        src.close()
        raise
    return stream


def _warn_batch_limit(backend: Any, count: int) -> None:
    limit = backend.max_batch
    if limit is not None and limit < count:
        logging.getLogger("moadepth_edge.runtime").warning(
            f"{backend.path.name} takes at most {limit} frame(s) per call: {count} streams are inferred "
            f"in calls of {limit}; for one call per round rebuild it with `moadepth-edge build "
            f"--streams {count}` (or --batch 1:{count}:{count})")


def _exit(pipeline: Any, stats: Any) -> int:
    """0, or the failure of the streams that failed (1); a signal's code comes from main()."""
    if pipeline.failure is not None:
        raise pipeline.failure
    if signals.requested() is not None:
        return 0  # main() exits 128 + the signal, now that everything is finalised
    if stats.stop_reason == "interrupted":
        raise KeyboardInterrupt
    silent = [s for s in pipeline.streams if s.stats.frames == 0]
    if silent and len(silent) == len(pipeline.streams):
        raise UserError("no frame could be read from any of the streams")
    if silent and stats.stop_reason == "end of input":
        raise RunFailure(f"stream {silent[0].name} ({silent[0].source.description}) delivered no frame; "
                         "the other streams' outputs are complete")
    return 0
