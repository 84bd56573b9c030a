"""The live page in a real headless browser (Chromium from Debian's packages): it loads, shows
the MJPEG stream and the status line. Skipped where no Chromium is installed."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from moadepth_edge.runtime.serve import LiveView, ServeAddress, ViewServer
from moadepth_edge.runtime.result import Result

CHROMIUM = os.environ.get("MOADEPTH_CHROMIUM", "/usr/bin/chromium")
MAGENTA = (255, 0, 255)  # BGR; nothing else on the page has this colour

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).is_file() and not shutil.which(CHROMIUM),
                                reason=f"no headless browser at {CHROMIUM} (apt-get install chromium)")


def _chromium(url: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1000,420",
         "--virtual-time-budget=3000", *args, url],
        capture_output=True, text=True, timeout=120)


def test_page_shows_the_stream_and_the_status_line(tmp_path):
    token = "browser-token"
    with ViewServer(ServeAddress("127.0.0.1", 0), LiveView(label="browser test"), token=token) as server:
        stop = threading.Event()

        def publish():
            depth = np.tile(np.linspace(1.0, 5.0, 320, dtype=np.float32), (240, 1))
            i = 0
            while not stop.is_set():
                server.view.publish(Result(i, np.full((240, 320, 3), MAGENTA, np.uint8), depth, 0.05, 20.0))
                i += 1
                time.sleep(0.05)

        publisher = threading.Thread(target=publish, daemon=True)
        publisher.start()
        try:
            shot = tmp_path / "page.png"
            url = f"{server.url}?token={token}"
            proc = _chromium(url, tmp_path / "profile", f"--screenshot={shot}")
            dom = _chromium(url, tmp_path / "profile2", "--dump-dom")
        finally:
            stop.set()
            publisher.join()
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    page = cv2.imread(str(shot))
    magenta = np.all(np.abs(page.astype(int) - MAGENTA) <= 30, axis=2)
    assert magenta.sum() > 0.5 * 240 * 320, magenta.sum()  # the frame half of the stream is shown
    rows, cols = np.nonzero(magenta)
    right_of_frame = page[rows.min():rows.max(), cols.max() + 10:cols.max() + 300]
    assert right_of_frame.std() > 20  # and the coloured depth beside it
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert re.search(r'<span id="status">\d+\.\d FPS, latency 50 ms, 320x240, frame \d+', dom.stdout), dom.stdout[-3000:]
