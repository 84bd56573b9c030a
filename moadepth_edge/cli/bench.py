"""`moadepth-edge bench`: on-device benchmark reports (JSON, Markdown, PNG plots), report
comparisons, and the README performance table. Imports no torch (the baseline does, lazily)."""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from ..bench.limits import MAX_BATCH, MAX_SIDE
from ..errors import UserError
from ..runtime.redact import redact

if TYPE_CHECKING:
    from ..bench.schema import Report
    from ..bench.suite import BenchPlan

HELP = """Benchmark MODEL files over backends x precisions x batch sizes x resolutions.

Per configuration: model-only latency (mean, std, p50/p90/p99, min, max) and throughput,
host/GPU memory, and - once per model and backend - pipeline FPS on --video, glass-to-depth
latency on a live source (--live-video replayed as a camera, or --live), accuracy on --data and
agreement with --reference. A configuration that cannot run here (a precision the file lacks,
no GPU, too little memory) is reported with its error; the others still run. A value that can
never run (an unknown backend or precision, --baseline without --checkpoint, a --reference no
backend reads) stops the run with one line before anything is measured.

  moadepth-edge bench fp32.onnx int8.onnx --batch 1,4 --video clip.mp4 --data synthetic:16 \\
      --reference fp32.onnx --baseline torch-eager --checkpoint ckpt/ --out benchmarks/mydevice
  moadepth-edge bench fp32.onnx --live-video clip.mp4 --live-fps 30 --out benchmarks/mydevice/live
  moadepth-edge bench fp32.onnx --live-video clip.mp4 --live-streams 1,2,4 --out benchmarks/mydevice/live4
  moadepth-edge bench --compare A/report.json B/report.json
  moadepth-edge bench --readme-table benchmarks/mydevice/report.json README.md
  moadepth-edge bench --readme-live-table benchmarks/mydevice/live/report.json README.md
"""


def _ints(text: str, flag: str) -> tuple[int, ...]:
    """"1,4" -> (1, 4); "" -> () (not given)."""
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise UserError(f"{flag} takes comma-separated integers, got {text!r}") from None
    if text.strip() and (not values or min(values) < 1):
        raise UserError(f"{flag} takes positive integers, got {text!r}")
    return tuple(sorted(set(values)))


def _resolutions(text: str) -> tuple[tuple[int, int], ...]:
    """"224x224,480x640" (height x width) -> ((224, 224), (480, 640))."""
    from ..data.spec import parse_size

    out = []
    for item in (v.strip() for v in text.split(",") if v.strip()):
        out.append(parse_size(item, "--resolution"))
    return tuple(out)


