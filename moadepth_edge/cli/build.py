"""`moadepth-edge build MODEL.onnx`: a TensorRT engine (header + plan) for this GPU."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import UserError

PRECISIONS = ("fp32", "fp16", "int8", "best")


def build_options(
    profile_name: str | None = None,
    *,
    precision: str | None = None,
    batch: str | None = None,
    streams: int | None = None,
    height: str | None = None,
    width: str | None = None,
    workspace_mb: int | None = None,
    timing_cache: Path | None = None,
    dla_core: int | None = None,
    version_compatible: bool = False,
    hardware_compat: bool = False,
    raw: bool = False,
    device: int = 0,
    verbose: bool = False,
):
    """BuildOptions from a target profile (if named) with the command-line values on top."""
    from ..export.tensorrt import BuildOptions
    from ..formats.profile import DimRange, TargetProfile, load_profile, override, streams_batch

    prof = load_profile(profile_name) if profile_name else TargetProfile()
    if precision is not None and precision not in PRECISIONS:
        raise UserError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    rng = lambda text, what: DimRange.parse(text, what) if text else None  # noqa: E731
    if batch and streams is not None:
        raise UserError("--batch and --streams both set the batch range; give one (--streams N is --batch 1:N:N)")
    batch_range = rng(batch, "--batch") or (streams_batch(streams) if streams is not None else None)
    trt = override(prof.tensorrt, precision=precision, batch=batch_range,
                   workspace_mb=workspace_mb, dla_core=dla_core,
                   version_compatible=version_compatible or None,
                   hardware_compat="ampere_plus" if hardware_compat else None)
    return BuildOptions(
        precision=trt.precision, batch=trt.batch,
        height=rng(height, "--height") or prof.height, width=rng(width, "--width") or prof.width,
        workspace_mb=trt.workspace_mb, timing_cache=timing_cache, dla_core=trt.dla_core,
        version_compatible=bool(trt.version_compatible),
        hardware_compat=trt.hardware_compat or "none",  # type: ignore[arg-type]
        raw=raw, device=device, verbose=verbose,
    )


def build(
    model: Path = typer.Argument(..., help="an ONNX file from `moadepth-edge export`"),
    precision: Optional[str] = typer.Option(
        None, "--precision", help="fp32 | fp16 | int8 | best (default: the profile's, else the ONNX's)"),
    profile: Optional[str] = typer.Option(None, "--profile", help="target profile: a shipped name (see export/) or a .toml path"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="engine file (default: MODEL.engine)"),
    timing_cache: Optional[Path] = typer.Option(None, "--timing-cache", help="timing cache file, read and updated"),
    workspace: Optional[int] = typer.Option(None, "--workspace", help="builder workspace limit in MiB"),
    dla_core: Optional[int] = typer.Option(None, "--dla-core", help="run on this DLA core, GPU fallback (Jetson AGX/NX)"),
    version_compatible: bool = typer.Option(False, "--version-compatible", help="runs on newer TensorRT versions too"),
    hardware_compat: bool = typer.Option(False, "--hardware-compat", help="runs on any Ampere-or-newer desktop GPU"),
    raw: bool = typer.Option(False, "--raw", help="plain plan (trtexec --loadEngine) + header in OUT.json"),
    batch: Optional[str] = typer.Option(None, "--batch", help="batch range MIN:OPT:MAX (or one number)"),
    streams: Optional[int] = typer.Option(
        None, "--streams", help="camera streams `run` batches into one call: batch range 1:N:N"),
    height: Optional[str] = typer.Option(None, "--height", help="height range MIN:OPT:MAX for dynamic inputs"),
    width: Optional[str] = typer.Option(None, "--width", help="width range MIN:OPT:MAX for dynamic inputs"),
    device: int = typer.Option(0, "--device", help="CUDA device index"),
    verbose: bool = typer.Option(False, "--verbose", help="TensorRT's verbose log"),
) -> None:
    """Build a TensorRT engine for this GPU from an exported ONNX model."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from ..export.tensorrt import build_engine, import_tensorrt, inspect_onnx
    from ..outputs import output_file

    # every user mistake is found before TensorRT is needed: the ONNX, the options, the output
    inspect_onnx(model)
    if workspace is not None and workspace < 1:
        raise UserError(f"--workspace takes a positive number of MiB, got {workspace}")
    if dla_core is not None and dla_core < 0:
        raise UserError(f"--dla-core takes a core index >= 0, got {dla_core}")
    if device < 0:
        raise UserError(f"--device takes a CUDA device index >= 0, got {device}")
    opts = build_options(profile, precision=precision, batch=batch, streams=streams, height=height, width=width,
                         workspace_mb=workspace, timing_cache=timing_cache, dla_core=dla_core,
                         version_compatible=version_compatible, hardware_compat=hardware_compat,
                         raw=raw, device=device, verbose=verbose)
    out = output_file(out or model.with_suffix(".engine"), "--out", (".engine", ".plan", ".trt"))
    if timing_cache is not None:
        output_file(timing_cache, "--timing-cache")
    import_tensorrt()  # without TensorRT: one line saying how to install it
    console = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("starting", total=None)

        def step(msg: str) -> None:
            progress.console.print(f"[dim]{msg}[/dim]")
            progress.update(task, description=msg)

        header = build_engine(model, out, opts, step=step)
    where = f"{out} + {out.name}.json" if raw else str(out)
    console.print(f"wrote {where}: {header.precision} for {header.gpu_name} "
                  f"(sm_{''.join(map(str, header.compute_capability))}), TensorRT {header.tensorrt_version}")


def register(app: typer.Typer) -> None:
    app.command("build")(build)
