from __future__ import annotations

import os
import shutil
import signal
import threading
import time

import cv2
import numpy as np
import pytest
from broken_sources import BreaksAfter
from mjpeg_server import SilentCamera

from moadepth_edge import signals
from moadepth_edge.errors import RunFailure, UserError, WriteFailed
from moadepth_edge.runtime.backends import load_backend
from moadepth_edge.runtime.estimator import DepthEstimator
from moadepth_edge.runtime.paced import PacedSource
from moadepth_edge.runtime.pipeline import Pipeline, TemporalSmoother
from moadepth_edge.runtime.sinks import DepthSink, Sink, VideoSink, read_depth_png
from moadepth_edge.runtime.sources import LiveSource, open_source
from moadepth_edge.runtime.stats import STAGES


@pytest.fixture
def backend(tiny_onnx):
    with load_backend(tiny_onnx, threads=1) as b:
        yield b




class _PressesQ(Sink):
    """Stands in for a user pressing q in the window after `n` frames."""

    def __init__(self, n: int) -> None:
        self.n, self.seen = n, 0

    def write(self, result) -> None:
        self.seen += 1
        self.stop_requested = self.seen >= self.n


def test_one_output_frame_per_input_frame(backend, clip, tmp_path, video_frames):
    sinks = [VideoSink(tmp_path / "out.mp4", fps=clip.fps), DepthSink(tmp_path / "depth")]
    stats = Pipeline(backend, open_source(str(clip.video)), sinks).run()
    assert stats.frames == clip.n_frames and stats.stop_reason == "end of input"
    assert len(video_frames(tmp_path / "out.mp4")) == clip.n_frames
    assert len(list((tmp_path / "depth").glob("*.png"))) == clip.n_frames
    assert all(stats.stages[s].count == clip.n_frames for s in STAGES)
    assert stats.fps > 0 and stats.latency.count == clip.n_frames


def test_pipeline_depth_equals_single_frame_prediction(tiny_onnx, clip, video_frames):
    frames = video_frames(clip.video)
    with DepthEstimator(tiny_onnx, threads=1) as est:
        results = list(est.stream(str(clip.video)))
        assert [r.index for r in results] == list(range(clip.n_frames))
        for r, frame in zip(results, frames):
            assert r.depth.shape == frame.shape[:2]
            np.testing.assert_allclose(r.depth, est.predict(frame), rtol=1e-5)


