"""KITTI, generic folder and DenseDepth CSV readers."""
from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from moadepth_edge.data.densedepth import DenseDepthReader
from moadepth_edge.data.folder import FolderReader
from moadepth_edge.data.kitti import KITTIReader
from moadepth_edge.data.spec import open_reader
from moadepth_edge.errors import UserError


def test_kitti_samples_in_metres(shared_data):
    reader = KITTIReader(shared_data / "kitti_samples")
    assert len(reader) == 3
    s = reader[0]
    assert s.rgb.shape == (375, 1242, 3) and s.depth.shape == (375, 1242)
    raw = cv2.imread(str(shared_data / "kitti_samples" / "depth_0000000005.png"), cv2.IMREAD_UNCHANGED)
    keep = (raw > 0) & (raw / 256.0 < 80.0)  # default cap: the KITTI protocol's 80 m
    np.testing.assert_array_equal(s.valid, keep)
    np.testing.assert_allclose(s.depth[s.valid], raw[keep] / 256.0, rtol=1e-6)
    assert 0.75 < 1 - s.valid.mean() < 0.9  # sparse lidar
    assert s.depth[s.valid].min() > 5.0
    assert s.intrinsics is None  # not in these files


def test_kitti_list_with_two_roots(shared_data, tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "gt").mkdir()
    shutil.copy(shared_data / "kitti_samples" / "rgb_0000000050.png", tmp_path / "raw" / "a.png")
    shutil.copy(shared_data / "kitti_samples" / "depth_0000000050.png", tmp_path / "gt" / "a.png")
    (tmp_path / "eigen.txt").write_text("a.png a.png 721.5377\nb.png None 721.5377\n")
    reader = KITTIReader(tmp_path / "eigen.txt", tmp_path / "raw", tmp_path / "gt")
    assert len(reader) == 1 and reader[0].valid.any()


def test_folder_with_depth_scale(shared_data):
    # the KITTI files read as a generic folder with the KITTI scale and no range cap
    s = FolderReader(shared_data / "kitti_samples", depth_scale=256.0)[2]
    assert 80.0 < s.depth.max() < 85.0  # beyond KITTI's 80 m cap: the folder reader has none


def test_folder_subdirs_and_npy(tmp_path):
    (tmp_path / "rgb").mkdir()
    (tmp_path / "depth").mkdir()
    cv2.imwrite(str(tmp_path / "rgb" / "f1.png"), np.zeros((4, 5, 3), np.uint8))
    depth = np.full((4, 5), 2.5, np.float32)
    depth[0, 0] = np.nan
    np.save(tmp_path / "depth" / "f1.npy", depth)
    s = open_reader(f"folder:{tmp_path}", depth_scale=1.0)[0]
    assert s.depth[1, 1] == 2.5 and not s.valid[0, 0] and s.depth[0, 0] == 0.0


def test_folder_image_without_depth_names_it(tmp_path):
    cv2.imwrite(str(tmp_path / "rgb_7.png"), np.zeros((4, 5, 3), np.uint8))
    with pytest.raises(UserError, match="rgb_7.png"):
        FolderReader(tmp_path)


def test_densedepth_csv(shared_data, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(shared_data / "nyu_samples" / "rgb_00000.jpg", data / "0.jpg")
    shutil.copy(shared_data / "nyu_samples" / "sync_depth_00000.png", data / "0.png")
    (data / "nyu2_test.csv").write_text("data/0.jpg,data/0.png\n")  # DenseDepth: paths from data/'s parent
    s = DenseDepthReader(data / "nyu2_test.csv")[0]
    assert s.rgb.shape == (480, 640, 3) and 0.7 < s.depth[s.valid].min() < s.depth.max() < 8.3
    (data / "header.csv").write_text("image_path,depth_path\ndata/0.jpg,data/0.png\n")
    assert len(DenseDepthReader(data / "header.csv")) == 1  # a header row is read as one
    (data / "bad.csv").write_text("data/0.jpg,data/none.png\n")
    with pytest.raises(UserError, match=r"bad\.csv:1 .*none\.png"):
        DenseDepthReader(data / "bad.csv")


@pytest.mark.parametrize("spec, msg", [
    ("nyu", "needs a path"), ("lidar:/x", "unknown data kind"), ("nyu:/does/not/exist", "not found"),
    ("synthetic:many", "integer"),
])
def test_bad_specs(spec, msg):
    with pytest.raises(UserError, match=msg):
        open_reader(spec)
