"""Metric tables for the terminal (rich): one row per metric, one column per result, so
the table stays narrow whatever the number of metrics."""
from __future__ import annotations

from rich.table import Table

from .metrics import HIGHER_IS_BETTER, METRICS

LABELS = {"delta1": "δ1", "delta2": "δ2", "delta3": "δ3", "abs_rel": "AbsRel", "sq_rel": "SqRel",
          "rmse": "RMSE", "rmse_log": "RMSE-log", "log10": "log10", "silog": "SILog"}


def metric_table(results: dict[str, dict[str, float]], title: str = "") -> Table:
    """Rows: metrics (with which way is better); columns: the labelled metric dicts."""
    table = Table(title=title or None)
    table.add_column("metric", no_wrap=True)
    for label in results:
        table.add_column(label, justify="right", no_wrap=True)
    for k in METRICS:
        better = "higher" if k in HIGHER_IS_BETTER else "lower"
        table.add_row(f"{LABELS[k]} ({better})", *(f"{m[k]:.3f}" for m in results.values()))
    return table
