"""`moadepth-edge train`: train MoA-DepthCLIP (single process, or DDP under torchrun)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import UserError


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UserError(f"size must be HEIGHTxWIDTH, e.g. 120x160, got {text!r}") from None
    return h, w


def train(
    out: Path = typer.Option(..., "--out", help="run folder (checkpoints last/ and best/, logs)"),
    preset: str = typer.Option("moadepth-vitb32", help="model preset (moadepth-vitb32 is the paper's)"),
    data: str = typer.Option("synthetic", help="synthetic[:N] | nyu:LIST|DIR|FILE.mat | densedepth:CSV | kitti:PATH | folder:DIR"),
    clip: Optional[str] = typer.Option(None, help="CLIP weights: an open_clip tag (openai), a local file, or 'none' for random init; default: the preset's"),
    epochs: Optional[int] = typer.Option(None, help="default: TrainCfg (30); with --resume, extends the run"),
    batch_size: Optional[int] = typer.Option(None, help="per process; default 8"),
    lr: Optional[float] = typer.Option(None, help="default 1e-5 (paper)"),
    weight_decay: Optional[float] = typer.Option(None, help="default 1e-4 (paper)"),
    schedule: Optional[str] = typer.Option(None, help="constant (paper) | cosine | onecycle"),
    warmup_steps: Optional[int] = typer.Option(None),
    grad_clip: Optional[float] = typer.Option(None, help="max gradient norm, 0 disables; default 1.0"),
    amp: bool = typer.Option(True, help="mixed precision on CUDA"),
    eval_every: Optional[int] = typer.Option(None, help="epochs between held-out evaluations"),
    eval_data: Optional[str] = typer.Option(None, help="held-out data spec (default: the data's test / held-out split)"),
    eval_limit: Optional[int] = typer.Option(64, help="score at most N held-out images per evaluation (0: all)"),
    data_root: Optional[Path] = typer.Option(None, help="folder the list's paths are relative to"),
    eval_data_root: Optional[Path] = typer.Option(None, help="the same for --eval-data"),
    depth_scale: Optional[float] = typer.Option(None, help="depth file units per metre (default per layout)"),
    synthetic_size: str = typer.Option("120x160", help="rendered size of synthetic frames, HxW"),
    train_all: bool = typer.Option(False, "--train-all", help="unfreeze the whole ViT, patch embedding included (not the paper's setting)"),
    augment: bool = typer.Option(True, help="flip, scale-crop and colour jitter (--no-augment: none)"),
    cache: bool = typer.Option(False, "--cache", help="keep decoded samples in memory"),
    workers: Optional[int] = typer.Option(None, help="DataLoader workers (default 2)"),
    seed: Optional[int] = typer.Option(None),
    save_every: int = typer.Option(0, help="also checkpoint every N steps (0: every epoch only)"),
    device: str = typer.Option("auto", help="auto | cpu | cuda"),
    resume: bool = typer.Option(False, "--resume", help="continue the run in --out from last/"),
    progress: bool = typer.Option(True, help="show progress bars"),
) -> None:
    """Train a depth model; checkpoints, logs and a before/after table land in --out."""
    import dataclasses

    from rich.console import Console

    from .._lazy import lazy_import

    lazy_import("torch")  # a one-line install hint where the train extra is missing
    from ..config import TrainCfg, get_preset, replace
    from ..train.distributed import cleanup
    from ..train.report import metric_table
    from ..train.trainer import RunSpec, Trainer

    if resume:
        trainer = Trainer.resume(out, epochs=epochs, device=device, progress=progress)
    else:
        if (out / "last").exists():
            raise UserError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
        try:
            model_cfg = get_preset(preset)
        except KeyError as exc:
            raise UserError(str(exc.args[0])) from None
        if clip is not None:
            model_cfg = replace(model_cfg, clip=replace(model_cfg.clip, pretrained=None if clip == "none" else clip))
        given = dict(lr=lr, epochs=epochs, batch_size=batch_size, weight_decay=weight_decay,
                     schedule=schedule, warmup_steps=warmup_steps, grad_clip=grad_clip,
                     eval_every=eval_every, seed=seed, num_workers=workers)
        train_cfg = dataclasses.replace(TrainCfg(amp=amp), **{k: v for k, v in given.items() if v is not None})
        run = RunSpec(
            out=str(out), data=data, eval_data=eval_data, eval_limit=eval_limit or None,
            data_root=str(data_root) if data_root else None,
            eval_data_root=str(eval_data_root) if eval_data_root else None, depth_scale=depth_scale,
            synthetic_size=_size(synthetic_size), train_all=train_all, augment=augment, cache=cache,
            save_every=save_every, device=device, progress=progress,
        )
        trainer = Trainer(model_cfg, train_cfg, run, pretrained=model_cfg.clip.pretrained is not None)
    try:
        final = trainer.fit()
    finally:
        cleanup(trainer.env)
    if not trainer.env.is_main:
        return
    console = Console()
    evals = [r for r in trainer.log.records if r["kind"] == "eval"] if trainer.log else []
    if evals:
        rows = {"before" if evals[0]["step"] == 0 else f"step {evals[0]['step']}": evals[0]}
        if final is not None and len(evals) > 1:
            rows["after"] = final
        console.print(metric_table(rows, title=f"held-out {trainer.eval_reader.kind} data, "
                                              f"{trainer.run.eval_limit or 'all'} images, step {trainer.step}"))
    saved = "  ".join(str(out / d) for d in ("last", "best") if (out / d).is_dir())
    console.print(f"checkpoints: {saved}   logs: {out / 'metrics.jsonl'}")


def register(app: typer.Typer) -> None:
    app.command("train")(train)
