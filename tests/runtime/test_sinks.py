from __future__ import annotations

import shutil
import sys

import numpy as np
import pytest

from moadepth_edge.errors import UserError, WriteFailed
from moadepth_edge.runtime.result import Result
from moadepth_edge.runtime.sinks import (DepthSink, PointCloudSink, VideoSink, depth_formats,
                                         display_available, read_depth_png)
from moadepth_edge.runtime.video_writer import check_video_output, encodable_size, writer_problem


def _result(index: int, depth: np.ndarray) -> Result:
    h, w = depth.shape
    return Result(index, np.zeros((h, w, 3), np.uint8), depth)


def test_depth_png_round_trips_to_metres(tmp_path):
    rng = np.random.default_rng(0)
    depth = rng.uniform(0.1, 20.0, (24, 32)).astype(np.float32)
    depth[0, :4] = [0.0, np.nan, -1.0, 70.0]  # invalid, invalid, invalid, beyond 65.535 m
    sink = DepthSink(tmp_path, ["png", "npy"])
    sink.write(_result(42, depth))
    back = read_depth_png(tmp_path / "000042.png")
    assert back.dtype == np.float32 and back.shape == depth.shape
    np.testing.assert_allclose(back[1:], depth[1:], atol=0.0005 + 1e-6)  # half a millimetre
    assert back[0, :3].tolist() == [0.0, 0.0, 0.0] and back[0, 3] == pytest.approx(65.535)
    np.testing.assert_array_equal(np.load(tmp_path / "000042.npy"), depth)


def test_depth_sink_rejects_unknown_formats(tmp_path):
    with pytest.raises(UserError, match="depth formats"):
        DepthSink(tmp_path, ["exr"])


