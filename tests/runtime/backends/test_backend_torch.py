from __future__ import annotations

import numpy as np
import pytest

from moadepth_edge.errors import UserError
from moadepth_edge.runtime.backends import load_backend


def test_checkpoint_folder_runs_and_agrees_with_onnx(tiny_checkpoint, tiny_onnx):
    x = np.random.default_rng(1).random((1, 3, 64, 64), dtype=np.float32)
    with load_backend(tiny_checkpoint) as torch_backend:
        assert torch_backend.name == "torch"
        assert torch_backend.artifact.checkpoint_sha256
        ref = torch_backend.infer(x)
    with load_backend(tiny_onnx, threads=1) as ort_backend:
        out = ort_backend.infer(x)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)


def test_torch_backend_refuses_a_file(tiny_onnx):
    with pytest.raises(UserError, match="checkpoint folder"):
        load_backend(tiny_onnx, "torch")
