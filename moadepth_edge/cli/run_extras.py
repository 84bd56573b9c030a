"""`run`'s ROS 2 and live-view options: --topic, --save-bag, --frame-id, --serve, --serve-token,
--serve-fps.

`RunExtras(...)` checks them all before the model loads: the bag target and the `ros` extra,
and the live view's address, which it binds (a port in use is one error line, exit 2) and
starts serving at once. Once the source is open, `sinks()` makes the bag writer and the view's
sink; closing the RunExtras stops a server that never reached a sink.
"""
from __future__ import annotations

import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import UserError

_TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]{1,256}")


def _check_frame_id(frame_id: str) -> str:
    if not frame_id or not frame_id.isprintable() or any(ch.isspace() for ch in frame_id):
        raise UserError(f"--frame-id must be a ROS frame name without spaces, got {frame_id!r}")
    return frame_id


class RunExtras:
    """The checked options; a context manager that releases the live view's port on failure."""

    def __init__(self, *, topic: str | None = None, save_bag: Path | None = None,
                 frame_id: str | None = None, serve: str | None = None, serve_token: str | None = None,
                 serve_fps: float | None = None, source: str | None = None, overwrite: bool = False) -> None:
        from ..runtime.ros.bag_source import is_bag

        if topic is not None and (source is None or not is_bag(source)):
            raise UserError("--topic selects the image topic of a rosbag2 --source "
                            "(a .mcap or .db3 file, or a bag folder with metadata.yaml)")
        if frame_id is not None and save_bag is None:
            raise UserError("--frame-id sets the frame_id of --save-bag's messages; add --save-bag")
        if serve_token is not None and serve is None:
            raise UserError("--serve-token protects the live view; add --serve [HOST:]PORT")
        if serve_fps is not None and serve is None:
            raise UserError("--serve-fps sets the live view's frame rate; add --serve [HOST:]PORT")
        if serve_token is not None and not _TOKEN.fullmatch(serve_token):
            raise UserError("--serve-token must be 1-256 characters of letters, digits and . _ ~ + / = -")
        self.frame_id = _check_frame_id(frame_id) if frame_id is not None else None
        self.bag_path: Path | None = None
        if save_bag is not None:
            from ..runtime.ros.bag_sink import check_bag_output

            self.bag_path = check_bag_output(save_bag, overwrite=overwrite)
            if source is not None and Path(source).expanduser().resolve() == self.bag_path.resolve():
                raise UserError(f"--save-bag {save_bag} is the source being read; choose another name")
        self.server: Any = None
        if serve is not None:
            self._bind(serve, serve_token, serve_fps)

    def _bind(self, serve: str, token: str | None, fps: float | None) -> None:
        from ..runtime.serve import LiveView, ViewServer, parse_serve

        address = parse_serve(serve)
        self.server = ViewServer(address, LiveView(**({"max_fps": fps} if fps else {})), token=token)
        guard = "; every request needs the --serve-token" if token else ""
        print(f"live view: {self.server.url}{guard}", file=sys.stderr)
        if not address.loopback and token is None:
            print(f"warning: the live view listens on {address.host}: anyone who can reach port "
                  f"{self.server.port} can watch; add --serve-token to require a token", file=sys.stderr)

    def announce(self, source: Any) -> None:
        """Name a bag's image and camera_info topics (the default topic is the bag's first)."""
        from ..runtime.ros.bag_source import BagSource

        if isinstance(source, BagSource):
            info = source.info_topic or "none (depth in the model's own camera; 60 degree FOV assumed)"
            print(f"reading {source.topic} ({source.msgtype}, {source.count} messages) from "
                  f"{source.path}; camera_info: {info}", file=sys.stderr)

    @staticmethod
    def source_intrinsics(source: Any) -> tuple[Any, Any]:
        """(intrinsics, (width, height)) of a source that knows its camera (a bag's first
        camera_info), else (None, None)."""
        camera = getattr(source, "camera", None)
        return (camera.intrinsics, camera.size) if camera is not None else (None, None)

    def sinks(self, label: str, colorizer: Any, intrinsics: tuple[Any, Any],
              points_stride: int | None) -> list[Any]:
        """The bag writer and the live view's sink, as asked. `intrinsics`: the user's
        --intrinsics (None, None when not given: each frame's own camera is used)."""
        out: list[Any] = []
        if self.bag_path is not None:
            from ..runtime.ros import rosbags_kit
            from ..runtime.ros.bag_sink import BagSink
            from ..runtime.ros.depth_messages import DepthMessages

            messages = DepthMessages(rosbags_kit.make, frame_id=self.frame_id, intrinsics=intrinsics[0],
                                     intrinsics_size=intrinsics[1], points_stride=points_stride)
            out.append(BagSink(self.bag_path, messages))
        if self.server is not None:
            from ..runtime.serve import ServeSink

            view = self.server.view
            view.label = label
            view.colorizer = replace(colorizer)  # its own: viewers colour on their threads
            out.append(ServeSink(self.server))
            self.server = None  # the sink owns it now: the run's end stops it
        return out

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    def __enter__(self) -> RunExtras:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
