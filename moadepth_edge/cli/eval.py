"""`moadepth-edge eval CKPT --data SPEC`: NYU-protocol metrics of a checkpoint."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ..errors import CheckpointError, UserError
from ..outputs import output_file, write_text


def checkpoint_folder(path: Path) -> Path:
    """A checkpoint folder, or a run folder's best/ (else last/)."""
    if (path / "config.json").is_file():
        return path
    for sub in ("best", "last"):
        if (path / sub / "config.json").is_file():
            return path / sub
    raise CheckpointError(f"{path} is neither a checkpoint folder nor a run folder with best/ or last/")


def eval_(
    checkpoint: Path = typer.Argument(..., help="checkpoint folder, or a run folder (uses best/)"),
    data: str = typer.Option(..., help="synthetic[:N] | nyu:LIST|DIR|FILE.mat | densedepth:CSV | kitti:PATH | folder:DIR"),
    protocol: str = typer.Option("standard", help="standard (Eigen crop) | paper (Garg crop + median scaling)"),
    flip_tta: bool = typer.Option(False, "--flip-tta", help="average with the mirrored prediction"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="write metrics (and per-image values) to this file"),
    limit: Optional[int] = typer.Option(None, help="first N images only"),
    max_depth: Optional[float] = typer.Option(None, help="valid ground-truth cap (default 10 m; 80 for KITTI)"),
    crop: Optional[str] = typer.Option(None, help="override the protocol's crop: eigen | garg | none"),
    data_root: Optional[Path] = typer.Option(None, help="folder the list's paths are relative to"),
    depth_scale: Optional[float] = typer.Option(None, help="depth file units per metre"),
    batch_size: int = typer.Option(8),
    device: str = typer.Option("auto", help="auto | cpu | cuda"),
) -> None:
    """Evaluate a checkpoint: per-image-averaged δ1-3, AbsRel, SqRel, RMSE, RMSE-log, log10, SILog."""
    from rich.console import Console
    from rich.progress import Progress

    from .._lazy import lazy_import

    for flag, value, low in (("--limit", limit, 1), ("--batch-size", batch_size, 1)):
        if value is not None and value < low:
            raise UserError(f"{flag}: must be >= {low}, got {value}")
    for flag, value in (("--max-depth", max_depth), ("--depth-scale", depth_scale)):
        if value is not None and not value > 0:
            raise UserError(f"{flag}: must be > 0, got {value}")
    if json_out is not None:
        json_out = output_file(json_out, "--json")
    lazy_import("torch")  # a one-line install hint where the train extra is missing
    from ..data.spec import open_reader
    from ..model.checkpoint import checkpoint_sha256, load_checkpoint
    from ..train.device import pick_device
    from ..train.evaluate import evaluate
    from ..train.metrics import get_protocol
    from ..train.report import metric_table

    proto = get_protocol(protocol, max_depth, crop)
    dev = pick_device(device)
    folder = checkpoint_folder(checkpoint)
    reader = open_reader(data, "test", root=data_root, depth_scale=depth_scale)
    if len(reader) == 0:
        raise UserError(f"--data {data}: no images to evaluate")
    model = load_checkpoint(folder).to(dev)
    n = len(reader) if limit is None else min(limit, len(reader))
    with Progress(transient=True) as bar:
        task = bar.add_task("evaluating", total=n)
        result = evaluate(model, reader, proto, flip_tta=flip_tta, batch_size=batch_size, device=dev,
                          limit=n, on_batch=lambda k: bar.advance(task, k))
    title = f"{folder} on {data} ({result.count} images, protocol {proto.name}{', flip TTA' if flip_tta else ''})"
    Console().print(metric_table({model.cfg.name: result.metrics}, title=title))
    if json_out is not None:
        write_text(json_out, json.dumps({
            "checkpoint": str(folder), "checkpoint_sha256": checkpoint_sha256(folder), "data": data,
            "protocol": proto.__dict__, "flip_tta": flip_tta, "count": result.count,
            "metrics": result.metrics, "per_image": result.per_image,
        }, indent=2) + "\n")


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_)
