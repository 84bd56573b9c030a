"""Helpers for tests that run the real CLI: a subprocess with this tree first on the path, and
the CLI's promise for every failure (the exit code, one `error:` line, no traceback).
Importable from any test (pytest puts tests/ on sys.path for the root conftest)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args: str, timeout: float = 120, **popen) -> subprocess.CompletedProcess[str]:
    """`python -m moadepth_edge ARGS` in a subprocess, this tree first on the path."""
    import sys

    env = {**os.environ, "PYTHONPATH": str(REPO), **popen.pop("env", {})}
    return subprocess.run([sys.executable, "-m", "moadepth_edge", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env, **popen)


def assert_one_error(rc: int, stderr: str, expected_rc: int = 2) -> str:
    """The CLI's promise for a failure: the exit code, exactly one `error:` line, no traceback.
    Returns the error line."""
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert rc == expected_rc, f"exit {rc}, expected {expected_rc}: {stderr[-2000:]}"
    assert len(lines) == 1, stderr[-2000:]
    assert "Traceback" not in stderr, stderr[-2000:]
    return lines[0]


def decoded_frames(path: Path | str) -> int:
    """How many frames OpenCV decodes from a video: a finalised file plays every frame it holds."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n