def test_source_failing_mid_stream_keeps_what_was_written(backend, clip, tmp_path, video_frames):
    sinks = [VideoSink(tmp_path / "out.mp4", fps=clip.fps), DepthSink(tmp_path / "depth")]
    pipeline = Pipeline(backend, BreaksAfter(clip.video, 5), sinks)
    stats = pipeline.run()
    assert stats.frames == 5 and stats.stop_reason.startswith("source failed: device disconnected")
    assert str(pipeline.failure) == "unplugged camera failed after 5 frames: device disconnected"
    assert len(video_frames(tmp_path / "out.mp4")) == 5  # the file was finalised: it plays
    for png in sorted((tmp_path / "depth").glob("*.png")):
        assert read_depth_png(png).shape == (96, 128)


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupt_video_ends_cleanly_with_a_playable_output(backend, clip, tmp_path, damage, video_frames,
                                                          caplog):
    # an AVI (its index is optional) cut short, as a recording interrupted by a power loss,
    # or with a stretch of garbage in the middle, as a damaged copy
    avi = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(avi), cv2.VideoWriter.fourcc(*"MJPG"), clip.fps, (128, 96))
    for frame in video_frames(clip.video):
        writer.write(frame)
    writer.release()
    data = bytearray(avi.read_bytes())
    if damage == "truncated":
        data = data[: len(data) * 6 // 10]
    else:
        mid = len(data) // 2
        data[mid: mid + 600] = bytes(range(256)) * 2 + bytes(88)
    avi.write_bytes(bytes(data))
    stats = Pipeline(backend, open_source(str(avi)), [VideoSink(tmp_path / "out.mp4")]).run()
    assert stats.stop_reason == "end of input"
    assert clip.n_frames // 3 <= stats.frames <= clip.n_frames
    assert len(video_frames(tmp_path / "out.mp4")) == stats.frames
    if stats.frames < clip.n_frames:
        assert f"ended after {stats.frames} of {clip.n_frames} frames" in caplog.text


def test_unreadable_images_are_skipped(backend, clip, tmp_path, video_frames):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(video_frames(clip.video)[:4]):
        cv2.imwrite(str(folder / f"{i:03d}.png"), frame)
    (folder / "001.png").write_bytes(b"corrupt")
    results = []
    pipeline = Pipeline(backend, open_source(str(folder)))
    results = list(pipeline.results())
    assert [r.index for r in results] == [0, 2, 3] and pipeline.stats.skipped == 1


def test_stops_at_max_frames_and_on_q(backend, clip):
    stats = Pipeline(backend, open_source(str(clip.video)), max_frames=4).run()
    assert stats.frames == 4 and "max-frames" in stats.stop_reason
    q = _PressesQ(3)
    stats = Pipeline(backend, open_source(str(clip.video)), [q]).run()
    assert q.seen == 3 and stats.stop_reason == "stopped by the user"


def test_ctrl_c_closes_the_outputs(backend, clip, tmp_path, video_frames):
    class _CtrlC(Sink):
        def __init__(self) -> None:
            self.seen = 0

        def write(self, result) -> None:
            self.seen += 1
            if self.seen == 4:
                raise KeyboardInterrupt

    video = VideoSink(tmp_path / "out.mp4")
    stats = Pipeline(backend, open_source(str(clip.video)), [video, _CtrlC()]).run()
    assert stats.stop_reason == "interrupted"
    assert len(video_frames(tmp_path / "out.mp4")) == 4


@pytest.mark.parametrize("schedule", [None, "throughput"])
def test_live_source_runs_and_stops(backend, clip, schedule):
    live = LiveSource(lambda: cv2.VideoCapture(str(clip.video)), "looping camera",
                      timeout_s=5.0, backoff=(0.01, 0.02))
    stats = Pipeline(backend, live, max_frames=2 * clip.n_frames, schedule=schedule).run()
    assert stats.frames == 2 * clip.n_frames and stats.schedule == (schedule or "latency")
    assert live.read() is None  # the pipeline closed it


def _taken_late(results, source: PacedSource) -> list[int]:
    """Indices of results whose frame was not the newest the source had delivered when the
    inference stage took it (taken = capture timestamp + age at inference)."""
    delivered = sorted((at, index) for index, _, at in source.delivered)
    late = []
    for r in results:
        taken = r.timestamp + r.age_s
        newest = max(index for at, index in delivered if at <= taken)
        if newest != r.index:
            late.append(r.index)
    return late


def _stream_slowly(pipeline: Pipeline, n: int, sink_s: float) -> list:
    """Consume `n` results with an output stage slower than the frame interval (a slow sink)."""
    results = []
    for result in pipeline.results():
        results.append(result)
        if len(results) == n:
            break
        time.sleep(sink_s)
    return results


def test_a_live_frame_never_waits_behind_an_older_one(backend, clip):
    """Latency-first on a paced camera at 100 FPS with an output stage slower than a frame: each
    processed frame is the newest one delivered when inference took it, capture timestamps and
    indices increase, and the output never holds inference back (it runs ahead; superseded
    results are dropped and counted)."""
    source = PacedSource(clip.video, 100.0)
    pipeline = Pipeline(backend, source)
    results = _stream_slowly(pipeline, 25, sink_s=0.03)
    assert pipeline.stats.schedule == "latency" and len(results) == 25
    assert _taken_late(results, source) == []
    assert all(b.index > a.index and b.timestamp > a.timestamp for a, b in zip(results, results[1:]))
    assert all(0 <= r.age_s <= r.latency_s for r in results)
    assert pipeline.stats.stages["infer"].count > len(results)  # inference did not wait for the sink
    assert pipeline.stats.dropped > 0 and pipeline.stats.age.count == len(results)


def test_read_ahead_lets_live_frames_wait_behind_older_ones(backend, clip):
    """Why live sources are latency-first: with the throughput schedule's read-ahead (what they
    got before) the same run processes frames that newer ones had already superseded."""
    source = PacedSource(clip.video, 100.0)
    results = _stream_slowly(Pipeline(backend, source, schedule="throughput"), 25, sink_s=0.03)
    assert len(_taken_late(results, source)) >= 10


def test_a_file_is_processed_losslessly_in_order(backend, clip):
    pipeline = Pipeline(backend, open_source(str(clip.video)))
    results = list(pipeline.results())
    assert pipeline.stats.schedule == "throughput" and pipeline.stats.dropped == 0
    assert [r.index for r in results] == list(range(clip.n_frames))
    assert all(b.timestamp > a.timestamp for a, b in zip(results, results[1:]))
    assert all(0 <= r.age_s <= r.latency_s for r in results)
    with pytest.raises(UserError, match="for live sources"):
        Pipeline(backend, open_source(str(clip.video)), schedule="latency")


def test_temporal_smoothing_is_an_ema():
    ema = TemporalSmoother(0.75)
    first = ema(np.full((2, 2), 4.0, np.float32))
    second = ema(np.full((2, 2), 8.0, np.float32))
    np.testing.assert_allclose(first, 4.0)
    np.testing.assert_allclose(second, 0.25 * 8.0 + 0.75 * 4.0)
    assert ema(np.ones((3, 3), np.float32)).tolist() == np.ones((3, 3)).tolist()  # new size: reset
    off = TemporalSmoother(0.0)
    np.testing.assert_array_equal(off(np.full((2, 2), 9.0, np.float32)), 9.0)
    with pytest.raises(UserError):
        TemporalSmoother(1.0)


class _RemovesFolder(Sink):
    """Removes `folder` when frame `n` arrives, as a user cleaning up (or a disk unmounted)
    under a running recorder."""

    def __init__(self, folder, n: int) -> None:
        self.folder, self.n = folder, n

    def write(self, result) -> None:
        if result.index == self.n:
            shutil.rmtree(self.folder)


class _FailsToClose(Sink):
    def __init__(self) -> None:
        self.closed = False

    def write(self, result) -> None:
        pass

    def close(self) -> None:
        self.closed = True
        raise WriteFailed("index.json", "No space left on device")


def test_a_failed_write_ends_the_run_with_every_output_finalised(backend, clip, tmp_path, video_frames):
    depth = tmp_path / "depth"
    sinks = [VideoSink(tmp_path / "out.mp4", fps=clip.fps), _RemovesFolder(depth, 4), DepthSink(depth),
             _FailsToClose()]
    pipeline = Pipeline(backend, open_source(str(clip.video)), sinks)
    with pytest.raises(WriteFailed, match=r"cannot write .*depth/000004\.png: No such file or directory"):
        pipeline.run()
    assert pipeline.stats.stop_reason == "write failed"
    assert len(video_frames(tmp_path / "out.mp4")) == 5  # frames 0..4, finalised: it plays
    assert sinks[-1].closed  # every sink was closed; its own failure only logged after the first


def test_a_sink_that_fails_to_finalise_fails_the_run_after_closing_the_others(backend, clip, tmp_path,
                                                                             video_frames):
    sinks = [_FailsToClose(), VideoSink(tmp_path / "out.mp4")]
    with pytest.raises(WriteFailed, match="cannot write index.json: No space left on device"):
        Pipeline(backend, open_source(str(clip.video)), sinks, max_frames=3).run()
    assert len(video_frames(tmp_path / "out.mp4")) == 3


@pytest.fixture
def fresh_signals():
    """The CLI's handlers installed for the test, and the received signal forgotten after it."""
    with signals.handle_signals():
        yield
    with signals.handle_signals():  # entering resets what the test's signal left behind
        pass


def test_a_signal_finishes_the_frame_then_ends_the_run_cleanly(backend, clip, tmp_path, video_frames,
                                                               fresh_signals):
    class _SigtermAt(Sink):
        def write(self, result) -> None:
            if result.index == 3:
                os.kill(os.getpid(), signal.SIGTERM)

    sinks = [_SigtermAt(), VideoSink(tmp_path / "out.mp4"), DepthSink(tmp_path / "depth")]
    with signals.deferred():
        stats = Pipeline(backend, open_source(str(clip.video)), sinks).run()
    assert stats.stop_reason == "stopped by SIGTERM" and stats.frames == 4
    assert len(video_frames(tmp_path / "out.mp4")) == 4
    assert len(list((tmp_path / "depth").glob("*.png"))) == 4


def test_a_signal_while_waiting_for_a_stalled_stream_ends_the_run(backend, fresh_signals):
    with SilentCamera(frames=3) as camera, signals.deferred():
        pipeline = Pipeline(backend, open_source(camera.url(), timeout_s=30))
        threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGHUP)).start()  # once it is silent
        t0 = time.monotonic()
        stats = pipeline.run()
    assert stats.stop_reason == "stopped by SIGHUP" and 1 <= stats.frames <= 3
    assert time.monotonic() - t0 < 10 and pipeline.failure is None


def test_a_stream_that_goes_silent_fails_the_run(backend):
    with SilentCamera(frames=3) as camera:
        pipeline = Pipeline(backend, open_source(camera.url("u:secret@"), timeout_s=1))
        stats = pipeline.run()
    assert 1 <= stats.frames <= 3 and stats.stop_reason.startswith("source failed:")
    assert isinstance(pipeline.failure, RunFailure) and "delivered no frame for 1 s" in str(pipeline.failure)
    assert "secret" not in str(pipeline.failure) + stats.stop_reason