def test_video_sink_writes_every_frame_and_plays(tmp_path, video_frames):
    sink = VideoSink(tmp_path / "sub" / "out.mp4", fps=10)
    for i in range(7):
        result = _result(i, np.ones((31, 41), np.float32))
        result.canvas = np.full((31, 83, 3), 20 * i, np.uint8)  # odd sizes are evened
        sink.write(result)
    sink.close()
    frames = video_frames(tmp_path / "sub" / "out.mp4")
    assert len(frames) == 7 and frames[0].shape == (30, 82, 3)
    assert abs(int(frames[-1].mean()) - 120) <= 3


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="DISPLAY decides only on Linux")
def test_no_display_means_no_window(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert display_available() is False


def _noise(i: int, h: int = 120, w: int = 160) -> Result:
    """A frame whose canvas is noise: it does not compress, so a disk fills quickly."""
    result = _result(i, np.ones((h, w), np.float32))
    result.canvas = np.random.default_rng(i).integers(0, 256, (h, w, 3), np.uint8)
    return result


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_full_disk_stops_the_video_while_it_can_still_be_finalised(small_disk, video_frames):
    disk = small_disk(1024)
    sink = VideoSink(disk / "out.mp4", fps=10)
    with pytest.raises(WriteFailed) as info:
        for i in range(200):
            sink.write(_noise(i))
    assert str(info.value).startswith(f"cannot write {disk / 'out.mp4'}: No space left on device")
    assert 0 < sink.frames < 200
    sink.close()  # the index still fits: the frames before the failure play
    assert len(video_frames(disk / "out.mp4")) == sink.frames
    assert _leftovers(disk) == []


def test_a_video_whose_folder_is_removed_mid_run_fails(tmp_path):
    sink = VideoSink(tmp_path / "sub" / "out.mp4")
    sink.write(_noise(0))
    shutil.rmtree(tmp_path / "sub")
    with pytest.raises(WriteFailed, match="removed while it was being written"):
        sink.write(_noise(1))
    with pytest.raises(WriteFailed):
        sink.close()
    assert not (tmp_path / "sub").exists()


def test_a_video_appears_only_once_finalised(tmp_path, video_frames):
    out = tmp_path / "out.mkv"
    sink = VideoSink(out)
    for i in range(3):
        sink.write(_noise(i, 31, 41))
    assert not out.exists() and len(_leftovers(tmp_path)) == 1  # written beside its name
    sink.close()
    sink.close()  # closing twice changes nothing
    assert len(video_frames(out)) == 3 and _leftovers(tmp_path) == []
    VideoSink(tmp_path / "never.mp4").close()  # no frame: no file, not even an empty one
    assert not (tmp_path / "never.mp4").exists() and _leftovers(tmp_path) == []


def test_a_canvas_wider_than_mpeg4_allows_is_scaled_to_fit(tmp_path, video_frames):
    assert encodable_size(9001, 301) == (8190, 272) and encodable_size(1, 1) == (2, 2)
    sink = VideoSink(tmp_path / "wide.mp4")
    result = _result(0, np.ones((4, 4), np.float32))
    result.canvas = np.zeros((300, 9001, 3), np.uint8)
    sink.write(result)
    sink.close()
    assert video_frames(tmp_path / "wide.mp4")[0].shape == (272, 8190, 3)


def test_a_writer_that_does_not_open_says_why(tmp_path):
    with pytest.raises(WriteFailed, match="cannot encode 'ZZZZ' video into .mp4 files"):
        VideoSink(tmp_path / "a.mp4", fourcc="ZZZZ").write(_noise(0))
    assert writer_problem(tmp_path / "a.mp4", (9000, 64)) == "the 'mp4v' encoder refused the frame size 9000x64"
    assert writer_problem(tmp_path, (64, 48)) == "it is a folder"
    assert writer_problem(tmp_path / "no" / "a.mp4", (64, 48)) == f"folder {tmp_path / 'no'} does not exist"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("name, message", [
    ("out.txt", "expected a .mp4 or .m4v or .mov or .mkv or .avi file"),
    ("folder.mp4", "is a folder"),
    ("a_file/out.mp4", "is a file, not a folder"),
])
def test_video_outputs_are_checked_before_work(tmp_path, name, message):
    (tmp_path / "folder.mp4").mkdir()
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(UserError, match=message):
        check_video_output(tmp_path / name, "--save")


def test_depth_files_on_a_full_disk_fail_and_keep_the_earlier_ones(small_disk):
    disk = small_disk(256)
    sink = DepthSink(disk, ["png", "npy"])
    rng = np.random.default_rng(0)
    with pytest.raises(WriteFailed, match="No space left on device") as info:
        for i in range(100):
            sink.write(_result(i, rng.uniform(0.5, 9.0, (60, 80)).astype(np.float32)))
    assert str(disk) in str(info.value)
    pngs = sorted(disk.glob("*.png"))
    assert pngs and all(read_depth_png(p).shape == (60, 80) for p in pngs)
    assert all(np.load(p).shape == (60, 80) for p in disk.glob("*.npy"))
    assert _leftovers(disk) == []  # no half-written temp file left behind


def test_depth_and_point_cloud_folders_appear_with_the_first_file(tmp_path):
    """A run that fails before its first frame (a source with no readable image) leaves no
    empty output folders behind."""
    depth, cloud = DepthSink(tmp_path / "d" / "deeper"), PointCloudSink(tmp_path / "p")
    assert sorted(tmp_path.iterdir()) == []
    depth.write(_result(0, np.ones((8, 8), np.float32)))
    cloud.write(_result(0, np.ones((8, 8), np.float32)))
    assert [p.name for p in (tmp_path / "d" / "deeper").iterdir()] == ["000000.png"]
    assert [p.name for p in (tmp_path / "p").iterdir()] == ["000000.ply"]


def test_depth_and_point_cloud_writes_into_a_removed_folder_fail(tmp_path):
    depth = DepthSink(tmp_path / "d")
    cloud = PointCloudSink(tmp_path / "p")
    depth.write(_result(0, np.ones((8, 8), np.float32)))
    cloud.write(_result(0, np.ones((8, 8), np.float32)))
    result = _result(1, np.ones((8, 8), np.float32))
    shutil.rmtree(tmp_path / "d")
    shutil.rmtree(tmp_path / "p")
    with pytest.raises(WriteFailed, match=r"cannot write .*000001\.png"):
        depth.write(result)
    with pytest.raises(WriteFailed, match=r"cannot write .*000001\.ply"):
        cloud.write(result)
    assert not (tmp_path / "d").exists() and not (tmp_path / "p").exists()  # not made again


@pytest.mark.parametrize("text, parsed", [("png", ("png",)), ("png,npy", ("png", "npy")),
                                          (" NPY , png ,npy", ("npy", "png"))])
def test_depth_formats(text, parsed):
    assert depth_formats(text) == parsed


@pytest.mark.parametrize("text", ["", ",", "exr", "png,jpg"])
def test_unknown_depth_formats_are_user_errors(text):
    with pytest.raises(UserError, match="depth formats must be among png, npy"):
        depth_formats(text)
