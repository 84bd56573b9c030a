"""Where an exported model's CPU time goes: ONNX Runtime's profiler, summed per node type.

    python benchmarks/export_latency.py --threads 2 --keep /tmp/el        # exports the files once
    python benchmarks/int8_profile.py /tmp/el/fused_fp32.onnx /tmp/el/fused_int8_cpu.onnx \\
        --threads 2 --runs 20

Each file runs in its own session (the same options as export_latency.py: ORT_ENABLE_ALL,
spinning workers off), `--warmup` untimed runs, then `--runs` profiled ones. The table gives,
per op type of ORT's optimized graph (after its Q/DQ fusions), the mean ms per run, the share
of the summed kernel time and the number of nodes run per inference. Kernel times are wall
times of each node on the calling thread, so they add up to nearly the whole run; the
profiler's own cost (a few us per node) is in them, which is why the last line gives the
unprofiled median of the same session. Shares, not the absolute ms, are what to compare
between files on a loaded machine; speed ratios come from export_latency.py.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def profile_op_types(path: Path, x: np.ndarray, threads: int, warmup: int, runs: int,
                     scratch: Path) -> tuple[dict[str, float], dict[str, int], float]:
    """({op type: mean kernel ms per run}, {op type: nodes run per inference}, unprofiled
    median ms per run) of the ONNX file at `path` on input `x`."""
    from export_latency import session

    from moadepth_edge.bench.measure import Budget, time_calls

    sess = session(path, threads, profile_prefix=scratch / path.stem)
    feed = {sess.get_inputs()[0].name: x}
    for _ in range(warmup + runs):
        sess.run(None, feed)
    events = json.loads(Path(sess.end_profiling()).read_text())
    plain = session(path, threads)
    plain_feed = {plain.get_inputs()[0].name: x}
    times = time_calls(lambda: plain.run(None, plain_feed), Budget(warmup=warmup, iters=runs))
    return (*aggregate(events, warmup), statistics.median(times))


def aggregate(events: list[dict], skip: int) -> tuple[dict[str, float], dict[str, int]]:
    """Sum the profiler's kernel events per op type, leaving out the first `skip` runs:
    (mean ms per run, nodes per run)."""
    starts = sorted(e["ts"] for e in events if e.get("cat") == "Session" and e["name"] == "model_run")
    if len(starts) <= skip:
        raise ValueError(f"the profile holds {len(starts)} runs, none after the {skip} warm-up runs")
    after_us, runs = starts[skip], len(starts) - skip
    ms: dict[str, float] = collections.defaultdict(float)
    count: dict[str, int] = collections.Counter()
    for e in events:
        if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time") or e["ts"] < after_us:
            continue
        op = e["args"]["op_name"]
        ms[op] += e["dur"] / 1000.0 / runs
        count[op] += 1
    return dict(ms), {k: round(v / runs) for k, v in count.items()}


def format_table(results: dict[str, tuple[dict[str, float], dict[str, int], float]], top: int) -> str:
    """One row per op type (the `top` costliest in any file, the rest summed), per file: ms per
    run, share of the kernel total, nodes per run."""
    labels = list(results)
    ops = sorted({op for ms, _, _ in results.values() for op in ms},
                 key=lambda op: -max(r[0].get(op, 0.0) for r in results.values()))
    shown, rest = ops[:top], ops[top:]
    head = f"{'op type':28s}" + "".join(f" | {label[:30]:>30s}" for label in labels)
    sub = f"{'':28s}" + "".join(f" | {'ms':>9s} {'share':>7s} {'nodes':>12s}" for _ in labels)
    lines = [head, sub, "-" * len(sub)]

    def row(name: str, pick: list[str]) -> str:
        cells = []
        for ms, count, _ in results.values():
            total = sum(ms.values())
            t = sum(ms.get(op, 0.0) for op in pick)
            n = sum(count.get(op, 0) for op in pick)
            cells.append(f" | {t:9.2f} {100 * t / total:6.1f}% {n:12d}" if n else f" | {'-':>9s} {'':7s} {'':12s}")
        return f"{name:28s}" + "".join(cells)

    lines += [row(op, [op]) for op in shown]
    if rest:
        lines.append(row(f"other ({len(rest)} types)", rest))
    lines.append(row("all kernels", ops))
    lines.append(f"{'unprofiled run (median)':28s}" + "".join(
        f" | {plain:9.2f} {'':7s} {'':12s}" for _, _, plain in results.values()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", type=Path, help="exported .onnx files (image input)")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="ORT intra-op threads")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--top", type=int, default=14, help="op types shown; the rest are summed")
    args = ap.parse_args(argv)

    from moadepth_edge.formats.artifact import read_artifact

    artifact = read_artifact(args.models[0])
    h, w = artifact.preprocess.size
    x = np.random.default_rng(0).random((args.batch, 3, h, w), dtype=np.float32)
    load = os.getloadavg()
    results = {}
    with tempfile.TemporaryDirectory(prefix="int8-profile-") as scratch:
        for path in args.models:
            results[path.stem] = profile_op_types(path, x, args.threads, args.warmup, args.runs, Path(scratch))
    print(f"\nONNX Runtime CPU profile per op type, {artifact.model_cfg.name}, batch {args.batch}, "
          f"{args.threads} threads, mean of {args.runs} runs; load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f} at the start")
    print(format_table(results, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
