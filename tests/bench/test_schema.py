"""The report schema: round trip, and a clear error naming the field for bad documents."""
from __future__ import annotations

import copy
import json

import pytest

from moadepth_edge.bench.measure import summarize
from moadepth_edge.bench.schema import (SCHEMA_VERSION, ConfigResult, Report, ReportError, load_report,
                                        parse_report, save_report)


def _report() -> Report:
    ok = ConfigResult(id="m.onnx/onnxruntime/fp32/b1/64x64", model="m.onnx", role="toolkit",
                      backend="onnxruntime", precision="fp32", batch=1, resolution=[64, 64], status="ok",
                      latency=summarize([1.0, 1.5, 2.0, 4.0]), throughput_ips=500.0)
    bad = ConfigResult(id="m.onnx/tensorrt/-/b1/?", model="m.onnx", role="toolkit", backend="tensorrt",
                       precision="-", batch=1, resolution=[], status="error", error="no GPU")
    return Report(created_utc="2026-11-24T12:00:00Z", command="moadepth-edge bench m.onnx",
                  budget={"warmup": 1, "iters": 4}, system={"cpu": "x"}, configs=[ok, bad])


def test_round_trip(tmp_path):
    report = _report()
    path = save_report(report, tmp_path / "r.json")
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION
    assert load_report(path) == report


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["configs"][0].__setitem__("batch", "1"), "configs[0].batch must be int"),
    (lambda d: d["configs"][0].pop("status"), "configs[0].status is missing"),
    (lambda d: d["configs"][0].__setitem__("status", "fine"), "expected one of"),
    (lambda d: d["configs"][0].__setitem__("speed", 2), "unknown fields ['speed']"),
    (lambda d: d["configs"][0]["latency"].__setitem__("p90", 0.5), "percentiles out of order"),
    (lambda d: d["configs"][0]["latency"]["samples_ms"].pop(), "samples are stored"),
    (lambda d: d["configs"][1].__setitem__("error", None), "records no error"),
    (lambda d: d.__setitem__("schema_version", 99), "schema_version 99"),
])
def test_invalid_reports_name_the_problem(edit, message):
    data = copy.deepcopy(_report().to_dict())
    edit(data)
    with pytest.raises(ReportError, match=__import__("re").escape(message)):
        parse_report(data)


def test_unreadable_files_are_user_errors(tmp_path):
    with pytest.raises(ReportError, match="not found"):
        load_report(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ReportError, match="not JSON"):
        load_report(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"a": 1}')
    with pytest.raises(ReportError, match="not a benchmark report"):
        load_report(tmp_path / "other.json")
