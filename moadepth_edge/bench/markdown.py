"""A report as Markdown: system, model-only latency, pipeline, live latency, accuracy, failures, plots.

Numbers are printed exactly as the JSON stores them (`str(float)`, no re-rounding), so every
value in the tables can be traced to, and is checked against, the report file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

from .pipeline import STAGES
from .schema import ConfigResult, Report

NONE = "-"
# metrics shown first, in this order, when present (the rest follow alphabetically)
METRIC_ORDER = ("delta1", "delta2", "delta3", "abs_rel", "sq_rel", "rmse", "rmse_log", "log10", "silog")


LIVE_TEXT = (
    "Per processed frame of a live source (a video replayed as a camera at its frame rate, newest "
    "frame kept, stamped with each frame's due time; or a real camera or stream): latency from the "
    "capture timestamp to depth at the frame's size, and the frame's age when inference took it. "
    "Schedule `latency`: inference takes the newest frame when it becomes free (what `run` does on "
    "live sources); `throughput`: frames are read and preprocessed ahead into a one-frame queue "
    "(what live sources got before). Several streams (`--live-streams N`, N replays as N cameras): "
    "`batched` runs the frames ready from all cameras in one call (what `run` does), `one per call` "
    "one frame per call in turn; a row per camera and one (`all`) pooling them, FPS being the "
    "cameras' total. Model-only: `backend.infer` on the same frames, timed between "
    "the rounds (a frame's own inference: for N streams batched, one call on N frames). Dropped: frames delivered in the measured span that were never processed. Stage "
    "columns: mean ms per frame (capture: waiting for the source's next frame). Replay lag: how "
    "late the replay delivered its frames. Load avg: the 1-minute load at the start / end.")


def fmt(value: Any) -> str:
    """One table cell: numbers as stored, None as '-', text with pipes escaped."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return str(value)
    return str(value).replace("|", "\\|").replace("\n", " ")


def md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def resolution(c: ConfigResult) -> str:
    return "x".join(str(v) for v in c.resolution)


def latency_table(configs: Sequence[ConfigResult]) -> str:
    headers = ["config", "backend", "precision", "batch", "input", "mean ms", "std ms", "p50 ms",
               "p90 ms", "p99 ms", "min ms", "max ms", "images/s", "speed-up", "RSS peak MiB",
               "GPU mem MiB", "size MiB"]
    rows = []
    for c in configs:
        lat, mem = c.latency, c.memory
        assert lat is not None
        rows.append([c.id, c.backend, c.precision, c.batch, resolution(c), lat.mean, lat.std,
                     lat.p50, lat.p90, lat.p99, lat.min, lat.max, c.throughput_ips, c.speedup_model,
                     mem.host_rss_peak_mb if mem else None, mem.gpu_mem_peak_mb if mem else None,
                     mem.model_size_mb if mem else None])
    return md_table(headers, rows)


def pipeline_table(configs: Sequence[ConfigResult]) -> str:

    headers = ["config", "source", "frames", "FPS", *(f"{s} ms" for s in STAGES),
               "latency p50 ms", "latency p99 ms", "speed-up"]
    rows = []
    for c in configs:
        p = c.pipeline
        assert p is not None
        rows.append([c.id, p.source, p.frames, p.fps, *(p.stage_ms.get(s) for s in STAGES),
                     p.frame_p50_ms, p.frame_p99_ms, c.speedup_pipeline])
    return md_table(headers, rows)


STREAMS_TEXT = (
    "N copies of the video streamed at once through the runtime's multi-stream pipeline, N x "
    "frames each run: **batched** (the frames ready from all streams in one inference call, as "
    "`run` does with several sources) vs **one per call** (the same streams taking turns, one frame "
    "per call). Model only: one call on N frames vs N calls on one. Every candidate runs once per "
    "round, in turn; FPS: medians over rounds; x: median of the per-round ratios. Load avg: the "
    "1-minute load at the start / end.")


def streams_rows(configs: Sequence[ConfigResult]) -> tuple[list[str], list[list[Any]]]:
    """Headers and one row per config x stream count of the several-streams table."""
    headers = ["config", "streams", "batched FPS", "one-per-call FPS", "x", "frames per call",
               "model-only batched FPS", "model-only one-per-call FPS", "model-only x", "load avg"]
    rows = []
    for c in configs:
        multi = c.streams
        assert multi is not None
        for row in multi.rows:
            rows.append([c.id, row.streams, row.batched_fps, row.one_per_call_fps, row.ratio, row.frames_per_call,
                         row.model_batched_fps, row.model_one_per_call_fps, row.model_ratio,
                         " / ".join(map(str, multi.load_avg_1m))])
    return headers, rows


