"""The training camera a run records (from its data's intrinsics) and --canonical-focal labels."""
from __future__ import annotations

import logging

import numpy as np
import pytest

from moadepth_edge.config import NYU_INTRINSICS, TrainCfg, get_preset
from moadepth_edge.data.dataset import DepthDataset
from moadepth_edge.data.sample import DepthReader, Intrinsics, make_sample
from moadepth_edge.data.spec import open_reader
from moadepth_edge.errors import UserError
from moadepth_edge.train.camera import training_camera

NYU_FX, NYU_FY = NYU_INTRINSICS[:2]


class _Cameras(DepthReader):
    """Flat 2 m walls seen by cameras whose focal is NYU's times each of `scales` (None: no
    intrinsics), at 48x64."""

    kind = "test-cameras"

    def __init__(self, scales):
        self.scales = scales

    def __len__(self):
        return len(self.scales)

    def load(self, i):
        s = self.scales[i]
        k = None if s is None else Intrinsics(s * NYU_FX / 10, s * NYU_FY / 10, 32, 24)
        rgb = np.full((48, 64, 3), 100, np.uint8)
        return make_sample(rgb, np.full((48, 64), 2.0, np.float32), intrinsics=k, name=f"s{i}")


def test_a_run_on_synthetic_rooms_records_nyus_camera_at_the_input_size():
    cfg = get_preset("moadepth-tiny")  # 64x64 input
    cam = training_camera(open_reader("synthetic:8", "train", synthetic_size=(24, 32)), cfg, canonical=False)
    assert (cam.fx, cam.fy) == pytest.approx((NYU_FX * 64 / 640, NYU_FY * 64 / 480))
    assert cam.source == "synthetic data"


def test_mixed_cameras_record_the_median_and_say_so(caplog):
    cfg = get_preset("moadepth-tiny")
    with caplog.at_level(logging.WARNING, "moadepth_edge.train"):
        cam = training_camera(_Cameras([1.0, 1.0, 2.0]), cfg, canonical=False)
    assert cam.fx == pytest.approx(NYU_FX * 64 / 640) and "--canonical-focal" in caplog.text
    with caplog.at_level(logging.WARNING, "moadepth_edge.train"):
        assert training_camera(_Cameras([None, None]), cfg, canonical=False) is None
    assert "no camera intrinsics" in caplog.text


def test_canonical_focal_records_nyus_camera_and_needs_intrinsics():
    cfg = get_preset("moadepth-tiny")
    cam = training_camera(_Cameras([0.5, 2.0]), cfg, canonical=True)
    assert (cam.fx, cam.fy) == pytest.approx((NYU_FX * 64 / 640, NYU_FY * 64 / 480))
    assert cam.source.startswith("canonical")
    with pytest.raises(UserError, match="carry no intrinsics"):
        training_camera(_Cameras([1.0, None]), cfg, canonical=True)


def test_canonical_labels_are_the_depth_the_canonical_camera_would_see():
    pytest.importorskip("torch")
    cfg = get_preset("moadepth-tiny")
    cam = training_camera(_Cameras([1.0]), cfg, canonical=True)
    ds = DepthDataset(_Cameras([1.0, 2.0, 0.5]), cfg.preprocess, canonical_focal=(cam.fx, cam.fy))
    # 2 m through NYU's lens stays 2 m; through a lens twice as long it is what NYU's lens would
    # show at 1 m (the same pixels), through half the focal 4 m
    for i, want in enumerate((2.0, 1.0, 4.0)):
        depth = ds[i]["depth"].numpy()
        np.testing.assert_allclose(depth[depth > 0], want, rtol=1e-5)
    plain = DepthDataset(_Cameras([2.0]), cfg.preprocess)
    np.testing.assert_allclose(plain[0]["depth"].numpy(), 2.0)


def test_the_checkpoint_records_the_camera_and_the_canonical_flag(tmp_path):
    pytest.importorskip("open_clip")
    from moadepth_edge.model.checkpoint import read_checkpoint_meta
    from moadepth_edge.train.trainer import RunSpec, Trainer

    run = RunSpec(out=str(tmp_path / "r"), data="synthetic:4", synthetic_size=(24, 32), eval_limit=2,
                  progress=False, cache=True)
    Trainer(get_preset("moadepth-tiny"), TrainCfg(epochs=0, batch_size=4, num_workers=0, canonical_focal=True), run).fit()
    meta = read_checkpoint_meta(tmp_path / "r" / "last")
    assert meta["model_cfg"]["camera"]["fx"] == pytest.approx(NYU_FX * 64 / 640)
    assert meta["model_cfg"]["camera"]["source"].startswith("canonical")
    assert meta["extra"]["train_cfg"]["canonical_focal"] is True


def test_train_canonical_focal_on_data_without_intrinsics_is_one_error(shared_data, tmp_path):
    pytest.importorskip("open_clip")
    from cli_helpers import assert_one_error, run_cli

    proc = run_cli("train", "--out", tmp_path / "r", "--preset", "moadepth-tiny", "--data",
                   f"kitti:{shared_data / 'kitti_samples'}", "--canonical-focal", "--epochs", "0",
                   "--batch-size", "2", "--workers", "0", "--no-progress")
    assert "--canonical-focal" in assert_one_error(proc.returncode, proc.stderr)
    assert not (tmp_path / "r").exists()


def test_evaluation_scales_each_prediction_to_its_samples_camera(tiny_model):
    from moadepth_edge.train.evaluate import evaluate, predict
    from moadepth_edge.train.metrics import get_protocol

    reader = _Cameras([1.0, 2.0])  # the same picture, the second through twice the focal
    (p,) = predict(tiny_model, [reader[0].rgb])
    result = evaluate(tiny_model, reader, get_protocol("standard", crop="none"))
    got = [r["abs_rel"] for r in result.per_image]
    assert got[0] == pytest.approx(float(np.mean(np.abs(np.clip(p, 1e-3, 10) - 2.0) / 2.0)), rel=1e-4)
    assert got[1] == pytest.approx(float(np.mean(np.abs(np.clip(2 * p, 1e-3, 10) - 2.0) / 2.0)), rel=1e-4)
