"""Furnished rooms (`synthetic:N:rooms`): shapes, depth range, determinism, intrinsics, camera
poses, depth consistent with the geometry, and the spec that selects them."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from moadepth_edge.data.pinhole import Camera, camera_rays, rotation
from moadepth_edge.data.room_render import intersect, render_room
from moadepth_edge.data.room_view import room_camera, room_walk
from moadepth_edge.data.rooms import Room, random_room
from moadepth_edge.data.scene import Box, Material
from moadepth_edge.data.spec import open_reader
from moadepth_edge.data.synthetic import SyntheticReader, render_sample, write_clip
from moadepth_edge.errors import UserError

SIZE = (48, 64)


def test_shapes_range_and_no_nan():
    for seed in range(4):
        s = render_sample(seed, SIZE, style="rooms")
        assert s.rgb.shape == (*SIZE, 3) and s.rgb.dtype == np.uint8
        assert s.depth.shape == SIZE and s.depth.dtype == np.float32
        assert np.isfinite(s.depth).all() and s.valid.mean() > 0.97
        d = s.depth[s.valid]
        assert 0.05 < d.min() and d.max() < 10.0
        assert s.rgb.std() > 5  # lit and textured, not flat
        assert s.name == f"synthetic-rooms-{seed}"


def test_deterministic_per_seed():
    a, b, c = (render_sample(s, SIZE, style="rooms") for s in (5, 5, 6))
    np.testing.assert_array_equal(a.rgb, b.rgb)
    np.testing.assert_array_equal(a.depth, b.depth)
    assert not np.array_equal(a.depth, c.depth)


def test_nyu_intrinsics_scaled_to_the_frame():
    s = render_sample(1, SIZE, style="rooms")
    assert s.intrinsics.fx == pytest.approx(518.8579 * 64 / 640)
    assert s.intrinsics.cy == pytest.approx(253.73617 * 48 / 480)


def test_camera_poses_stay_in_range_and_out_of_furniture():
    for seed in range(40):
        room = random_room(seed)
        camera, kept = room_camera(room, np.random.default_rng([seed, 1]))
        x, y, z = camera.position
        w, h, d = room.size
        assert 2.8 <= w <= 6.5 and 2.4 <= h <= 3.1 and 3.0 <= d <= 7.5
        assert 0.25 <= x <= w - 0.25 and 1.0 <= y <= 1.7 and 0.25 <= z <= d - 0.25
        assert -25.01 <= np.rad2deg(camera.pitch) <= 10.01 and abs(np.rad2deg(camera.roll)) <= 5.01
        # the camera sees no piece from inside: every ray leaves the camera through open air
        t = intersect(kept, np.asarray(camera.position, np.float32), camera_rays(camera, (6, 8)))[0]
        assert (t > 0.05).all()


def test_a_clip_walks_smoothly_through_open_air():
    for seed in range(12):
        room = random_room(seed)
        path, kept = room_walk(room, 24, np.random.default_rng([seed, 1]))
        pos = np.array([c.position for c in path])
        w, _, d = room.size
        assert (pos[:, 0] >= 0.25).all() and (pos[:, 0] <= w - 0.25).all()
        assert (pos[:, 2] >= 0.25).all() and (pos[:, 2] <= d - 0.25).all()
        assert np.abs(np.diff(pos, axis=0)).max() < 0.1  # hand-held: centimetres per frame
        assert np.abs(np.diff([c.yaw for c in path])).max() < 0.15
        for camera in path[::6]:  # no frame starts inside a piece of furniture
            t = intersect(kept, np.asarray(camera.position, np.float32), camera_rays(camera, (6, 8)))[0]
            assert (t > 0.05).all()


def test_a_rooms_clip_pairs_each_video_frame_with_its_depth(tmp_path):
    clip = write_clip(tmp_path / "clip", n_frames=4, size=SIZE, seed=7, save_npy=True, style="rooms")
    cap = cv2.VideoCapture(str(clip.video))
    frames = [cap.read()[1] for _ in range(4)]
    cap.release()
    assert all(f is not None and f.shape == (*SIZE, 3) for f in frames)
    depth = [np.load(f.with_suffix(".npy")) for f in clip.depth_files]
    assert 0.5 < np.median(depth[0]) < 8 and not np.array_equal(depth[0], depth[3])  # the camera moves
    cameras, room = room_walk(random_room(7), 4, np.random.default_rng([7, 1]))
    _, expected = render_room(room, cameras[2], SIZE, clip.intrinsics)
    np.testing.assert_allclose(depth[2], np.where(expected < 10, expected, 0), atol=1e-5)
    with pytest.raises(UserError, match="unknown synthetic style"):
        write_clip(tmp_path / "bad", n_frames=1, size=SIZE, style="castle")


def test_depth_statistics_resemble_nyu():
    medians = [np.median(render_sample(s, (24, 32), style="rooms").depth) for s in range(24)]
    assert 1.8 < np.median(medians) < 3.8  # NYU frames: about 2.5-3 m


def test_pitch_and_roll_turn_the_optical_axis():
    down = rotation(0.0, np.deg2rad(-20)) @ np.array([0, 0, 1.0])
    assert down[1] < 0  # negative pitch looks down (world y up)
    right = rotation(0.0, 0.0, np.deg2rad(5)) @ np.array([1.0, 0, 0])
    assert abs(right[1]) == pytest.approx(np.sin(np.deg2rad(5)), abs=1e-6)


def test_depth_matches_the_geometry():
    """An empty room, the camera 2 m from the far wall looking straight at it, then a box."""
    flat = Material((0.5, 0.5, 0.5), (0.5, 0.5, 0.5), 0, 1.0)
    room = Room((4.0, 3.0, 6.0), (flat, flat, flat), (), (), (0.3, 0.3, 0.3), np.zeros((64, 64), np.float32))
    camera = Camera((2.0, 1.5, 4.0), 0.0, 0.0)
    _, depth = render_room(room, camera, SIZE)
    np.testing.assert_allclose(depth[20:28, 28:36], 2.0, rtol=1e-5)
    from moadepth_edge.data.rooms import Piece

    box = Box((2.0, 1.5, 5.0), (0.3, 0.3, 0.3), 0.0, flat)
    with_box = Room(room.size, room.walls, (Piece(box, (box,)),), (), room.ambient, room.noise)
    _, depth = render_room(with_box, camera, SIZE)
    np.testing.assert_allclose(depth[22:26, 30:34], 0.7, rtol=1e-5)


def test_spec_selects_the_style():
    reader = open_reader("synthetic:3:rooms", "train", synthetic_size=(12, 16))
    assert isinstance(reader, SyntheticReader) and reader.style == "rooms" and len(reader) == 3
    held = open_reader("synthetic:3:rooms:focal=1.2", "test", synthetic_size=(12, 16))
    assert held.style == "rooms" and held.focal_scale == (1.2, 1.2)
    assert open_reader("synthetic:3", "train").style == "boxes"  # the default stays
    assert not np.array_equal(reader[0].rgb, held[0].rgb)
    with pytest.raises(UserError, match="unknown or repeated"):
        open_reader("synthetic:3:rooms:rooms", "train")
    with pytest.raises(UserError, match="style"):
        SyntheticReader(3, style="castles")


def test_render_folder_writes_a_folder_the_folder_reader_reads(tmp_path):
    """`python -m moadepth_edge.data.render_folder`: the frames as rendered, depth in mm, the
    camera in intrinsics.json."""
    from moadepth_edge.data.folder import FolderReader
    from moadepth_edge.data.render_folder import main

    assert main([str(tmp_path / "d"), "--spec", "synthetic:3:rooms", "--size", "24x32", "--jobs", "1"]) == 0
    reader, truth = FolderReader(tmp_path / "d"), SyntheticReader(3, size=(24, 32), style="rooms")
    assert len(reader) == 3
    a, b = reader[2], truth[2]
    np.testing.assert_array_equal(a.rgb, b.rgb)
    np.testing.assert_allclose(a.depth[a.valid], b.depth[a.valid], atol=6e-4)  # millimetres
    assert a.intrinsics == b.intrinsics


@pytest.mark.parametrize("args, message", [
    (["--size", "24"], "--size takes HEIGHTxWIDTH"),
    (["--spec", "nyu:/data"], "--spec takes a synthetic data spec"),
    (["--spec", "synthetic:3:castles"], "unknown or repeated synthetic option 'castles'"),
])
def test_render_folder_mistakes_are_one_line_before_any_frame(tmp_path, capsys, args, message):
    from moadepth_edge.data.render_folder import main

    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "d"), *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "d" / "rgb").exists() or not any((tmp_path / "d" / "rgb").iterdir())


def test_render_folder_resumes_its_own_frames_and_refuses_a_stale_folder(tmp_path, capsys):
    """A second run over the same folder keeps its frames (and a larger count extends it); a
    folder rendered with another size (as with another renderer version) is one line, exit 2,
    before any frame is written: a stale folder never mixes into a training set."""
    from moadepth_edge.data.render_folder import main

    out = tmp_path / "d"
    assert main([str(out), "--spec", "synthetic:2:rooms", "--size", "24x32", "--jobs", "1"]) == 0
    first = (out / "rgb" / "000000.png").stat().st_mtime_ns
    assert main([str(out), "--spec", "synthetic:3:rooms", "--size", "24x32", "--jobs", "1"]) == 0
    assert "1 frames rendered" in capsys.readouterr().out
    assert (out / "rgb" / "000000.png").stat().st_mtime_ns == first and len(list((out / "rgb").iterdir())) == 3
    with pytest.raises(SystemExit) as exit_info:
        main([str(out), "--spec", "synthetic:4:rooms", "--size", "32x32", "--jobs", "1"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "does not reproduce (000000.png differs" in err and "Traceback" not in err
    assert len(list((out / "rgb").iterdir())) == 3
    frame = cv2.imread(str(out / "rgb" / "000000.png"))
    cv2.imwrite(str(out / "rgb" / "000000.png"), 255 - frame)  # same size, other pixels: another renderer
    with pytest.raises(SystemExit):
        main([str(out), "--spec", "synthetic:4:rooms", "--size", "24x32", "--jobs", "1"])
    assert "000000.png differs" in capsys.readouterr().err and len(list((out / "rgb").iterdir())) == 3
