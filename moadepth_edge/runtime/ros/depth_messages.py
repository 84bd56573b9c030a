"""One depth result -> the ROS 2 messages the bag writer and the node publish.

`/depth/image` (32FC1 metres, REP 118), `/depth/camera_info` and optionally `/depth/points`
(PointCloud2 xyz + rgb), all with the input frame's header stamp and frame_id. The camera model
is, in order: the one given by the user (--intrinsics), the source's (a bag's camera_info), or
a 60 degree horizontal field of view when nothing is known (the same guess as the PLY writer).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ...data.sample import Intrinsics
from ..frame_meta import CameraModel, FrameMeta
from ..pointcloud import fov_intrinsics
from ..result import Result
from .messages import CAMERA_INFO, IMAGE, POINT_CLOUD2, MessageFactory, camera_info, depth_image, header, point_cloud

# REP 103/105: an image's pixels live in an optical frame (z forward, x right, y down)
DEFAULT_FRAME_ID = "camera_optical_frame"


@dataclass(frozen=True)
class DepthTopics:
    """Where each output goes."""

    image: str = "/depth/image"
    camera_info: str = "/depth/camera_info"
    points: str = "/depth/points"


class DepthMessages:
    """Callable: Result -> [(topic, typename, message)], built with the factory `make`.

    `frame_id`, when given, replaces every frame's own (a camera or video has none: it gets
    DEFAULT_FRAME_ID otherwise). `intrinsics` belong to frames of `intrinsics_size` (None: the
    frames' own size). `points_stride`: also a point cloud of every Nth pixel; None: none.
    """

    def __init__(self, make: MessageFactory, topics: DepthTopics = DepthTopics(), *,
                 frame_id: str | None = None, intrinsics: Intrinsics | None = None,
                 intrinsics_size: tuple[int, int] | None = None, points_stride: int | None = None,
                 max_depth: float | None = None, hfov_deg: float = 60.0) -> None:
        self.make = make
        self.topics = topics
        self.frame_id = frame_id
        self.intrinsics = intrinsics
        self.intrinsics_size = intrinsics_size
        self.points_stride = points_stride
        self.max_depth = max_depth
        self.hfov_deg = hfov_deg

    def channels(self) -> list[tuple[str, str]]:
        """(topic, typename) of every message `__call__` returns, in that order."""
        out = [(self.topics.image, IMAGE), (self.topics.camera_info, CAMERA_INFO)]
        if self.points_stride:
            out.append((self.topics.points, POINT_CLOUD2))
        return out

    def camera_for(self, result: Result) -> CameraModel:
        """The camera model of the result's depth map (at its size)."""
        h, w = result.depth.shape
        if self.intrinsics is not None:
            return CameraModel(self.intrinsics, self.intrinsics_size or (w, h)).at_size(w, h)
        if result.meta is not None and result.meta.camera is not None:
            return result.meta.camera.at_size(w, h)
        return CameraModel(fov_intrinsics(w, h, self.hfov_deg), (w, h))

    @staticmethod
    def meta_of(result: Result) -> FrameMeta:
        """The result's header (now, for a result made without one)."""
        return result.meta if result.meta is not None else FrameMeta(time.time_ns())

    def __call__(self, result: Result) -> list[tuple[str, str, Any]]:
        meta = self.meta_of(result)
        hdr = header(self.make, meta.stamp_ns, self.frame_id or meta.frame_id or DEFAULT_FRAME_ID)
        camera = self.camera_for(result)
        out = [(self.topics.image, IMAGE, depth_image(self.make, hdr, result.depth)),
               (self.topics.camera_info, CAMERA_INFO, camera_info(self.make, hdr, camera))]
        if self.points_stride:
            out.append((self.topics.points, POINT_CLOUD2,
                        point_cloud(self.make, hdr, result.depth, result.image, camera.intrinsics,
                                    self.points_stride, self.max_depth)))
        return out
