from __future__ import annotations

import json

from moadepth_edge.runtime.overlap import main, measure_overlap


def test_measure_overlap_reports_both_sides(tiny_onnx, clip):
    result = measure_overlap(tiny_onnx, clip.video, frames=6, repeats=1, threads=1)
    assert result.backend == "onnxruntime" and result.frames == 6
    assert result.model_fps > 0 and result.pipeline_fps > 0 and result.pipeline_save_fps > 0
    assert result.stats.frames == 6
    assert result.ratio == result.pipeline_fps / result.model_fps


def test_command_prints_a_table_and_writes_json(tiny_onnx, clip, tmp_path, capsys):
    out = tmp_path / "overlap.json"
    assert main([str(tiny_onnx), "--source", str(clip.video), "--frames", "4", "--repeats", "1",
                 "--threads", "1", "--json", str(out)]) == 0
    assert "x model-only" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["frames"] == 4 and set(data["stages_ms"]) >= {"capture", "infer", "output"}
