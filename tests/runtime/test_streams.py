"""Several streams through one model (runtime/streams.py): per-stream outputs, batching of the
frames ready from all streams, a stalled or failing stream beside others, signals."""
from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest
from broken_sources import BreaksAfter
from mjpeg_server import SilentCamera

from moadepth_edge import signals
from moadepth_edge.errors import RunFailure, UserError
from moadepth_edge.runtime.backends import load_backend
from moadepth_edge.runtime.estimator import DepthEstimator
from moadepth_edge.runtime.paced import PacedSource
from moadepth_edge.runtime.sinks import DepthSink, Sink, VideoSink
from moadepth_edge.runtime.sources import open_source
from moadepth_edge.runtime.stream_names import stream_names
from moadepth_edge.runtime.streams import MultiPipeline, Stream


@pytest.fixture
def backend(tiny_onnx):
    with load_backend(tiny_onnx, threads=1) as b:
        yield b


@pytest.fixture(scope="module")
def clip7(tmp_path_factory):
    """A second, shorter clip (7 frames, another room) beside the 12-frame `clip`."""
    from moadepth_edge.data.synthetic import write_clip

    return write_clip(tmp_path_factory.mktemp("clip7"), n_frames=7, size=(96, 128), seed=5)


class _Recorded:
    """The real backend, with the batch size of every call recorded; the first call can be
    made slow, so that every stream's read-ahead is full when the second call is made."""

    def __init__(self, backend, first_call_s: float = 0.0, max_batch: int | None = None) -> None:
        self.inner, self.first_call_s = backend, first_call_s
        self.artifact, self.name, self.max_batch = backend.artifact, backend.name, max_batch
        self.sizes: list[int] = []

    def infer(self, batch):
        if not self.sizes and self.first_call_s:
            time.sleep(self.first_call_s)
        self.sizes.append(batch.shape[0])
        return self.inner.infer(batch)




def _files(*clips) -> list[Stream]:
    return [Stream(name, open_source(str(c.video))) for name, c in zip(stream_names([str(c.video) for c in clips]),
                                                                       clips)]


def test_every_frame_of_each_file_stream_reaches_its_own_outputs_in_order(backend, clip, clip7, tmp_path):
    streams = [Stream("a", open_source(str(clip.video)), [DepthSink(tmp_path / "a")]),
               Stream("b", open_source(str(clip7.video)), [DepthSink(tmp_path / "b")])]
    seen: dict[str, list[int]] = {"a": [], "b": []}

    class _Order(Sink):
        def write(self, result) -> None:
            seen[result.stream].append(result.index)

    stats = MultiPipeline(backend, streams, [_Order()]).run()
    assert seen == {"a": list(range(12)), "b": list(range(7))}
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [f"{i:06d}.png" for i in range(12)]
    assert len(list((tmp_path / "b").iterdir())) == 7
    assert stats.frames == 19 and stats.stop_reason == "end of input"
    assert stats.streams["a"].frames == 12 and stats.streams["b"].frames == 7
    assert stats.streams["b"].stop_reason == "end of input"


def test_batched_depth_is_each_frames_own_depth_on_its_own_stream(backend, clip, clip7):
    est = DepthEstimator.__new__(DepthEstimator)  # the estimator's single-frame path on this backend
    from moadepth_edge.formats.preprocess import Preprocessor
    from moadepth_edge.runtime.metric_scale import MetricScale

    est.backend, est.preprocess = backend, Preprocessor(backend.artifact)
    est.metric = MetricScale(backend.artifact.model_cfg)  # no intrinsics: the training camera's scale
    recorded = _Recorded(backend, first_call_s=0.2)
    results = list(MultiPipeline(recorded, _files(clip, clip7)).results())
    assert max(recorded.sizes) == 2  # frames of both streams did go through one call
    for r in results:
        alone = est.predict(r.image)
        np.testing.assert_allclose(r.depth, alone, rtol=1e-4, atol=1e-5)


