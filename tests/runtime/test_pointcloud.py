from __future__ import annotations

import json

import numpy as np
import pytest

from moadepth_edge.data.sample import nyu_intrinsics
from moadepth_edge.data.scene import Material, Scene
from moadepth_edge.data.synthetic import Camera, render
from moadepth_edge.errors import UserError
from moadepth_edge.runtime.pointcloud import (
    backproject,
    fov_intrinsics,
    load_intrinsics,
    read_ply,
    write_ply,
)
from moadepth_edge.runtime.result import Result
from moadepth_edge.runtime.sinks import PointCloudSink

ROOM = (4.0, 3.0, 6.0)  # width x, height y, depth z (metres); floor at y = 0


def _empty_room() -> Scene:
    grey = Material((0.5, 0.5, 0.5), (0.4, 0.4, 0.4), 0, 0.3)
    return Scene(ROOM, (grey, grey, grey), (), (), (2.0, 2.9, 3.0), np.zeros((64, 64), np.float32))


def test_point_cloud_of_a_rendered_room_lies_on_its_walls(tmp_path):
    # render an empty room with the synthetic ray-caster, write the PLY through the sink,
    # move the points to world coordinates: every point must sit on one of the six planes
    h, w = 60, 80
    k = nyu_intrinsics(h, w)
    position = np.array([1.5, 1.2, 0.5], np.float32)
    image, depth = render(_empty_room(), Camera(tuple(position), 0.0, 0.0), (h, w), k)
    sink = PointCloudSink(tmp_path, k, (w, h), stride=1)
    sink.write(Result(7, np.ascontiguousarray(image[..., ::-1]), depth))
    points, colors = read_ply(tmp_path / "000007.ply")
    assert len(points) == h * w
    world = points * np.array([1, -1, 1], np.float32) + position  # yaw = pitch = 0: flip y only
    planes = np.abs(np.concatenate([world, world - np.array(ROOM, np.float32)], axis=1))
    assert planes.min(axis=1).max() < 1e-3
    assert (world[:, 1] < 1e-3).sum() > 0.1 * len(world)  # the floor is in view
    np.testing.assert_array_equal(colors, image.reshape(-1, 3))  # RGB from the BGR frame


def test_intrinsics_are_scaled_to_the_frame(tmp_path):
    h, w = 30, 40
    k_full = nyu_intrinsics(2 * h, 2 * w)
    depth = np.full((h, w), 2.0, np.float32)
    PointCloudSink(tmp_path, k_full, (2 * w, 2 * h), stride=1).write(
        Result(0, np.zeros((h, w, 3), np.uint8), depth))
    scaled, _ = read_ply(tmp_path / "000000.ply")
    direct, _ = backproject(depth, nyu_intrinsics(h, w))
    np.testing.assert_allclose(scaled, direct, atol=1e-5)


def test_invalid_depth_is_dropped_and_stride_subsamples():
    depth = np.full((10, 10), 3.0, np.float32)
    depth[0, 0] = 0.0
    depth[1, 1] = np.nan
    points, vu = backproject(depth, fov_intrinsics(10, 10), stride=1)
    assert len(points) == 98 and np.allclose(points[:, 2], 3.0)
    points, vu = backproject(depth, fov_intrinsics(10, 10), stride=2)
    assert len(points) == 24 and (vu % 2 == 0).all()  # (0, 0) is invalid


def test_ply_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(50, 3)).astype(np.float32)
    cols = rng.integers(0, 256, (50, 3), dtype=np.uint8)
    write_ply(tmp_path / "a.ply", pts, cols)
    text = (tmp_path / "a.ply").read_bytes()
    assert text.startswith(b"ply\nformat binary_little_endian 1.0\n") and b"element vertex 50\n" in text
    got_pts, got_cols = read_ply(tmp_path / "a.ply")
    np.testing.assert_array_equal(got_pts, pts)
    np.testing.assert_array_equal(got_cols, cols)


def test_load_intrinsics_from_text_and_clip_json(tmp_path, clip):
    k, size = load_intrinsics("500,510,320,240")
    assert (k.fx, k.fy, k.cx, k.cy) == (500, 510, 320, 240) and size is None
    k, size = load_intrinsics(str(clip.intrinsics_file))
    assert size == (128, 96) and k.fx == pytest.approx(clip.intrinsics.fx)
    with pytest.raises(UserError, match="fx,fy,cx,cy"):
        load_intrinsics("500,510")
    (tmp_path / "bad.json").write_text(json.dumps({"fx": 1}))
    with pytest.raises(UserError, match="cannot read intrinsics"):
        load_intrinsics(str(tmp_path / "bad.json"))
