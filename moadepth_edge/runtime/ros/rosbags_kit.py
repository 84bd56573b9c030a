"""The rosbags library (the `ros` extra), imported on first use, and its message factory.

rosbags reads and writes rosbag2 (MCAP and sqlite3 storage) in pure Python and ships the
standard ROS 2 message definitions, so no ROS installation is needed to read or write bags.
"""
from __future__ import annotations

import functools
from types import ModuleType
from typing import Any

import numpy as np

from ..._lazy import lazy_import

# The message definitions written into bags; sensor_msgs' image, camera-info and point-cloud
# types are the same in every ROS 2 distribution since Foxy.
STORE = "ROS2_HUMBLE"


def rosbag2() -> ModuleType:
    """rosbags.rosbag2 (Reader, Writer, ReaderError...), or MissingDependency naming the extra."""
    return lazy_import("rosbags.rosbag2", "ros")


@functools.lru_cache(maxsize=1)
def typestore() -> Any:
    """The rosbags type store holding the standard ROS 2 messages."""
    typesys = lazy_import("rosbags.typesys", "ros")
    return typesys.get_typestore(getattr(typesys.Stores, STORE))


def make(typename: str, **fields: Any) -> Any:
    """A rosbags message object (messages.MessageFactory): bytes become uint8 arrays and float
    lists float64 arrays, the way rosbags stores sequences."""
    for name, value in fields.items():
        if isinstance(value, (bytes, bytearray, memoryview)):
            fields[name] = np.frombuffer(value, np.uint8)
        elif isinstance(value, list) and all(isinstance(v, float) for v in value):
            fields[name] = np.asarray(value, np.float64)
    return typestore().types[typename](**fields)


def serialize(msg: Any, typename: str) -> memoryview:
    """CDR bytes of a message, as rosbag2 stores them."""
    return typestore().serialize_cdr(msg, typename)


def deserialize(raw: bytes | memoryview, typename: str) -> Any:
    """A message from its CDR bytes."""
    return typestore().deserialize_cdr(raw, typename)