def test_the_frames_ready_from_all_streams_go_through_one_call(backend, clip, clip7):
    recorded = _Recorded(backend, first_call_s=0.3)
    clips = (clip, clip7, clip)
    stats = MultiPipeline(recorded, _files(*clips)).results()
    frames = sum(1 for _ in stats)
    assert frames == 12 + 7 + 12 == sum(recorded.sizes)
    assert recorded.sizes[1] == 3  # every stream had read ahead while the first call ran
    assert max(recorded.sizes) == 3


def test_without_batching_each_call_takes_one_frame_streams_in_turn(backend, clip, clip7):
    recorded = _Recorded(backend)
    pipe = MultiPipeline(recorded, _files(clip, clip7), batching=False)
    order = [r.stream for r in pipe.results()]
    assert set(recorded.sizes) == {1} and len(recorded.sizes) == 19
    assert pipe.stats.frames_per_call == 1.0
    assert order.count("rgb") == 12 and order.count("rgb_2") == 7


def test_calls_never_exceed_the_models_batch_limit(backend, clip, clip7):
    recorded = _Recorded(backend, first_call_s=0.3, max_batch=2)
    pipe = MultiPipeline(recorded, _files(clip, clip7, clip))
    assert sum(1 for _ in pipe.results()) == 31
    assert max(recorded.sizes) == 2 and pipe.stats.max_batch == 2


def test_a_frame_model_batches_only_frames_of_one_size(tiny_frame_onnx, clip, tmp_path):
    from moadepth_edge.data.synthetic import write_clip

    small = write_clip(tmp_path / "small", n_frames=5, size=(48, 64), seed=3)
    with load_backend(tiny_frame_onnx, threads=1) as frame_backend:
        recorded = _Recorded(frame_backend, first_call_s=0.2)
        results = list(MultiPipeline(recorded, _files(clip, small)).results())
    shapes = {r.stream: r.depth.shape for r in results}
    assert shapes == {"rgb": (96, 128), "rgb_2": (48, 64)}
    assert len(results) == 17 and max(recorded.sizes) == 1  # two sizes: never one call


def test_a_stalled_stream_does_not_stall_a_live_one(backend, clip):
    with SilentCamera(frames=3) as camera:
        silent = open_source(camera.url(), timeout_s=3)
        paced = PacedSource(clip.video, fps=20)
        streams = [Stream("silent", silent), Stream("paced", paced)]
        pipe = MultiPipeline(backend, streams, max_frames=20)
        arrivals: dict[str, list[float]] = {"silent": [], "paced": []}
        for r in pipe.results():
            arrivals[r.stream].append(time.perf_counter())
        ended = time.perf_counter()
    assert 1 <= len(arrivals["silent"]) <= 3
    assert len(arrivals["paced"]) == 20
    assert pipe.stats.streams["paced"].stop_reason == "reached --max-frames 20"
    # the paced camera's frames kept coming while the silent one had nothing
    assert sum(t > arrivals["silent"][-1] for t in arrivals["paced"]) >= 15
    assert arrivals["paced"][-1] < ended - 0.5  # finished well before the silent one timed out
    failure = pipe.failure
    assert isinstance(failure, RunFailure)
    assert "stream silent" in str(failure) and "delivered no frame for 3 s" in str(failure)
    assert "stream paced" not in str(failure)


def test_a_failing_stream_ends_alone_and_the_others_finish(backend, clip, clip7, tmp_path):
    streams = [Stream("usb", BreaksAfter(clip.video, 3), [DepthSink(tmp_path / "usb")]),
               Stream("file", open_source(str(clip7.video)), [DepthSink(tmp_path / "file")])]
    pipe = MultiPipeline(backend, streams)
    stats = pipe.run()
    assert len(list((tmp_path / "usb").iterdir())) == 3
    assert len(list((tmp_path / "file").iterdir())) == 7
    assert stats.streams["usb"].stop_reason.startswith("source failed")
    assert stats.streams["file"].stop_reason == "end of input"
    assert "stream usb: unplugged camera failed after 3 frames: device disconnected" in str(pipe.failure)


