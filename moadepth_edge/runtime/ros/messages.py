"""numpy <-> sensor_msgs conversions, independent of the ROS library that holds the messages.

Reading works on any message object with the sensor_msgs field names (rosbags' dataclasses and
rclpy's generated classes alike). Writing goes through a `MessageFactory`: `make(typename,
**fields)` builds one message of that library (see rosbags_kit.make and node.rclpy_factory);
byte arrays are passed as `bytes`, float sequences as lists and fixed float arrays as numpy
float64, and each factory converts them to what its library stores.

Depth follows REP 118: `32FC1` in metres, NaN where the model gave no valid depth. Point clouds
are `xyz` float32 + `rgb` (the packed-float convention of PCL and RViz), unorganised, valid
points only. Imports neither torch nor any ROS library.
"""
from __future__ import annotations

import sys
from typing import Any, Callable

import cv2
import numpy as np

from ...data.sample import Intrinsics
from ...errors import UserError
from ..frame_meta import CameraModel
from ..pointcloud import backproject

MessageFactory = Callable[..., Any]  # make(typename, **fields) -> message

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
POINT_CLOUD2 = "sensor_msgs/msg/PointCloud2"
IMAGE_TYPES = (IMAGE, COMPRESSED_IMAGE)

# encoding -> (channels, conversion to BGR or None when already BGR)
_ENCODINGS: dict[str, tuple[int, int | None]] = {
    "bgr8": (3, None),
    "8UC3": (3, None),  # OpenCV's own order
    "rgb8": (3, cv2.COLOR_RGB2BGR),
    "bgra8": (4, cv2.COLOR_BGRA2BGR),
    "8UC4": (4, cv2.COLOR_BGRA2BGR),
    "rgba8": (4, cv2.COLOR_RGBA2BGR),
    "mono8": (1, cv2.COLOR_GRAY2BGR),
    "8UC1": (1, cv2.COLOR_GRAY2BGR),
    "yuv422": (2, cv2.COLOR_YUV2BGR_UYVY),  # sensor_msgs' yuv422 is UYVY
    "uyvy": (2, cv2.COLOR_YUV2BGR_UYVY),
    "yuv422_yuy2": (2, cv2.COLOR_YUV2BGR_YUY2),
    "yuyv": (2, cv2.COLOR_YUV2BGR_YUY2),
}
SUPPORTED_ENCODINGS = tuple(_ENCODINGS)

# sensor_msgs/PointField datatypes
_FLOAT32 = 7
_CLOUD_DTYPE = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("rgb", "<u4")])


class MessageError(UserError):
    """A message this toolkit cannot turn into a frame (unsupported encoding, wrong size)."""


def stamp_ns(header: Any) -> int:
    """A std_msgs/Header's stamp in nanoseconds since the epoch."""
    return int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)


def _bytes(data: Any) -> np.ndarray:
    return np.frombuffer(memoryview(data).cast("B"), np.uint8)


def image_to_bgr(msg: Any) -> np.ndarray:
    """A sensor_msgs/Image (8-bit colour, grey or YUV 4:2:2) -> BGR uint8 HxWx3."""
    encoding = str(msg.encoding)
    if encoding not in _ENCODINGS:
        raise MessageError(f"image encoding {encoding!r} is not supported "
                           f"(supported: {', '.join(SUPPORTED_ENCODINGS)})")
    channels, conversion = _ENCODINGS[encoding]
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    data = _bytes(msg.data)
    if h <= 0 or w <= 0 or step < w * channels or data.size < h * step:
        raise MessageError(f"{encoding} image of {w}x{h} with step {step} holds only {data.size} bytes")
    rows = data[: h * step].reshape(h, step)[:, : w * channels]  # drop any row padding
    image = rows.reshape(h, w, channels) if channels > 1 else rows.reshape(h, w)
    if conversion is None:
        return np.ascontiguousarray(image)
    return cv2.cvtColor(np.ascontiguousarray(image), conversion)


def compressed_to_bgr(msg: Any) -> np.ndarray:
    """A sensor_msgs/CompressedImage (JPEG or PNG, as image_transport writes) -> BGR uint8."""
    fmt = str(msg.format)
    if "compresseddepth" in fmt.lower().replace(" ", ""):
        raise MessageError(f"compressed depth images ({fmt!r}) are not colour frames")
    image = cv2.imdecode(_bytes(msg.data), cv2.IMREAD_COLOR)
    if image is None:
        raise MessageError(f"cannot decode compressed image (format {fmt!r})")
    return image


def to_bgr(msg: Any, msgtype: str) -> np.ndarray:
    """Either image message type -> BGR uint8."""
    return compressed_to_bgr(msg) if msgtype == COMPRESSED_IMAGE else image_to_bgr(msg)


def camera_model(msg: Any) -> CameraModel | None:
    """A sensor_msgs/CameraInfo -> CameraModel, or None when it carries no calibration
    (K all zero, or no size)."""
    k = np.asarray(msg.k, dtype=np.float64).reshape(-1)
    w, h = int(msg.width), int(msg.height)
    if k.size != 9 or k[0] <= 0 or k[4] <= 0 or w <= 0 or h <= 0:
        return None
    d = tuple(float(v) for v in np.asarray(msg.d, dtype=np.float64).reshape(-1))
    return CameraModel(Intrinsics(float(k[0]), float(k[4]), float(k[2]), float(k[5])), (w, h),
                       str(msg.distortion_model) or "plumb_bob", d)


