"""The error classes: what crosses a process boundary arrives as it left."""
from __future__ import annotations

import pickle

from moadepth_edge.errors import WriteFailed


def test_a_write_failure_survives_pickling_from_a_worker_process():
    exc = pickle.loads(pickle.dumps(WriteFailed("out/000001.png", OSError(28, "No space left on device"))))
    assert isinstance(exc, WriteFailed) and exc.path == "out/000001.png"
    assert str(exc) == "cannot write out/000001.png: No space left on device"