def live_rows(configs: Sequence[ConfigResult], short: bool = False) -> tuple[list[str], list[list[Any]]]:
    """Headers and one row per config x schedule of the live latency table (`short`: the
    README's columns)."""
    if short:
        headers = ["model", "precision", "source", "streams", "stream", "schedule", "model-only p50 ms", "latency p50 ms",
                   "p95 ms", "p99 ms", "x model-only (p50)", "frame age p50 ms", "FPS", "dropped"]
    else:
        headers = ["config", "source", "frame", "streams", "stream", "schedule", "frames", "dropped", "FPS", "model-only p50 ms",
                   "latency p50 ms", "latency p95 ms", "latency p99 ms", "latency max ms",
                   "x model-only (p50)", "age p50 ms", "age p95 ms", *(f"{s} ms" for s in STAGES),
                   "replay lag p99 ms", "load avg"]
    rows = []
    for c in configs:
        live = c.live
        assert live is not None
        for run in live.runs:
            lat, age = run.latency, run.age
            model_p50 = live.model_ms.p50 if run.model_p50_ms is None else run.model_p50_ms
            if short:
                rows.append([Path(c.model).name, c.precision, live.source, run.streams, run.stream, run.schedule,
                             model_p50, lat.p50, lat.p95, lat.p99, run.ratio_p50, age.p50, run.fps, run.dropped])
                continue
            rows.append([c.id, live.source, "x".join(map(str, live.frame_size)), run.streams, run.stream,
                         run.schedule, run.frames, run.dropped, run.fps, model_p50, lat.p50, lat.p95, lat.p99, lat.max,
                         run.ratio_p50, age.p50, age.p95, *(run.stage_ms.get(s) for s in STAGES),
                         live.replay_lag_ms.p99 if live.replay_lag_ms else None,
                         " / ".join(map(str, live.load_avg_1m))])
    return headers, rows


def metric_names(configs: Sequence[ConfigResult]) -> list[str]:
    found = {k for c in configs if c.accuracy for k in c.accuracy.metrics}
    return [m for m in METRIC_ORDER if m in found] + sorted(found - set(METRIC_ORDER))


def accuracy_table(configs: Sequence[ConfigResult]) -> str:
    names = metric_names(configs)
    headers = ["config", "dataset", "images", *names, "reference", "delta1 agreement",
               "max abs err m", "mean abs err m"]
    rows = []
    for c in configs:
        acc, agr = c.accuracy, c.agreement
        rows.append([c.id, acc.dataset if acc else None, acc.images if acc else None,
                     *((acc.metrics.get(m) if acc else None) for m in names),
                     agr.reference if agr else None, agr.delta1_agreement if agr else None,
                     agr.max_abs_err_m if agr else None, agr.mean_abs_err_m if agr else None])
    return md_table(headers, rows)


def system_lines(system: dict[str, Any]) -> list[str]:
    gpu, jetson = system.get("gpu") or {}, system.get("jetson") or {}
    lines = [
        f"- CPU: {system.get('cpu')} ({system.get('cpu_cores_physical')} cores / "
        f"{system.get('cpu_cores_logical')} threads), RAM {system.get('ram_mb')} MiB, "
        f"load average at start {system.get('load_avg_1m')}",
        f"- GPU: {gpu.get('name', 'none')}" + (f", driver {gpu['driver']}, CUDA {gpu.get('cuda_driver_api')}"
                                              if gpu else ""),
        f"- TensorRT: {system.get('tensorrt') or 'not installed'}; ONNX Runtime providers: "
        f"{', '.join(system.get('onnxruntime_providers') or []) or 'none'}",
    ]
    if jetson:
        lines.append(f"- Jetson: {jetson.get('board')}, L4T {jetson.get('l4t')}, JetPack "
                     f"{jetson.get('jetpack')}, power mode {jetson.get('power_mode')}")
    pkgs = system.get("packages") or {}
    lines.append("- Packages: " + ", ".join(f"{k} {v}" for k, v in pkgs.items()))
    lines.append(f"- OS: {system.get('os')}, Python {system.get('python')}")
    return lines


def render_markdown(report: Report, plots: Sequence[str] = ()) -> str:
    """The whole report as Markdown; `plots` are image paths relative to the Markdown file."""
    b = report.budget
    budget = (f"{b.get('warmup')} warm-up calls, then "
              + (f"{b['iters']} timed calls" if b.get("iters") else f"{b.get('seconds')} s of calls"))
    parts = [f"# Benchmark report ({report.created_utc})", "",
             f"Command: `{report.command}`", "",
             f"Schema version {report.schema_version}. Model-only latency: {budget} per configuration, "
             "synchronous (each call returns host memory). Speed-up: the torch-eager baseline's p50 "
             "divided by ours at the same batch and input size (pipeline: our FPS / its FPS).", "",
             "## System", "", *system_lines(report.system), ""]
    for note in report.notes:
        parts += [f"> {note}", ""]
    ok = report.ok()
    timed = [c for c in ok if c.latency is not None]
    if timed:
        parts += ["## Model-only latency", "", latency_table(timed), ""]
    piped = [c for c in ok if c.pipeline is not None]
    if piped:
        parts += ["## Pipeline (video, one frame at a time)", "",
                  "Stage columns: mean ms per frame. Latency: from a frame captured to its depth at "
                  "frame size (our pipeline overlaps stages on threads, so FPS can exceed "
                  "1000 / sum of stages).", "", pipeline_table(piped), ""]
    multi = [c for c in ok if c.streams is not None]
    if multi:
        parts += ["## Several streams at once", "", STREAMS_TEXT, "", md_table(*streams_rows(multi)), ""]
    live = [c for c in ok if c.live is not None]
    if live:
        parts += ["## Live latency (glass to depth)", "", LIVE_TEXT, "", md_table(*live_rows(live)), ""]
    scored = [c for c in ok if c.accuracy is not None or c.agreement is not None]
    if scored:
        parts += ["## Accuracy", "", accuracy_table(scored), ""]
    failed = [c for c in report.configs if c.status == "error"]
    if failed:
        table = md_table(["config", "error"], [[c.id, c.error] for c in failed])
        parts += ["## Failed configurations", "", table, ""]
    if plots:
        parts += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    return "\n".join(parts)
