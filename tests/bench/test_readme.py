"""The README performance table is generated from a report, between markers, nothing else touched."""
from __future__ import annotations

import json

from moadepth_edge.bench.readme import END, START
from moadepth_edge.cli.main import main


def test_table_replaces_only_the_marked_block(bench_run, tmp_path):
    _, out = bench_run
    readme = tmp_path / "README.md"
    before, after = "# Title\n\nintro\n\n", "\n\n## Later\ntext\n"
    readme.write_text(f"{before}{START}\nold table\n{END}{after}")
    assert main(["bench", "--readme-table", str(out / "report.json"), str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith(before + START) and text.endswith(END + after)
    assert "old table" not in text
    report = json.loads((out / "report.json").read_text())
    rows = [line for line in text.splitlines() if line.startswith("| ") and "backend" not in line]
    ok = [c for c in report["configs"] if c["status"] == "ok"]
    assert len(rows) == len(ok)
    for row, c in zip(rows, ok):
        assert f"| {c['latency']['p50']} | {c['latency']['p99']} | {c['throughput_ips']} |" in row
    # regenerating is idempotent
    assert main(["bench", "--readme-table", str(out / "report.json"), str(readme)]) == 0
    assert readme.read_text() == text


def test_missing_markers_is_one_line(bench_run, tmp_path, capsys):
    _, out = bench_run
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    assert main(["bench", "--readme-table", str(out / "report.json"), str(readme)]) == 2
    assert "markers" in capsys.readouterr().err
    assert readme.read_text() == "# no markers\n"
