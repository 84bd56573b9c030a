from __future__ import annotations

import numpy as np
import pytest

from moadepth_edge.formats.artifact import ModelArtifact
from moadepth_edge.config import PreprocessCfg, get_preset, replace
from moadepth_edge.errors import UserError
from moadepth_edge.runtime.preprocess import Preprocessor, as_bgr, depth_to_frame


def _artifact(kind: str = "image", size=(64, 64)) -> ModelArtifact:
    cfg = replace(get_preset("moadepth-tiny"), preprocess=PreprocessCfg(size=size))
    return ModelArtifact(model_cfg=cfg, preprocess=cfg.preprocess, input_kind=kind)


def test_image_models_get_rgb_nchw_in_unit_range_at_the_model_size():
    frame = np.zeros((48, 80, 3), np.uint8)
    frame[..., 0] = 255  # blue in BGR
    batch = Preprocessor(_artifact(size=(32, 40)))(frame)
    assert batch.shape == (1, 3, 32, 40) and batch.dtype == np.float32
    np.testing.assert_allclose(batch[0, 2], 1.0)  # blue is the last RGB channel
    np.testing.assert_allclose(batch[0, :2], 0.0)


def test_frame_models_get_the_raw_frame():
    frame = np.random.default_rng(0).integers(0, 256, (30, 50, 3), dtype=np.uint8)
    batch = Preprocessor(_artifact("frame"))(frame)
    assert batch.shape == (1, 30, 50, 3) and batch.dtype == np.uint8
    np.testing.assert_array_equal(batch[0], frame)


def test_grey_and_bgra_frames_are_accepted_other_input_is_a_user_error():
    assert as_bgr(np.zeros((4, 5), np.uint8)).shape == (4, 5, 3)
    assert as_bgr(np.zeros((4, 5, 4), np.uint8)).shape == (4, 5, 3)
    with pytest.raises(UserError, match="uint8"):
        as_bgr(np.zeros((4, 5, 3), np.float32))
    with pytest.raises(UserError, match="shape"):
        as_bgr(np.zeros((4, 5, 2), np.uint8))


def test_depth_returns_at_the_frame_size():
    depth = np.full((1, 1, 8, 8), 2.5, np.float32)
    out = depth_to_frame(depth, (30, 50))
    assert out.shape == (30, 50) and out.dtype == np.float32
    np.testing.assert_allclose(out, 2.5)
