"""The training loop: AdamW, optional schedule, AMP on CUDA, gradient clipping, periodic
held-out evaluation, JSONL/CSV logs, atomic checkpoints (`last/` every epoch and every
`save_every` steps, `best/` by delta1) and exact resume; data parallel under torchrun.

Run folder:  last/ (checkpoint + trainer_state.pt)  best/  metrics.jsonl  train.csv  eval.csv
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..config import ModelCfg, TrainCfg, from_dict, to_dict
from ..data.dataset import DepthDataset
from ..data.spec import open_reader
from ..data.transforms import Augment
from ..errors import CheckpointError, UserError
from ..model.checkpoint import load_checkpoint, read_checkpoint_meta
from ..model.depth_model import DepthOutput
from .distributed import DistEnv, all_reduce_mean, barrier, broadcast_object, init_distributed
from .evaluate import evaluate
from .interrupt import StopRequest
from .losses import DepthLoss, router_entropy
from .metrics import get_protocol
from .optim import build_optimizer, build_scheduler
from .progress import TrainProgress
from .runlog import RunLog
from .sampler import ResumableSampler
from .state import find_run_checkpoint, load_trainer_state, rng_state, save_run_checkpoint, set_rng_state


@dataclass
class RunSpec:
    """What a run reads and writes, beyond TrainCfg; saved in every checkpoint (extra.run)."""

    out: str
    data: str = "synthetic"
    eval_data: str | None = None  # default: the data's held-out / test split where it has one
    eval_limit: int | None = 64
    data_root: str | None = None
    eval_data_root: str | None = None  # default: data_root
    depth_scale: float | None = None
    synthetic_size: tuple[int, int] = (120, 160)
    train_all: bool = False  # unfreeze the whole ViT (a departure from the paper; see README)
    augment: bool = True
    cache: bool = False  # keep decoded samples in memory (small / procedural data sets)
    save_every: int = 0  # also checkpoint every N steps (0: once per epoch)
    log_every: int = 10
    eval_before: bool = True  # score the untrained model first, for a before/after
    device: str = "auto"
    progress: bool = True
    extra_env: dict[str, Any] = field(default_factory=dict)


def _device(name: str, env: DistEnv) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and env.enabled:
        name = f"cuda:{env.local_rank}"
    return torch.device(name)


class _ForwardTrain(nn.Module):
    """forward = model.forward_train, as a dict of tensors, so DDP wraps the training path."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> dict[str, Any]:
        out = self.model.forward_train(image)
        return {f.name: getattr(out, f.name) for f in dataclasses.fields(out)}


