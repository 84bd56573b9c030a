"""Calibration files as users have them: fx,fy,cx,cy, intrinsics.json, OpenCV FileStorage
(YAML / JSON / XML, written with cv2.FileStorage itself), ROS camera_info YAML; broken ones."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from moadepth_edge.data.sample import Intrinsics
from moadepth_edge.errors import UserError
from moadepth_edge.data.camera_files import at_frame_size, load_intrinsics

K = np.array([[600.0, 0, 330.0], [0, 610.0, 245.0], [0, 0, 1]])

ROS_YAML = """\
image_width: 640
image_height: 480
camera_name: front
camera_matrix:
  rows: 3
  cols: 3
  data: [600.0, 0.0, 330.0, 0.0, 610.0, 245.0, 0.0, 0.0, 1.0]
distortion_model: plumb_bob
distortion_coefficients:
  rows: 1
  cols: 5
  data: [0.1, -0.2, 0.0, 0.0, 0.0]
"""


def _opencv_file(path, key="camera_matrix", size=True):
    fs = cv2.FileStorage(str(path), cv2.FILE_STORAGE_WRITE)
    if size:
        fs.write("image_width", 640)
        fs.write("image_height", 480)
    fs.write(key, K)
    fs.write("distortion_coefficients", np.zeros((1, 5)))
    fs.release()
    return path


def _is(k, size, want_size=(640, 480)):
    assert (k.fx, k.fy, k.cx, k.cy) == pytest.approx((600, 610, 330, 245))
    assert size == want_size


def test_numbers_and_the_synthetic_clips_json(clip):
    k, size = load_intrinsics("500,510,320,240")
    assert (k.fx, k.fy, k.cx, k.cy) == (500, 510, 320, 240) and size is None
    k, size = load_intrinsics(str(clip.intrinsics_file))
    assert size == (128, 96) and k.fx == pytest.approx(clip.intrinsics.fx)


@pytest.mark.parametrize("name", ["calib.yaml", "calib.yml", "calib.json", "calib.xml"])
def test_opencv_calibration_files_as_cv2_writes_them(tmp_path, name):
    _is(*load_intrinsics(str(_opencv_file(tmp_path / name))))


def test_opencv_file_without_size_and_with_the_other_key_name(tmp_path):
    _is(*load_intrinsics(str(_opencv_file(tmp_path / "c.yaml", key="cameraMatrix", size=False))), want_size=None)


def test_ros_camera_info_yaml_and_a_dumped_camera_info_message(tmp_path):
    (tmp_path / "front.yaml").write_text(ROS_YAML)
    _is(*load_intrinsics(str(tmp_path / "front.yaml")))
    (tmp_path / "echo.yaml").write_text("height: 480\nwidth: 640\ndistortion_model: plumb_bob\n"
                                        "d: [0.0, 0.0, 0.0, 0.0, 0.0]\n"
                                        "k: [600.0, 0.0, 330.0, 0.0, 610.0, 245.0, 0.0, 0.0, 1.0]\n")
    _is(*load_intrinsics(str(tmp_path / "echo.yaml")))


@pytest.mark.parametrize("name, text, message", [
    ("a.json", "{not json", "not valid JSON"),
    ("a.json", json.dumps({"fx": 1}), "expected fx, fy, cx, cy"),
    ("a.json", json.dumps({"fx": "x", "fy": 1, "cx": 1, "cy": 1}), "must be numbers"),
    ("a.json", json.dumps({"fx": -5, "fy": 1, "cx": 1, "cy": 1}), "must be positive"),
    ("a.json", json.dumps({"fx": 5, "fy": 1, "cx": 1, "cy": 1, "width": 0, "height": 4}), "positive integers"),
    ("a.yaml", "camera_matrix: [unclosed", "not valid YAML"),
    ("a.yaml", "image_width: 640\n", "no camera_matrix"),
    ("a.yaml", "camera_matrix:\n  data: [1, 2, 3]\n", "3x3"),
    ("a.yaml", "camera_matrix:\n  data: [600, 0, 330, 0, 610, 245, 0, 0, 0]\n", "last row"),
    ("a.yaml", ROS_YAML.replace("600.0, 0.0, 330.0", "nan, 0.0, 330.0"), "finite"),
    ("a.yaml", "%YAML:1.0\n---\nimage_width: 640\n", "no camera matrix"),
    ("a.yaml", "%YAML:1.0\n---\ncamera_matrix: !!opencv-matrix\n   rows: 3\n", "OpenCV calibration"),
    ("a.xml", "<?xml version=\"1.0\"?>\n<opencv_storage>\n<camera_matrix", "OpenCV calibration"),
    ("a.yaml", "- just\n- a list\n", "mapping"),
])
def test_broken_files_are_one_clear_error(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(UserError, match=message) as info:
        load_intrinsics(str(tmp_path / name))
    assert "\n" not in str(info.value) and str(tmp_path / name) in str(info.value)


def test_bad_numbers_and_missing_files():
    with pytest.raises(UserError, match="fx,fy,cx,cy"):
        load_intrinsics("500,510")
    with pytest.raises(UserError, match="cannot read intrinsics from /nonexistent/cam.yaml"):
        load_intrinsics("/nonexistent/cam.yaml")


def test_calibration_is_fitted_to_the_frames_or_refused():
    k = Intrinsics(600, 610, 330, 245)
    assert at_frame_size(k, (640, 480), (640, 480)) is k
    half = at_frame_size(k, (640, 480), (320, 240))
    assert (half.fx, half.fy, half.cx, half.cy) == (300, 305, 165, 122.5)
    with pytest.raises(UserError, match="another aspect ratio"):
        at_frame_size(k, (640, 480), (640, 360))
    assert at_frame_size(k, None, (640, 480)) is k
    with pytest.raises(UserError, match="principal point"):
        at_frame_size(k, None, (320, 240))  # numbers for 640x480 given to 320x240 frames