def _names(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def register(app: typer.Typer) -> None:
    @app.command("bench", help=HELP)
    def bench(
        models: Optional[list[Path]] = typer.Argument(None, help="Model files (.onnx, .engine) to measure."),
        backend: str = typer.Option("auto", help="Comma list: auto (by suffix), onnxruntime, "
                                    "onnxruntime:cuda, onnxruntime:tensorrt, tensorrt, torch."),
        precision: str = typer.Option("", help="Comma list of precisions to expect (fp32, fp16, int8); "
                                      "default: each model's own."),
        batch: str = typer.Option("", help=f"Comma list of batch sizes, 1 to {MAX_BATCH} (default 1)."),
        resolution: str = typer.Option("", help=f"Comma list of HEIGHTxWIDTH inputs, each side 1 to {MAX_SIDE}; "
                                       "default: the model's."),
        profile: Optional[str] = typer.Option(None, help="Take batch sizes / resolution / precision "
                                              "from an export target profile."),
        warmup: int = typer.Option(10, help="Untimed calls (and pipeline frames) first."),
        iters: Optional[int] = typer.Option(None, help="Timed calls per configuration (default 100)."),
        seconds: Optional[float] = typer.Option(None, help="Seconds per configuration instead of --iters "
                                                "(a finite number > 0)."),
        video: Optional[Path] = typer.Option(None, help="Video file for end-to-end pipeline FPS."),
        data: Optional[str] = typer.Option(None, help="Accuracy data: synthetic:N or nyu:PATH."),
        protocol: str = typer.Option("standard", help="Evaluation protocol: standard or paper."),
        reference: Optional[Path] = typer.Option(None, help="FP32 model to measure agreement against."),
        baseline: Optional[str] = typer.Option(
            None, help="torch-eager[:DEVICE]: time the checkpoint in PyTorch too."),
        checkpoint: Optional[Path] = typer.Option(None, help="Checkpoint folder for --baseline."),
        live_video: Optional[Path] = typer.Option(
            None, help="Replay this video as a live camera (paced at --live-fps, newest frame kept) and "
                       "measure glass-to-depth latency, frame age at inference and drops."),
        live: Optional[str] = typer.Option(
            None, help="The same on a real live source: camera index, csi://N, stream URL or GStreamer pipeline."),
        live_fps: Optional[float] = typer.Option(None, help="Frame rate of the --live-video replay (default 30)."),
        live_seconds: Optional[float] = typer.Option(
            None, help="Seconds of live streaming per schedule and stream count (default 20)."),
        live_streams: str = typer.Option(
            "", help="Comma list of stream counts (e.g. 1,2,4): replay --live-video as that many cameras "
                     "at once, batched and one frame per call, a latency row per camera (default 1)."),
        threads: Optional[int] = typer.Option(None, help="CPU threads for ONNX Runtime and torch."),
        out: Optional[Path] = typer.Option(None, help="Output folder (default benchmarks/<device>)."),
        compare: Optional[tuple[Path, Path]] = typer.Option(None, help="Print B/A ratios of two reports."),
        readme_table: Optional[tuple[Path, Path]] = typer.Option(
            None, help="REPORT MARKDOWN: regenerate the table between the bench markers."),
        readme_live_table: Optional[tuple[Path, Path]] = typer.Option(
            None, help="REPORT MARKDOWN: regenerate the live latency table between the bench-live markers."),
        streams: str = typer.Option(
            "", help="Comma list of stream counts (e.g. 1,2,4): aggregate FPS of that many copies of --video "
                     "at once, batched vs one frame per call, taking turns in one run."),
        streams_frames: int = typer.Option(20, help="Frames per stream per --streams run."),
        streams_rounds: int = typer.Option(5, help="Rounds of --streams runs (each candidate once per round)."),
        overlap: Optional[int] = typer.Option(
            None, help="REPEATS: does the pipeline keep up with the model? Model-only vs pipeline "
                       "FPS (and with --save) on --video's first --iters frames, alternated."),
    ) -> int:
        if compare:
            return _compare(*compare)
        if readme_table:
            return _readme(*readme_table)
        if readme_live_table:
            return _readme(*readme_live_table, live=True)
        if not models:
            raise UserError("give one or more model files (or --compare / --readme-table)")
        from ..bench.live import LiveSpec
        from ..bench.measure import Budget
        from ..bench.suite import BenchPlan

        batches, resolutions, precisions = _ints(batch, "--batch"), _resolutions(resolution), _names(precision)
        if profile:  # explicit flags win over the profile
            from ..formats.profile import load_profile

            p_batches, p_res, p_prec = load_profile(profile).bench_view()
            batches, resolutions = batches or p_batches, resolutions or p_res
            precisions = precisions or p_prec
        for path in [*models, video, reference, checkpoint, live_video]:
            if path is not None and not path.exists():
                raise UserError(f"not found: {path}")
        live_spec = None
        if live_video is not None or live is not None:
            live_spec = LiveSpec(video=live_video, source=live, fps=30.0 if live_fps is None else live_fps,
                                 seconds=20.0 if live_seconds is None else live_seconds,
                                 streams=_ints(live_streams, "--live-streams") or (1,))
        elif live_fps is not None or live_seconds is not None or live_streams.strip():
            raise UserError("--live-fps, --live-seconds and --live-streams go with --live-video FILE or --live SOURCE")
        streams_spec = None
        if streams.strip():
            from ..bench.streams import StreamsSpec

            if video is None:
                raise UserError("--streams measures several copies of --video at once; add --video FILE")
            streams_spec = StreamsSpec(_ints(streams, "--streams"), streams_frames, streams_rounds)
        if overlap is not None:
            return _overlap(models, video, overlap, iters or 200, threads, out)
        if threads is not None and threads < 1:
            raise UserError(f"--threads takes a positive integer, got {threads}")
        plan = BenchPlan(
            models=tuple(models), backends=_names(backend) or ("auto",), precisions=precisions,
            batches=batches or (1,), resolutions=resolutions,
            budget=Budget(warmup=warmup, iters=100 if iters is None and seconds is None else iters,
                          seconds=seconds),
            video=video, data=data, protocol=protocol, reference=reference, baseline=baseline,
            checkpoint=checkpoint, threads=threads, live=live_spec, streams=streams_spec,
        )
        return _bench(plan, out)


def _bench(plan: BenchPlan, out: Path | None) -> int:
    """Run the plan, write report.json / report.md / plots / command.txt, print a summary."""
    import sys

    from ..bench.markdown import render_markdown
    from ..bench.plots import write_plots
    from ..bench.progress import BenchProgress
    from ..bench.schema import save_report
    from ..bench.suite import Suite
    from ..bench.system import device_slug, system_info
    from .. import signals
    from ..errors import MissingDependency
    from ..outputs import output_dir, write_text

    folder = output_dir(out or Path("benchmarks") / device_slug(system_info()), "--out")
    command = command_line(plan, folder)
    progress = BenchProgress()
    suite = Suite(plan, progress)
    suite.check_inputs()  # a user mistake is its one line, before the progress bar draws anything
    with signals.deferred():  # a signal ends the run after the current configuration, reported
        with progress:
            report = suite.run(command=command)
        save_report(report, folder / "report.json")
        try:
            plots = write_plots(report, output_dir(folder / "plots", "--out"))
        except MissingDependency as exc:  # a device without matplotlib still gets JSON + Markdown
            print(f"warning: no plots: {exc}", file=sys.stderr)
            plots = []
        write_text(folder / "report.md", render_markdown(report, [f"plots/{p.name}" for p in plots]))
        write_text(folder / "command.txt", report.command + "\n")
    _print_summary(report)
    for note in report.notes:
        if note.startswith("Stopped by"):
            print(note, file=sys.stderr)
    failed = [c for c in report.configs if c.status == "error"]
    print(f"wrote {folder / 'report.json'}, {folder / 'report.md'} and {len(plots)} plots")
    if failed:
        print(f"error: {len(failed)} of {len(report.configs)} configurations failed (listed in the report)",
              file=sys.stderr)
        return 1
    return 0


def command_line(plan: BenchPlan, out: Path) -> str:
    """The exact command that reproduces `plan` (all defaults spelled out), for the report."""
    b = plan.budget
    args = ["moadepth-edge", "bench", *map(str, plan.models), "--backend", ",".join(plan.backends),
            "--batch", ",".join(map(str, plan.batches)), "--warmup", str(b.warmup)]
    args += ["--seconds", str(b.seconds)] if b.seconds else ["--iters", str(b.iters)]
    if plan.precisions:
        args += ["--precision", ",".join(plan.precisions)]
    if plan.resolutions:
        args += ["--resolution", ",".join(f"{h}x{w}" for h, w in plan.resolutions)]
    for flag, value in (("--video", plan.video), ("--data", plan.data), ("--reference", plan.reference),
                        ("--baseline", plan.baseline), ("--checkpoint", plan.checkpoint),
                        ("--threads", plan.threads)):
        if value is not None:
            args += [flag, str(value)]
    if plan.data is not None and plan.protocol != "standard":
        args += ["--protocol", plan.protocol]
    live = plan.live
    if live is not None:
        args += ["--live-video", str(live.video)] if live.video is not None else ["--live", redact(str(live.source))]
        args += ["--live-fps", f"{live.fps:g}"] if live.video is not None else []
        args += ["--live-seconds", f"{live.seconds:g}"]
        args += ["--live-streams", ",".join(map(str, live.streams))] if live.streams != (1,) else []
    if plan.streams is not None:
        s = plan.streams
        args += ["--streams", ",".join(map(str, s.counts)), "--streams-frames", str(s.frames),
                 "--streams-rounds", str(s.rounds)]
    return " ".join(shlex.quote(a) for a in [*args, "--out", str(out)])


def _print_summary(report: Report) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="model-only latency (ms per call) and pipeline FPS")
    for col in ("config", "p50", "p99", "images/s", "speed-up", "pipeline FPS", "status"):
        table.add_column(col, justify="left" if col in ("config", "status") else "right",
                         no_wrap=col != "config", overflow="fold")
    for c in report.configs:
        lat = c.latency
        table.add_row(c.id, *(str(v) if v is not None else "-" for v in (
            lat.p50 if lat else None, lat.p99 if lat else None, c.throughput_ips, c.speedup_model,
            c.pipeline.fps if c.pipeline else None)), "ok" if c.status == "ok" else "[red]error[/]")
    console = Console()
    console.print(table)
    multi = [c for c in report.ok() if c.streams is not None]
    if multi:
        from ..bench.markdown import streams_rows

        headers, rows = streams_rows(multi)
        shown = ["streams", "batched FPS", "one-per-call FPS", "x", "frames per call", "model-only x"]
        table = Table(title=f"several streams at once, {Path(multi[0].model).name}: aggregate FPS, "
                            "batched vs one frame per call")
        for col in shown:
            table.add_column(col, justify="right", overflow="fold")
        for row in rows:
            table.add_row(*(str(row[headers.index(col)]) for col in shown))
        console.print(table)
    live = [c for c in report.ok() if c.live is not None]
    if live:
        from ..bench.markdown import live_rows

        headers, rows = live_rows(live, short=True)
        shown = ["model", "streams", "schedule", "model-only p50 ms", "latency p50 ms", "p95 ms", "p99 ms",
                 "x model-only (p50)", "frame age p50 ms", "dropped"]
        table = Table(title=f"live glass-to-depth latency (ms), {live[0].live.source}")  # type: ignore[union-attr]
        for col in shown:
            table.add_column(col.replace(" ms", ""), justify="left" if col in ("model", "schedule") else "right",
                             overflow="fold")
        for row in rows:
            if row[headers.index("stream")] in ("", "all"):  # per-camera rows: in report.md
                cells = (row[headers.index(col)] for col in shown)
                table.add_row(*(f"{v:.1f}" if isinstance(v, float) and not col.startswith("x ") else str(v)
                                for col, v in zip(shown, cells)))
        console.print(table)


