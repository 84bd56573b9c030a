"""`moadepth-edge train`: train MoA-DepthCLIP (single process, or DDP under torchrun).

Every option is checked before data or weights are touched. `--resume` continues the saved run
exactly: options that would change it are refused, only --epochs (to extend it), --device,
--workers and --progress may differ. SIGINT / SIGTERM / SIGHUP finish the current step, write
last/ and say how to continue (exit 130 / 143 / 129); a second signal ends at once.
"""
from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from ..config import InvalidConfig, TrainCfg, get_preset, replace, validate_tree
from ..errors import UserError
from ..outputs import output_dir

# config field -> CLI option, where the names differ
_FLAG_OF = {"num_workers": "workers"}


def _checked(cfg: Any) -> Any:
    """validate_tree(cfg), its errors named by the CLI option that set the field."""
    try:
        validate_tree(cfg)
    except InvalidConfig as exc:
        top = exc.field.split(".")[0].split("[")[0]
        raise UserError(f"--{_FLAG_OF.get(top, top).replace('_', '-')}: {exc.reason}") from None
    return cfg


def _given(ctx: typer.Context) -> list[str]:
    """The parameters the user actually set (not left at their defaults)."""
    return [n for n in ctx.params if getattr(ctx.get_parameter_source(n), "name", "DEFAULT") != "DEFAULT"]


def _stop_line(step: int, out: Path) -> str:
    return (f"stopped at step {step}; checkpoint in {out / 'last'}; continue with: "
            f"moadepth-edge train --resume --out {shlex.quote(str(out))}")


def train(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="run folder (checkpoints last/ and best/, logs)"),
    preset: str = typer.Option("moadepth-vitb32", help="model preset (moadepth-vitb32 is the paper's)"),
    data: str = typer.Option("synthetic", help="synthetic[:N] | nyu:LIST|DIR|FILE.mat | densedepth:CSV | kitti:PATH | folder:DIR"),
    clip: Optional[str] = typer.Option(None, help="CLIP weights: an open_clip tag (openai), a local .safetensors file (pickles are refused), or 'none' for random init; default: the preset's"),
    epochs: Optional[int] = typer.Option(None, help="default: TrainCfg (30); 0: only score and checkpoint the initial model (last/, step 0); with --resume, extends the run (never below the steps done)"),
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
    augment_input: bool = typer.Option(False, help="at the model input: blur, image-space texture, contrast stretch, "
                                       "grain and erasing, against the detail small renders lack beside real frames (see README)"),
    canonical_focal: bool = typer.Option(
        False, "--canonical-focal/--no-canonical-focal", help="scale each label to the canonical camera (NYU's Kinect at the model "
        "input) by its sample's focal, so data from several cameras trains one model; inference scales back "
        "with the camera's intrinsics"),
    cache: bool = typer.Option(False, "--cache", help="keep decoded samples in memory"),
    workers: Optional[int] = typer.Option(None, help="DataLoader workers (default 2)"),
    seed: Optional[int] = typer.Option(None),
    save_every: int = typer.Option(0, help="also checkpoint every N steps (0: every epoch only)"),
    device: str = typer.Option("auto", help="auto | cpu | cuda | cuda:N"),
    resume: bool = typer.Option(False, "--resume", help="continue the run in --out from last/ (options that would change it are refused)"),
    progress: bool = typer.Option(True, help="show progress bars"),
) -> None:
    """Train a depth model; checkpoints, logs and a before/after table land in --out.

    SIGINT, SIGTERM or SIGHUP: the current step finishes, last/ is written and the command
    says how to continue (--resume)."""
    import dataclasses

    # 1. every option, before anything is read or built
    if eval_limit is not None and eval_limit < 0:
        raise UserError(f"--eval-limit: must be >= 0 (0: all), got {eval_limit}")
    given = dict(lr=lr, epochs=epochs, batch_size=batch_size, weight_decay=weight_decay,
                 schedule=schedule, warmup_steps=warmup_steps, grad_clip=grad_clip,
                 eval_every=eval_every, seed=seed, num_workers=workers)
    if schedule is not None and schedule not in ("constant", "cosine", "onecycle"):
        raise UserError(f"--schedule: expected constant, cosine or onecycle, got {schedule!r}")
    train_cfg = _checked(dataclasses.replace(TrainCfg(amp=amp, canonical_focal=canonical_focal), **{k: v for k, v in given.items() if v is not None}))
    from ..data.spec import parse_size
    from ..train.run_spec import RunSpec

    run = _checked(RunSpec(
        out=str(out), data=data, eval_data=eval_data, eval_limit=eval_limit or None,
        data_root=str(data_root) if data_root else None,
        eval_data_root=str(eval_data_root) if eval_data_root else None, depth_scale=depth_scale,
        synthetic_size=parse_size(synthetic_size, "--synthetic-size", minimum=0), train_all=train_all, augment=augment,
        augment_input=augment_input, cache=cache,
        save_every=save_every, device=device, progress=progress,
    ))
    try:
        model_cfg = get_preset(preset)
    except KeyError as exc:
        raise UserError(str(exc.args[0])) from None
    if clip is not None:
        model_cfg = replace(model_cfg, clip=replace(model_cfg.clip, pretrained=None if clip == "none" else clip))

    # 2. the run folder
    if not resume and (out / "last").exists():
        raise UserError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    if resume and not out.is_dir():
        raise UserError(f"--resume: there is no run in {out}")
    created = not out.exists()
    output_dir(out, "--out")
    try:
        _train(out, resume, _given(ctx), model_cfg, train_cfg, run, epochs, workers)
    except BaseException:
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # refused before it started: leave nothing behind
        raise


