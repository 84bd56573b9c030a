"""`bench --streams`: aggregate FPS of several streams, batched vs one frame per call, in the
JSON report, the Markdown and the reproducing command; its flags' mistakes as one line each."""
from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import assert_one_error, run_cli
from test_markdown import parse_tables

from moadepth_edge.bench.schema import ReportError, load_report, parse_report
from moadepth_edge.bench.streams import StreamsSpec, bench_streams
from moadepth_edge.cli.main import main
from moadepth_edge.errors import UserError
from moadepth_edge.runtime.backends import load_backend


@pytest.fixture(scope="module")
def streams_run(tiny_models, tiny_video, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("streams_run")
    rc = main(["bench", str(tiny_models["fp32"]), "--warmup", "1", "--iters", "3", "--threads", "1",
               "--video", str(tiny_video), "--streams", "1,3", "--streams-frames", "6", "--streams-rounds", "2",
               "--out", str(out)])
    assert rc == 0
    return out


def test_each_stream_count_is_measured_batched_and_one_per_call(streams_run):
    (config,) = load_report(streams_run / "report.json").configs
    multi = config.streams
    assert multi is not None and multi.frames_per_stream == 6 and multi.rounds == 2
    assert multi.frame_size == [96, 128] and len(multi.load_avg_1m) == 2 and multi.max_batch is None
    assert [row.streams for row in multi.rows] == [1, 3]
    one, three = multi.rows
    assert one.frames_per_call == 1.0  # one stream: nothing to batch
    assert 1.0 <= three.frames_per_call <= 3.0
    for row in multi.rows:
        assert len(row.batched_fps_rounds) == len(row.one_per_call_fps_rounds) == 2
        assert min(row.batched_fps_rounds) <= row.batched_fps <= max(row.batched_fps_rounds)
        assert row.batched_fps > 0 and row.one_per_call_fps > 0 and row.ratio > 0 and row.model_ratio > 0


def test_the_markdown_table_and_the_command_carry_the_streams(streams_run):
    text = (streams_run / "report.md").read_text()
    assert "## Several streams at once" in text
    rows = parse_tables(text)["Several streams at once"]
    (config,) = load_report(streams_run / "report.json").configs
    assert len(rows) == 2
    for cells, measured in zip(rows, config.streams.rows):  # type: ignore[union-attr]
        assert cells["streams"] == str(measured.streams) and cells["x"] == str(measured.ratio)
        assert cells["batched FPS"] == str(measured.batched_fps)
        assert cells["frames per call"] == str(measured.frames_per_call)
    command = (streams_run / "command.txt").read_text()
    assert "--streams 1,3 --streams-frames 6 --streams-rounds 2" in command


def test_a_report_whose_rounds_disagree_is_refused(streams_run):
    import json

    data = json.loads((streams_run / "report.json").read_text())
    data["configs"][0]["streams"]["rows"][0]["batched_fps_rounds"].append(1.0)
    with pytest.raises(ReportError, match="rounds stored"):
        parse_report(data)


def test_batched_calls_respect_the_models_batch_limit(tiny_onnx, tiny_video):
    class _Limited:
        def __init__(self, inner) -> None:
            self.inner, self.artifact, self.name, self.max_batch = inner, inner.artifact, inner.name, 2
            self.sizes: list[int] = []

        def infer(self, batch):
            self.sizes.append(batch.shape[0])
            return self.inner.infer(batch)

    with load_backend(tiny_onnx, threads=1) as backend:
        limited = _Limited(backend)
        result = bench_streams(limited, tiny_video, StreamsSpec(counts=(3,), frames=4, rounds=1))
    assert max(limited.sizes) == 2 and result.max_batch == 2 and result.rows[0].streams == 3


@pytest.mark.parametrize("args, expected", [
    (["--streams", "1,2"], "--streams measures several copies of --video"),
    (["--streams", "0,2", "--video", "{video}"], "--streams takes positive integers"),
    (["--streams", "1,x", "--video", "{video}"], "--streams takes comma-separated integers"),
    (["--streams", "2", "--streams-frames", "0", "--video", "{video}"], "--streams-frames and --streams-rounds"),
    (["--streams", "2", "--streams-frames", "500", "--video", "{video}"], "has 24 frames; --streams-frames asks"),
])
def test_streams_flag_mistakes_are_one_line(tiny_models, tiny_video, tmp_path, args, expected):
    proc = run_cli("bench", tiny_models["fp32"], "--iters", "2", "--warmup", "0", "--out", tmp_path / "out",
                   *(a.format(video=tiny_video) for a in args))
    assert expected in assert_one_error(proc.returncode, proc.stderr)


def test_the_spec_checks_its_counts():
    with pytest.raises(UserError):
        StreamsSpec(counts=())
    with pytest.raises(UserError):
        StreamsSpec(counts=(65,))
