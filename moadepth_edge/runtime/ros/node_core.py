"""Everything the `ros2` node does except calling rclpy, so it is tested without ROS 2.

Incoming messages (any library's sensor_msgs objects) go to a newest-only PushSource, decoded
only when the model takes them, with the latest camera_info's camera model; each result goes
out as the bag writer's messages (depth_messages), built by the node's message factory and
handed to `publish(topic, message)`.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..frame_meta import CameraModel, FrameMeta
from ..result import Result
from ..sinks import Sink
from .depth_messages import DepthMessages
from .messages import COMPRESSED_IMAGE, IMAGE, camera_model, stamp_ns, to_bgr
from .push_source import PushSource


def image_type_for(topic: str) -> str:
    """image_transport's naming: a topic ending in /compressed carries CompressedImage."""
    return COMPRESSED_IMAGE if topic.rstrip("/").endswith("/compressed") else IMAGE


class NodeInput:
    """Subscription callbacks -> frames: `on_image` / `on_camera_info` (executor thread)."""

    def __init__(self, image_type: str, description: str, max_rate: float = 0.0) -> None:
        self.image_type = image_type
        self.camera: CameraModel | None = None
        self.source = PushSource(self._decode, description, max_rate)

    def on_camera_info(self, msg: Any) -> None:
        self.camera = camera_model(msg) or self.camera

    def on_image(self, msg: Any) -> None:
        self.source.push((msg, self.camera))

    def _decode(self, item: tuple[Any, CameraModel | None]) -> tuple[np.ndarray, FrameMeta]:
        msg, camera = item
        image = to_bgr(msg, self.image_type)
        h, w = image.shape[:2]
        camera = camera.at_size(w, h) if camera is not None else None
        return image, FrameMeta(stamp_ns(msg.header), str(msg.header.frame_id), camera)


class PublishSink(Sink):
    """Publishes each result's depth messages through `publish(topic, message)`."""

    def __init__(self, messages: DepthMessages, publish: Callable[[str, Any], None]) -> None:
        self.messages = messages
        self.publish = publish
        self.frames = 0

    def write(self, result: Result) -> None:
        for topic, _, msg in self.messages(result):
            self.publish(topic, msg)
        self.frames += 1
