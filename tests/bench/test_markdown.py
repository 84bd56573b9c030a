"""Every number in the Markdown report equals the JSON report (the tables are parsed back)."""
from __future__ import annotations

import dataclasses
import json
import re
from typing import Any, Callable

Getter = Callable[[dict[str, Any]], Any]

_LATENCY = {"mean ms": "mean", "std ms": "std", "p50 ms": "p50", "p90 ms": "p90", "p99 ms": "p99",
            "min ms": "min", "max ms": "max"}
COLUMNS: dict[str, dict[str, Getter]] = {
    "Model-only latency": {
        "backend": lambda c: c["backend"], "precision": lambda c: c["precision"],
        "batch": lambda c: c["batch"], "input": lambda c: "x".join(map(str, c["resolution"])),
        **{h: (lambda k: lambda c: c["latency"][k])(k) for h, k in _LATENCY.items()},
        "images/s": lambda c: c["throughput_ips"], "speed-up": lambda c: c["speedup_model"],
        "RSS peak MiB": lambda c: c["memory"]["host_rss_peak_mb"],
        "GPU mem MiB": lambda c: c["memory"]["gpu_mem_peak_mb"],
        "size MiB": lambda c: c["memory"]["model_size_mb"],
    },
    "Pipeline": {
        "source": lambda c: c["pipeline"]["source"], "frames": lambda c: c["pipeline"]["frames"],
        "FPS": lambda c: c["pipeline"]["fps"],
        **{f"{s} ms": (lambda s: lambda c: c["pipeline"]["stage_ms"][s])(s)
           for s in ("capture", "preprocess", "infer", "postprocess")},
        "latency p50 ms": lambda c: c["pipeline"]["frame_p50_ms"],
        "latency p99 ms": lambda c: c["pipeline"]["frame_p99_ms"],
        "speed-up": lambda c: c["speedup_pipeline"],
    },
    "Accuracy": {
        "dataset": lambda c: c["accuracy"]["dataset"], "images": lambda c: c["accuracy"]["images"],
        **{m: (lambda m: lambda c: c["accuracy"]["metrics"][m])(m)
           for m in ("delta1", "delta2", "delta3", "abs_rel", "sq_rel", "rmse", "rmse_log", "log10", "silog")},
        "reference": lambda c: c["agreement"]["reference"] if c["agreement"] else None,
        "delta1 agreement": lambda c: c["agreement"]["delta1_agreement"] if c["agreement"] else None,
        "max abs err m": lambda c: c["agreement"]["max_abs_err_m"] if c["agreement"] else None,
        "mean abs err m": lambda c: c["agreement"]["mean_abs_err_m"] if c["agreement"] else None,
    },
    "Failed configurations": {"error": lambda c: c["error"]},
}


def parse_tables(markdown: str) -> dict[str, list[dict[str, str]]]:
    """{section heading: rows as {header: cell}} for every pipe table under a `## ` heading."""
    tables: dict[str, list[dict[str, str]]] = {}
    section, header = "", None
    for line in markdown.splitlines():
        if line.startswith("## "):
            section, header = line[3:].strip(), None
        elif line.startswith("|"):
            cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            if header is None:
                header = cells
            elif not set(line) <= set("|-"):
                tables.setdefault(section, []).append(dict(zip(header, cells)))
        else:
            header = None
    return tables


def same(cell: str, value: Any) -> bool:
    if value is None:
        return cell == "-"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(cell) == value
    return cell == str(value)


def test_every_markdown_number_equals_the_json(bench_run):
    _, out = bench_run
    report = json.loads((out / "report.json").read_text())
    configs = {c["id"]: c for c in report["configs"]}
    tables = parse_tables((out / "report.md").read_text())
    checked = 0
    for prefix, columns in COLUMNS.items():
        (section,) = [s for s in tables if s.startswith(prefix)]
        for row in tables[section]:
            config = configs[row.pop("config")]
            assert set(row) == set(columns), f"{section}: unmapped columns {set(row) ^ set(columns)}"
            for header, cell in row.items():
                assert same(cell, columns[header](config)), (section, config["id"], header, cell)
                checked += 1
    ok = [c for c in report["configs"] if c["status"] == "ok"]
    assert len(tables[[s for s in tables if s.startswith("Model-only")][0]]) == len(ok)
    assert checked > 100


def test_parser_reads_escaped_pipes():
    md = "## T\n\n| config | error |\n|---|---|\n| a | x \\| y |\n"
    assert parse_tables(md) == {"T": [{"config": "a", "error": "x | y"}]}


def test_busy_machine_note_reaches_the_markdown(bench_run):
    from moadepth_edge.bench.markdown import render_markdown
    from moadepth_edge.bench.schema import load_report
    from moadepth_edge.bench.suite import busy_note

    assert busy_note({"load_avg_1m": 0.1, "cpu_cores_logical": 2}) == []
    (note,) = busy_note({"load_avg_1m": 3.5, "cpu_cores_logical": 2})
    assert "load average 3.5 on 2 CPU threads" in note
    _, out = bench_run
    report = load_report(out / "report.json")
    report = dataclasses.replace(report, notes=[note])
    assert f"> {note}" in render_markdown(report)
