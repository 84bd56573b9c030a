"""Reading rosbag2 recordings: every frame losslessly, in order, with header and camera model;
every broken or foreign bag is one UserError."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from bag_helpers import FRAME_ID, IMAGE_TOPIC, INFO_TOPIC, START_NS, image_message, read_bag, write_bag

from moadepth_edge.errors import UserError
from moadepth_edge.runtime.ros.bag_source import BagSource, camera_info_topic_for, is_bag
from moadepth_edge.runtime.sources import open_source


def _read_all(source) -> list:
    with source:
        return list(source)


def test_mcap_folder_frames_are_lossless_and_carry_their_header(clip_bag, clip_frames, clip_camera):
    path, stamps = clip_bag
    source = open_source(str(path))
    assert isinstance(source, BagSource) and source.count == len(clip_frames)
    assert source.topic == IMAGE_TOPIC and source.info_topic == INFO_TOPIC
    frames = _read_all(source)
    assert [f.index for f in frames] == list(range(len(clip_frames)))
    for frame, original, stamp in zip(frames, clip_frames, stamps):
        np.testing.assert_array_equal(frame.image, original)  # rgb8 -> BGR, bit exact
        assert frame.meta.stamp_ns == stamp and frame.meta.frame_id == FRAME_ID
        assert frame.meta.camera == clip_camera  # intrinsics and distortion from camera_info


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_single_storage_files_read_like_the_folder(tmp_path, clip_frames, clip_camera, storage):
    bag = tmp_path / "b"
    stamps = write_bag(bag, clip_frames[:3], clip_camera, storage=storage)
    (inner,) = [p for p in bag.iterdir() if p.suffix in (".mcap", ".db3")]
    for spec in (bag, inner):
        assert is_bag(spec)
        frames = _read_all(open_source(str(spec)))
        assert [f.meta.stamp_ns for f in frames] == stamps
        np.testing.assert_array_equal(frames[2].image, clip_frames[2])


@pytest.mark.parametrize("encoding, tolerance", [
    ("bgr8", 0), ("rgba8", 0), ("png", 0), ("mono8", 0), ("yuv422", 12), ("jpeg", 40)])
def test_encodings(tmp_path, clip_frames, encoding, tolerance):
    write_bag(tmp_path / "b", clip_frames[:2], encoding=encoding)
    frames = _read_all(BagSource(tmp_path / "b"))
    expected = clip_frames[1]
    if encoding == "mono8":
        expected = cv2.cvtColor(cv2.cvtColor(expected, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    assert len(frames) == 2 and frames[1].image.shape == expected.shape
    error = np.abs(frames[1].image.astype(int) - expected.astype(int))
    assert np.percentile(error, 99) <= tolerance, (encoding, error.max())


def test_padded_rows_are_cropped(tmp_path, clip_frames):
    write_bag(tmp_path / "b", clip_frames[:1], pad=5)
    (frame,) = _read_all(BagSource(tmp_path / "b"))
    np.testing.assert_array_equal(frame.image, clip_frames[0])


def test_camera_info_recorded_after_the_image_still_applies_to_the_first_frame(tmp_path, clip_frames, clip_camera):
    write_bag(tmp_path / "b", clip_frames[:2], clip_camera, info_after_image=True)
    frames = _read_all(BagSource(tmp_path / "b"))
    assert all(f.meta.camera == clip_camera for f in frames)


def test_resized_frames_get_scaled_intrinsics(tmp_path, clip_frames, clip_camera):
    write_bag(tmp_path / "b", clip_frames[:1], clip_camera)
    (frame,) = _read_all(BagSource(tmp_path / "b", width=64))
    assert frame.image.shape == (48, 64, 3)
    assert frame.meta.camera.size == (64, 48)
    assert frame.meta.camera.intrinsics.fx == pytest.approx(clip_camera.intrinsics.fx / 2)


def test_default_topic_is_the_first_image_topic_and_topic_selects(tmp_path, clip_frames):
    write_bag(tmp_path / "b", clip_frames[:2], extra=True)  # a Temperature topic comes first
    source = BagSource(tmp_path / "b")
    assert source.topic == IMAGE_TOPIC and source.info_topic is None
    assert len(_read_all(source)) == 2
    assert BagSource(tmp_path / "b", topic=IMAGE_TOPIC).topic == IMAGE_TOPIC
    with pytest.raises(UserError, match="topic /nope is not in .*image topics: /cam/color/image_raw"):
        BagSource(tmp_path / "b", topic="/nope")
    with pytest.raises(UserError, match="holds sensor_msgs/msg/Temperature, not images"):
        BagSource(tmp_path / "b", topic="/imu/temperature")


def test_header_without_stamp_uses_the_recording_time(tmp_path, clip_frames):
    from moadepth_edge.runtime.ros import rosbags_kit as kit

    rb = kit.rosbag2()
    with rb.Writer(tmp_path / "b", version=8, storage_plugin=rb.StoragePlugin.MCAP) as writer:
        conn = writer.add_connection("/image", "sensor_msgs/msg/Image", typestore=kit.typestore())
        typename, msg = image_message(clip_frames[0], 0)
        writer.write(conn, START_NS, kit.serialize(msg, typename))
    (frame,) = _read_all(BagSource(tmp_path / "b"))
    assert frame.meta.stamp_ns == START_NS


@pytest.mark.parametrize("damage, message", [
    ("truncate", "File end magic is invalid"),
    ("foreign", "File magic is invalid"),
    ("empty", "seems to be empty"),
])
def test_broken_or_foreign_mcap_is_one_user_error(tmp_path, clip_bag, damage, message):
    path, _ = clip_bag
    data = (path / "clip_bag.mcap").read_bytes()
    bad = tmp_path / "bad.mcap"
    bad.write_bytes({"truncate": data[: len(data) // 2], "foreign": b"\x00not a bag" * 100, "empty": b""}[damage])
    with pytest.raises(UserError, match=f"cannot read rosbag2 .*bad.mcap: .*{message}") as info:
        BagSource(bad)
    assert "\n" not in str(info.value)


def test_broken_sqlite_bag_is_one_user_error(tmp_path, clip_frames):
    write_bag(tmp_path / "b", clip_frames[:2], storage="sqlite3")
    db = tmp_path / "b" / "b.db3"
    db.write_bytes(db.read_bytes()[:100])
    with pytest.raises(UserError, match="cannot read rosbag2"):
        BagSource(db)


def test_bag_without_images_or_with_unreadable_images(tmp_path, clip_frames):
    from moadepth_edge.runtime.ros import rosbags_kit as kit

    rb = kit.rosbag2()
    with rb.Writer(tmp_path / "none", version=8, storage_plugin=rb.StoragePlugin.MCAP) as writer:
        writer.add_connection("/chatter", "std_msgs/msg/String", typestore=kit.typestore())
    with pytest.raises(UserError, match=r"has no image topic .*its topics: /chatter \(std_msgs/msg/String\)"):
        BagSource(tmp_path / "none")
    write_bag(tmp_path / "depth16", clip_frames[:1], encoding="16UC1")
    with pytest.raises(UserError, match="image encoding '16UC1' is not supported"):
        BagSource(tmp_path / "depth16")
    write_bag(tmp_path / "empty", [])
    with pytest.raises(UserError, match="has no messages"):
        BagSource(tmp_path / "empty")


def test_camera_info_topic_pairs_as_image_transport_names_it():
    assert camera_info_topic_for("/cam/color/image_raw") == "/cam/color/camera_info"
    assert camera_info_topic_for("/cam/color/image_raw/compressed") == "/cam/color/camera_info"
    assert camera_info_topic_for("/image") == "/camera_info"


def test_a_bag_written_by_the_fixture_reads_back(clip_bag):
    """The fixture's own bag is what the other tests assume: one image and one info per frame."""
    path, stamps = clip_bag
    topics = read_bag(path)
    assert [t for t, _ in topics[IMAGE_TOPIC]] == stamps and len(topics[INFO_TOPIC]) == len(stamps)


