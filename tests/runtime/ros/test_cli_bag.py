"""`run --source BAG --save-bag OUT`: one depth message per input frame, with the input's
stamps and frame_id, equal to --save-depth's; broken bags and wrong options are one line."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from bag_helpers import FRAME_ID, read_bag, write_bag

from moadepth_edge.cli.main import main
from moadepth_edge.runtime.pointcloud import read_ply
from moadepth_edge.runtime.ros import messages as M
from moadepth_edge.runtime.sinks import read_depth_png

REPO = Path(__file__).resolve().parents[3]


def _cli(*args: str, **kwargs) -> subprocess.Popen | subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "moadepth_edge", *args], capture_output=True, text=True,
                          env=env, timeout=180, **kwargs)


@pytest.mark.parametrize("out_name", ["depth.mcap", "depth_bag"])
def test_bag_in_bag_out_matches_save_depth(tiny_onnx, clip_bag, clip_camera, tmp_path, out_name):
    bag, stamps = clip_bag
    out = tmp_path / out_name
    rc = main(["run", str(tiny_onnx), "--source", str(bag), "--save-bag", str(out), "--save-depth",
               str(tmp_path / "png"), "--pointcloud", str(tmp_path / "ply"), "--threads", "1", "--headless"])
    assert rc == 0
    assert out.is_file() == (out_name == "depth.mcap")
    if out.is_dir():
        assert sorted(p.name for p in out.iterdir()) == ["depth_bag.mcap", "metadata.yaml"]
    assert not list(tmp_path.glob(".moadepth-bag-*"))  # no staging left behind
    topics = read_bag(out)
    assert sorted(topics) == ["/depth/camera_info", "/depth/image", "/depth/points"]
    images = topics["/depth/image"]
    assert [t for t, _ in images] == stamps  # one per input frame, in order, at the input's stamps
    for i, (_, msg) in enumerate(images):
        assert msg.encoding == "32FC1" and M.stamp_ns(msg.header) == stamps[i]
        assert msg.header.frame_id == FRAME_ID
        depth = M.depth_from_image(msg)
        png = read_depth_png(tmp_path / "png" / f"{i:06d}.png")
        assert depth.shape == png.shape
        assert np.nanmax(np.abs(np.nan_to_num(depth) - png)) <= 0.001  # within 1 mm
    for _, info in topics["/depth/camera_info"]:
        assert M.camera_model(info) == clip_camera  # the input's camera_info, same size
    points, _ = M.cloud_points(topics["/depth/points"][0][1])
    ply, _ = read_ply(tmp_path / "ply" / "000000.ply")  # the PLYs use the bag's camera too
    np.testing.assert_allclose(points, ply, rtol=1e-6)


def test_video_source_gets_capture_time_and_frame_id(tiny_onnx, clip, tmp_path):
    out = tmp_path / "v.mcap"
    before = time.time_ns()
    rc = main(["run", str(tiny_onnx), "--source", str(clip.video), "--save-bag", str(out), "--frame-id",
               "front_camera_optical", "--max-frames", "4", "--threads", "1", "--headless"])
    after = time.time_ns()
    assert rc == 0
    images = read_bag(out)["/depth/image"]
    assert len(images) == 4
    stamps = [M.stamp_ns(m.header) for _, m in images]
    assert stamps == sorted(stamps) and before <= stamps[0] and stamps[-1] <= after
    assert {m.header.frame_id for _, m in images} == {"front_camera_optical"}


def test_overwrite_replaces_an_existing_bag(tiny_onnx, clip, tmp_path):
    out = tmp_path / "v.mcap"
    run = ["run", str(tiny_onnx), "--source", str(clip.video), "--save-bag", str(out), "--threads", "1", "--headless"]
    assert main([*run, "--max-frames", "4"]) == 0
    assert main([*run, "--max-frames", "2", "--overwrite"]) == 0
    assert len(read_bag(out)["/depth/image"]) == 2


def test_topic_option_and_frame_id_override_on_a_bag(tiny_onnx, clip_frames, tmp_path):
    bag = tmp_path / "in"
    write_bag(bag, clip_frames[:2], topic="/front/image_raw", extra=True)
    rc = main(["run", str(tiny_onnx), "--source", str(bag), "--topic", "/front/image_raw", "--save-bag",
               str(tmp_path / "o.mcap"), "--frame-id", "renamed", "--threads", "1", "--headless"])
    assert rc == 0
    info = read_bag(tmp_path / "o.mcap")["/depth/camera_info"]
    assert len(info) == 2 and {m.header.frame_id for _, m in info} == {"renamed"}
    assert info[0][1].k[0] > 0  # no camera_info in the bag: the 60 degree guess, stated in K


@pytest.mark.parametrize("case, message", [
    ("truncated", "error: cannot read rosbag2 {bad}: File end magic is invalid"),
    ("no_images", "error: {bad} has no image topic (sensor_msgs/msg/Image or CompressedImage); "
                  "its topics: /chatter (std_msgs/msg/String)"),
])
def test_broken_bags_are_one_line(tiny_onnx, clip_bag, tmp_path, case, message):
    from moadepth_edge.runtime.ros import rosbags_kit as kit

    bad = tmp_path / "bad.mcap"
    if case == "truncated":
        data = (clip_bag[0] / "clip_bag.mcap").read_bytes()
        bad.write_bytes(data[: len(data) * 2 // 3])
    else:
        rb = kit.rosbag2()
        with rb.Writer(tmp_path / "bag", version=8, storage_plugin=rb.StoragePlugin.MCAP) as writer:
            conn = writer.add_connection("/chatter", "std_msgs/msg/String", typestore=kit.typestore())
            writer.write(conn, 1, kit.serialize(kit.make("std_msgs/msg/String", data="hi"), "std_msgs/msg/String"))
        (tmp_path / "bag" / "bag.mcap").rename(bad)
    proc = _cli("run", str(tiny_onnx), "--source", str(bad), "--save-bag", str(tmp_path / "o.mcap"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message.format(bad=bad)), proc.stderr
    assert not (tmp_path / "o.mcap").exists() and not list(tmp_path.glob(".moadepth-bag-*"))


@pytest.mark.parametrize("args, message", [
    (["--source", "{video}", "--topic", "/x"], "--topic selects the image topic of a rosbag2"),
    (["--source", "{video}", "--frame-id", "cam"], "--frame-id sets the frame_id of --save-bag"),
    (["--source", "{video}", "--save-bag", "{tmp}/o.mcap", "--frame-id", "a b"], "--frame-id must be a ROS frame"),
    (["--source", "{video}", "--save-bag", "{tmp}/exists.mcap"], "already exists; choose a new name"),
    (["--source", "{video}", "--save-bag", "{tmp}/o.db3"], "bags are written with MCAP storage"),
    (["--source", "{video}", "--save-bag", "{tmp}/afile/o.mcap"], "is a file, not a folder"),
    (["--source", "{bag}", "--topic", "/nope"], "topic /nope is not in"),
])
def test_option_mistakes_are_one_line_before_work(tiny_onnx, clip, clip_bag, tmp_path, capsys, args, message):
    (tmp_path / "exists.mcap").write_bytes(b"keep me")
    (tmp_path / "afile").write_text("x")
    fill = {"{video}": str(clip.video), "{tmp}": str(tmp_path), "{bag}": str(clip_bag[0])}
    for key, value in fill.items():
        args = [a.replace(key, value) for a in args]
    assert main(["run", str(tiny_onnx), "--headless", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("error:") == 1 and "Traceback" not in err
    assert (tmp_path / "exists.mcap").read_bytes() == b"keep me"


def test_without_rosbags_one_line_names_the_extra(tiny_onnx, clip_bag, clip, tmp_path):
    script = ("import sys; sys.modules['rosbags'] = None\n"
              "from moadepth_edge.cli.main import main\n"
              "sys.exit(main(sys.argv[1:]))\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for args in (["--source", str(clip_bag[0])], ["--source", str(clip.video), "--save-bag", str(tmp_path / "o.mcap")]):
        proc = subprocess.run([sys.executable, "-c", script, "run", str(tiny_onnx), "--headless", *args],
                              capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "pip install 'moadepth-edge[ros]'" in lines[0], proc.stderr


def test_sigterm_during_save_bag_leaves_a_finalised_readable_bag(tiny_onnx, clip_frames, tmp_path):
    bag = tmp_path / "long"
    write_bag(bag, clip_frames * 200)  # 2400 frames: seconds of work even on a fast machine
    out = tmp_path / "o.mcap"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "moadepth_edge", "run", str(tiny_onnx), "--source", str(bag),
                             "--save-bag", str(out), "--threads", "1", "--headless"],
                            stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:  # signal once some frames are written
        partial = list(tmp_path.glob(".moadepth-bag-*/o/o.mcap"))
        if partial and partial[0].stat().st_size > 2_000_000:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    topics = read_bag(out)
    images, infos = topics["/depth/image"], topics["/depth/camera_info"]
    assert 0 < len(images) < 2400, err
    assert len(infos) == len(images)  # no frame half written
    assert not list(tmp_path.glob(".moadepth-bag-*"))
