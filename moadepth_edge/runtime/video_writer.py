"""Video files written with OpenCV, checked: before the run, when the writer opens, per frame
and when it is finalised.

cv2.VideoWriter says little: it either opens or not, `write` returns None in OpenCV 4 (a bool
in 5), and a full disk or a removed folder leaves a file without its index that no player
opens. So the path and the codec are probed before the work starts (`check_video_output`),
a writer that does not open is explained (`writer_problem`: folder, permissions, codec or
frame size), free space is watched so the index still fits when the disk fills
(`space_problem`), and a finished file is read back before it is called done (`verify_video`).
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from ..errors import UserError
from ..outputs import nearest_existing, output_file
from .sources.base import quiet_opencv

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".avi")
FOURCC = "mp4v"  # MPEG-4 Part 2: in every OpenCV build's FFmpeg, in all the containers above
MAX_SIDE = 8190  # MPEG-4 Part 2 stores sizes in 13 bits (< 8192); even, for the chroma planes
RESERVE_BYTES = 256 * 1024  # kept free so the encoder's buffer and the index still fit
INDEX_BYTES_PER_FRAME = 16  # an mp4 index entry per frame: size, offset, time

_SILENT = cv2.utils.logging.LOG_LEVEL_SILENT


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def encodable_size(width: int, height: int) -> tuple[int, int]:
    """The frame size to encode a `width` x `height` picture at: even sides, each within
    MAX_SIDE (scaled down keeping the aspect ratio), at least 2 pixels."""
    scale = min(1.0, MAX_SIDE / max(width, height, 1))
    return tuple(max(2, int(v * scale) // 2 * 2) for v in (width, height))  # type: ignore[return-value]


def open_writer(path: Path, fps: float, size: tuple[int, int], fourcc: str = FOURCC) -> cv2.VideoWriter | None:
    """An opened cv2.VideoWriter, or None (OpenCV's and FFmpeg's complaints kept quiet)."""
    with quiet_opencv(_SILENT):
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), float(fps), size)
    if writer.isOpened():
        return writer
    writer.release()
    return None


def _codec_works(folder: Path, suffix: str, fourcc: str) -> bool:
    """Encode two small frames into a temp file of `suffix` in `folder` (then removed)."""
    fd, name = tempfile.mkstemp(prefix=".moadepth-probe-", suffix=suffix, dir=folder)
    os.close(fd)
    try:
        writer = open_writer(Path(name), 10.0, (64, 48), fourcc)
        if writer is None:
            return False
        with quiet_opencv(_SILENT):
            ok = all(writer.write(np.zeros((48, 64, 3), np.uint8)) is not False for _ in range(2))
        writer.release()
        return ok
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


def check_video_output(path: str | Path, flag: str = "--save", fourcc: str = FOURCC) -> Path:
    """Before any work: a video file path whose folder can be written (or created), with a
    suffix OpenCV writes (VIDEO_SUFFIXES) and a codec this OpenCV build has; else UserError.
    Creates nothing: the codec is probed in the nearest existing folder."""
    path = output_file(path, flag, VIDEO_SUFFIXES, create=False)
    folder = nearest_existing(path.parent)
    try:
        works = _codec_works(folder, path.suffix.lower(), fourcc)
    except OSError as exc:
        raise UserError(f"{flag} {path}: cannot write in {folder} ({_reason(exc)})") from None
    if not works:
        if (full := low_space(folder)) is not None:  # a full disk fails the probe too
            raise UserError(f"{flag} {path}: cannot write in {folder}: {full}")
        raise UserError(f"{flag} {path}: this OpenCV build cannot encode {fourcc!r} video into "
                        f"{path.suffix} files; try another of {', '.join(VIDEO_SUFFIXES)}")
    return path


def free_bytes(folder: Path) -> int | None:
    """Bytes an unprivileged writer may still use in `folder`'s file system; None when the
    file system does not say (pseudo and some network file systems report no blocks)."""
    st = os.statvfs(folder)
    return st.f_bavail * st.f_frsize if st.f_blocks else None


def low_space(folder: Path, frames: int = 0) -> str | None:
    """"No space left on device (N KiB free)" when less than the encoder's buffer and an index
    of `frames` frames fit in `folder`'s file system, else None."""
    free = free_bytes(folder)
    if free is not None and free < RESERVE_BYTES + INDEX_BYTES_PER_FRAME * frames:
        return f"No space left on device ({free // 1024} KiB free)"
    return None


def space_problem(folder: Path, frames: int) -> str | None:
    """Why the next frame must not be written (the disk is about full), or None. Stopping with
    RESERVE_BYTES left lets the writer still flush and write its index: the file plays."""
    try:
        full = low_space(folder, frames)
    except OSError as exc:
        return f"its folder is gone ({_reason(exc)})"
    return None if full is None else f"{full}; stopped while the video can still be finalised"


def writer_problem(path: Path, size: tuple[int, int], fourcc: str = FOURCC) -> str:
    """Why cv2.VideoWriter did not open for `path` at `size`: the folder, its permissions,
    free space, the codec, else the frame size."""
    folder = path.parent
    if path.is_dir():
        return "it is a folder"
    if not folder.is_dir():
        return f"folder {folder} does not exist"
    try:
        works = _codec_works(folder, path.suffix.lower(), fourcc)
    except OSError as exc:
        return f"cannot write in {folder} ({_reason(exc)})"
    if (space := low_space(folder)) is not None:
        return space
    if not works:
        return f"this OpenCV build cannot encode {fourcc!r} video into {path.suffix} files"
    return f"the {fourcc!r} encoder refused the frame size {size[0]}x{size[1]}"


def verify_video(path: Path, frames: int) -> str | None:
    """Why the finalised video at `path` is not a playable file of `frames` frames, or None."""
    with quiet_opencv(_SILENT):
        cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        try:
            if not cap.isOpened() or not cap.read()[0]:
                return "the video could not be finalised (its index is missing: disk full?)"
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        finally:
            cap.release()
    if 0 < count < frames:
        return f"only {count} of {frames} frames were finalised"
    return None