def test_an_undecodable_image_mid_bag_is_skipped_with_a_warning(tmp_path, clip_frames, caplog):
    from moadepth_edge.runtime.ros import messages as M
    from moadepth_edge.runtime.ros import rosbags_kit as kit

    rb = kit.rosbag2()
    with rb.Writer(tmp_path / "b", version=8, storage_plugin=rb.StoragePlugin.MCAP) as writer:
        conn = writer.add_connection("/image/compressed", M.COMPRESSED_IMAGE, typestore=kit.typestore())
        for i, payload in enumerate([None, b"\xff\xd8 not a jpeg", None]):
            typename, msg = image_message(clip_frames[i], START_NS + i, "png")
            if payload is not None:
                msg = kit.make(M.COMPRESSED_IMAGE, header=msg.header, format="jpeg", data=payload)
            writer.write(conn, START_NS + i, kit.serialize(msg, typename))
    source = BagSource(tmp_path / "b")
    frames = _read_all(source)
    assert [f.meta.stamp_ns for f in frames] == [START_NS, START_NS + 2] and source.skipped == 1
    assert "skipping undecodable message(s): cannot decode compressed image" in caplog.text


def test_a_ros1_bag_is_refused_with_the_way_to_convert_it(tmp_path):
    old = tmp_path / "old.bag"
    old.write_bytes(b"#ROSBAG V2.0\n")
    assert is_bag(old)
    with pytest.raises(UserError, match="is a ROS 1 bag; convert it to rosbag2 first: rosbags-convert"):
        open_source(str(old))
