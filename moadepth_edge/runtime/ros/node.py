"""The `moadepth-edge ros2` node: the rclpy calls around node_core (written against rclpy's
documented API, Humble and later; not run in this project's CI, which has no ROS 2).

Subscribes to an image topic (Image, or CompressedImage for `.../compressed`) and its
camera_info with the sensor-data QoS at depth 1, so a slow model never works through a
backlog; publishes /depth/image, /depth/camera_info and optionally /depth/points with the input
header. Its settings are ROS parameters (`--ros-args -p name:=value` overrides the command
line's): model, backend, image_topic, camera_info_topic, depth_topic, depth_camera_info_topic,
points_topic, publish_points, points_stride, frame_id and max_rate (Hz, 0 = every frame).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from ..._lazy import lazy_import
from ...errors import MissingDependency, UserError

ROS_HINT = ("rclpy is not importable: the ros2 verb runs inside a ROS 2 installation "
            "(Humble or later); source it first, e.g. `source /opt/ros/humble/setup.bash`")


def import_rclpy() -> Any:
    """rclpy, or one MissingDependency line saying how to get it (it is not on PyPI)."""
    try:
        return lazy_import("rclpy")
    except MissingDependency:
        raise MissingDependency(ROS_HINT) from None


def rclpy_class(typename: str) -> Any:
    """`sensor_msgs/msg/Image` -> the class sensor_msgs.msg.Image of the sourced ROS 2."""
    package, kind, name = typename.split("/")
    return getattr(importlib.import_module(f"{package}.{kind}"), name)


def rclpy_factory(typename: str, **fields: Any) -> Any:
    """messages.MessageFactory for rclpy's generated classes. Their constructors turn bytes
    into array('B') and float lists into array('d') without per-element checks."""
    return rclpy_class(typename)(**fields)


@dataclass
class NodeSettings:
    """The node's parameters and their defaults (from the command line)."""

    model: str
    backend: str = ""
    image_topic: str = "/camera/image_raw"
    camera_info_topic: str = ""  # "" = beside the image topic, as image_transport names it
    depth_topic: str = "/depth/image"
    depth_camera_info_topic: str = "/depth/camera_info"
    points_topic: str = "/depth/points"
    publish_points: bool = False
    points_stride: int = 4
    frame_id: str = ""  # "" = the input's
    max_rate: float = 0.0


def declare(node: Any, defaults: NodeSettings) -> NodeSettings:
    """Declare every setting as a read-only ROS parameter; return the values in force."""
    from rcl_interfaces.msg import ParameterDescriptor

    values = {}
    for name, default in vars(defaults).items():
        descriptor = ParameterDescriptor(name=name, read_only=True)
        try:
            values[name] = node.declare_parameter(name, default, descriptor).value
        except Exception as exc:  # an override of the wrong type (max_rate:=5 for 5.0, say)
            raise UserError(f"ROS parameter {name}: {exc} (default {default!r})") from None
    return NodeSettings(**values)


def sensor_qos() -> Any:
    """The sensor-data profile (best effort, volatile) keeping only the newest message."""
    from rclpy.qos import HistoryPolicy, QoSProfile, qos_profile_sensor_data

    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                      reliability=qos_profile_sensor_data.reliability,
                      durability=qos_profile_sensor_data.durability)


def wire(node: Any, settings: NodeSettings, node_input: Any, channels: list[tuple[str, str]]) -> dict[str, Any]:
    """Create the subscriptions (into `node_input`) and a publisher per output channel
    ((topic, typename), as DepthMessages.channels() lists them); returns {topic: publisher}."""
    from rclpy.qos import QoSProfile

    from .bag_source import camera_info_topic_for
    from .messages import CAMERA_INFO

    image_cls = rclpy_class(node_input.image_type)
    node.create_subscription(image_cls, settings.image_topic, node_input.on_image, sensor_qos())
    info_topic = settings.camera_info_topic or camera_info_topic_for(settings.image_topic)
    node.create_subscription(rclpy_class(CAMERA_INFO), info_topic, node_input.on_camera_info, sensor_qos())
    # reliable, newest only: reaches best-effort and reliable subscribers (RViz, Foxglove, ros2 bag)
    return {topic: node.create_publisher(rclpy_class(typename), topic, QoSProfile(depth=1))
            for topic, typename in channels}
