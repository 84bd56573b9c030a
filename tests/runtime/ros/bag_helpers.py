"""Bags made with rosbags for the tests: images (several encodings) and camera_info, in MCAP
or sqlite3 storage; and reading a bag back."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from moadepth_edge.runtime.frame_meta import CameraModel
from moadepth_edge.runtime.ros import messages as M
from moadepth_edge.runtime.ros import rosbags_kit as kit

START_NS = 1_700_000_000_123_456_789
PERIOD_NS = 66_666_667
FRAME_ID = "cam_color_optical_frame"
IMAGE_TOPIC = "/cam/color/image_raw"
INFO_TOPIC = "/cam/color/camera_info"


def uyvy(bgr: np.ndarray) -> np.ndarray:
    """BGR -> packed UYVY bytes as a camera sends them: BT.601 limited range (Y 16..235),
    chroma averaged over pixel pairs."""
    b, g, r = (bgr[:, :, i].astype(np.float32) for i in range(3))
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b
    h, w = bgr.shape[:2]
    out = np.empty((h, w // 2, 4), np.float32)
    out[:, :, 0] = u.reshape(h, w // 2, 2).mean(axis=2)
    out[:, :, 1], out[:, :, 3] = y[:, 0::2], y[:, 1::2]
    out[:, :, 2] = v.reshape(h, w // 2, 2).mean(axis=2)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8).reshape(h, w * 2)


def image_message(bgr: np.ndarray, stamp: int, encoding: str = "rgb8", frame_id: str = FRAME_ID,
                  pad: int = 0):
    """A rosbags sensor_msgs/Image (or CompressedImage for encoding 'jpeg' / 'png')."""
    hdr = M.header(kit.make, stamp, frame_id)
    if encoding in ("jpeg", "png"):
        ok, buf = cv2.imencode(f".{'jpg' if encoding == 'jpeg' else 'png'}", bgr)
        assert ok
        return M.COMPRESSED_IMAGE, kit.make(M.COMPRESSED_IMAGE, header=hdr, format=encoding, data=buf.tobytes())
    pixels = {"rgb8": lambda: bgr[:, :, ::-1], "bgr8": lambda: bgr,
              "mono8": lambda: cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY),
              "rgba8": lambda: cv2.cvtColor(bgr, cv2.COLOR_BGR2RGBA),
              "yuv422": lambda: uyvy(bgr), "16UC1": lambda: bgr[:, :, 0].astype(np.uint16)}[encoding]()
    h = bgr.shape[0]
    rows = np.ascontiguousarray(pixels).reshape(h, -1).view(np.uint8)
    if pad:
        rows = np.concatenate([rows, np.full((h, pad), 7, np.uint8)], axis=1)
    return M.IMAGE, kit.make(M.IMAGE, header=hdr, height=h, width=bgr.shape[1], encoding=encoding,
                             is_bigendian=0, step=rows.shape[1], data=rows.tobytes())


def write_bag(path: Path, frames: list[np.ndarray], camera: CameraModel | None = None, *,
              storage: str = "mcap", encoding: str = "rgb8", topic: str = IMAGE_TOPIC,
              info_topic: str = INFO_TOPIC, info_after_image: bool = True, extra: bool = False,
              pad: int = 0) -> list[int]:
    """A rosbag2 folder at `path` with one image (+ camera_info) per frame; returns the stamps.
    `extra` adds an IMU-like unrelated topic first, so the image topic is not the bag's first."""
    rb = kit.rosbag2()
    plugin = rb.StoragePlugin.MCAP if storage == "mcap" else rb.StoragePlugin.SQLITE3
    stamps = [START_NS + i * PERIOD_NS for i in range(len(frames))]
    with rb.Writer(path, version=8, storage_plugin=plugin) as writer:
        store = kit.typestore()
        other = writer.add_connection("/imu/temperature", "sensor_msgs/msg/Temperature", typestore=store) if extra else None
        msgtype = image_message(frames[0], 0, encoding)[0] if frames else M.IMAGE
        image_conn = writer.add_connection(topic, msgtype, typestore=store)
        info_conn = writer.add_connection(info_topic, M.CAMERA_INFO, typestore=store) if camera else None
        for frame, stamp in zip(frames, stamps):
            if other is not None:
                temp = kit.make("sensor_msgs/msg/Temperature", header=M.header(kit.make, stamp, "imu"),
                                temperature=21.5, variance=0.0)
                writer.write(other, stamp, kit.serialize(temp, "sensor_msgs/msg/Temperature"))
            typename, msg = image_message(frame, stamp, encoding, pad=pad)
            info = M.camera_info(kit.make, M.header(kit.make, stamp, FRAME_ID), camera) if camera else None
            if info is not None and not info_after_image:
                writer.write(info_conn, stamp, kit.serialize(info, M.CAMERA_INFO))
            writer.write(image_conn, stamp, kit.serialize(msg, typename))
            if info is not None and info_after_image:
                writer.write(info_conn, stamp + 1, kit.serialize(info, M.CAMERA_INFO))
    return stamps


def read_bag(path: Path) -> dict[str, list[tuple[int, object]]]:
    """{topic: [(log time, message)]} of every message in a bag (file or folder)."""
    rb = kit.rosbag2()
    out: dict[str, list[tuple[int, object]]] = {}
    reader = rb.Reader(path)
    reader.open()
    try:
        for conn, stamp, raw in reader.messages():
            out.setdefault(conn.topic, []).append((stamp, kit.deserialize(raw, conn.msgtype)))
    finally:
        reader.close()
    return out
