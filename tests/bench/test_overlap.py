"""Pipeline vs model-only FPS (`bench --overlap`), measured with bench's own timing loop."""
from __future__ import annotations

import json

from moadepth_edge.bench.overlap import measure_overlap
from moadepth_edge.cli.main import main


def test_measure_overlap_reports_both_sides(tiny_models, tiny_video):
    result = measure_overlap(tiny_models["fp32"], tiny_video, frames=6, repeats=1, threads=1)
    assert result.backend == "onnxruntime" and result.frames == 6
    assert result.model_fps > 0 and result.pipeline_fps > 0 and result.pipeline_save_fps > 0
    assert result.stats.frames == 6
    assert result.ratio == result.pipeline_fps / result.model_fps


def test_bench_overlap_prints_a_table_and_writes_json(tiny_models, tiny_video, tmp_path, capsys):
    assert main(["bench", str(tiny_models["fp32"]), "--video", str(tiny_video), "--overlap", "1",
                 "--iters", "4", "--threads", "1", "--out", str(tmp_path)]) == 0
    assert "x model-only" in capsys.readouterr().out
    data = json.loads((tmp_path / "overlap.json").read_text())
    assert data["frames"] == 4 and set(data["stages_ms"]) >= {"capture", "infer", "output"}
