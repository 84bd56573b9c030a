"""`moadepth-edge ros2 MODEL`: a ROS 2 node that turns an image topic into depth topics.

Needs rclpy (a sourced ROS 2, Humble or later; not on PyPI): without it, one line. Everything
after `--ros-args` goes to ROS (`-p max_rate:=10.0`, `-r __node:=depth`). The node's logic is
the run pipeline and the bag writer's messages (runtime/ros/node_core.py); only the rclpy
calls here and in runtime/ros/node.py were not run in this project's CI. Torch-free.
"""
from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Optional

import typer

from .. import signals
from ..errors import UserError

NODE_NAME = "moadepth_depth"


def ros2(
    ctx: typer.Context,
    model: Path = typer.Argument(..., help="an exported .onnx, a TensorRT .engine/.plan, or a checkpoint folder"),
    backend: Optional[str] = typer.Option(None, "--backend", help="onnxruntime, tensorrt or torch (default: by file)"),
    providers: Optional[str] = typer.Option(
        None, "--providers", help="onnxruntime execution providers: auto, cpu, cuda, tensorrt (comma list)"),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, max=1024, help="onnxruntime intra-op threads"),
    image_topic: str = typer.Option("/camera/image_raw", "--image-topic",
                                    help="input topic (sensor_msgs/Image; .../compressed: CompressedImage)"),
    camera_info_topic: str = typer.Option("", "--camera-info-topic",
                                          help="its camera_info (default: beside the image topic)"),
    frame_id: str = typer.Option("", "--frame-id", help="frame_id of the outputs (default: the input's)"),
    points: bool = typer.Option(False, "--points", help="also publish /depth/points (PointCloud2 xyz + rgb)"),
    stride: int = typer.Option(4, "--pointcloud-stride", min=1, help="keep every Nth pixel in point clouds"),
    max_rate: float = typer.Option(0.0, "--max-rate", min=0.0, help="at most this many frames per second (0: all)"),
) -> int:
    """Run the depth model as a ROS 2 node (image + camera_info in; depth, camera_info, points out)."""
    from ..runtime.ros.node import NodeSettings, import_rclpy

    if ctx.args and ctx.args[0] != "--ros-args":  # only ROS's own arguments pass through
        raise UserError(f"unknown option or argument {ctx.args[0]!r} (ROS arguments go after --ros-args)")
    rclpy = import_rclpy()
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.signals import SignalHandlerOptions

    defaults = NodeSettings(model=str(model), backend=backend or "", image_topic=image_topic,
                            camera_info_topic=camera_info_topic, frame_id=frame_id, publish_points=points,
                            points_stride=stride, max_rate=max_rate)
    # this CLI handles SIGINT / SIGTERM itself (signals.py): rclpy installs none
    rclpy.init(args=[NODE_NAME, *ctx.args], signal_handler_options=SignalHandlerOptions.NO)
    node = executor = None
    try:
        node = rclpy.create_node(NODE_NAME)
        executor = SingleThreadedExecutor()
        return _serve(node, executor, defaults, providers, threads)
    finally:
        if executor is not None:
            executor.shutdown(timeout_sec=2.0)
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()


def _serve(node, executor, defaults, providers: str | None, threads: int | None) -> int:
    from ..runtime.backends import load_backend
    from ..runtime.pipeline import Pipeline
    from ..runtime.ros.depth_messages import DepthMessages, DepthTopics
    from ..runtime.ros.node import declare, rclpy_factory, wire
    from ..runtime.ros.node_core import NodeInput, PublishSink, image_type_for

    settings = declare(node, defaults)
    if settings.max_rate < 0 or settings.points_stride < 1:
        raise UserError("max_rate must be >= 0 and points_stride >= 1")
    opts = {k: v for k, v in (("providers", providers), ("threads", threads)) if v is not None}
    engine = load_backend(Path(settings.model), settings.backend or None, **opts)
    try:
        node_input = NodeInput(image_type_for(settings.image_topic), f"topic {settings.image_topic}",
                               settings.max_rate)
        topics = DepthTopics(settings.depth_topic, settings.depth_camera_info_topic, settings.points_topic)
        messages = DepthMessages(rclpy_factory, topics, frame_id=settings.frame_id or None,
                                 points_stride=settings.points_stride if settings.publish_points else None)
        publishers = wire(node, settings, node_input, messages.channels())
        sink = PublishSink(messages, lambda topic, msg: publishers[topic].publish(msg))
        executor.add_node(node)
        threading.Thread(target=executor.spin, name="moadepth-ros-spin", daemon=True).start()
        print(f"{NODE_NAME}: {settings.image_topic} -> {', '.join(t for t, _ in messages.channels())} "
              f"({engine.name}); Ctrl-C stops", file=sys.stderr)
        with signals.deferred():  # a signal ends the source's wait; the current frame finishes
            stats = Pipeline(engine, node_input.source, [sink]).run()
    finally:
        engine.close()
    print(f"{stats.stop_reason}: {stats.summary_line()}", file=sys.stderr)
    return 0


def register(app: typer.Typer) -> None:
    app.command("ros2", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(ros2)
