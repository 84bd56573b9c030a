"""Regenerate a README's performance tables from a report JSON (never typed by hand).

A table replaces whatever lies between its markers of a Markdown file (`<!-- bench:start -->`
... `<!-- bench:end -->` for the performance table, `<!-- bench-live:start -->` ...
`<!-- bench-live:end -->` for the live latency table); everything else is left byte for byte.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from ..outputs import write_text
from .markdown import live_rows, md_table, resolution
from .schema import Report

START, END = "<!-- bench:start -->", "<!-- bench:end -->"
LIVE_MARKERS = ("<!-- bench-live:start -->", "<!-- bench-live:end -->")


def performance_table(report: Report, source: str) -> str:
    """A compact table: one row per measured configuration, plus where the numbers came from."""
    sysinfo = report.system
    device = (sysinfo.get("gpu") or {}).get("name") or sysinfo.get("cpu")
    headers = ["model", "backend", "precision", "batch", "input", "p50 ms", "p99 ms", "images/s",
               "pipeline FPS", "speed-up vs torch-eager (model / pipeline)", "delta1 agreement"]
    rows = []
    for c in report.ok():
        lat = c.latency
        speed = "/".join("-" if s is None else str(s) for s in (c.speedup_model, c.speedup_pipeline))
        rows.append([Path(c.model).name, c.backend, c.precision, c.batch, resolution(c),
                     lat.p50 if lat else None, lat.p99 if lat else None, c.throughput_ips,
                     c.pipeline.fps if c.pipeline else None,
                     None if c.role == "baseline" else speed,
                     c.agreement.delta1_agreement if c.agreement else None])
    head = (f"Measured on {device} ({sysinfo.get('cpu_cores_logical')} CPU threads) at "
            f"{report.created_utc} with `{report.command}`; raw numbers: `{source}`.")
    return f"{head}\n\n{md_table(headers, rows)}"


def live_table(report: Report, source: str) -> str:
    """Glass-to-depth latency per model and schedule beside model-only latency, plus provenance."""
    live = [c for c in report.ok() if c.live is not None]
    if not live:
        raise UserError(f"{source} has no live latency results (run bench with --live-video or --live)")
    sysinfo = report.system
    device = (sysinfo.get("gpu") or {}).get("name") or sysinfo.get("cpu")
    headers, rows = live_rows(live, short=True)
    head = (f"Measured on {device} ({sysinfo.get('cpu_cores_logical')} CPU threads, load average "
            f"{sysinfo.get('load_avg_1m')} at the start) at {report.created_utc} with `{report.command}`; "
            f"raw numbers: `{source}`.")
    return f"{head}\n\n{md_table(headers, rows)}"


def update_readme(markdown_path: str | Path, table: str, markers: tuple[str, str] = (START, END)) -> Path:
    """Replace the text between `markers` (default: the bench markers) of `markdown_path`."""
    path = Path(markdown_path)
    if not path.is_file():
        raise UserError(f"markdown file not found: {path}")
    text = path.read_text()
    begin_mark, end_mark = markers
    start, end = text.find(begin_mark), text.find(end_mark)
    if start < 0 or end < 0 or end < start:
        raise UserError(f"{path} has no '{begin_mark}' ... '{end_mark}' markers to put the table between")
    new = text[: start + len(begin_mark)] + "\n" + table + "\n" + text[end:]
    return write_text(path, new)