def _compare(a: Path, b: Path) -> int:
    from ..bench.compare import compare_reports, print_comparison
    from ..bench.schema import load_report

    print_comparison(compare_reports(load_report(a), load_report(b)), str(a), str(b))
    return 0


def _readme(report_path: Path, markdown: Path, live: bool = False) -> int:
    from ..bench.readme import LIVE_MARKERS, live_table, performance_table, update_readme
    from ..bench.schema import load_report

    report = load_report(report_path)
    if live:
        update_readme(markdown, live_table(report, str(report_path)), LIVE_MARKERS)
        print(f"updated the live latency table in {markdown} from {report_path}")
        return 0
    update_readme(markdown, performance_table(report, str(report_path)))
    print(f"updated the performance table in {markdown} from {report_path}")
    return 0


def _overlap(models: list[Path], video: Path | None, repeats: int, frames: int, threads: int | None,
             out: Path | None) -> int:
    """`bench --overlap`: the pipeline-vs-model-only table (bench/overlap.py)."""
    from ..bench.overlap import measure_overlap, print_table
    from ..outputs import output_dir, write_text

    if video is None or len(models) != 1 or repeats < 1:
        raise UserError("--overlap REPEATS (>= 1) takes one model and a --video file")
    folder = output_dir(out, "--out") if out is not None else None
    result = measure_overlap(models[0], video, frames, repeats, **({"threads": threads} if threads else {}))
    print_table(result, str(models[0]))
    if folder is not None:
        import json

        write_text(folder / "overlap.json", json.dumps(result.to_dict(), indent=2) + "\n")
    return 0
