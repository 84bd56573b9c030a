"""Bench fixtures: the suite's tiny model and its FP32 / INT8 exports as one dict, a short clip,
and one full `moadepth-edge bench` run shared by the report tests."""
from __future__ import annotations

from pathlib import Path

import pytest



@pytest.fixture(scope="session")
def tiny_models(tiny_checkpoint: Path, tiny_onnx: Path, tiny_int8_onnx: Path) -> dict[str, Path]:
    """{"checkpoint": folder, "fp32": .onnx, "int8": .onnx}: the suite's tiny model and its exports."""
    return {"checkpoint": tiny_checkpoint, "fp32": tiny_onnx, "int8": tiny_int8_onnx}


@pytest.fixture(scope="session")
def tiny_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 24-frame 96x128 MJPG clip of moving gradients (OpenCV writes it, no codec download)."""
    import cv2
    import numpy as np

    path = tmp_path_factory.mktemp("bench_video") / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (128, 96))
    assert writer.isOpened()
    yy, xx = np.mgrid[0:96, 0:128]
    for i in range(24):
        frame = np.stack([(xx * 2 + i * 8) % 256, (yy * 2) % 256, np.full_like(xx, 40 * (i % 6))], -1)
        writer.write(frame.astype(np.uint8))
    writer.release()
    return path


@pytest.fixture(scope="session")
def bench_run(tiny_models: dict[str, Path], tiny_video: Path,
              tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    """One real `moadepth-edge bench` run (exit code, output folder): FP32 + INT8 ONNX Runtime,
    batch 1 and 2, pipeline on a clip, synthetic accuracy, FP32 agreement, torch-eager baseline,
    plus the torch backend on the ONNX files (configurations that must fail alone)."""
    from moadepth_edge.cli.main import main

    out = tmp_path_factory.mktemp("bench_run")
    rc = main([
        "bench", str(tiny_models["fp32"]), str(tiny_models["int8"]),
        "--backend", "onnxruntime,torch", "--batch", "1,2", "--warmup", "2", "--iters", "15",
        "--video", str(tiny_video), "--data", "synthetic:1", "--reference", str(tiny_models["fp32"]),
        "--baseline", "torch-eager", "--checkpoint", str(tiny_models["checkpoint"]),
        "--threads", "1", "--out", str(out),
    ])
    return rc, out
