"""`python -m moadepth_edge.data.render_folder` under faults: a full disk is one line and exit 1,
a signal lets the frames under way finish and exits 128+N; either way every frame on disk is
whole, no worker keeps rendering, and the same command resumes."""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _command(out: Path, frames: int, jobs: int = 2) -> list[str]:
    return [sys.executable, "-m", "moadepth_edge.data.render_folder", str(out), "--spec",
            f"synthetic:{frames}:rooms", "--size", "24x32", "--jobs", str(jobs)]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def _frames(out: Path) -> tuple[list[str], list[str]]:
    return sorted(p.name for p in (out / "rgb").iterdir()), sorted(p.name for p in (out / "depth").iterdir())


def test_a_full_disk_is_one_line_and_exit_1(tmp_path):
    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))  # intrinsics.json fits, a frame does not

    proc = subprocess.run(_command(tmp_path / "d", 40), capture_output=True, text=True, env=_env(),
                          preexec_fn=small_disk, timeout=120)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot write ") and "Traceback" not in proc.stderr
    rgb, _ = _frames(tmp_path / "d")
    assert rgb == []  # no half-written frame, no temp file


def test_sigterm_finishes_the_frames_under_way_and_the_same_command_resumes(tmp_path):
    out = tmp_path / "d"
    proc = subprocess.Popen(_command(out, 100_000), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(out.glob("rgb/*.png"))) < 5:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "stopped by SIGTERM after " in err and "the same command resumes" in err and "Traceback" not in err
    rgb, depth = _frames(out)
    assert 5 <= len(rgb) < 100_000 and rgb == depth  # every frame whole: its depth was written first
    time.sleep(1.0)
    assert _frames(out)[0] == rgb  # no worker went on rendering after the main process left
    done = subprocess.run(_command(out, len(rgb) + 3, jobs=1), capture_output=True, text=True, env=_env(), timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("3 frames rendered"), done.stderr
