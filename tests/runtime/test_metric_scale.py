"""Depth in metres through the user's camera: MetricScale, DepthEstimator(intrinsics=), the
pipeline (a source's own camera_info), and `run --intrinsics` end to end."""
from __future__ import annotations

import numpy as np
import pytest

from moadepth_edge.cli.main import main
from moadepth_edge.config import NYU_INTRINSICS, get_preset
from moadepth_edge.data.sample import Intrinsics
from moadepth_edge.errors import UserError
from moadepth_edge.runtime.frame_meta import CameraModel, FrameMeta
from moadepth_edge.runtime.metric_scale import MetricScale
from moadepth_edge.runtime.sources.base import Frame, Source

NYU_FX, NYU_FY = NYU_INTRINSICS[:2]


def _nyu_times(s: float, w: int, h: int) -> Intrinsics:
    """NYU's Kinect with its focal times `s`, for w x h frames."""
    return Intrinsics(s * NYU_FX * w / 640, s * NYU_FY * h / 480, w / 2, h / 2)


def test_without_a_camera_depth_stays_in_the_training_cameras_scale():
    m = MetricScale(get_preset("moadepth-tiny"))
    depth = np.full((4, 6), 2.0, np.float32)
    assert m.factor((4, 6)) is None and m(depth, (4, 6)) is depth
    assert "training camera's scale" in m.summary() and "assumed: NYU Kinect" in m.summary()


def test_user_intrinsics_scale_depth_by_the_focal_ratio_at_any_frame_size():
    m = MetricScale(get_preset("moadepth-tiny"), _nyu_times(1.6, 640, 480), (640, 480), origin="--intrinsics cam.yaml")
    assert m.factor((480, 640)) == pytest.approx(1.6)
    assert m.factor((240, 320)) == pytest.approx(1.6)  # the calibration scaled to the frames
    np.testing.assert_allclose(m(np.ones((240, 320), np.float32), (240, 320)), 1.6, rtol=1e-6)
    assert "x1.600" in m.summary() and "--intrinsics cam.yaml" in m.summary()
    with pytest.raises(UserError, match="aspect ratio"):
        m.factor((360, 640))


def test_a_frames_own_camera_is_used_unless_the_user_gave_one():
    cam = CameraModel(_nyu_times(0.6, 128, 96), (128, 96))
    assert MetricScale(get_preset("moadepth-tiny")).factor((96, 128), cam) == pytest.approx(0.6)
    mine = MetricScale(get_preset("moadepth-tiny"), _nyu_times(2.0, 128, 96))
    assert mine.factor((96, 128), cam) == pytest.approx(2.0)


class _Frames(Source):
    """Frames of one image, each carrying a camera_info (as a rosbag2 source attaches it)."""

    def __init__(self, image, camera, n=3):
        super().__init__("test frames")
        self.image, self.camera, self.n, self.i = image, camera, n, 0

    def read(self):
        if self.i >= self.n:
            return None
        self.i += 1
        return Frame(self.i - 1, self.image, 0.0, meta=FrameMeta(0, "cam", self.camera))


def test_the_pipeline_scales_by_a_sources_camera_info(tiny_onnx):
    from moadepth_edge import DepthEstimator
    from moadepth_edge.runtime.pipeline import Pipeline

    frame = np.random.default_rng(2).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    with DepthEstimator(tiny_onnx, threads=1) as est:
        plain = est.predict(frame)
        pipe = Pipeline(est.backend, _Frames(frame, CameraModel(_nyu_times(1.5, 64, 48), (64, 48))))
        depths = [r.depth for r in pipe.results()]
    assert len(depths) == 3
    np.testing.assert_allclose(depths[0], 1.5 * plain, rtol=1e-5)
    assert "x1.500" in pipe.metric.summary() and "camera_info" in pipe.metric.summary()


def test_depth_estimator_takes_intrinsics_in_every_form(tiny_onnx, clip, tmp_path):
    from moadepth_edge import DepthEstimator

    frame = np.random.default_rng(3).integers(0, 256, (96, 128, 3), dtype=np.uint8)
    with DepthEstimator(tiny_onnx, threads=1) as est:
        plain = est.predict(frame)
    k = _nyu_times(0.6, 128, 96)
    for form in (k, k.as_tuple(), f"{k.fx},{k.fy},{k.cx},{k.cy}", (_nyu_times(0.6, 256, 192), (256, 192))):
        with DepthEstimator(tiny_onnx, threads=1, intrinsics=form) as est:
            np.testing.assert_allclose(est.predict(frame), 0.6 * plain, rtol=1e-5)
    with DepthEstimator(tiny_onnx, threads=1, intrinsics=clip.intrinsics_file) as est:  # NYU's: no change
        np.testing.assert_allclose(est.predict(frame), plain, rtol=1e-6)
    (tmp_path / "bad.yaml").write_text("image_width: 640\n")
    with pytest.raises(UserError, match="no camera_matrix"):  # before the model is loaded
        DepthEstimator(tmp_path / "missing.onnx", intrinsics=tmp_path / "bad.yaml")


