"""`moadepth-edge info CKPT|PRESET`: the config and parameter counts of a model."""
from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from .._lazy import lazy_import
from ..config import PRESETS, get_preset, to_dict
from ..errors import UserError


def _load(target: str):
    lazy_import("torch")  # a one-line install hint where the train extra is missing
    from ..model import build_model
    from ..model.checkpoint import load_checkpoint

    if Path(target).is_dir():
        return load_checkpoint(target)
    if target in PRESETS:
        return build_model(get_preset(target), pretrained=False)
    raise UserError(f"{target!r} is neither a checkpoint folder nor a preset "
                    f"({', '.join(sorted(PRESETS))})")


def parts_table(model) -> Table:
    """Total and trainable parameters per part (encoder blocks, each MoA module, head)."""
    table = Table(title=f"{model.cfg.name}: parameters")
    for col in ("part", "total", "trainable"):
        table.add_column(col, justify="left" if col == "part" else "right")

    def row(name: str, params) -> None:
        params = list(params)
        total = sum(p.numel() for p in params)
        train = sum(p.numel() for p in params if p.requires_grad)
        table.add_row(name, f"{total:,}", f"{train:,}")

    row("visual encoder", model.encoder.parameters())
    if hasattr(model.encoder, "blocks"):
        blocks = list(model.encoder.blocks)
        n = model.cfg.trainable_blocks if model.cfg.kind == "moa" else 0
        if n:
            row(f"  last {n} blocks", (p for b in blocks[-n:] for p in b.parameters()))
    for key, moa in getattr(model, "moa", {}).items():
        row(f"MoA after block {key}", moa.parameters())
    if hasattr(model, "head"):
        row("head", model.head.parameters())
    table.add_section()
    row("all", model.parameters())
    return table


def info(
    target: str = typer.Argument(..., help="a checkpoint folder or a preset name"),
    as_json: bool = typer.Option(False, "--json", help="print the config as JSON only"),
) -> None:
    """Print a model's config and its parameter counts (total, trainable, per part)."""
    model = _load(target)
    if as_json:
        print(json.dumps(to_dict(model.cfg), indent=2))
        return
    console = Console()
    console.print(f"[bold]{model.cfg.name}[/] ({model.cfg.kind}, CLIP {model.cfg.clip.model_name}, "
                  f"input {model.cfg.preprocess.size[0]}x{model.cfg.preprocess.size[1]})")
    console.print_json(json.dumps(to_dict(model.cfg)))
    console.print(parts_table(model))


def register(app: typer.Typer) -> None:
    app.command("info")(info)
