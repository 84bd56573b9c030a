"""numpy <-> sensor_msgs conversions, through real CDR serialisation with rosbags."""
from __future__ import annotations

import numpy as np
import pytest

from moadepth_edge.data.sample import Intrinsics
from moadepth_edge.runtime.frame_meta import CameraModel, FrameMeta, frame_meta
from moadepth_edge.runtime.pointcloud import backproject
from moadepth_edge.runtime.ros import messages as M
from moadepth_edge.runtime.ros import rosbags_kit as kit
from moadepth_edge.runtime.ros.depth_messages import DEFAULT_FRAME_ID, DepthMessages
from moadepth_edge.runtime.result import Result

STAMP = 1_700_000_123_987_654_321


def _roundtrip(msg, typename):
    return kit.deserialize(kit.serialize(msg, typename), typename)


def test_depth_image_is_rep118_32fc1_with_nan_for_invalid():
    depth = np.array([[1.25, 0.0, -1.0], [np.inf, np.nan, 7.5]], np.float32)
    msg = _roundtrip(M.depth_image(kit.make, M.header(kit.make, STAMP, "cam"), depth), M.IMAGE)
    assert (msg.encoding, msg.height, msg.width, msg.step, msg.is_bigendian) == ("32FC1", 2, 3, 12, 0)
    assert M.stamp_ns(msg.header) == STAMP and msg.header.frame_id == "cam"
    back = M.depth_from_image(msg)
    assert back[0, 0] == np.float32(1.25) and back[1, 2] == np.float32(7.5)
    assert np.isnan(back[[0, 0, 1, 1], [1, 2, 0, 1]]).all()


def test_camera_info_round_trip_keeps_intrinsics_and_distortion():
    camera = CameraModel(Intrinsics(500.0, 501.0, 320.5, 240.25), (640, 480), "plumb_bob", (0.1, -0.2, 0.0, 0.0, 0.05))
    msg = _roundtrip(M.camera_info(kit.make, M.header(kit.make, STAMP, "cam"), camera), M.CAMERA_INFO)
    assert (msg.width, msg.height, msg.distortion_model) == (640, 480, "plumb_bob")
    np.testing.assert_array_equal(msg.k, [500.0, 0, 320.5, 0, 501.0, 240.25, 0, 0, 1])
    np.testing.assert_array_equal(msg.p, [500.0, 0, 320.5, 0, 0, 501.0, 240.25, 0, 0, 0, 1, 0])
    np.testing.assert_array_equal(msg.r, np.eye(3).reshape(-1))
    assert M.camera_model(msg) == camera


def test_uncalibrated_camera_info_is_no_camera():
    empty = kit.make(M.CAMERA_INFO, header=M.header(kit.make, 0, ""), height=0, width=0, distortion_model="",
                     d=[], k=np.zeros(9), r=np.zeros(9), p=np.zeros(12), binning_x=0, binning_y=0,
                     roi=kit.make("sensor_msgs/msg/RegionOfInterest", x_offset=0, y_offset=0, height=0, width=0,
                                  do_rectify=False))
    assert M.camera_model(empty) is None


def test_point_cloud_holds_the_back_projected_valid_pixels_with_their_colours():
    rng = np.random.default_rng(0)
    depth = rng.uniform(0.5, 4.0, (12, 16)).astype(np.float32)
    depth[0, 0] = 0.0
    depth[2, 4] = np.nan
    image = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
    intr = Intrinsics(20.0, 21.0, 8.0, 6.0)
    msg = _roundtrip(M.point_cloud(kit.make, M.header(kit.make, STAMP, "cam"), depth, image, intr, stride=2),
                     M.POINT_CLOUD2)
    expected, vu = backproject(depth, intr, stride=2)
    assert (msg.height, msg.width, msg.point_step, msg.row_step) == (1, len(expected), 16, 16 * len(expected))
    assert [(f.name, f.offset, f.datatype, f.count) for f in msg.fields] == [
        ("x", 0, 7, 1), ("y", 4, 7, 1), ("z", 8, 7, 1), ("rgb", 12, 7, 1)]
    points, rgb = M.cloud_points(msg)
    np.testing.assert_array_equal(points, expected)
    np.testing.assert_array_equal(rgb, image[vu[:, 0], vu[:, 1], ::-1])  # RGB of each pixel
    assert len(points) == 6 * 8 - 2  # both invalid pixels lie on the stride-2 grid


def test_short_or_unknown_images_are_message_errors():
    hdr = M.header(kit.make, 0, "")
    short = kit.make(M.IMAGE, header=hdr, height=4, width=4, encoding="rgb8", is_bigendian=0, step=12,
                     data=bytes(20))
    with pytest.raises(M.MessageError, match="holds only 20 bytes"):
        M.image_to_bgr(short)
    odd = kit.make(M.IMAGE, header=hdr, height=1, width=1, encoding="bayer_rggb8", is_bigendian=0, step=1,
                   data=bytes(1))
    with pytest.raises(M.MessageError, match="'bayer_rggb8' is not supported"):
        M.image_to_bgr(odd)
    broken = kit.make(M.COMPRESSED_IMAGE, header=hdr, format="jpeg", data=b"\xff\xd8garbage")
    with pytest.raises(M.MessageError, match="cannot decode compressed image"):
        M.compressed_to_bgr(broken)


def test_depth_messages_take_the_frame_header_or_the_given_frame_id():
    depth = np.full((6, 8), 2.0, np.float32)
    image = np.zeros((6, 8, 3), np.uint8)
    camera = CameraModel(Intrinsics(10.0, 10.0, 8.0, 6.0), (16, 12))  # the input was twice the size
    result = Result(0, image, depth, meta=FrameMeta(STAMP, "input_frame", camera))
    out = DepthMessages(kit.make, points_stride=1)(result)
    assert [(topic, typename) for topic, typename, _ in out] == [
        ("/depth/image", M.IMAGE), ("/depth/camera_info", M.CAMERA_INFO), ("/depth/points", M.POINT_CLOUD2)]
    assert all(m.header.frame_id == "input_frame" and M.stamp_ns(m.header) == STAMP for _, _, m in out)
    info = out[1][2]
    assert (info.width, info.height) == (8, 6) and info.k[0] == 5.0  # scaled to the depth map
    assert len(M.cloud_points(out[2][2])[0]) == 48
    named = DepthMessages(kit.make, frame_id="robot_cam")(result)
    assert {m.header.frame_id for _, _, m in named} == {"robot_cam"}
    bare = Result(0, image, depth)  # a frame without a header gets the default frame and now
    msg = DepthMessages(kit.make)(bare)[0][2]
    assert msg.header.frame_id == DEFAULT_FRAME_ID and M.stamp_ns(msg.header) > STAMP


def test_capture_time_becomes_a_wall_clock_stamp():
    import time

    from moadepth_edge.runtime.sources.base import Frame

    before = time.time_ns()
    meta = frame_meta(Frame(0, np.zeros((2, 2, 3), np.uint8), time.perf_counter() - 0.5))
    after = time.time_ns()
    assert before - 600_000_000 <= meta.stamp_ns <= after - 400_000_000
    assert meta.frame_id == "" and meta.camera is None
