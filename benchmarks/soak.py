"""Soak: `moadepth-edge run` over many frames with every output on; RSS and open files sampled.

    python benchmarks/soak.py --frames 20000 --out benchmarks/cpu-amd-epyc/soak

Exports the bundled demo model, writes a looping synthetic camera clip of `--frames` frames,
runs `moadepth-edge run CLIP --save run.mp4 --save-depth depth/ --depth-format png,npy
--pointcloud ply/` in a subprocess, and samples that process's resident memory and open file
descriptors every `--every` seconds. Prints a start/middle/end table and writes soak.json and
soak.md (and soak.png where matplotlib is installed) to `--out`. The outputs themselves go to a
temporary folder (removed afterwards unless --keep): 20,000 frames of them are several GB.
A leak shows as RSS or open files growing with frames; a healthy run is flat after warm-up.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def write_looping_clip(folder: Path, frames: int, size: tuple[int, int]) -> Path:
    """A video of `frames` frames: a 120-frame synthetic camera walk played forwards and back."""
    from moadepth_edge.data.synthetic import write_clip

    clip = write_clip(folder / "walk", n_frames=120, size=size, seed=7)
    cap = cv2.VideoCapture(str(clip.video))
    walk = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        walk.append(image)
    cap.release()
    loop = walk + walk[-2:0:-1]
    path = folder / "soak.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 30.0, (size[1], size[0]))
    for i in range(frames):
        writer.write(loop[i % len(loop)])
    writer.release()
    return path


def export_demo_model(folder: Path) -> Path:
    from moadepth_edge.demo import DEMO_CHECKPOINT
    from moadepth_edge.export.onnx import export_onnx

    path = folder / "demo.onnx"
    export_onnx(str(DEMO_CHECKPOINT), path)
    return path


def sample(proc: psutil.Process) -> dict[str, float] | None:
    try:
        with proc.oneshot():
            return {"t": time.time(), "rss_mib": proc.memory_info().rss / 2**20, "fds": proc.num_fds()}
    except psutil.Error:
        return None


def soak(frames: int, every: float, size: tuple[int, int], keep: bool) -> dict:
    work = Path(tempfile.mkdtemp(prefix="moadepth-soak-"))
    try:
        model, video = export_demo_model(work), write_looping_clip(work, frames, size)
        cmd = [sys.executable, "-m", "moadepth_edge", "run", str(model), "--source", str(video),
               "--headless", "--save", str(work / "out" / "run.mp4"), "--save-depth", str(work / "out" / "depth"),
               "--depth-format", "png,npy", "--pointcloud", str(work / "out" / "ply"), "--pointcloud-stride", "4"]
        t0 = time.time()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ps, samples = psutil.Process(proc.pid), []
        while proc.poll() is None:
            s = sample(ps)
            if s is not None:
                samples.append({**s, "t": s["t"] - t0})
            time.sleep(every)
        out, err = proc.communicate()
        written = sum(1 for _ in (work / "out" / "depth").glob("*.png"))
        return {"command": " ".join(cmd[1:]), "frames": frames, "returncode": proc.returncode,
                "summary": err.strip().splitlines()[-1] if err.strip() else "", "depth_pngs": written,
                "wall_s": round(time.time() - t0, 1), "samples": samples,
                "output_gb": round(sum(p.stat().st_size for p in (work / "out").rglob("*") if p.is_file()) / 1e9, 2)}
    finally:
        if keep:
            print(f"outputs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def table(result: dict) -> str:
    s = result["samples"]
    picks = {"start (first sample after 10 s)": next((x for x in s if x["t"] >= 10), s[0] if s else None),
             "middle": s[len(s) // 2] if s else None, "end": s[-1] if s else None}
    rows = ["| when | t (s) | RSS (MiB) | open files |", "| --- | ---: | ---: | ---: |"]
    for name, x in picks.items():
        if x:
            rows.append(f"| {name} | {x['t']:.0f} | {x['rss_mib']:.1f} | {x['fds']} |")
    rss = [x["rss_mib"] for x in s if x["t"] >= 10]
    if rss:
        rows.append(f"| min / max after 10 s | | {min(rss):.1f} / {max(rss):.1f} | "
                    f"{min(x['fds'] for x in s if x['t'] >= 10)} / {max(x['fds'] for x in s if x['t'] >= 10)} |")
    return "\n".join(rows)


def plot(result: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    s = result["samples"]
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot([x["t"] for x in s], [x["rss_mib"] for x in s], label="RSS (MiB)")
    ax2 = ax.twinx()
    ax2.plot([x["t"] for x in s], [x["fds"] for x in s], color="tab:orange", label="open files")
    ax.set_xlabel("seconds")
    ax.set_ylabel("RSS (MiB)")
    ax2.set_ylabel("open files")
    fig.suptitle(f"soak: {result['frames']} frames, every output on")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=20000)
    ap.add_argument("--every", type=float, default=1.0, help="seconds between samples")
    ap.add_argument("--size", default="96x128", help="clip frame size HxW")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "cpu-amd-epyc")
    ap.add_argument("--keep", action="store_true", help="keep the run's outputs")
    args = ap.parse_args(argv)
    from moadepth_edge.data.spec import parse_size

    h, w = parse_size(args.size, "--size")
    result = soak(args.frames, args.every, (h, w), args.keep)
    text = (f"`python benchmarks/soak.py --frames {args.frames}`: exit {result['returncode']}, "
            f"{result['depth_pngs']} depth PNGs, {result['output_gb']} GB written, {result['wall_s']} s\n\n"
            f"{result['summary']}\n\n{table(result)}\n")
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "soak.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.out / "soak.md").write_text(text)
    plot(result, args.out / "soak.png")
    return 0 if result["returncode"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
