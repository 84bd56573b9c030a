"""The bag writer: targets checked before work, the bag moved into place only when complete,
a failed write named and nothing half-written left behind."""
from __future__ import annotations

import errno

import numpy as np
import pytest
from bag_helpers import read_bag

from moadepth_edge.errors import UserError, WriteFailed
from moadepth_edge.runtime.frame_meta import FrameMeta
from moadepth_edge.runtime.ros import rosbags_kit as kit
from moadepth_edge.runtime.ros.bag_sink import BagSink, check_bag_output
from moadepth_edge.runtime.ros.depth_messages import DepthMessages
from moadepth_edge.runtime.result import Result


def _result(i: int) -> Result:
    depth = np.full((6, 8), 1.0 + i, np.float32)
    return Result(i, np.zeros((6, 8, 3), np.uint8), depth, meta=FrameMeta(1_000_000_000 * (i + 1), "cam"))


@pytest.mark.parametrize("name", ["out.mcap", "out_bag"])
def test_bag_appears_only_when_closed(tmp_path, name):
    target = tmp_path / name
    sink = BagSink(check_bag_output(target), DepthMessages(kit.make))
    for i in range(3):
        sink.write(_result(i))
    assert not target.exists()  # still being written beside it
    sink.close()
    sink.close()  # a second close is harmless
    topics = read_bag(target)
    assert [t for t, _ in topics["/depth/image"]] == [1_000_000_000, 2_000_000_000, 3_000_000_000]
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_a_run_without_frames_leaves_no_bag(tmp_path):
    BagSink(check_bag_output(tmp_path / "out.mcap"), DepthMessages(kit.make)).close()
    assert list(tmp_path.iterdir()) == []


def test_overwrite_replaces_only_when_asked(tmp_path):
    target = tmp_path / "out_bag"
    first = BagSink(check_bag_output(target), DepthMessages(kit.make))
    first.write(_result(0))
    first.close()
    with pytest.raises(UserError, match="already exists"):
        check_bag_output(target)
    sink = BagSink(check_bag_output(target, overwrite=True), DepthMessages(kit.make))
    sink.write(_result(0))
    sink.close()
    assert len(read_bag(target)["/depth/image"]) == 1
    (tmp_path / "x.mcap").mkdir()
    with pytest.raises(UserError, match="exists and is a folder"):
        check_bag_output(tmp_path / "x.mcap", overwrite=True)


def test_failed_write_is_named_and_leaves_no_partial_bag(tmp_path, monkeypatch):
    target = tmp_path / "out.mcap"
    sink = BagSink(check_bag_output(target), DepthMessages(kit.make))
    sink.write(_result(0))

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sink.writer, "write", disk_full)
    with pytest.raises(WriteFailed, match=f"cannot write {target}: No space left on device"):
        sink.write(_result(1))
    sink.write(_result(2))  # after a failure the sink takes no more
    sink.close()
    assert list(tmp_path.iterdir()) == []
