from __future__ import annotations

import numpy as np
import pytest

from moadepth_edge.formats.artifact import ModelArtifact
from moadepth_edge.config import PreprocessCfg, get_preset, replace
from moadepth_edge.errors import UserError
from moadepth_edge.formats.preprocess import Preprocessor, as_bgr, depth_to_frame


def _artifact(kind: str = "image", size=(64, 64)) -> ModelArtifact:
    cfg = replace(get_preset("moadepth-tiny"), preprocess=PreprocessCfg(size=size))
    return ModelArtifact(model_cfg=cfg, input_kind=kind)


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


# -- one definition: the same input tensor through every path ---------------------------------

def _nyu_frame(shared_data) -> np.ndarray:
    import cv2

    return cv2.imread(str(shared_data / "nyu_samples" / "rgb_00000.jpg"), cv2.IMREAD_COLOR)


def test_one_frame_is_one_model_input_through_every_path(shared_data, tiny_onnx, tiny_checkpoint, tmp_path):
    """Training (dataset), eval (predict), INT8 calibration, the runtime and bench all turn a
    real 640x480 NYU frame into the very same tensor."""
    import shutil

    import torch

    from moadepth_edge.data.dataset import DepthDataset
    from moadepth_edge.data.sample import Sample
    from moadepth_edge.export.calibration import calibration_batches
    from moadepth_edge.formats.artifact import read_artifact
    from moadepth_edge.model.checkpoint import load_checkpoint
    from moadepth_edge.runtime.backends import load_backend
    from moadepth_edge.train.evaluate import predict

    bgr = _nyu_frame(shared_data)
    rgb = np.ascontiguousarray(bgr[..., ::-1])
    artifact = read_artifact(tiny_onnx)
    runtime = Preprocessor(artifact)(bgr)

    class OneImage:
        def __len__(self) -> int:
            return 1

        def __getitem__(self, i: int) -> Sample:
            return Sample(rgb, np.ones(rgb.shape[:2], np.float32), np.ones(rgb.shape[:2], bool), None, "f")

    training = DepthDataset(OneImage(), artifact.preprocess)[0]["image"].numpy()[None]

    model = load_checkpoint(tiny_checkpoint)
    seen = []
    model.register_forward_pre_hook(lambda module, args: seen.append(args[0].numpy().copy()))
    predict(model, [rgb])
    evaluation = seen[0]

    (tmp_path / "calib").mkdir()
    shutil.copy(shared_data / "nyu_samples" / "rgb_00000.jpg", tmp_path / "calib")
    calibration = calibration_batches(str(tmp_path / "calib"), artifact, 1, 1)[0]

    for name, x in {"training": training, "eval": evaluation, "calibration": calibration}.items():
        assert x.shape == runtime.shape and x.dtype == np.float32, name
        np.testing.assert_allclose(x, runtime, atol=1e-6, err_msg=name)

    # the deployed ONNX model and PyTorch give the same depth from those inputs
    with load_backend(tiny_onnx) as backend:
        deployed = backend.infer(runtime)
    with torch.no_grad():
        eager = model(torch.from_numpy(runtime)).numpy()
    np.testing.assert_allclose(deployed, eager, rtol=1e-4, atol=1e-4)


def test_the_in_graph_preprocessing_matches_within_one_grey_level(shared_data, tiny_onnx, tiny_checkpoint, tmp_path):
    """A frame-input export resizes inside the graph (ONNX Resize, linear, half-pixel); OpenCV's
    INTER_LINEAR rounds to uint8 on the way. Their depth agrees to what one grey level moves."""
    from moadepth_edge.export.onnx import export_onnx
    from moadepth_edge.runtime.backends import load_backend

    bgr = _nyu_frame(shared_data)
    frame_onnx = tmp_path / "frame.onnx"
    export_onnx(str(tiny_checkpoint), frame_onnx, embed_preprocess=True)
    with load_backend(tiny_onnx) as image_model, load_backend(frame_onnx) as frame_model:
        a = depth_to_frame(image_model.infer(Preprocessor(image_model.artifact)(bgr)), bgr.shape[:2])
        b = frame_model.infer(Preprocessor(frame_model.artifact)(bgr))[0, 0]
        x = Preprocessor(image_model.artifact)(bgr)
        grey = depth_to_frame(image_model.infer(np.clip(x + 1 / 255, 0, 1).astype(np.float32)), bgr.shape[:2])
    assert b.shape == a.shape
    assert np.abs(a - b).max() <= max(2 * np.abs(grey - a).max(), 1e-4)


def test_eval_and_the_deployed_model_score_each_real_image_alike(shared_data, tiny_onnx, tiny_checkpoint):
    """`eval` on the checkpoint and `run` on its ONNX export give the same per-image metrics on
    the real NYU samples (before one preprocessing definition they differed by up to 0.0018
    AbsRel per image on the bundled model)."""
    from moadepth_edge.data.spec import open_reader
    from moadepth_edge.model.checkpoint import load_checkpoint
    from moadepth_edge.runtime.estimator import DepthEstimator
    from moadepth_edge.train.evaluate import evaluate
    from moadepth_edge.train.metrics import evaluate_depth, get_protocol

    root = shared_data / "nyu_samples"
    reader = open_reader(f"nyu:{root / 'test_files.txt'}", "test", root=root)
    protocol = get_protocol("standard")
    evaluated = evaluate(load_checkpoint(tiny_checkpoint), reader, protocol).per_image
    assert len(evaluated) == len(reader) == 3
    with DepthEstimator(tiny_onnx) as est:
        for row, i in zip(evaluated, range(len(reader))):
            s = reader[i]
            deployed = evaluate_depth(est.predict(np.ascontiguousarray(s.rgb[..., ::-1])), s.depth, protocol, s.valid)
            assert row["name"] == s.name
            for key in ("abs_rel", "delta1", "rmse"):
                assert abs(row[key] - deployed[key]) < 1e-4, (s.name, key, row[key], deployed[key])