def test_run_intrinsics_scales_the_saved_depth_and_says_so(tiny_onnx, clip, tmp_path, capsys):
    base = ["run", str(tiny_onnx), "--source", str(clip.video), "--headless", "--max-frames", "2",
            "--depth-format", "npy"]
    assert main([*base, "--save-depth", str(tmp_path / "plain")]) == 0
    assert "training camera's scale" in capsys.readouterr().err
    h, w = clip.size
    k = _nyu_times(1.6, w, h)
    assert main([*base, "--save-depth", str(tmp_path / "cam"), "--intrinsics", f"{k.fx},{k.fy},{k.cx},{k.cy}"]) == 0
    assert "metric scale: depth x1.600" in capsys.readouterr().err
    for name in ("000000.npy", "000001.npy"):
        np.testing.assert_allclose(np.load(tmp_path / "cam" / name), 1.6 * np.load(tmp_path / "plain" / name),
                                   rtol=1e-5)


@pytest.mark.parametrize("text, message", [
    ("not-a-calibration", "--intrinsics must be fx,fy,cx,cy"),
    ("{bad}", "not valid YAML"),
    ("500,0,64,48", "focal lengths must be positive"),
])
def test_run_refuses_bad_intrinsics_before_any_work(tiny_onnx, clip, tmp_path, text, message):
    from cli_helpers import assert_one_error, run_cli

    (tmp_path / "bad.yaml").write_text("camera_matrix: [oops\n")
    out = tmp_path / "depth"
    proc = run_cli("run", tiny_onnx, "--source", clip.video, "--headless", "--save-depth", out,
                   "--intrinsics", text.replace("{bad}", str(tmp_path / "bad.yaml")))
    assert message in assert_one_error(proc.returncode, proc.stderr)
    assert not out.exists()


def test_run_refuses_a_calibration_of_another_aspect_ratio(tiny_onnx, clip, tmp_path, capsys):
    h, w = clip.size
    (tmp_path / "cam.json").write_text(f'{{"fx": 100, "fy": 100, "cx": 50, "cy": 50, "width": {w}, "height": {w}}}')
    assert main(["run", str(tiny_onnx), "--source", str(clip.video), "--headless",
                 "--intrinsics", str(tmp_path / "cam.json")]) == 2
    assert "another aspect ratio" in capsys.readouterr().err


def test_several_streams_each_scale_by_their_own_intrinsics(tiny_onnx, clip, tmp_path, capsys):
    import shutil

    a, b = shutil.copy(clip.video, tmp_path / "front.mp4"), shutil.copy(clip.video, tmp_path / "rear.mp4")
    h, w = clip.size
    k1, k2 = _nyu_times(1.0, w, h), _nyu_times(0.6, w, h)
    assert main(["run", str(tiny_onnx), "--source", str(a), "--source", str(b), "--headless", "--max-frames", "2",
                 "--depth-format", "npy", "--save-depth", str(tmp_path / "out"),
                 "--intrinsics", f"{k1.fx},{k1.fy},{k1.cx},{k1.cy}", "--intrinsics", f"{k2.fx},{k2.fy},{k2.cx},{k2.cy}"]) == 0
    err = capsys.readouterr().err
    assert "front: metric scale: depth x1.000" in err and "rear: metric scale: depth x0.600" in err
    front, rear = (np.load(tmp_path / "out" / n / "000001.npy") for n in ("front", "rear"))
    np.testing.assert_allclose(rear, 0.6 * front, rtol=1e-5)


def test_the_estimators_camera_applies_to_every_stream(tiny_onnx, clip):
    from moadepth_edge import DepthEstimator

    h, w = clip.size
    with DepthEstimator(tiny_onnx, threads=1) as est:
        plain = {(r.stream, r.index): r.depth for r in est.stream([clip.video, clip.video], names=["a", "b"], max_frames=2)}
    with DepthEstimator(tiny_onnx, threads=1, intrinsics=_nyu_times(1.6, w, h)) as est:
        scaled = {(r.stream, r.index): r.depth for r in est.stream([clip.video, clip.video], names=["a", "b"], max_frames=2)}
    assert set(scaled) == set(plain) == {("a", 0), ("a", 1), ("b", 0), ("b", 1)}
    for key, depth in scaled.items():
        np.testing.assert_allclose(depth, 1.6 * plain[key], rtol=1e-5)