def header(make: MessageFactory, stamp: int, frame_id: str) -> Any:
    """A std_msgs/Header."""
    time = make("builtin_interfaces/msg/Time", sec=int(stamp // 1_000_000_000),
                nanosec=int(stamp % 1_000_000_000))
    return make("std_msgs/msg/Header", stamp=time, frame_id=str(frame_id))


def depth_image(make: MessageFactory, hdr: Any, depth: np.ndarray) -> Any:
    """Metres HxW -> sensor_msgs/Image 32FC1 (REP 118): NaN where depth is not finite and > 0."""
    d = np.asarray(depth, dtype=np.float32)
    d = np.where(np.isfinite(d) & (d > 0), d, np.float32(np.nan)).astype(np.float32)
    h, w = d.shape
    return make(IMAGE, header=hdr, height=h, width=w, encoding="32FC1",
                is_bigendian=int(sys.byteorder == "big"), step=w * 4, data=d.tobytes())


def depth_from_image(msg: Any) -> np.ndarray:
    """A 32FC1 sensor_msgs/Image -> HxW float32 metres (the inverse of `depth_image`)."""
    if str(msg.encoding) != "32FC1":
        raise MessageError(f"expected a 32FC1 depth image, got {msg.encoding!r}")
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    dtype = np.dtype(">f4" if msg.is_bigendian else "<f4")
    rows = _bytes(msg.data)[: h * step].reshape(h, step)[:, : w * 4]
    return np.ascontiguousarray(rows).view(dtype).reshape(h, w).astype(np.float32)


def camera_info(make: MessageFactory, hdr: Any, camera: CameraModel) -> Any:
    """CameraModel -> sensor_msgs/CameraInfo (no rectification: R = I, P = [K | 0])."""
    k = camera.intrinsics
    kmat = np.array([k.fx, 0.0, k.cx, 0.0, k.fy, k.cy, 0.0, 0.0, 1.0], np.float64)
    pmat = np.array([k.fx, 0.0, k.cx, 0.0, 0.0, k.fy, k.cy, 0.0, 0.0, 0.0, 1.0, 0.0], np.float64)
    roi = make("sensor_msgs/msg/RegionOfInterest", x_offset=0, y_offset=0, height=0, width=0,
               do_rectify=False)
    w, h = camera.size
    return make(CAMERA_INFO, header=hdr, height=h, width=w, distortion_model=camera.distortion_model,
                d=[float(v) for v in camera.distortion], k=kmat, r=np.eye(3).reshape(-1), p=pmat,
                binning_x=0, binning_y=0, roi=roi)


def pack_rgb(bgr: np.ndarray) -> np.ndarray:
    """BGR uint8 [N,3] -> 0x00RRGGBB uint32, the bits of PCL's packed float `rgb` field."""
    c = bgr.astype(np.uint32)
    return (c[:, 2] << 16) | (c[:, 1] << 8) | c[:, 0]


def point_cloud(make: MessageFactory, hdr: Any, depth: np.ndarray, image_bgr: np.ndarray,
                intrinsics: Intrinsics, stride: int = 1, max_depth: float | None = None) -> Any:
    """Depth + the frame's colours -> sensor_msgs/PointCloud2 of the valid pixels (every
    `stride`-th row and column): fields x, y, z (metres, camera optical frame) and rgb."""
    points, vu = backproject(depth, intrinsics, stride, max_depth)
    cloud = np.empty(len(points), _CLOUD_DTYPE)
    cloud["x"], cloud["y"], cloud["z"] = points[:, 0], points[:, 1], points[:, 2]
    cloud["rgb"] = pack_rgb(image_bgr[vu[:, 0], vu[:, 1]])
    fields = [make("sensor_msgs/msg/PointField", name=name, offset=offset, datatype=_FLOAT32, count=1)
              for name, offset in (("x", 0), ("y", 4), ("z", 8), ("rgb", 12))]
    return make(POINT_CLOUD2, header=hdr, height=1, width=len(cloud), fields=fields,
                is_bigendian=False, point_step=_CLOUD_DTYPE.itemsize,
                row_step=_CLOUD_DTYPE.itemsize * len(cloud), data=cloud.tobytes(), is_dense=True)


def cloud_points(msg: Any) -> tuple[np.ndarray, np.ndarray]:
    """A PointCloud2 written by `point_cloud` -> (points [N,3] float32, colours [N,3] RGB uint8)."""
    names = [(f.name, int(f.offset)) for f in msg.fields]
    if names != [("x", 0), ("y", 4), ("z", 8), ("rgb", 12)] or int(msg.point_step) != 16:
        raise MessageError(f"not an xyz+rgb cloud of this toolkit: fields {names}")
    cloud = np.frombuffer(_bytes(msg.data).tobytes(), _CLOUD_DTYPE, count=int(msg.width) * int(msg.height))
    points = np.stack([cloud["x"], cloud["y"], cloud["z"]], axis=1)
    rgb = cloud["rgb"]
    colours = np.stack([(rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255], axis=1).astype(np.uint8)
    return points, colours
