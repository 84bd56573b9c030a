"""The console script itself: a Ctrl-C while it is still importing its verbs."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# what a SIGINT during `import typer` does: the import raises KeyboardInterrupt
INTERRUPTED_IMPORT = """
import builtins
real_import = builtins.__import__
def interrupted(name, *args, **kwargs):
    if name == "typer":
        raise KeyboardInterrupt
    return real_import(name, *args, **kwargs)
builtins.__import__ = interrupted
from moadepth_edge.cli import entrypoint
entrypoint()
"""


def test_ctrl_c_while_the_verbs_import_is_a_stop_not_a_traceback():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", INTERRUPTED_IMPORT], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 130
    assert proc.stderr.strip() == "stopped by SIGINT"


def test_the_console_script_and_python_m_are_one_entry_point():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "moadepth_edge", "nosuchverb"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 2 and "error:" in proc.stderr and "Traceback" not in proc.stderr
