"""`bench --compare A.json B.json`: the ratio B / A of every number two reports share.

Configurations are matched on (model file name, role, backend, precision, batch, input size),
so the same command run on two devices, or before and after a change, lines up row by row.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .schema import ConfigResult, Report

Key = tuple[str, str, str, str, int, tuple[int, ...]]

# (column, getter, lower is better)
METRICS: tuple[tuple[str, Callable[[ConfigResult], float | None], bool], ...] = (
    ("p50 ms", lambda c: c.latency.p50 if c.latency else None, True),
    ("p99 ms", lambda c: c.latency.p99 if c.latency else None, True),
    ("images/s", lambda c: c.throughput_ips, False),
    ("pipeline FPS", lambda c: c.pipeline.fps if c.pipeline else None, False),
    ("RSS peak MiB", lambda c: c.memory.host_rss_peak_mb if c.memory else None, True),
)


def config_key(c: ConfigResult) -> Key:
    return (Path(c.model).name, c.role, c.backend, c.precision, c.batch, tuple(c.resolution))


@dataclass(frozen=True)
class Comparison:
    """Rows of B / A ratios for matched configurations, and what only one report has."""

    columns: list[str]
    rows: list[tuple[str, list[float | None]]]  # (config id in B, ratio per column)
    only_a: list[str]
    only_b: list[str]


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or a == 0:
        return None
    return round(b / a, 3)


def compare_reports(a: Report, b: Report) -> Comparison:
    """B / A for each metric of each configuration measured (status ok) in both reports."""
    amap = {config_key(c): c for c in a.ok()}
    bmap = {config_key(c): c for c in b.ok()}
    rows = []
    for key, cb in bmap.items():
        ca = amap.get(key)
        if ca is not None:
            rows.append((cb.id, [_ratio(get(ca), get(cb)) for _, get, _ in METRICS]))
    return Comparison(
        columns=[name for name, _, _ in METRICS],
        rows=rows,
        only_a=[c.id for k, c in amap.items() if k not in bmap],
        only_b=[c.id for k, c in bmap.items() if k not in amap],
    )


def print_comparison(cmp: Comparison, a_name: str, b_name: str) -> None:
    """A rich table of ratios: green where B is better than A, red where worse."""
    from rich.console import Console
    from rich.table import Table

    lower_better = [lb for _, _, lb in METRICS]
    table = Table(title=f"B / A  (A = {a_name}, B = {b_name})")
    table.add_column("config")
    for col in cmp.columns:
        table.add_column(col, justify="right")
    for cid, ratios in cmp.rows:
        cells = []
        for r, lb in zip(ratios, lower_better):
            if r is None:
                cells.append("-")
            else:
                better = r < 1 if lb else r > 1
                cells.append(f"[{'green' if better else 'red' if r != 1 else 'white'}]{r}x[/]")
        table.add_row(cid, *cells)
    console = Console()
    console.print(table)
    if not cmp.rows:
        console.print("no configuration appears in both reports")
    for name, ids in ((a_name, cmp.only_a), (b_name, cmp.only_b)):
        if ids:
            console.print(f"only in {name}: {', '.join(ids)}")
