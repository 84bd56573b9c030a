"""Frames from a rosbag2 recording: a `.mcap` or `.db3` file, or a bag folder with metadata.yaml.

Reads one image topic (sensor_msgs/Image or CompressedImage; by default the first in the bag)
in recorded order, every message, each frame carrying its header stamp and frame_id. The
camera_info beside the image topic (same namespace, as image_transport names them) supplies
the camera model, updated as new ones arrive. A bag that cannot be read, has no such topic, or
whose images cannot be decoded is one UserError before the run starts.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Iterator

from ...errors import RunFailure, UserError
from ..frame_meta import CameraModel, FrameMeta
from ..sources.base import Frame, Source
from .messages import CAMERA_INFO, IMAGE_TYPES, MessageError, camera_model, stamp_ns, to_bgr
from .rosbags_kit import deserialize, rosbag2

log = logging.getLogger("moadepth_edge.runtime")

BAG_SUFFIXES = (".mcap", ".db3", ".bag")  # .bag: ROS 1, refused with the way to convert it
_SHOWN_TOPICS = 8


def is_bag(spec: str | Path) -> bool:
    """True for an existing `.mcap` / `.db3` (or ROS 1 `.bag`) file or a folder holding a
    rosbag2 metadata.yaml."""
    path = Path(spec).expanduser()
    try:
        if path.is_file():
            return path.suffix.lower() in BAG_SUFFIXES
        return path.is_dir() and (path / "metadata.yaml").is_file()
    except OSError:
        return False


def camera_info_topic_for(image_topic: str) -> str:
    """The camera_info topic image_transport pairs with an image topic:
    /cam/color/image_raw and /cam/color/image_raw/compressed -> /cam/color/camera_info."""
    base = image_topic[: -len("/compressed")] if image_topic.endswith("/compressed") else image_topic
    return f"{base.rsplit('/', 1)[0]}/camera_info"


def _topics(connections: list[Any]) -> str:
    names = [f"{c.topic} ({c.msgtype})" for c in connections]
    more = f", and {len(names) - _SHOWN_TOPICS} more" if len(names) > _SHOWN_TOPICS else ""
    return ", ".join(names[:_SHOWN_TOPICS]) + more if names else "none"


def _why(exc: BaseException) -> str:
    return str(exc).strip().rstrip(".") or type(exc).__name__


class BagSource(Source):
    """Every image of one topic of a rosbag2, in recorded order, with its header."""

    def __init__(self, path: str | Path, topic: str | None = None, width: int | None = None,
                 height: int | None = None) -> None:
        self.path = Path(path).expanduser()
        if self.path.suffix.lower() == ".bag":
            raise UserError(f"{self.path} is a ROS 1 bag; convert it to rosbag2 first: rosbags-convert "
                            f"--src {self.path} --dst {self.path.with_suffix('')} (installed with "
                            "pip install 'moadepth-edge[ros]')")
        rb = rosbag2()  # MissingDependency naming the `ros` extra when rosbags is absent
        try:
            self.reader = rb.Reader(self.path)
            self.reader.open()
        except Exception as exc:  # a foreign or truncated file fails in many ways; all are one line
            hint = " (truncated or not a rosbag2; `mcap recover` repairs an interrupted MCAP recording)" \
                if self.path.suffix.lower() == ".mcap" else ""
            raise UserError(f"cannot read rosbag2 {self.path}: {_why(exc)}{hint}") from None
        try:
            self._select(topic)
            self._check_first_image()
        except BaseException:
            self.reader.close()
            raise
        super().__init__(f"rosbag2 {self.path} topic {self.topic}")
        from ..sources.files import _Resizer  # the file sources' --width / --height

        self.resize = _Resizer(width, height)
        self.index = 0
        self._stream: Iterator[tuple[Any, int, bytes]] | None = iter(
            self.reader.messages(connections=self.image_connections + self.info_connections))
        self._warned: set[str] = set()

    # -- opening ------------------------------------------------------------------------------
    def _select(self, topic: str | None) -> None:
        connections = list(self.reader.connections)
        images = [c for c in connections if c.msgtype in IMAGE_TYPES]
        if topic is None:
            if not images:
                raise UserError(f"{self.path} has no image topic (sensor_msgs/msg/Image or "
                                f"CompressedImage); its topics: {_topics(connections)}")
            topic = images[0].topic
        chosen = [c for c in connections if c.topic == topic]
        if not chosen:
            raise UserError(f"topic {topic} is not in {self.path}; its image topics: {_topics(images)}")
        if chosen[0].msgtype not in IMAGE_TYPES:
            raise UserError(f"topic {topic} in {self.path} holds {chosen[0].msgtype}, not images; "
                            f"its image topics: {_topics(images)}")
        self.topic = topic
        self.msgtype = chosen[0].msgtype
        self.image_connections = [c for c in chosen if c.msgtype == self.msgtype]
        self.count = sum(int(c.msgcount or 0) for c in self.image_connections)
        infos = [c for c in connections if c.msgtype == CAMERA_INFO]
        paired = [c for c in infos if c.topic == camera_info_topic_for(topic)]
        if not paired and len({c.topic for c in infos}) == 1:
            paired = infos  # the bag's only camera_info
        self.info_connections = paired
        self.info_topic = paired[0].topic if paired else None
        self.camera = self._first_camera()

    def _first_camera(self) -> CameraModel | None:
        """The first camera_info, so the first frames have intrinsics even when their
        camera_info was recorded just after them."""
        if not self.info_connections:  # (an empty filter would read every message)
            return None
        for conn, _, raw in self.reader.messages(connections=self.info_connections):
            try:
                model = camera_model(deserialize(raw, conn.msgtype))
            except Exception:
                continue
            if model is not None:
                return model
        return None

    def _check_first_image(self) -> None:
        for conn, _, raw in self.reader.messages(connections=self.image_connections):
            try:
                to_bgr(deserialize(raw, conn.msgtype), conn.msgtype)
            except MessageError as exc:
                raise UserError(f"topic {self.topic} in {self.path}: {exc}") from None
            except Exception as exc:
                raise UserError(f"topic {self.topic} in {self.path}: cannot decode its first "
                                f"{conn.msgtype}: {_why(exc)}") from None
            return
        raise UserError(f"topic {self.topic} in {self.path} has no messages")

    # -- reading ------------------------------------------------------------------------------
    def _warn(self, text: str) -> None:
        self.skipped += 1
        if text not in self._warned:
            self._warned.add(text)
            log.warning("%s: skipping undecodable message(s): %s", self.description, text)

    def read(self) -> Frame | None:
        if self._stream is None:
            return None
        try:
            for conn, logtime, raw in self._stream:
                try:
                    msg = deserialize(raw, conn.msgtype)
                except Exception as exc:
                    self._warn(f"{conn.topic}: {_why(exc)}")
                    continue
                if conn.msgtype == CAMERA_INFO:
                    self.camera = camera_model(msg) or self.camera
                    continue
                try:
                    image = to_bgr(msg, conn.msgtype)
                except MessageError as exc:
                    self._warn(str(exc))
                    continue
                return self._frame(image, msg, logtime)
        except Exception as exc:  # a damaged chunk mid-file: the frames so far stand
            raise RunFailure(f"{self.description}: reading failed after {self.index} frames: {_why(exc)}") from None
        self._stream = None
        return None

    def _frame(self, image: Any, msg: Any, logtime: int) -> Frame:
        image = self.resize(image)
        h, w = image.shape[:2]
        camera = self.camera.at_size(w, h) if self.camera is not None else None
        meta = FrameMeta(stamp_ns(msg.header) or int(logtime), str(msg.header.frame_id), camera)
        frame = Frame(self.index, image, time.perf_counter(), meta=meta)
        self.index += 1
        return frame

    def close(self) -> None:
        self._stream = None
        if self.reader.is_open:
            try:
                self.reader.close()
            except Exception:  # closing a reader that failed mid-read must not hide the failure
                pass
