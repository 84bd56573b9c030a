"""The runtime path must work on a device without PyTorch: prove it with torch blocked."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_SCRIPT = textwrap.dedent("""
    import sys
    for name in ("torch", "torchvision", "open_clip"):
        sys.modules[name] = None  # any import of these now raises ImportError

    import moadepth_edge.runtime
    from moadepth_edge import DepthEstimator
    from moadepth_edge.cli.main import main
    from moadepth_edge.errors import UserError
    from moadepth_edge.runtime.backends import select_backend

    model, video, out = sys.argv[1:4]
    rc = main(["run", model, "--source", video, "--headless", "--save", out, "--threads", "1"])
    assert rc == 0, rc

    import cv2
    cap = cv2.VideoCapture(video)
    ok, frame = cap.read()
    with DepthEstimator(model, threads=1) as est:
        depth = est.predict(frame)
    assert depth.shape == frame.shape[:2] and (depth > 0).all()

    try:  # a checkpoint folder needs torch: one clear line, not an ImportError
        select_backend(".")
    except UserError as exc:
        assert "not available" in str(exc), exc
    else:
        raise AssertionError("torch backend selected without torch")

    loaded = [m for m in sys.modules if m.split(".")[0] in ("torch", "torchvision", "open_clip")
              and sys.modules[m] is not None]
    assert not loaded, loaded
    print("ok")
""")


def test_run_and_estimator_work_with_torch_blocked(tiny_onnx, clip, tmp_path, video_frames):
    out = tmp_path / "out.mp4"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", _SCRIPT, str(tiny_onnx), str(clip.video), str(out)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("ok")
    assert len(video_frames(out)) == clip.n_frames
