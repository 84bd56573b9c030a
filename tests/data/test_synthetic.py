"""Synthetic scenes: deterministic, exact depth consistent with the geometry, clips on disk."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from moadepth_edge.data.scene import Box, Material, Scene
from moadepth_edge.data.synthetic import (
    Camera, SyntheticReader, camera_path, random_scene, render, render_sample, write_clip,
)


def test_deterministic_from_seed():
    a, b, c = render_sample(7, (60, 80)), render_sample(7, (60, 80)), render_sample(8, (60, 80))
    np.testing.assert_array_equal(a.rgb, b.rgb)
    np.testing.assert_array_equal(a.depth, b.depth)
    assert not np.array_equal(a.depth, c.depth)


@pytest.mark.parametrize("seed", range(6))
def test_indoor_depth_range_and_nyu_intrinsics(seed):
    s = render_sample(seed, (120, 160))
    d = s.depth[s.valid]
    assert s.valid.mean() > 0.97
    assert 0.5 < d.min() and d.max() < 10.0
    assert d.max() / d.min() > 1.8  # a scene, not a wall
    assert s.intrinsics.fx == pytest.approx(518.8579 / 4) and s.intrinsics.cy == pytest.approx(253.73617 / 4)
    assert s.rgb.std() > 10  # textured and shaded, not flat


def test_depth_matches_the_geometry():
    """A camera 2 m in front of the far wall of an empty room, looking straight at it."""
    flat = Material((0.5, 0.5, 0.5), (0.5, 0.5, 0.5), 0, 1.0)
    room = Scene((4.0, 3.0, 6.0), (flat, flat, flat), (), (), (2.0, 2.9, 3.0), np.zeros((64, 64), np.float32))
    _, depth = render(room, Camera((2.0, 1.5, 4.0), 0.0, 0.0), (48, 64))
    centre = depth[20:28, 28:36]
    np.testing.assert_allclose(centre, 2.0, rtol=1e-5)  # camera-z depth, constant on a fronto-parallel wall
    box = Box((2.0, 1.5, 5.0), (0.3, 0.3, 0.3), 0.0, flat)  # its front face at z = 4.7
    _, depth = render(Scene(room.size, room.walls, (box,), (), room.light, room.noise),
                      Camera((2.0, 1.5, 4.0), 0.0, 0.0), (48, 64))
    np.testing.assert_allclose(depth[22:26, 30:34], 0.7, rtol=1e-5)


def test_renders_a_vga_frame_with_valid_depth():
    s = render_sample(3, (480, 640))  # speed: README, `python -m timeit` line under Synthetic scenes
    assert s.rgb.shape == (480, 640, 3) and s.rgb.dtype == np.uint8
    assert s.depth.shape == (480, 640) and s.valid.mean() > 0.99
    assert 0.5 <= s.depth[s.valid].min() and s.depth[s.valid].max() <= 10.0


def test_splits_never_share_a_room():
    train, held = SyntheticReader(3, size=(24, 32)), SyntheticReader(3, size=(24, 32), split="heldout")
    assert len(train) == 3 and train[1].name != held[1].name
    assert not np.array_equal(train[0].rgb, held[0].rgb)


def test_camera_path_is_smooth_and_stays_in_the_room():
    scene = random_scene(4)
    path = camera_path(scene, 30, seed=4)
    pos = np.array([c.position for c in path])
    assert (pos[:, 0] > 0.5).all() and (pos[:, 0] < scene.size[0] - 0.5).all()
    assert np.abs(np.diff(pos, axis=0)).max() < 0.5


def test_write_clip(tmp_path):
    clip = write_clip(tmp_path / "clip", n_frames=6, size=(48, 64), seed=2, save_npy=True)
    assert clip.n_frames == 6 and len(clip.depth_files) == 6
    cap = cv2.VideoCapture(str(clip.video))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    assert len(frames) == 6 and frames[0].shape == (48, 64, 3)
    meta = json.loads(clip.intrinsics_file.read_text())
    assert meta["width"] == 64 and meta["fx"] == pytest.approx(518.8579 * 64 / 640)
    mm = cv2.imread(str(clip.depth_files[3]), cv2.IMREAD_UNCHANGED)
    assert mm.dtype == np.uint16
    metres = np.load(clip.depth_files[3].with_suffix(".npy"))
    np.testing.assert_allclose(clip.read_depth(3), metres, atol=5e-4)
    # the video frame and the depth frame come from the same camera pose
    scene = random_scene(2)
    rgb, depth = render(scene, camera_path(scene, 6, 2)[3], (48, 64))
    np.testing.assert_allclose(depth, metres, atol=1e-5)
    assert np.abs(frames[3][:, :, ::-1].astype(int) - rgb).mean() < 12  # lossy mp4v
