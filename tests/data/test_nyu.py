"""NYU readers: the BTS sync layout on the real samples, and the labeled .mat in HDF5."""
from __future__ import annotations

import shutil
import struct
import zlib

import cv2
import numpy as np
import pytest

from moadepth_edge.data.nyu import NYULabeledReader, NYUSyncReader
from moadepth_edge.data.spec import open_reader
from moadepth_edge.errors import UserError


def test_sync_samples_in_metres_with_mask_and_intrinsics(shared_data):
    reader = NYUSyncReader(shared_data / "nyu_samples" / "test_files.txt")
    assert len(reader) == 3
    s = reader[0]
    assert s.rgb.shape == (480, 640, 3) and s.rgb.dtype == np.uint8
    assert s.depth.dtype == np.float32 and s.depth.shape == (480, 640)
    raw = cv2.imread(str(shared_data / "nyu_samples" / "sync_depth_00000.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(s.valid, raw > 0)  # 0 = no Kinect return
    np.testing.assert_allclose(s.depth[s.valid], raw[raw > 0] / 1000.0, rtol=1e-6)
    assert (s.depth[~s.valid] == 0).all()
    assert 0.25 < 1 - s.valid.mean() < 0.35  # the README: 25-33 % missing
    assert 0.7 < s.depth[s.valid].min() and s.depth.max() < 8.3
    assert s.intrinsics.as_tuple() == pytest.approx((518.8579, 519.46961, 325.58245, 253.73617))


def test_spec_opens_the_folder_list(shared_data):
    reader = open_reader(f"nyu:{shared_data / 'nyu_samples'}", "test")
    assert isinstance(reader, NYUSyncReader) and len(reader) == 3


def _copy_samples(shared_data, tmp_path):
    dst = tmp_path / "nyu"
    shutil.copytree(shared_data / "nyu_samples", dst)
    return dst


def test_line_pointing_nowhere_names_the_file_and_line(shared_data, tmp_path):
    root = _copy_samples(shared_data, tmp_path)
    (root / "list.txt").write_text("rgb_00000.jpg sync_depth_00000.png 518.8579\n"
                                   "rgb_00050.jpg missing_depth.png 518.8579\n")
    with pytest.raises(UserError, match=r"list\.txt:2 .*missing_depth\.png"):
        NYUSyncReader(root / "list.txt")


def test_bts_train_list_leading_slash_and_none_lines(shared_data, tmp_path):
    root = _copy_samples(shared_data, tmp_path)
    (root / "train.txt").write_text("/rgb_00000.jpg /sync_depth_00000.png 518.8579\n"
                                    "rgb_00050.jpg None 518.8579\n")
    reader = NYUSyncReader(root / "train.txt")
    assert len(reader) == 1 and reader[0].valid.any()


def test_corrupt_image_names_the_file(shared_data, tmp_path):
    root = _copy_samples(shared_data, tmp_path)
    (root / "rgb_00050.jpg").write_bytes(b"not a jpeg at all")
    reader = NYUSyncReader(root / "test_files.txt")
    with pytest.raises(UserError, match="rgb_00050.jpg"):
        reader[1]


def test_depth_deleted_after_listing_names_the_file(shared_data, tmp_path):
    root = _copy_samples(shared_data, tmp_path)
    reader = NYUSyncReader(root / "test_files.txt")
    (root / "sync_depth_00100.png").unlink()
    with pytest.raises(UserError, match="sync_depth_00100.png"):
        reader[2]


# --- the labeled .mat -------------------------------------------------------------------------

def _mat5_double(name: str, values: np.ndarray) -> bytes:
    """One uncompressed MATLAB-5 double column vector (the format of NYU's splits.mat)."""
    def element(mtype: int, payload: bytes) -> bytes:
        return struct.pack("<II", mtype, len(payload)) + payload + b"\0" * (-len(payload) % 8)

    body = (element(6, struct.pack("<II", 6, 0))  # array flags: mxDOUBLE_CLASS
            + element(5, struct.pack("<ii", len(values), 1))  # dims n x 1
            + element(1, name.encode())
            + element(9, values.astype("<f8").tobytes()))
    return element(14, body)


def _mat5_compressed(name: str, values: np.ndarray) -> bytes:
    """The same, zlib-compressed, as MATLAB's default `save` writes it."""
    payload = zlib.compress(_mat5_double(name, values))
    return struct.pack("<II", 15, len(payload)) + payload


def _write_labeled(tmp_path, n=5, h=6, w=8, compressed=False):
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (n, h, w, 3), dtype=np.uint8)
    depths = rng.uniform(0.5, 9.0, (n, h, w)).astype(np.float32)
    depths[0, 0, 0] = 0.0
    path = tmp_path / "nyu_depth_v2_labeled.mat"
    with h5py.File(path, "w") as f:  # MATLAB v7.3 column-major: h5py sees reversed axes
        f["images"] = images.transpose(0, 3, 2, 1)  # (N, 3, W, H)
        f["depths"] = depths.transpose(0, 2, 1)  # (N, W, H)
    header = b"MATLAB 5.0 MAT-file".ljust(116) + b"\0" * 8 + struct.pack("<H", 0x0100) + b"IM"
    var = _mat5_compressed if compressed else _mat5_double
    (tmp_path / "splits.mat").write_bytes(
        header + var("trainNdxs", np.array([1, 2, 4])) + var("testNdxs", np.array([3, 5])))
    return path, images, depths


@pytest.mark.parametrize("compressed", [False, True])
def test_labeled_mat_axes_and_splits(tmp_path, compressed):
    path, images, depths = _write_labeled(tmp_path, compressed=compressed)
    test = NYULabeledReader(path, split="test")
    assert len(test) == 2
    s = test[0]  # MATLAB index 3 -> row 2
    np.testing.assert_array_equal(s.rgb, images[2])
    np.testing.assert_allclose(s.depth, depths[2])
    train = NYULabeledReader(path, split="train")
    assert len(train) == 3
    first = train[0]
    assert not first.valid[0, 0] and first.valid.sum() == first.valid.size - 1
    assert first.intrinsics.fx == pytest.approx(518.8579 * 8 / 640)
    assert len(open_reader(f"nyu:{path}", "train")) == 3


def test_labeled_mat_missing_splits_is_a_user_error(tmp_path):
    path, _, _ = _write_labeled(tmp_path)
    (tmp_path / "splits.mat").unlink()
    with pytest.raises(UserError, match="splits"):
        NYULabeledReader(path, split="test")
    assert len(NYULabeledReader(path, split="all")) == 5


def test_not_hdf5_is_a_user_error(tmp_path):
    pytest.importorskip("h5py")
    bad = tmp_path / "x.mat"
    bad.write_bytes(b"MATLAB 5.0 but not HDF5")
    with pytest.raises(UserError, match="HDF5"):
        NYULabeledReader(bad, split="all")
