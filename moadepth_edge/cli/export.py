"""`moadepth-edge export CKPT|PRESET --out DIR`: fused ONNX (FP32/FP16/INT8) or a Triton repository.

A target profile (`--profile NAME` or a .toml path; formats/profile.py) sets the defaults;
options given on the command line override it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import UserError


def export(
    target: str = typer.Argument(..., help="a checkpoint folder or a preset name (random weights)"),
    out: Path = typer.Option(Path("exported"), "--out", help="output folder"),
    profile: Optional[str] = typer.Option(None, "--profile", help="target profile: a shipped name (see export/) or a .toml path"),
    precision: Optional[str] = typer.Option(None, "--precision", help="fp32 | fp16 | int8"),
    calib: Optional[str] = typer.Option(None, "--calib", help="INT8 calibration: DIR | synthetic:N | nyu:DIR"),
    calib_method: Optional[str] = typer.Option(None, "--calib-method", help="minmax | percentile | entropy"),
    calib_batch: Optional[int] = typer.Option(None, "--calib-batch", help="calibration batch size"),
    calib_images: Optional[int] = typer.Option(None, "--calib-images", help="at most this many calibration images (default 64)"),
    int8_activations: Optional[str] = typer.Option(None, "--int8-activations",
                                                   help="symmetric (TensorRT) | asymmetric | dynamic (ONNX Runtime CPU)"),
    embed_preprocess: Optional[bool] = typer.Option(None, "--embed-preprocess/--no-embed-preprocess",
                                                    help="the graph takes a uint8 BGR frame of any size"),
    dynamic_hw: Optional[bool] = typer.Option(None, "--dynamic-hw/--static-hw", help="any input height/width"),
    dynamic_batch: Optional[bool] = typer.Option(None, "--dynamic-batch/--static-batch"),
    simplify: Optional[bool] = typer.Option(None, "--simplify/--no-simplify", help="constant-fold the graph"),
    opset: Optional[int] = typer.Option(None, "--opset", help="ONNX opset (>= 17)"),
    fmt: str = typer.Option("onnx", "--format", help="onnx | triton"),
    engine: Optional[Path] = typer.Option(None, "--engine", help="with --format triton: a built .engine"),
    name: Optional[str] = typer.Option(None, "--name", help="file / Triton model name"),
) -> None:
    """Fuse the adapters and export ONNX, checked against PyTorch before anything is written."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from ..export.calibration import calibration_frames
    from ..export.onnx import check_opset, export_onnx
    from ..outputs import output_dir
    from ..formats.profile import ExportSettings, check_choice, load_profile, override

    if fmt not in ("onnx", "triton"):
        raise UserError(f"unknown --format {fmt!r} (onnx or triton)")
    if engine is not None and fmt != "triton":
        raise UserError("--engine goes with --format triton")
    if any(v is not None and v < 1 for v in (calib_images, calib_batch)):
        raise UserError("--calib-images and --calib-batch take positive integers")
    for flag, key, value in (("--precision", "precision", precision), ("--calib-method", "calib_method", calib_method),
                             ("--int8-activations", "int8_activations", int8_activations)):
        check_choice("export", key, value, flag)
    if opset is not None:
        check_opset(opset)
    if name is not None and (not name.strip() or "/" in name or "\\" in name or name.startswith(".")):
        raise UserError(f"--name must be a plain file name (no folders), got {name!r}")
    output_dir(out, "--out")
    if engine is not None and not engine.is_file():
        raise UserError(f"--engine {engine}: not found")
    settings = override(load_profile(profile).export if profile else ExportSettings(),
                        precision=precision, calib_method=calib_method, calib_batch_size=calib_batch,
                        int8_activations=int8_activations, embed_preprocess=embed_preprocess,
                        dynamic_hw=dynamic_hw, dynamic_batch=dynamic_batch, simplify=simplify, opset=opset)
    opts = settings.options()
    int8_only = {"--calib": calib, "--calib-method": calib_method, "--calib-batch": calib_batch,
                 "--calib-images": calib_images, "--int8-activations": int8_activations}
    given = [flag for flag, value in int8_only.items() if value is not None]
    if opts.get("precision", "fp32") != "int8" and given:
        raise UserError(f"{', '.join(given)} {'goes' if len(given) == 1 else 'go'} with --precision int8; "
                        f"this export is {opts.get('precision', 'fp32')}")
    if calib is not None:
        calibration_frames(calib, 1)  # a calibration spec that reads no image fails here, not after loading
    stem = name or (Path(target).name if Path(target).is_dir() else target)
    stem = f"{stem}-{opts.get('precision', 'fp32')}"
    onnx_path = out / f"{stem}.onnx"
    console = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("exporting", total=None)
        artifact = export_onnx(target, onnx_path, calib=calib, calib_max_images=calib_images or 64,
                               progress=lambda msg: bar.update(task, description=msg), **opts)
    err = artifact.extra.get("parity_error")
    console.print(f"[green]wrote[/] {onnx_path} ({artifact.precision}, input {artifact.input_kind}, "
                  f"ORT vs PyTorch error {err:.2e})")
    if fmt == "triton":
        from ..export.triton import write_triton_repository

        folder = write_triton_repository(out / "triton", onnx_path, name=name or "moadepth", engine=engine)
        console.print(f"[green]wrote[/] Triton model repository {folder.parent} (model {folder.name})")


def register(app: typer.Typer) -> None:
    app.command("export")(export)
