"""A device installs moadepth-edge without the `train` extra (no torch) and often without
matplotlib: the verbs that need them say how to install them in one line; bench still reports."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_SCRIPT = textwrap.dedent("""
    import contextlib, io, sys
    for name in ("torch", "torchvision", "open_clip", "safetensors", "matplotlib"):
        sys.modules[name] = None  # any import of these now raises ImportError
    from moadepth_edge.cli.main import main

    ckpt, onnx, out = sys.argv[1:4]
    for argv in (["info", "moadepth-tiny"], ["train", "--out", out + "/t", "--data", "synthetic:2"],
                 ["eval", ckpt, "--data", "synthetic:2"], ["export", ckpt, "--out", out + "/e"],
                 ["demo", "--out", out + "/d"]):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            rc = main(argv)
        assert rc == 2, (argv, rc, err.getvalue())
        assert err.getvalue().count("\\n") == 1, (argv, err.getvalue())
        assert "pip install 'moadepth-edge[train]'" in err.getvalue(), (argv, err.getvalue())

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = main(["bench", onnx, "--iters", "3", "--warmup", "1", "--threads", "1", "--out", out + "/b"])
    assert rc == 0, (rc, err.getvalue())
    assert "warning: no plots" in err.getvalue(), err.getvalue()
    print("ok")
""")


def test_verbs_without_torch_or_matplotlib(tmp_path):
    from moadepth_edge.demo import DEMO_CHECKPOINT
    from moadepth_edge.export import export_onnx

    onnx = tmp_path / "demo.onnx"
    export_onnx(DEMO_CHECKPOINT, onnx)
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(DEMO_CHECKPOINT), str(onnx), str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("ok")
    assert (tmp_path / "b" / "report.json").is_file() and (tmp_path / "b" / "report.md").is_file()
