"""Depth to a rosbag2 (MCAP storage) that Foxglove opens and `ros2 bag play` plays.

`out.mcap` is one MCAP file (its rosbag2 metadata embedded); any other name is a rosbag2
folder (metadata.yaml + the .mcap), as `ros2 bag record -o` makes. The bag is written in a
hidden folder beside the target and moved into place when the run ends, so the target is
either absent or complete. A signal arriving while a frame's messages are written is held
until they are (an MCAP chunk index must match its records), then ends the run; closing
writes the summary and the index: the bag is readable after Ctrl-C and SIGTERM too.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from ... import signals
from ...errors import UserError, WriteFailed
from ...outputs import output_file, replace_dir
from ..result import Result
from ..sinks import Sink
from .depth_messages import DepthMessages
from .rosbags_kit import rosbag2, serialize, typestore

log = logging.getLogger("moadepth_edge.runtime")

# rosbag2 metadata version 8 (Iron's): read by Humble, Iron, Jazzy and later
BAG_VERSION = 8


def is_single_file(path: Path) -> bool:
    """`--save-bag x.mcap` is one file; other names are rosbag2 folders."""
    return path.suffix.lower() == ".mcap"


def check_bag_output(path: str | Path, flag: str = "--save-bag", overwrite: bool = False) -> Path:
    """Before any work: rosbags is installed, the target is new (or `overwrite`) and its
    folder writable. Returns the path."""
    rosbag2()
    path = Path(path).expanduser()
    if path.suffix.lower() == ".db3":
        raise UserError(f"{flag} {path}: bags are written with MCAP storage; name it .mcap or a folder")
    if path.exists() or path.is_symlink():
        if not overwrite:
            raise UserError(f"{flag} {path} already exists; choose a new name or pass --overwrite")
        if is_single_file(path) != path.is_file():
            raise UserError(f"{flag} {path} exists and is a {'file' if path.is_file() else 'folder'}")
    if not is_single_file(path) and path.is_dir():
        output_file(path / "metadata.yaml", flag)
    else:
        output_file(path, flag)
    return path


class BagSink(Sink):
    """Writes `messages(result)` for every result into a new MCAP rosbag2 at `path`."""

    def __init__(self, path: str | Path, messages: DepthMessages) -> None:
        rb = rosbag2()
        self.path = Path(path).expanduser()
        self.messages = messages
        self.frames = 0
        self._failed = False
        name = self.path.stem if is_single_file(self.path) else self.path.name
        try:
            self._tmp = Path(tempfile.mkdtemp(prefix=".moadepth-bag-", dir=self.path.parent))
        except OSError as exc:
            raise WriteFailed(self.path, exc) from None
        self._staged = self._tmp / name  # the inner file is <name>.mcap, as its metadata says
        self.writer = rb.Writer(self._staged, version=BAG_VERSION, storage_plugin=rb.StoragePlugin.MCAP)
        try:
            self.writer.open()
            store = typestore()
            self.connections = {topic: self.writer.add_connection(topic, typename, typestore=store)
                                for topic, typename in messages.channels()}
        except OSError as exc:
            self._discard()
            raise WriteFailed(self.path, exc) from None

    def write(self, result: Result) -> None:
        if self.writer is None or self._failed:
            return
        stamp = self.messages.meta_of(result).stamp_ns
        with signals.deferred():
            try:
                for topic, typename, msg in self.messages(result):
                    self.writer.write(self.connections[topic], stamp, serialize(msg, typename))
            except OSError as exc:
                self._failed = True
                raise WriteFailed(self.path, exc) from None
        self.frames += 1
        if signals.requested() is not None:  # arrived during the write: end after this frame
            self.stop_requested = True

    def close(self) -> None:
        if self.writer is None:
            return
        with signals.deferred():
            if self._failed or self.frames == 0:  # a failed write, or a run that never got a frame
                self._discard()
                return
            try:
                self.writer.close()
                self._move_into_place()
            except OSError as exc:
                self._discard()
                raise WriteFailed(self.path, exc) from None
            finally:
                self.writer = None
                shutil.rmtree(self._tmp, ignore_errors=True)

    def _move_into_place(self) -> None:
        if is_single_file(self.path):
            inner = self._staged / f"{self._staged.name}.mcap"
            with open(inner, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(inner, self.path)
        else:
            replace_dir(self._staged, self.path)

    def _discard(self) -> None:
        """Drop the staged bag (the target is left untouched)."""
        writer, self.writer = self.writer, None
        if writer is not None:
            try:
                writer.abort()
            except Exception as exc:  # the disk that failed the write may fail this too
                log.warning("discarding the partial bag failed: %s", exc)
        shutil.rmtree(self._tmp, ignore_errors=True)
