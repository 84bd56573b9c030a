"""`bench --live-video`: glass-to-depth latency on a paced replay, as one camera and as two at
once, in the JSON, Markdown, plot and README table, and the live flags' mistakes as one line each."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from test_markdown import parse_tables, same

from moadepth_edge.bench.live import MULTI_SCHEDULES, SCHEDULES, SETTLE_FRAMES
from moadepth_edge.bench.plots import TITLES
from moadepth_edge.bench.readme import LIVE_MARKERS
from moadepth_edge.bench.schema import load_report
from moadepth_edge.cli.main import main


@pytest.fixture(scope="module")
def live_run(tiny_models, tiny_video, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("live_run")
    rc = main(["bench", str(tiny_models["fp32"]), "--warmup", "1", "--iters", "5", "--threads", "1",
               "--live-video", str(tiny_video), "--live-fps", "40", "--live-seconds", "2", "--live-streams", "1,2",
               "--out", str(out)])
    assert rc == 0
    return out


def test_live_latency_is_measured_beside_model_only(live_run):
    report = load_report(live_run / "report.json")
    (config,) = report.configs
    live = config.live
    assert live is not None and live.paced_fps == 40.0 and live.frame_size == [96, 128] and live.rounds == 4
    assert live.source.endswith("paced at 40 FPS") and len(live.load_avg_1m) == 2
    assert live.replay_lag_ms is not None and live.replay_lag_ms.p50 >= 0
    single = [run for run in live.runs if run.streams == 1]
    assert [run.schedule for run in single] == list(SCHEDULES) and {run.stream for run in single} == {""}
    for run in single:
        assert run.frames == run.latency.n == run.age.n == len(run.capture_s) > 4 * SETTLE_FRAMES
        assert 0 <= run.age.p50 <= run.latency.p50 and run.dropped >= 0
        assert run.ratio_p50 == round(run.latency.p50 / live.model_ms.p50, 3)
        assert {"capture", "preprocess", "infer", "postprocess"} <= set(run.stage_ms)
        assert 0 < run.fps <= 40 * 1.1  # never more frames than the camera delivers
    assert "--live-video" in report.command and "--live-seconds 2 --live-streams 1,2" in report.command
    assert (live_run / "command.txt").read_text().strip() == report.command


def test_two_cameras_get_a_row_each_and_one_for_both(live_run):
    live = load_report(live_run / "report.json").configs[0].live
    multi = [run for run in live.runs if run.streams == 2]
    assert [(run.schedule, run.stream) for run in multi] == [
        (schedule, stream) for schedule in MULTI_SCHEDULES for stream in ("all", "cam0", "cam1")]
    for schedule in MULTI_SCHEDULES:
        every, *cams = [run for run in multi if run.schedule == schedule]
        assert all(cam.frames > 0 for cam in cams)  # neither camera starved the other
        assert every.frames == sum(cam.frames for cam in cams)
        assert every.dropped == sum(cam.dropped for cam in cams)
        assert sorted(every.latency.samples_ms) == sorted(x for cam in cams for x in cam.latency.samples_ms)
        assert every.fps == pytest.approx(sum(cam.fps for cam in cams), rel=0.02)  # the cameras' total
        for run in (every, *cams):
            assert run.model_p50_ms is not None and run.model_p50_ms > 0
            if schedule == "one per call":  # a frame's own inference is a call on it alone
                assert run.model_p50_ms == live.model_ms.p50
            assert run.ratio_p50 == round(run.latency.p50 / run.model_p50_ms, 3)
            assert 0 <= run.age.p50 <= run.latency.p50
        for cam in cams:
            assert 0 < cam.fps <= 40 * 1.1  # no camera yields more frames than it delivers


def test_live_streams_need_a_replayed_video(tiny_models, tmp_path, capsys):
    assert main(["bench", str(tiny_models["fp32"]), "--live", "0", "--live-streams", "2",
                 "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--live-streams above 1 replays --live-video" in err and len(err.splitlines()) == 1


def test_every_live_markdown_number_equals_the_json(live_run):
    report = json.loads((live_run / "report.json").read_text())
    (config,) = report["configs"]
    live = config["live"]
    (rows,) = [rows for section, rows in parse_tables((live_run / "report.md").read_text()).items()
               if section.startswith("Live latency")]
    assert [row["schedule"] for row in rows] == [run["schedule"] for run in live["runs"]]
    for row, run in zip(rows, live["runs"]):
        expected = {
            "config": config["id"], "source": live["source"], "frame": "96x128", "frames": run["frames"],
            "dropped": run["dropped"], "FPS": run["fps"], "streams": run["streams"], "stream": run["stream"],
            "model-only p50 ms": run["model_p50_ms"] or live["model_ms"]["p50"],
            "latency p50 ms": run["latency"]["p50"], "latency p95 ms": run["latency"]["p95"],
            "latency p99 ms": run["latency"]["p99"], "latency max ms": run["latency"]["max"],
            "x model-only (p50)": run["ratio_p50"], "age p50 ms": run["age"]["p50"],
            "age p95 ms": run["age"]["p95"], "replay lag p99 ms": live["replay_lag_ms"]["p99"],
            "load avg": " / ".join(map(str, live["load_avg_1m"])), "schedule": run["schedule"],
            **{f"{s} ms": run["stage_ms"].get(s) for s in ("capture", "preprocess", "infer", "postprocess")},
        }
        assert set(row) == set(expected)
        for header, cell in row.items():
            assert same(cell, expected[header]), (header, cell, expected[header])


def test_the_latency_over_time_plot(live_run):
    path = live_run / "plots" / "live_latency.png"
    assert Image.open(path).text["Title"] == TITLES["live_latency"]
    assert "plots/live_latency.png" in (live_run / "report.md").read_text()


def test_readme_live_table_between_its_markers_only(live_run, tmp_path, capsys):
    readme = tmp_path / "README.md"
    start, end = LIVE_MARKERS
    before, after = "# T\n\n<!-- bench:start -->\nperf\n<!-- bench:end -->\n\n", "\n\nrest\n"
    readme.write_text(f"{before}{start}\nold\n{end}{after}")
    assert main(["bench", "--readme-live-table", str(live_run / "report.json"), str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith(before + start) and text.endswith(end + after) and "old" not in text
    report = json.loads((live_run / "report.json").read_text())
    for run in report["configs"][0]["live"]["runs"]:
        model_p50 = run["model_p50_ms"] or report["configs"][0]["live"]["model_ms"]["p50"]
        assert f"| {run['streams']} | {run['stream']} | {run['schedule']} | {model_p50} | " \
               f"{run['latency']['p50']} | {run['latency']['p95']} | {run['latency']['p99']} | " \
               f"{run['ratio_p50']} |" in text
    assert main(["bench", "--readme-live-table", str(live_run / "report.json"), str(readme)]) == 0
    assert readme.read_text() == text  # idempotent


def test_readme_live_table_needs_live_results(bench_run, tmp_path, capsys):
    _, out = bench_run
    readme = tmp_path / "README.md"
    readme.write_text("{}\n{}\n".format(*LIVE_MARKERS))
    assert main(["bench", "--readme-live-table", str(out / "report.json"), str(readme)]) == 2
    assert "no live latency results" in capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--live-fps", "30"], "go with --live-video FILE or --live SOURCE"),
    (["--live-streams", "2"], "go with --live-video FILE or --live SOURCE"),
    (["--live-video", "{video}", "--live-streams", "0"], "--live-streams takes positive integers"),
    (["--live-video", "{video}", "--live-streams", "1,17"], "--live-streams takes distinct stream counts from 1 to 16"),
    (["--live-video", "{video}", "--live", "0"], "give one live source"),
    (["--live", "{video}"], "--live takes a camera or stream, not a file"),
    (["--live-video", "{video}", "--live-fps", "0"], "--live-fps takes a positive frame rate"),
    (["--live-video", "{video}", "--live-seconds", "-1"], "--live-seconds takes a positive"),
    (["--live-video", "{video}", "--live-fps", "nan"], "--live-fps takes a positive frame rate"),
    (["--live-video", "/no/such.mp4"], "not found: /no/such.mp4"),
    (["--live-video", "{text}"], "cannot replay"),
    (["--live", "rtsp://user:secret@127.0.0.1:9/none"], "cannot open stream rtsp://***@127.0.0.1:9/none"),
])
def test_bad_live_flags_stop_the_run_with_one_line(tiny_models, tiny_video, tmp_path, capsys, flags, message):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    flags = [f.format(video=tiny_video, text=text) for f in flags]
    out = tmp_path / "out"
    assert main(["bench", str(tiny_models["fp32"]), *flags, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and len(err.splitlines()) == 1, err
    assert "secret" not in err
    assert not (out / "report.json").exists()
