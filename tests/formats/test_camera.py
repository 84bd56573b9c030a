"""The focal length through the preprocessing geometry, and the training camera a model carries."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from moadepth_edge.config import NYU_INTRINSICS, CameraCfg, ModelCfg, PreprocessCfg, from_dict, get_preset, replace, to_dict
from moadepth_edge.formats.camera import depth_scale, training_camera, training_camera_text
from moadepth_edge.formats.preprocess import focal_ratio, input_focal, resize_image


def _blob_frame(hw, centres, sigma):
    """A grey frame with a Gaussian blob at each (u, v) (continuous coordinates: pixel j covers
    [j, j+1))."""
    h, w = hw
    v, u = np.mgrid[0:h, 0:w] + 0.5
    img = np.zeros(hw, np.float64)
    for cu, cv in centres:
        img += np.exp(-((u - cu) ** 2 + (v - cv) ** 2) / (2 * sigma ** 2))
    return np.repeat((img * 250).astype(np.uint8)[:, :, None], 3, axis=2)


def _centroids(img, n):
    g = img[:, :, 0].astype(np.float64)
    _, labels = cv2.connectedComponents((g > 40).astype(np.uint8))
    v, u = np.mgrid[0:g.shape[0], 0:g.shape[1]] + 0.5
    out = []
    for k in range(1, n + 1):
        m = (labels == k) * g
        out.append(((u * m).sum() / m.sum(), (v * m).sum() / m.sum()))
    return sorted(out)


@pytest.mark.parametrize("frame_hw, crop, sigma", [
    ((480, 640), None, 6.0),                 # downscale, aspect changes (4:3 -> 1:1)
    ((480, 640), (40, 100, 400, 440), 6.0),  # a crop, then the resize
    ((120, 160), None, 2.0),                 # upscale
    ((96, 128), (10, 0, 80, 128), 2.0),      # a crop of rows only
])
def test_input_focal_is_what_the_resize_does_to_a_scene(frame_hw, crop, sigma):
    """Two points 0.4 m apart (x) and 0.3 m apart (y) at 2 m, projected by a camera, drawn into
    the frame and put through the real resize: their separation in the model input is the
    converted focal times the geometry."""
    fx, fy = 0.8 * frame_hw[1], 0.85 * frame_hw[1]
    cx, cy = frame_hw[1] / 2, frame_hw[0] / 2
    pts = [(-0.2, -0.15, 2.0), (0.2, 0.15, 2.0)]
    centres = [(fx * x / z + cx, fy * y / z + cy) for x, y, z in pts]
    frame = _blob_frame(frame_hw, centres, sigma)
    if crop is not None:
        top, left, ch, cw = crop
        frame = frame[top:top + ch, left:left + cw]
    pre = PreprocessCfg(size=(224, 224))
    model_in = resize_image(frame, pre.size)
    (u0, v0), (u1, v1) = _centroids(model_in, 2)
    mfx, mfy = input_focal(fx, fy, frame_hw, pre, crop)
    assert u1 - u0 == pytest.approx(mfx * 0.4 / 2.0, rel=0.01)
    assert v1 - v0 == pytest.approx(mfy * 0.3 / 2.0, rel=0.01)


def test_input_focal_refuses_a_crop_outside_the_frame():
    with pytest.raises(ValueError, match="inside"):
        input_focal(500, 500, (480, 640), PreprocessCfg(), (100, 0, 400, 640))


def test_focal_ratio_is_the_geometric_mean_of_both_axes():
    assert focal_ratio((200, 300), (100, 100)) == pytest.approx(6 ** 0.5)
    assert focal_ratio((181.6, 242.4), (181.6, 242.4)) == 1.0


def test_nyu_at_any_resolution_needs_no_scale_and_another_lens_does():
    cfg = get_preset("moadepth-tiny")  # 64x64 input, no recorded camera: NYU assumed
    fx, fy = NYU_INTRINSICS[:2]
    for h, w in ((480, 640), (240, 320), (96, 128)):
        assert depth_scale(cfg, fx * w / 640, fy * h / 480, (h, w)) == pytest.approx(1.0)
    assert depth_scale(cfg, 1.6 * fx, 1.6 * fy, (480, 640)) == pytest.approx(1.6)
    assert depth_scale(cfg, 0.6 * fx / 2, 0.6 * fy / 2, (240, 320)) == pytest.approx(0.6)


def test_the_training_camera_travels_in_the_config_and_old_configs_assume_nyu():
    old = to_dict(get_preset("moadepth-tiny-224"))
    del old["camera"]  # a checkpoint written before the field existed
    cfg = from_dict(ModelCfg, json.loads(json.dumps(old)))
    cam = training_camera(cfg)
    assert cam.fx == pytest.approx(518.8579 * 224 / 640) and cam.fy == pytest.approx(519.46961 * 224 / 480)
    assert "assumed" in training_camera_text(cfg)
    recorded = replace(cfg, camera=CameraCfg(300.0, 310.0, "kitti data"))
    back = from_dict(ModelCfg, to_dict(recorded))
    assert back.camera == CameraCfg(300.0, 310.0, "kitti data")
    assert "kitti data" in training_camera_text(back) and "assumed" not in training_camera_text(back)
    # a model trained at 300 px, used through a lens of 600 px (in input pixels): depth x2
    assert depth_scale(back, 600 * 640 / 224, 620 * 480 / 224, (480, 640)) == pytest.approx(2.0)


def test_a_non_positive_recorded_focal_is_refused():
    from moadepth_edge.config import InvalidConfig

    data = to_dict(replace(get_preset("moadepth-tiny"), camera=CameraCfg(1.0, 1.0)))
    data["camera"]["fx"] = 0
    with pytest.raises(InvalidConfig, match="camera.fx"):
        from_dict(ModelCfg, data)


def test_onnx_metadata_and_engine_header_carry_the_training_camera():
    from moadepth_edge.formats.artifact import ModelArtifact
    from moadepth_edge.formats.engine_file import EngineHeader

    cfg = replace(get_preset("moadepth-tiny"), camera=CameraCfg(111.5, 112.5, "nyu-sync data"))
    art = ModelArtifact.from_json(ModelArtifact(cfg).to_json())
    assert training_camera(art.model_cfg) == CameraCfg(111.5, 112.5, "nyu-sync data")
    header = EngineHeader("10.3.0", "12.6", "Orin", (8, 7), "fp16", art, "0" * 64)
    back = EngineHeader.from_json(header.to_json())
    assert back.artifact.model_cfg.camera == CameraCfg(111.5, 112.5, "nyu-sync data")
