"""`bench --compare`: ratios B / A of matched configurations."""
from __future__ import annotations

import json

from moadepth_edge.bench.compare import compare_reports
from moadepth_edge.bench.schema import load_report, parse_report
from moadepth_edge.cli.main import main


def test_a_report_against_itself_and_a_slower_copy(bench_run, tmp_path, capsys):
    _, out = bench_run
    a = load_report(out / "report.json")
    same = compare_reports(a, a)
    assert same.rows and not same.only_a and not same.only_b
    assert all(r in (1.0, None) for _, ratios in same.rows for r in ratios)

    data = json.loads((out / "report.json").read_text())
    for c in data["configs"]:
        if c["latency"]:
            lat = c["latency"]
            for k in ("mean", "p50", "p90", "p99", "min", "max"):
                lat[k] *= 2
            lat["samples_ms"] = [v * 2 for v in lat["samples_ms"]]
    data["configs"] = data["configs"][1:]  # B lacks A's first configuration
    slower = parse_report(data)
    cmp = compare_reports(a, slower)
    p50 = cmp.columns.index("p50 ms")
    assert all(ratios[p50] == 2.0 for _, ratios in cmp.rows)
    assert cmp.only_a == [a.ok()[0].id]

    path_b = tmp_path / "b.json"
    path_b.write_text(json.dumps(data))
    assert main(["bench", "--compare", str(out / "report.json"), str(path_b)]) == 0
    printed = capsys.readouterr().out
    assert "2.0x" in printed and "only in" in printed


def test_compare_a_missing_report_is_one_line(tmp_path, capsys):
    assert main(["bench", "--compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 2
    assert capsys.readouterr().err.strip().startswith("error: report not found")
