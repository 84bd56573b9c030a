"""PNG plots of a report: latency distribution per configuration, speed vs accuracy,
throughput vs batch size, and live glass-to-depth latency over time. matplotlib is imported lazily (Agg, no display needed).

Each figure has a fixed pixel size (SIZE at DPI) and its title is also written into the PNG's
`Title` text chunk, so a reader (or a test) can tell what an image shows without opening it.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from .._lazy import lazy_import
from ..outputs import write_with
from .schema import ConfigResult, Report

DPI = 100
SIZE = (10.0, 5.0)  # inches -> 1000 x 500 pixels
TITLES = {
    "latency": "Model-only latency per configuration (ms per call)",
    "speed_accuracy": "Speed vs accuracy (batch 1)",
    "fps_batch": "Throughput vs batch size (images/s)",
    "live_latency": "Live glass-to-depth latency over time (ms per frame)",
}


def _pyplot() -> Any:
    matplotlib = lazy_import("matplotlib")
    matplotlib.use("Agg", force=True)
    return lazy_import("matplotlib.pyplot")


def _save(fig: Any, path: Path, title: str) -> Path:
    fig.suptitle(title)
    try:
        write_with(path, lambda tmp: fig.savefig(tmp, dpi=DPI, format="png", metadata={"Title": title}))
    finally:
        _pyplot().close(fig)
    return path


def _series(c: ConfigResult) -> str:
    """A configuration minus its batch size (one line of the throughput plot)."""
    return f"{Path(c.model).name} {c.backend} {c.precision} {'x'.join(map(str, c.resolution))}"


def plot_latency(configs: list[ConfigResult], path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=SIZE, layout="constrained")
    data = [c.latency.samples_ms for c in configs]  # type: ignore[union-attr]
    ax.boxplot(data, vert=False, whis=(1, 99), showfliers=True, flierprops={"markersize": 2})
    ax.set_yticks(range(1, len(configs) + 1), [c.id for c in configs], fontsize=7)
    ax.set_xlabel("ms per call (box: p25-p75, line: p50, whiskers: p1-p99)")
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path, TITLES["latency"])


def _quality(c: ConfigResult) -> tuple[float, str] | None:
    if c.accuracy is not None and "delta1" in c.accuracy.metrics:
        return c.accuracy.metrics["delta1"], f"delta1 vs ground truth ({c.accuracy.dataset})"
    if c.agreement is not None:
        return c.agreement.delta1_agreement, f"delta1 agreement with {Path(c.agreement.reference).name}"
    return None


def plot_speed_accuracy(configs: list[ConfigResult], path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=SIZE, layout="constrained")
    ylabels = set()
    for c in configs:
        q = _quality(c)
        assert q is not None and c.latency is not None
        ax.scatter(c.latency.p50, q[0], s=40, marker="s" if c.role == "baseline" else "o")
        ax.annotate(c.id, (c.latency.p50, q[0]), fontsize=7, xytext=(4, 4), textcoords="offset points")
        ylabels.add(q[1])
    ax.margins(0.2)  # room for the labels
    ax.set_xlabel("p50 latency, ms per image (batch 1; left is faster; squares: baseline)")
    ax.set_ylabel(" / ".join(sorted(ylabels)), fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path, TITLES["speed_accuracy"])


def plot_fps_batch(configs: list[ConfigResult], path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=SIZE, layout="constrained")
    series: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for c in configs:
        series[_series(c)].append((c.batch, c.throughput_ips or 0.0))
    for name, points in series.items():
        points.sort()
        ax.plot([b for b, _ in points], [t for _, t in points], marker="o", label=name)
    ax.set_xlabel("batch size")
    ax.set_ylabel("images / s")
    ax.set_xticks(sorted({c.batch for c in configs}))
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _save(fig, path, TITLES["fps_batch"])


def plot_live_latency(configs: list[ConfigResult], path: Path) -> Path:
    """Per-frame latency against capture time, a colour per configuration and a marker per
    schedule (several streams: their pooled `all` row, a colour per stream count); dashed: the
    configuration's model-only p50."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=SIZE, layout="constrained")
    markers = {"latency": ".", "throughput": "x", "batched": "^", "one per call": "v"}
    counts = sorted({run.streams for c in configs if c.live for run in c.live.runs})
    for i, c in enumerate(configs):
        live = c.live
        assert live is not None
        name = f"{Path(c.model).name} {c.backend}"
        color = f"C{i % 10}"
        for run in live.runs:
            if run.stream not in ("", "all"):
                continue
            shade = color if run.streams == 1 else f"C{(i + len(configs) * counts.index(run.streams)) % 10}"
            what = run.schedule if run.streams == 1 else f"{run.streams} streams {run.schedule}"
            ax.plot(run.capture_s, run.latency.samples_ms, markers.get(run.schedule, "+"), markersize=3,
                    color=shade, label=f"{name} {what} (p50 {run.latency.p50:.0f} ms)")
        ax.axhline(live.model_ms.p50, linestyle="--", linewidth=1, color=color,
                   label=f"{name} model only (p50 {live.model_ms.p50:.0f} ms)")
    ax.set_xlabel("capture time, s since the live measurement began (schedules alternate in rounds)")
    ax.set_ylabel("capture to depth, ms")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _save(fig, path, TITLES["live_latency"])


def write_plots(report: Report, folder: str | Path) -> list[Path]:
    """The plots the report has data for, as PNGs in `folder`; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    timed = [c for c in report.ok() if c.latency is not None]
    out = []
    if timed:
        out.append(plot_latency(timed, folder / "latency.png"))
        out.append(plot_fps_batch(timed, folder / "fps_batch.png"))
    scored = [c for c in timed if c.batch == 1 and _quality(c) is not None]
    if scored:
        out.append(plot_speed_accuracy(scored, folder / "speed_accuracy.png"))
    live = [c for c in report.ok() if c.live is not None]
    if live:
        out.append(plot_live_latency(live, folder / "live_latency.png"))
    return out
