"""The ROS 2 node without rclpy: newest-only input, the run pipeline, published messages.
Messages in and out are real sensor_msgs objects (rosbags' classes, the same fields as rclpy's)."""
from __future__ import annotations

import importlib.util
import threading
import time

import numpy as np
import pytest
from bag_helpers import FRAME_ID, START_NS, image_message

from moadepth_edge.runtime.backends import load_backend
from moadepth_edge.runtime.pipeline import Pipeline
from moadepth_edge.runtime.ros import messages as M
from moadepth_edge.runtime.ros import rosbags_kit as kit
from moadepth_edge.runtime.ros.depth_messages import DepthMessages
from moadepth_edge.runtime.ros.node_core import NodeInput, PublishSink, image_type_for
from moadepth_edge.runtime.ros.push_source import PushSource


def test_push_source_keeps_only_the_newest_frame():
    source = PushSource()
    for i in range(5):
        source.push((np.full((2, 2, 3), i, np.uint8), None))
    frame = source.read()
    assert frame.image[0, 0, 0] == 4 and frame.index == 0
    assert source.dropped == 4 and source.received == 5
    source.close()
    assert source.read() is None


def test_push_source_waits_throttles_and_skips_undecodable_items():
    def decode(item):
        if item == "bad":
            raise M.MessageError("image encoding 'x' is not supported")
        return np.zeros((2, 2, 3), np.uint8), None

    source = PushSource(decode, max_rate=20.0)
    threading.Timer(0.2, source.push, args=("bad",)).start()
    threading.Timer(0.3, source.push, args=("good",)).start()
    t0 = time.perf_counter()
    assert source.read() is not None and time.perf_counter() - t0 >= 0.25
    assert source.skipped == 1
    source.push("good")
    t0 = time.perf_counter()
    source.read()
    assert time.perf_counter() - t0 >= 0.04  # at most 20 per second
    threading.Timer(0.1, source.close).start()
    assert source.read() is None  # a closed source ends the waiting reader


def test_image_type_follows_image_transport_naming():
    assert image_type_for("/cam/image_raw") == M.IMAGE
    assert image_type_for("/cam/image_raw/compressed") == M.COMPRESSED_IMAGE


def test_node_input_to_pipeline_to_published_messages(tiny_onnx, clip_frames, clip_camera):
    """A camera publishing faster than the model: the node drops stale frames instead of
    queueing them, and every published message carries the header of the frame it came from."""
    node_input = NodeInput(M.IMAGE, "topic /cam/color/image_raw")
    hdr = M.header(kit.make, START_NS, FRAME_ID)
    node_input.on_camera_info(M.camera_info(kit.make, hdr, clip_camera))
    published: list[tuple[str, object]] = []
    messages = DepthMessages(kit.make, points_stride=4)

    def publish(topic: str, msg: object) -> None:  # a publisher slower than the camera on any machine
        published.append((topic, msg))
        time.sleep(0.01)

    sink = PublishSink(messages, publish)
    sent: dict[int, float] = {}

    def camera():  # 200 frames per second for 1.5 s
        for i in range(300):
            stamp = START_NS + i * 5_000_000
            sent[stamp] = time.perf_counter()
            node_input.on_image(image_message(clip_frames[i % len(clip_frames)], stamp)[1])
            time.sleep(0.005)
        node_input.source.close()

    engine = load_backend(tiny_onnx, threads=1)
    try:
        feeder = threading.Thread(target=camera)
        feeder.start()
        stats = Pipeline(engine, node_input.source, [sink]).run()
        feeder.join()
    finally:
        engine.close()
    assert stats.frames == sink.frames > 3
    assert stats.dropped > 0 and stats.frames + stats.dropped <= 300
    topics = [t for t, _ in published]
    assert topics == ["/depth/image", "/depth/camera_info", "/depth/points"] * sink.frames
    stamps = [M.stamp_ns(m.header) for t, m in published if t == "/depth/image"]
    assert stamps == sorted(stamps) and set(stamps) <= set(sent)
    info = [m for t, m in published if t == "/depth/camera_info"][0]
    assert M.camera_model(info) == clip_camera and info.header.frame_id == FRAME_ID
    assert stats.latency.summary_ms()["p95"] < 2000  # no backlog: each frame is recent


@pytest.mark.skipif(importlib.util.find_spec("rclpy") is not None, reason="ROS 2 is installed here")
def test_ros2_verb_without_rclpy_is_one_line(tiny_onnx, capsys):
    from moadepth_edge.cli.main import main

    assert main(["ros2", str(tiny_onnx), "--ros-args", "-p", "max_rate:=5.0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: rclpy is not importable") and "source /opt/ros" in err[0]


def test_ros2_verb_refuses_unknown_options_before_ros(tiny_onnx, capsys):
    from moadepth_edge.cli.main import main

    assert main(["ros2", str(tiny_onnx), "--imag-topic", "/x"]) == 2
    err = capsys.readouterr().err
    assert "unknown option or argument '--imag-topic' (ROS arguments go after --ros-args)" in err
