from __future__ import annotations

import cv2
import numpy as np
import pytest

from moadepth_edge.errors import UserError


def test_predict_returns_metres_at_the_frame_size(tiny_onnx, tiny_model):
    import torch

    from moadepth_edge import DepthEstimator

    frame = np.random.default_rng(0).integers(0, 256, (48, 80, 3), dtype=np.uint8)
    with DepthEstimator(tiny_onnx, threads=1) as est:
        assert est.artifact.model_cfg.name == "moadepth-tiny"
        depth = est.predict(frame)
    assert depth.shape == (48, 80) and depth.dtype == np.float32
    # the same as the torch model on the frame resized to the model input, resized back
    rgb = cv2.cvtColor(cv2.resize(frame, (64, 64), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)
    with torch.no_grad():
        ref = tiny_model(torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255).numpy()[0, 0]
    np.testing.assert_allclose(depth, cv2.resize(ref, (80, 48)), rtol=1e-4, atol=1e-4)


def test_frame_input_models_predict_at_any_size(tiny_frame_onnx, tiny_onnx):
    from moadepth_edge import DepthEstimator

    frame = np.random.default_rng(1).integers(0, 256, (60, 90, 3), dtype=np.uint8)
    with DepthEstimator(tiny_frame_onnx, threads=1) as est:
        assert est.artifact.input_kind == "frame"
        depth = est.predict(frame)
    with DepthEstimator(tiny_onnx, threads=1) as est:
        ref = est.predict(frame)
    assert depth.shape == (60, 90)
    # in-graph preprocessing matches the runtime's (bilinear resize, BGR->RGB, /255)
    np.testing.assert_allclose(depth, ref, rtol=2e-3, atol=2e-3)


def test_stream_and_bad_frames(tiny_onnx, clip):
    from moadepth_edge import DepthEstimator

    with DepthEstimator(tiny_onnx, threads=1) as est:
        depths = [r.depth for r in est.stream(str(clip.video), max_frames=3)]
        assert len(depths) == 3 and depths[0].shape == clip.size
        with pytest.raises(UserError, match="uint8"):
            est.predict(np.zeros((8, 8, 3), np.float32))


def test_stream_of_a_live_replay_carries_capture_timestamps(tiny_onnx, clip):
    from moadepth_edge import DepthEstimator
    from moadepth_edge.runtime.paced import PacedSource

    with DepthEstimator(tiny_onnx, threads=1) as est:
        results = list(est.stream(PacedSource(clip.video, 60.0), max_frames=6))
        assert len(results) == 6 and all(r.depth.shape == (96, 128) for r in results)
        assert all(b.timestamp > a.timestamp and b.index > a.index for a, b in zip(results, results[1:]))
        assert all(0 <= r.age_s <= r.latency_s for r in results)
        source = PacedSource(clip.video, 60.0)
        with pytest.raises(UserError, match="unknown pipeline schedule"):
            next(est.stream(source, schedule="soonest"))
        assert source.read() is None  # a bad option leaves no camera open