def _train(out: Path, resume: bool, given: list[str], model_cfg, train_cfg, run, epochs, workers) -> None:
    from rich.console import Console

    from .._lazy import lazy_import

    lazy_import("torch")  # a one-line install hint where the train extra is missing
    from ..train.distributed import cleanup
    from ..train.report import metric_table
    from ..train.resume import extended, load_run, refuse_conflicts
    from ..train.trainer import Trainer

    if resume:
        saved = load_run(out)
        refuse_conflicts(given, {"model": model_cfg, "train": train_cfg, "run": run}, saved)
        extended(saved, epochs)
        trainer = Trainer.from_saved(saved, epochs=epochs, num_workers=workers, device=run.device,
                                     progress=run.progress)
    else:
        if model_cfg.clip.pretrained is not None:
            from ..model.clip_encoder import check_clip_weights

            check_clip_weights(model_cfg.clip.model_name, model_cfg.clip.pretrained)
        trainer = Trainer(model_cfg, train_cfg, run, pretrained=model_cfg.clip.pretrained is not None)
    try:
        final = trainer.fit()
    finally:
        cleanup(trainer.env)
    if not trainer.env.is_main:
        return
    if trainer.stopped:
        print(_stop_line(trainer.step, out), file=sys.stderr, flush=True)
        return
    console = Console()
    evals = [r for r in trainer.log.records if r["kind"] == "eval"] if trainer.log else []
    if evals:
        rows = {"before" if evals[0]["step"] == 0 else f"step {evals[0]['step']}": evals[0]}
        if final is not None and len(evals) > 1:
            rows["after"] = final
        console.print(metric_table(rows, title=f"held-out {trainer.eval_reader.kind} data, "
                                              f"{trainer.run.eval_limit or 'all'} images, step {trainer.step}"))
    saved_dirs = "  ".join(str(out / d) for d in ("last", "best") if (out / d).is_dir())
    console.print(f"checkpoints: {saved_dirs}   logs: {out / 'metrics.jsonl'}")


def register(app: typer.Typer) -> None:
    app.command("train")(train)
