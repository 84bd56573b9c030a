"""Accuracy: dataset specs, metrics against ground truth, agreement with a reference."""
from __future__ import annotations

import numpy as np
import pytest

from moadepth_edge.bench.accuracy import agreement, open_dataset, predict_all, score
from moadepth_edge.data.sample import make_sample
from moadepth_edge.errors import UserError
from moadepth_edge.train.metrics import get_protocol


def test_agreement_of_identical_and_scaled_predictions():
    a = np.full((8, 8), 2.0, np.float32)
    same = agreement([a], [a.copy()], "ref.onnx")
    assert (same.delta1_agreement, same.max_abs_err_m, same.mean_abs_err_m) == (1.0, 0.0, 0.0)
    b = a.copy()
    b[:, :2] = 3.0  # a quarter of the pixels 1.5x off: outside delta1, 1 m error
    part = agreement([b], [a], "ref.onnx")
    assert part.delta1_agreement == 0.75 and part.max_abs_err_m == 1.0 and part.mean_abs_err_m == 0.25


def test_score_of_ground_truth_is_perfect_on_real_nyu(shared_data):
    reader = open_dataset(f"nyu:{shared_data / 'nyu_samples'}")
    samples = list(reader)
    assert len(samples) == 3
    result = score([s.depth.copy() for s in samples], samples, get_protocol("standard"), "nyu")
    assert result.images == 3
    assert result.metrics["delta1"] == 1.0 and result.metrics["abs_rel"] == 0.0


def test_score_of_a_biased_prediction():
    gt = np.full((48, 64), 2.0, np.float32)
    s = make_sample(np.zeros((48, 64, 3), np.uint8), gt)
    result = score([gt * 1.1], [s], get_protocol("standard"), "flat")
    assert result.metrics["abs_rel"] == pytest.approx(0.1, abs=1e-4)
    assert result.metrics["delta1"] == 1.0


def test_backend_predictions_come_back_at_image_size(tiny_models):
    from moadepth_edge.runtime.backends import load_backend

    samples = list(open_dataset("synthetic:1"))
    with load_backend(tiny_models["fp32"], threads=1) as backend:
        (pred,) = predict_all(backend, samples)
    assert pred.shape == samples[0].depth.shape and np.isfinite(pred).all() and (pred > 0).all()


@pytest.mark.parametrize("spec", ["kitti:/x", "synthetic:many", "nyu:", "nyu:/no/such/folder"])
def test_bad_dataset_specs(spec):
    with pytest.raises(UserError):
        open_dataset(spec)


def test_predictions_are_scaled_to_each_samples_own_camera(tiny_models):
    """`bench --data` puts depth in metres for the data set's camera: a sample seen through a lens
    of 1.6x NYU's focal gets 1.6x the depth of the same image without intrinsics."""
    from moadepth_edge.data.sample import Intrinsics, NYU_INTRINSICS
    from moadepth_edge.runtime.backends import load_backend

    (s,) = list(open_dataset("synthetic:1"))
    h, w = s.depth.shape
    fx, fy = NYU_INTRINSICS[:2]
    long_lens = make_sample(s.rgb, s.depth, intrinsics=Intrinsics(1.6 * fx * w / 640, 1.6 * fy * h / 480, w / 2, h / 2))
    bare = make_sample(s.rgb, s.depth)
    with load_backend(tiny_models["fp32"], threads=1) as backend:
        scaled, plain, own = predict_all(backend, [long_lens, bare, s])
    np.testing.assert_allclose(scaled, 1.6 * plain, rtol=1e-5)
    np.testing.assert_allclose(own, plain, rtol=1e-5)  # synthetic rooms are rendered with NYU's lens