class Trainer:
    """Build with `Trainer(model_cfg, train_cfg, run, pretrained)` for a new run or
    `Trainer.resume(out)` to continue one; then `fit()`."""

    def __init__(self, model_cfg: ModelCfg, train_cfg: TrainCfg, run: RunSpec, *,
                 pretrained: bool = False, _resume_from: Path | None = None) -> None:
        if model_cfg.kind != "moa":
            raise UserError(f"{model_cfg.name} is a zero-shot {model_cfg.kind} model: nothing to train")
        self.model_cfg, self.cfg, self.run = model_cfg, train_cfg, run
        self.out = Path(run.out)
        self.env = init_distributed("cuda" if run.device in ("auto", "cuda") and torch.cuda.is_available() else "cpu")
        self.device = _device(run.device, self.env)
        torch.manual_seed(train_cfg.seed)

        # data first: a bad --data spec fails before any CLIP weights are fetched
        self.train_reader = open_reader(run.data, "train", root=run.data_root, depth_scale=run.depth_scale,
                                        synthetic_size=run.synthetic_size, seed=train_cfg.seed)
        self.eval_reader = self._eval_reader()
        if _resume_from is not None:
            self.model = load_checkpoint(_resume_from)
        else:
            from ..model import build_model

            self.model = build_model(model_cfg, pretrained=pretrained)
        if run.train_all:
            for p in self.model.parameters():
                p.requires_grad_(True)
        self.model.to(self.device).train()

        self.dataset = DepthDataset(self.train_reader, model_cfg.preprocess,
                                    Augment() if run.augment else None, train_cfg.seed, run.cache)
        self.sampler = ResumableSampler(len(self.dataset), batch_size=train_cfg.batch_size,
                                        world_size=self.env.world_size, rank=self.env.rank, seed=train_cfg.seed)
        self.loader = torch.utils.data.DataLoader(
            self.dataset, batch_size=train_cfg.batch_size, sampler=self.sampler,
            num_workers=train_cfg.num_workers, persistent_workers=train_cfg.num_workers > 0,
            pin_memory=self.device.type == "cuda",
        )
        self.steps_per_epoch = self.sampler.batches_per_epoch
        self.total_steps = self.steps_per_epoch * train_cfg.epochs

        self.forward = _ForwardTrain(self.model)
        if self.env.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.forward = nn.parallel.DistributedDataParallel(self.forward, device_ids=ids)
        self.criterion = DepthLoss(train_cfg.loss, model_cfg.bins)
        self.optimizer = build_optimizer(self.model, train_cfg)
        self.scheduler = build_scheduler(self.optimizer, train_cfg, self.total_steps)
        self.use_amp = train_cfg.amp and self.device.type == "cuda"
        self.amp_dtype = torch.bfloat16 if self.use_amp and torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp and self.amp_dtype == torch.float16)
        self.step, self.best, self.last_metrics = 0, None, None
        self.resumed = _resume_from is not None
        if self.resumed:
            self._load_state(load_trainer_state(_resume_from))
        self.log = RunLog(self.out, self.step if self.resumed else None) if self.env.is_main else None

    # --------------------------------------------------------------------------------------
    @classmethod
    def resume(cls, out: str | Path, *, epochs: int | None = None, **run_overrides: Any) -> Trainer:
        """Continue the run in `out` from its last checkpoint (config, data and state from
        there; `epochs` may extend it; run_overrides change e.g. device or progress)."""
        folder = find_run_checkpoint(Path(out) / "last")
        if folder is None:
            raise CheckpointError(f"nothing to resume: no checkpoint with trainer state in {Path(out) / 'last'}")
        meta = read_checkpoint_meta(folder)
        try:
            extra = meta["extra"]
            train_cfg = from_dict(TrainCfg, extra["train_cfg"])
            run = RunSpec(**{**extra["run"], "out": str(out), **run_overrides})
            model_cfg = from_dict(ModelCfg, meta["model_cfg"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{folder} was not written by the trainer: {exc}") from None
        if epochs is not None:
            train_cfg = dataclasses.replace(train_cfg, epochs=epochs)
        run.synthetic_size = tuple(run.synthetic_size)
        return cls(model_cfg, train_cfg, run, _resume_from=folder)

    def _eval_reader(self):
        run = self.run
        if run.eval_data:
            spec = run.eval_data
        elif run.data.startswith("synthetic"):
            spec = f"synthetic:{run.eval_limit or 64}"
        elif run.data.startswith("nyu:") and (Path(run.data[4:]).is_dir() or run.data.endswith(".mat")):
            spec = run.data
        else:
            return None  # no known held-out split: pass --eval-data
        root = run.eval_data_root or (None if run.eval_data else run.data_root)
        return open_reader(spec, "test", root=root, depth_scale=run.depth_scale,
                           synthetic_size=run.synthetic_size, seed=self.cfg.seed)

    def _state(self) -> dict[str, Any]:
        return {
            "step": self.step, "steps_per_epoch": self.steps_per_epoch, "best": self.best,
            "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(), "rng": rng_state(), "world_size": self.env.world_size,
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        if state["steps_per_epoch"] != self.steps_per_epoch:
            raise CheckpointError(
                f"cannot resume exactly: the checkpoint has {state['steps_per_epoch']} steps per epoch, "
                f"this setup {self.steps_per_epoch} (same data, batch size and world size needed)")
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        set_rng_state(state["rng"])
        self.step, self.best = state["step"], state["best"]

    def _extra(self) -> dict[str, Any]:
        return {
            "train_cfg": to_dict(self.cfg), "run": dataclasses.asdict(self.run), "step": self.step,
            "epoch": self.step / self.steps_per_epoch, "metrics": self.last_metrics,
        }

    def save(self, best: bool = False) -> None:
        """Checkpoint `last/` (rank 0 writes, the others wait), and `best/` if asked."""
        if self.env.is_main:
            save_run_checkpoint(self.model, self.out / "last", self._extra(), self._state())
            if best:
                save_run_checkpoint(self.model, self.out / "best", self._extra(), None)
        barrier(self.env)

    def evaluate(self) -> dict[str, float] | None:
        """Held-out metrics (standard protocol) on rank 0, shared with every rank."""
        metrics = None
        if self.env.is_main and self.eval_reader is not None:
            metrics = evaluate(self.model, self.eval_reader, get_protocol("standard"), device=self.device,
                               limit=self.run.eval_limit).metrics
        return broadcast_object(metrics, self.env)

    # --------------------------------------------------------------------------------------
    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        image = batch["image"].to(self.device, non_blocking=True)
        depth = batch["depth"].to(self.device, non_blocking=True)
        valid = batch["valid"].to(self.device, non_blocking=True)
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.use_amp):
            out = self.forward(image)
        parts = self.criterion(DepthOutput(**out), depth, valid)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(parts.total).backward()
        if self.cfg.grad_clip > 0:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.optimizer.param_groups[0]["params"], self.cfg.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        return {**parts.as_floats(), "router_entropy": float(router_entropy([g.detach() for g in out["router_weights"]]))}

    def fit(self, stop_at_step: int | None = None) -> dict[str, float] | None:
        """Train to cfg.epochs; returns the last held-out metrics.

        Ctrl-C / SIGTERM checkpoints after the current step and raises KeyboardInterrupt
        (resume with `resume`). stop_at_step ends the process-local loop abruptly after that
        step, saving nothing: a simulated kill, for tests.
        """
        if not self.resumed and self.run.eval_before:
            self._record_eval(epoch=0)
        self._t0 = time.perf_counter()
        progress = TrainProgress(enabled=self.run.progress and self.env.is_main)
        with progress, StopRequest(self.env) as stop:
            while self.step < self.total_steps:
                epoch, done = divmod(self.step, self.steps_per_epoch)
                self.sampler.set_epoch(epoch, done)
                progress.start_epoch(epoch + 1, self.cfg.epochs, self.steps_per_epoch, done)
                running: dict[str, float] = {}
                n_running = 0
                for batch in self.loader:
                    values = self.train_step(batch)
                    self.step += 1
                    running = {k: running.get(k, 0.0) + v for k, v in values.items()}
                    n_running += 1
                    progress.advance(values["total"])
                    if self.step % self.run.log_every == 0 or self.step % self.steps_per_epoch == 0:
                        self._record_train(epoch, {k: v / n_running for k, v in running.items()})
                        running, n_running = {}, 0
                    if stop_at_step is not None and self.step >= stop_at_step:
                        return None
                    if stop.should_stop():
                        self.save()
                        raise KeyboardInterrupt(f"stopped at step {self.step}; checkpoint saved")
                    if self.run.save_every and self.step % self.run.save_every == 0 \
                            and self.step % self.steps_per_epoch:
                        self.save()
                epoch_done = self.step // self.steps_per_epoch
                improved = False
                if epoch_done % self.cfg.eval_every == 0 or self.step >= self.total_steps:
                    improved = self._record_eval(epoch_done)
                self.save(best=improved)
        if self.log is not None:
            self.log.close()
        return self.last_metrics

    def _record_train(self, epoch: int, means: dict[str, float]) -> None:
        keys = sorted(means)
        mean = all_reduce_mean(torch.tensor([means[k] for k in keys], dtype=torch.float64), self.env)
        if self.log is not None:
            values = dict(zip(keys, mean.tolist()))
            values["lr"] = self.optimizer.param_groups[0]["lr"]
            values["elapsed_s"] = round(time.perf_counter() - self._t0, 2)  # this process's training time
            self.log.log("train", self.step, epoch + 1, values)

    def _record_eval(self, epoch: int) -> bool:
        metrics = self.evaluate()
        if metrics is None:
            return False
        self.last_metrics = metrics
        if self.log is not None:
            self.log.log("eval", self.step, epoch, metrics)
        improved = self.best is None or metrics["delta1"] > self.best
        if improved and self.step > 0:
            self.best = metrics["delta1"]
        return improved and self.step > 0
