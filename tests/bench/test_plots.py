"""Plots are real PNGs of the documented size whose embedded title says what they show."""
from __future__ import annotations

import json

import cv2
from PIL import Image

from moadepth_edge.bench.plots import DPI, SIZE, TITLES, write_plots
from moadepth_edge.bench.schema import load_report, parse_report


def test_report_plots_open_with_their_titles(bench_run):
    _, out = bench_run
    pngs = sorted((out / "plots").glob("*.png"))
    assert [p.stem for p in pngs] == sorted(set(TITLES) - {"live_latency"})  # no live source in this run
    for path in pngs:
        image = cv2.imread(str(path))
        assert image is not None and image.shape == (SIZE[1] * DPI, SIZE[0] * DPI, 3)
        assert image.std() > 5  # not a blank canvas
        assert Image.open(path).text["Title"] == TITLES[path.stem]
    markdown = (out / "report.md").read_text()
    assert all(f"plots/{p.name}" in markdown for p in pngs)


def test_no_speed_accuracy_plot_without_accuracy(bench_run, tmp_path):
    _, out = bench_run
    data = json.loads((out / "report.json").read_text())
    for c in data["configs"]:
        c["accuracy"] = c["agreement"] = None
    written = write_plots(parse_report(data), tmp_path)
    assert sorted(p.stem for p in written) == ["fps_batch", "latency"]
    assert load_report(out / "report.json").ok()  # the original is untouched
