from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from moadepth_edge.errors import UserError
from moadepth_edge.runtime.sources import ImageSource, VideoFileSource, open_source


def test_video_file_is_read_losslessly_in_order(clip, video_frames):
    expected = video_frames(clip.video)
    with open_source(str(clip.video)) as src:
        assert isinstance(src, VideoFileSource) and not src.live
        frames = list(src)
    assert [f.index for f in frames] == list(range(clip.n_frames))
    for got, want in zip(frames, expected):
        np.testing.assert_array_equal(got.image, want)


def test_requested_size_resizes_file_frames(clip):
    with open_source(str(clip.video), width=64) as src:
        frame = src.read()
    assert frame.image.shape == (48, 64, 3)


def test_image_folder_and_glob_skip_unreadable_files(tmp_path):
    for i in (2, 0, 1):
        cv2.imwrite(str(tmp_path / f"img_{i}.png"), np.full((8, 8, 3), 10 * i, np.uint8))
    (tmp_path / "img_1b.png").write_bytes(b"\x89PNG broken")
    (tmp_path / "notes.txt").write_text("not an image")
    with open_source(str(tmp_path)) as src:
        values = [int(f.image[0, 0, 0]) for f in src]
        assert src.skipped == 1
    assert values == [0, 10, 20]
    with open_source(str(tmp_path / "img_[02].png")) as src:
        assert [int(f.image[0, 0, 0]) for f in src] == [0, 20]
    with open_source(str(tmp_path / "img_2.png")) as src:
        assert isinstance(src, ImageSource) and len(list(src)) == 1


def test_missing_and_empty_sources_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="not found"):
        open_source(str(tmp_path / "missing.mp4"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no images"):
        open_source(str(tmp_path / "empty"))
    (tmp_path / "fake.mp4").write_bytes(b"\x00" * 100)
    with pytest.raises(UserError, match="cannot open video"):
        open_source(str(tmp_path / "fake.mp4"))


def test_a_named_pipe_is_refused_instead_of_blocking_forever(tmp_path):
    fifo = tmp_path / "frames.mp4"
    os.mkfifo(fifo)
    with pytest.raises(UserError, match="is a pipe or socket"):
        open_source(str(fifo))


def test_output_names_are_the_input_stems_and_stay_unique():
    from moadepth_edge.runtime.sources.files import output_names

    assert output_names([Path("a/rgb_1.png"), Path("a/rgb_2.jpg")]) == ["rgb_1", "rgb_2"]
    assert output_names([Path("a/x.jpg"), Path("b/x.png"), Path("y.v2.png")]) == ["x_000000", "x_000001", "y.v2"]


@pytest.mark.parametrize("spec", ["", "   "])
def test_an_empty_source_is_a_mistake_not_the_current_folder(spec):
    with pytest.raises(UserError, match="the source is empty"):
        open_source(spec)
