"""Sources that fail like real devices, shared by the pipeline and several-stream tests."""
from __future__ import annotations

from moadepth_edge.runtime.sources import Source, VideoFileSource


class BreaksAfter(Source):
    """A video whose device fails (raises) after `n` frames, like an unplugged USB camera."""

    def __init__(self, path, n: int) -> None:
        super().__init__("unplugged camera")
        self.inner, self.n = VideoFileSource(path), n

    def read(self):
        frame = self.inner.read()
        if frame is not None and frame.index >= self.n:
            raise OSError("device disconnected")
        return frame

    def close(self) -> None:
        self.inner.close()
