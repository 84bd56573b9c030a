"""`moadepth-edge run MODEL --camera N | --source S`: stream frames to depth.

Every option and output path is checked before the model or the source is opened (one
`error:` line, exit 2). A failed write or a source that dies ends the run with every output
finalised and exit 1; SIGINT / SIGTERM / SIGHUP finish the current frame, finalise, print the
summary, and main() exits 128+N. Imports no torch (the torch backend imports it only when a
checkpoint folder is run).
"""
from __future__ import annotations

import glob as globlib
import logging
import math
import os
import sys
from pathlib import Path
from typing import Optional

import typer

from .. import signals
from ..errors import UserError


def _parse_range(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        lo, hi = (float(v) for v in text.split(":"))
    except ValueError:
        raise UserError(f"--range must be MIN:MAX in metres, e.g. 0.5:8, got {text!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo < hi):
        raise UserError(f"--range must be MIN:MAX in metres with 0 <= MIN < MAX, got {text!r}")
    return lo, hi


SERVE_TOKEN_ENV = "MOADEPTH_SERVE_TOKEN"  # the live view's token without putting it on the command line


def _positive(flag: str, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise UserError(f"{flag} must be a positive number, got {value}")


def _camera_index(text: str) -> int:
    from ..runtime.sources.live import MAX_CAMERA_INDEX, check_camera_index
    from ..runtime.redact import redact

    try:
        index = int(text.strip())
    except ValueError:
        raise UserError(f"--camera takes a camera index 0..{MAX_CAMERA_INDEX}, got {redact(text)!r}; "
                        "give files and streams with --source") from None
    return check_camera_index(index)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:  # a stream URL or pipeline too long for a file name
        return False


def _image_folders(source: str | None) -> set[Path]:
    """The folders a local image source (an image, a folder, a glob, a .txt list) reads from."""
    from ..formats.image_files import is_image

    if not source or source.strip().isdigit():
        return set()
    path = Path(source).expanduser()
    try:
        if path.is_dir():
            return {path.resolve()}
        if path.is_file() and (is_image(path) or path.suffix.lower() == ".txt"):
            return {path.parent.resolve()}
        if any(ch in source for ch in "*?["):
            return {Path(p).parent.resolve() for p in globlib.glob(str(path)) if is_image(p)}
    except OSError:  # a stream URL or pipeline too long for a file name
        pass
    return set()


def _check_outputs(save: Path | None, save_depth: Path | None, pointcloud: Path | None,
                   source: str | None, overwrite: bool) -> None:
    """Every output usable, apart from the others and from the images being read, and not
    holding an earlier run's files (unless --overwrite). Creates nothing: a later mistake
    (a bad model file) leaves no empty folder behind."""
    from ..outputs import output_dir, refuse_earlier_outputs
    from ..runtime.video_writer import check_video_output

    given = [(flag, p.expanduser().resolve()) for flag, p in
             (("--save", save), ("--save-depth", save_depth), ("--pointcloud", pointcloud)) if p is not None]
    for i, (flag, path) in enumerate(given):
        for other, other_path in given[:i]:
            if path == other_path:
                raise UserError(f"{other} and {flag} are the same path {path}; give each its own")
    if save is not None:
        check_video_output(save, "--save")
        if source is not None and _same_file(Path(source), save):
            raise UserError(f"--save {save} is the source being read; choose another file")
        if save.exists() and not overwrite:
            raise UserError(f"--save {save} already exists; choose another name or pass --overwrite")
    reading = _image_folders(source)
    for folder, flag, patterns in ((save_depth, "--save-depth", ("*.png", "*.npy")),
                                   (pointcloud, "--pointcloud", ("*.ply",))):
        if folder is not None:
            output_dir(folder, flag, create=False)
            if folder.expanduser().resolve() in reading:
                raise UserError(f"{flag} {folder} is the folder of the images being read; choose another folder")
            refuse_earlier_outputs(folder, patterns, overwrite, flag)


class _StderrWarnings(logging.Handler):
    """Runtime warnings as `warning: ...` lines on the current stderr (the progress bar's
    redirect while it is shown), credentials hidden, for the duration of a run."""

    def emit(self, record: logging.LogRecord) -> None:
        from ..runtime.redact import redact

        print(f"warning: {redact(record.getMessage())}", file=sys.stderr)

    def __enter__(self) -> None:
        self.logger = logging.getLogger("moadepth_edge")
        self.level = self.logger.level
        self.logger.addHandler(self)
        self.logger.setLevel(logging.WARNING)

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self)
        self.logger.setLevel(self.level)


def run(
    model: Path = typer.Argument(..., help="an exported .onnx, a TensorRT .engine/.plan, or a checkpoint folder"),
    camera: Optional[list[str]] = typer.Option(
        None, "--camera", metavar="N", help="camera index 0..99 (V4L2 /dev/videoN); repeat for several cameras"),
    source: Optional[list[str]] = typer.Option(
        None, "--source", "-s", metavar="SOURCE",
        help="video file, image / folder / glob / .txt list of images, rtsp:// or http:// URL, csi://N, "
             "or a GStreamer pipeline; repeat for several streams (batched through one model)"),
    backend: Optional[str] = typer.Option(None, "--backend", help="onnxruntime, tensorrt or torch (default: by file)"),
    providers: Optional[str] = typer.Option(
        None, "--providers", help="onnxruntime execution providers: auto, cpu, cuda, tensorrt (comma list)"),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, max=1024, help="onnxruntime intra-op threads"),
    headless: bool = typer.Option(False, "--headless", help="no window (automatic without a display)"),
    save: Optional[Path] = typer.Option(
        None, "--save", help="write frame | depth side by side to this video (.mp4, .m4v, .mov, .mkv, .avi)"),
    save_depth: Optional[Path] = typer.Option(None, "--save-depth", help="write per-frame depth files to this folder"),
    depth_format: str = typer.Option("png", "--depth-format", help="png (uint16 mm), npy (float32 m) or png,npy"),
    pointcloud: Optional[Path] = typer.Option(None, "--pointcloud", help="write a coloured PLY per frame to this folder"),
    intrinsics: Optional[list[str]] = typer.Option(
        None, "--intrinsics", metavar="FX,FY,CX,CY|FILE", help="your camera: fx,fy,cx,cy in pixels, or a "
        "calibration file (intrinsics .json, OpenCV .yaml/.json/.xml, ROS camera_info .yaml); depth is scaled to "
        "its focal and point clouds use it (default: the training camera's scale, 60 degree FOV for point "
        "clouds); with several streams once for all or once per stream, in stream order"),
    stride: int = typer.Option(2, "--pointcloud-stride", min=1, help="keep every Nth pixel in point clouds"),
    colormap: str = typer.Option("turbo", "--colormap", help="turbo, inferno or gray"),
    depth_range: Optional[str] = typer.Option(None, "--range", help="colour range MIN:MAX metres (default: auto)"),
    smooth: float = typer.Option(0.0, "--smooth", min=0.0, max=0.99, help="temporal smoothing 0 (off) .. 0.99"),
    max_frames: Optional[int] = typer.Option(None, "--max-frames", min=1, help="stop after N frames"),
    batch_streams: bool = typer.Option(
        True, "--batch-streams/--no-batch-streams",
        help="several streams: the frames ready from all in one inference call (more frames per second), "
             "or one frame per call in turn (lower latency per frame where a batch costs nearly N frames, "
             "as on a CPU)"),
    width: Optional[int] = typer.Option(None, "--width", min=1, max=16384, help="requested frame width"),
    height: Optional[int] = typer.Option(None, "--height", min=1, max=16384, help="requested frame height"),
    fps: Optional[float] = typer.Option(None, "--fps", min=0.1, help="requested camera frame rate"),
    source_timeout: float = typer.Option(
        10.0, "--source-timeout",
        help="end the run (exit 1) when a camera or stream delivers no frame for this many seconds"),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="replace an existing --save video or --save-bag bag, and earlier depth / point cloud files"),
    # ROS 2 and the live view (run_extras.py)
    topic: Optional[str] = typer.Option(
        None, "--topic", help="image topic of a rosbag2 --source (default: the bag's first image topic)"),
    save_bag: Optional[Path] = typer.Option(
        None, "--save-bag", help="write /depth/image, /depth/camera_info (and /depth/points with "
        "--pointcloud) to this rosbag2: NAME.mcap, or a bag folder"),
    frame_id: Optional[str] = typer.Option(
        None, "--frame-id", help="frame_id of --save-bag's messages (default: the bag's own, else camera_optical_frame)"),
    serve: Optional[str] = typer.Option(
        None, "--serve", help="live view for a browser at [HOST:]PORT while the run goes on (host default 127.0.0.1)"),
    serve_token: Optional[str] = typer.Option(
        None, "--serve-token", help="require this token on every live-view request (?token=...); "
        f"default: ${SERVE_TOKEN_ENV} when set (kept out of the process list)"),
    serve_fps: Optional[float] = typer.Option(
        None, "--serve-fps", min=1.0, max=60.0, help="live-view pictures per second (default 10)"),
) -> int:
    """Stream a camera, stream or file through a depth model; show, save or both. Several
    --camera / --source: every stream through one batched model, each with its own outputs."""
    if bool(camera) == bool(source):  # both given, or neither
        raise UserError("give exactly one of --camera N or --source S (either one repeated for several "
                        "streams; a camera beside files: --source 0 --source clip.mp4)")
    if len(camera or source) > 1:  # type: ignore[arg-type]
        options = dict(locals())  # every parameter above, as given
        from .run_streams import run_streams

        return run_streams(**options)
    camera, source = (camera or [None])[0], (source or [None])[0]
    if intrinsics and len(intrinsics) > 1:
        raise UserError(f"--intrinsics is given {len(intrinsics)} times for one stream; give it once")
    intrinsics = intrinsics[0] if intrinsics else None  # type: ignore[assignment]
    from ..runtime.backends import load_backend
    from ..runtime.sources.base import quiet_opencv
    from ..runtime.metric_scale import MetricScale
    from ..runtime.pipeline import Pipeline
    from ..data.camera_files import load_intrinsics
    from ..runtime.redact import redact
    from ..runtime.sinks import DepthSink, PointCloudSink, VideoSink, WindowSink, depth_formats, display_available
    from ..runtime.sources import open_source
    from ..runtime.viz import DepthColorizer
    from .run_extras import RunExtras

    # everything the user typed, checked before the model or the source is opened
    spec = _camera_index(camera) if camera is not None else source
    colorizer = DepthColorizer(colormap, _parse_range(depth_range))
    intr = load_intrinsics(intrinsics) if intrinsics else (None, None)
    formats = depth_formats(depth_format)
    _positive("--fps", fps)
    _positive("--source-timeout", source_timeout)
    _check_outputs(save, save_depth, pointcloud, source, overwrite)
    opts = {k: v for k, v in (("providers", providers), ("threads", threads)) if v is not None}
    if serve is not None and serve_token is None:
        serve_token = os.environ.get(SERVE_TOKEN_ENV) or None
    extras = RunExtras(topic=topic, save_bag=save_bag, frame_id=frame_id, serve=serve, serve_token=serve_token,
                       serve_fps=serve_fps, source=source, overwrite=overwrite)  # checked (and port bound) before the model

    # OpenCV's own WARN lines (a stream's read timeout...) would repeat what the run reports
    with _StderrWarnings(), quiet_opencv(), extras:
        runner = load_backend(model, backend, **opts)
        metric = MetricScale(runner.artifact.model_cfg, *intr, origin=f"--intrinsics {intrinsics}")
        src = sinks = None
        try:
            src = open_source(spec, width, height, fps, timeout_s=source_timeout, topic=topic)
            extras.announce(src)
            sinks = extras.sinks(runner.name, colorizer, intr, stride if pointcloud is not None else None)
            intr = intr if intr[0] is not None else extras.source_intrinsics(src)
            if save is not None:
                sinks.append(VideoSink(save, fps=src.fps or fps or 30.0))
            if save_depth is not None:
                sinks.append(DepthSink(save_depth, formats))
            if pointcloud is not None:
                sinks.append(PointCloudSink(pointcloud, intr[0], intr[1], stride))
            if not headless and display_available():
                sinks.append(WindowSink(f"moadepth-edge: {model.name}"))
            elif not sinks:
                logging.getLogger("moadepth_edge.runtime").warning(
                    "no display and nothing to save (--save, --save-depth, --pointcloud): "
                    "measuring only")
            pipeline = Pipeline(runner, src, sinks, smooth=smooth, colorizer=colorizer, max_frames=max_frames,
                                metric=metric)
            pipeline.sinks.append(_ProgressSink(src))
            src = sinks = None  # the pipeline owns and closes them from here
            try:
                with signals.deferred():
                    stats = pipeline.run()
            finally:
                print(f"{pipeline.stats.stop_reason}: {pipeline.stats.summary_line()}", file=sys.stderr)
                print(pipeline.metric.summary(), file=sys.stderr)
        finally:
            for sink in sinks or ():
                sink.close()
            if src is not None:
                src.close()
            runner.close()
    if pipeline.failure is not None:
        raise pipeline.failure
    if signals.requested() is not None:
        return 0  # main() exits 128 + the signal, now that everything is finalised
    if stats.stop_reason == "interrupted":
        raise KeyboardInterrupt  # not from a signal main() saw: reported as "interrupted", 130
    if stats.frames == 0:
        raise UserError(f"no frame could be read from {redact(spec if camera is None else f'camera {spec}')}")
    return 0


class _ProgressSink:
    """A rich progress bar (frame count of a file, or a running count for live sources)."""

    needs_canvas = False
    stop_requested = False

    def __init__(self, source) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from rich.console import Console

        total = getattr(source, "count", None) or (len(source.paths) if hasattr(source, "paths") else None)
        console = Console(stderr=True)
        self.progress = Progress(TextColumn("[bold]depth"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                                 transient=True, console=console, disable=not console.is_terminal)
        self.task = self.progress.add_task("run", total=total, rate="")
        self.progress.start()

    def write(self, result) -> None:
        self.progress.update(self.task, advance=1, rate=f"{result.fps:.1f} FPS")

    def close(self) -> None:
        self.progress.stop()


def register(app: typer.Typer) -> None:
    app.command("run")(run)