def test_an_inference_failure_ends_the_whole_run(backend, clip, clip7):
    class _Fails(_Recorded):
        def infer(self, batch):
            raise UserError("the model refused the input")

    with pytest.raises(UserError, match="refused"):
        list(MultiPipeline(_Fails(backend), _files(clip, clip7)).results())


@pytest.fixture
def fresh_signals():
    with signals.handle_signals():
        yield
    with signals.handle_signals():
        pass


def test_a_signal_finalises_every_streams_outputs(backend, clip, clip7, tmp_path, video_frames, fresh_signals):
    class _SigtermAt(Sink):
        def write(self, result) -> None:
            if result.stream == "a" and result.index == 3:
                os.kill(os.getpid(), signal.SIGTERM)

    streams = [Stream("a", open_source(str(clip.video)), [VideoSink(tmp_path / "a.mp4")]),
               Stream("b", open_source(str(clip7.video)), [VideoSink(tmp_path / "b.mp4")])]
    with signals.deferred():
        stats = MultiPipeline(backend, streams, [_SigtermAt()]).run()
    assert stats.stop_reason == "stopped by SIGTERM"
    assert len(video_frames(tmp_path / "a.mp4")) == stats.streams["a"].frames >= 4
    assert len(video_frames(tmp_path / "b.mp4")) == stats.streams["b"].frames >= 1
    assert stats.streams["a"].frames < 12


def test_estimator_streams_a_list_of_sources(tiny_onnx, clip, clip7):
    with DepthEstimator(tiny_onnx, threads=1) as est:
        seen: dict[str, list[int]] = {}
        for r in est.stream([str(clip.video), str(clip7.video)], names=["front", "rear"], max_frames=5):
            seen.setdefault(r.stream, []).append(r.index)
            assert r.depth.shape == r.image.shape[:2]
        assert seen == {"front": list(range(5)), "rear": list(range(5))}
        with pytest.raises(UserError, match="one unique name per source"):
            list(est.stream([str(clip.video), str(clip7.video)], names=["x", "x"]))


def test_estimator_streams_one_frame_per_call_when_asked(tiny_onnx, clip, clip7):
    with DepthEstimator(tiny_onnx, threads=1) as est:
        calls: list[int] = []
        infer = est.backend.infer
        est.backend.infer = lambda batch: (calls.append(len(batch)), infer(batch))[1]  # type: ignore[method-assign]
        sources = [str(clip.video), str(clip7.video)]
        one = {(r.stream, r.index): r.depth for r in est.stream(sources, names=["a", "b"], max_frames=4,
                                                                 batching=False)}
        assert set(calls) == {1} and len(calls) >= 8  # (a frame in flight at --max-frames is dropped)
        calls.clear()
        batched = {(r.stream, r.index): r.depth for r in est.stream(sources, names=["a", "b"], max_frames=4)}
        assert max(calls) <= 2 and sum(calls) >= 8
    assert one.keys() == batched.keys()
    for key, depth in one.items():
        np.testing.assert_allclose(depth, batched[key], rtol=1e-4, atol=1e-4)


def test_estimator_raises_a_streams_failure_once_the_others_are_done(tiny_onnx, clip, clip7):
    with DepthEstimator(tiny_onnx, threads=1) as est:
        seen: dict[str, int] = {}
        with pytest.raises(RunFailure, match="stream usb"):
            for r in est.stream([BreaksAfter(clip.video, 2), str(clip7.video)], names=["usb", "file"]):
                seen[r.stream] = seen.get(r.stream, 0) + 1
        assert seen == {"usb": 2, "file": 7}


def test_stream_names_say_what_each_stream_is_and_never_repeat():
    names = stream_names([0, "1", "csi://0", "rtsp://user:pw@cam/x", "a.mp4", "other/a.mkv", "frames/*.png",
                          "v4l2src ! videoconvert"])
    assert names == ["cam0", "cam1", "csi0", "stream3", "a", "a_2", "frames", "stream7"]
    assert not any("pw" in n for n in names)
