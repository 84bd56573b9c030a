"""What the live view costs the run, measured side by side in one session.

    python benchmarks/serve_overhead.py MODEL.onnx --source clip.mp4 --mode cli --frames 400 --reps 10
    python benchmarks/serve_overhead.py MODEL.onnx --source clip.mp4 --mode interleaved --window 100 --windows 40

`cli`: whole `moadepth-edge run --headless` commands without `--serve`, and with `--serve` and
two MJPEG viewers (curl) connected for the whole run, alternating (A B, B A, ...); each run's
FPS is its own summary line (frames / wall time).

`interleaved`: one `run`-equivalent pipeline in this process with the live view's server bound
and two curl viewers connected throughout; every `--window` frames the view's sink is switched
on (the view gets every result, the viewers colour + encode + receive) or off (nothing new for
them). Windows this short see the same machine load, so a loaded machine's drift cancels in the
per-pair ratios. Also reports this process's CPU time per frame in each state (CPU the view
costs, whatever the load). The viewers run on this machine too (on a robot they would not).

A benchmark, not a test: quote its numbers with its command.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SUMMARY = re.compile(r"(\d+) frames in ([\d.]+) s: ([\d.]+) FPS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def viewers(port: int, count: int = 2) -> list[subprocess.Popen]:
    return [subprocess.Popen(["curl", "-sN", "-o", "/dev/null", "-w", "%{size_download}",
                              f"http://127.0.0.1:{port}/stream.mjpg"], stdout=subprocess.PIPE, text=True)
            for _ in range(count)]


def cli_run(args: argparse.Namespace, serve: bool) -> tuple[float, float, list[int]]:
    """(FPS, CPU seconds of the whole process, bytes each viewer received) of one
    `moadepth-edge run`."""
    cmd = [sys.executable, "-m", "moadepth_edge", "run", args.model, "--source", args.source, "--headless",
           "--max-frames", str(args.frames)] + (["--threads", str(args.threads)] if args.threads else [])
    port = free_port()
    if serve:
        cmd += ["--serve", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    watching = []
    if serve:
        line = proc.stderr.readline()  # "live view: ..." comes before the model loads
        assert line.startswith("live view:"), line
        watching = viewers(port)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"run failed: {err}")
    received = [int(v.communicate(timeout=30)[0] or 0) for v in watching]
    match = SUMMARY.search(err)
    assert match, err
    return float(match.group(3)), usage.ru_utime + usage.ru_stime, received


def mode_cli(args: argparse.Namespace) -> None:
    fps: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    ratios: list[float] = []
    print("| rep | order | without --serve: FPS | CPU s | --serve + 2 viewers: FPS | CPU s | FPS ratio | "
          "bytes to each viewer |")
    print("|---:|---|---:|---:|---:|---:|---:|---|")
    for rep in range(args.reps):
        order = (False, True) if rep % 2 == 0 else (True, False)
        row = {serve: cli_run(args, serve) for serve in order}
        for serve in order:
            fps[serve].append(row[serve][0])
            cpu[serve].append(row[serve][1])
        ratios.append(row[True][0] / row[False][0])
        print(f"| {rep + 1} | {'A B' if order[0] is False else 'B A'} | {row[False][0]:.1f} | {row[False][1]:.1f} | "
              f"{row[True][0]:.1f} | {row[True][1]:.1f} | {ratios[-1]:.3f} | "
              f"{', '.join(f'{b / 1e6:.1f} MB' for b in row[True][2])} |", flush=True)
    med = statistics.median
    print(f"| median | | {med(fps[False]):.1f} | {med(cpu[False]):.1f} | {med(fps[True]):.1f} | "
          f"{med(cpu[True]):.1f} | {med(ratios):.3f} | |")


class _Switch:
    """The view's sink, switched on and off every `window` frames; times each window."""

    needs_canvas = False
    stop_requested = False

    def __init__(self, sink, window: int) -> None:
        self.sink, self.window = sink, window
        self.on = False
        self.count = 0
        self.windows: list[tuple[bool, int, float, float]] = []  # (on, frames, wall s, cpu s)
        self._mark = (time.perf_counter(), time.process_time())

    def write(self, result) -> None:
        if self.on:
            self.sink.write(result)
        self.count += 1
        if self.count % self.window == 0:
            wall, cpu = time.perf_counter(), time.process_time()
            self.windows.append((self.on, self.window, wall - self._mark[0], cpu - self._mark[1]))
            self._mark = (wall, cpu)
            self.on = not self.on

    def close(self) -> None:
        self.sink.close()


def mode_interleaved(args: argparse.Namespace) -> None:
    from moadepth_edge.runtime.backends import load_backend
    from moadepth_edge.runtime.pipeline import Pipeline
    from moadepth_edge.runtime.serve import ServeSink, ViewServer, parse_serve
    from moadepth_edge.runtime.sources import open_source

    engine = load_backend(Path(args.model), **({"threads": args.threads} if args.threads else {}))
    server = ViewServer(parse_serve("127.0.0.1:0"))
    server.view.label = engine.name
    watching = viewers(server.port)
    switch = _Switch(ServeSink(server), args.window)
    frames = args.window * (args.windows + 1)  # the first window warms up and is not counted
    try:
        Pipeline(engine, open_source(args.source), [switch], max_frames=frames).run()
    finally:
        engine.close()
    received = [int(v.communicate(timeout=30)[0] or 0) for v in watching]
    windows = switch.windows[1:]
    pairs = [(windows[i], windows[i + 1]) for i in range(0, len(windows) - 1, 2)]
    ratios = []
    cpu: dict[bool, list[float]] = {False: [], True: []}
    print("| pair | off: FPS | on: FPS | on / off | off: CPU ms/frame | on: CPU ms/frame |")
    print("|---:|---:|---:|---:|---:|---:|")
    for k, pair in enumerate(pairs, 1):
        by = {w[0]: w for w in pair}
        off, on = by[False], by[True]
        ratios.append((on[1] / on[2]) / (off[1] / off[2]))
        for w in pair:
            cpu[w[0]].append(1e3 * w[3] / w[1])
        print(f"| {k} | {off[1] / off[2]:.1f} | {on[1] / on[2]:.1f} | {ratios[-1]:.3f} | "
              f"{cpu[False][-1]:.1f} | {cpu[True][-1]:.1f} |")
    print(f"| median | | | {statistics.median(ratios):.3f} | {statistics.median(cpu[False]):.1f} | "
          f"{statistics.median(cpu[True]):.1f} |")
    print(f"\n{len(pairs)} pairs of {args.window}-frame windows; the two viewers received "
          f"{', '.join(f'{b / 1e6:.1f} MB' for b in received)}; {server.view.dropped_viewers} dropped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--source", required=True)
    parser.add_argument("--mode", choices=("cli", "interleaved"), default="interleaved")
    parser.add_argument("--frames", type=int, default=400, help="cli: frames per run")
    parser.add_argument("--reps", type=int, default=10, help="cli: pairs of runs")
    parser.add_argument("--window", type=int, default=100, help="interleaved: frames per window")
    parser.add_argument("--windows", type=int, default=40, help="interleaved: windows (half on, half off)")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if not shutil.which("curl"):
        raise SystemExit("curl is needed for the viewers")
    (mode_cli if args.mode == "cli" else mode_interleaved)(args)


if __name__ == "__main__":
    main()
