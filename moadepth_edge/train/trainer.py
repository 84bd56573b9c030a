"""The training loop: AdamW, optional schedule, AMP on CUDA, gradient clipping, periodic
held-out evaluation, JSONL/CSV logs, atomic checkpoints (`last/` every epoch and every
`save_every` steps, `best/` by delta1) and exact resume; data parallel under torchrun.

Run folder:  last/ (checkpoint + trainer_state.json/.safetensors)  best/  metrics.jsonl
train.csv  eval.csv
"""
from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import signals
from ..config import ModelCfg, TrainCfg, to_dict, validate_tree
from ..data.dataset import DepthDataset
from ..data.spec import open_reader
from ..data.transforms import training_augment
from ..errors import CheckpointError, RunFailure, UserError
from ..model.checkpoint import load_checkpoint
from ..model.depth_model import DepthOutput
from .device import pick_device
from .distributed import all_reduce_mean, barrier, broadcast_object, init_distributed
from .evaluate import EvalStopped, evaluate
from .interrupt import StopRequest, ignore_signals_in_worker
from .camera import training_camera
from .losses import DepthLoss, router_entropy
from .metrics import get_protocol
from .optim import build_optimizer, build_scheduler
from .progress import TrainProgress
from .runlog import RunLog
from .resume import SavedRun, extended, load_run
from .run_spec import RunSpec, heldout_reader
from .sampler import ResumableSampler
from .state import TrainerState, restore_state, rng_state, save_run_checkpoint

__all__ = ["RunSpec", "Trainer"]


class _ForwardTrain(nn.Module):
    """forward = model.forward_train, as a dict of tensors, so DDP wraps the training path."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> dict[str, Any]:
        out = self.model.forward_train(image)
        return {f.name: getattr(out, f.name) for f in dataclasses.fields(out)}


DIVERGED_STEPS = 3  # non-finite losses in a row that end a run


class Trainer:
    """Build with `Trainer(model_cfg, train_cfg, run, pretrained)` for a new run or
    `Trainer.resume(out)` to continue one; then `fit()`."""

    def __init__(self, model_cfg: ModelCfg, train_cfg: TrainCfg, run: RunSpec, *,
                 pretrained: bool = False, _resume: SavedRun | None = None) -> None:
        if model_cfg.kind != "moa":
            raise UserError(f"{model_cfg.name} is a zero-shot {model_cfg.kind} model: nothing to train")
        for cfg in (model_cfg, train_cfg, run):
            validate_tree(cfg)
        self.model_cfg, self.cfg, self.run = model_cfg, train_cfg, run
        self.out = Path(run.out)
        self.env = init_distributed("cuda" if run.device != "cpu" and torch.cuda.is_available() else "cpu")
        self.device = pick_device(run.device, self.env.local_rank if self.env.enabled else None)
        torch.manual_seed(train_cfg.seed)

        # data first: a bad --data spec fails before any CLIP weights are fetched
        self.train_reader = open_reader(run.data, "train", root=run.data_root, depth_scale=run.depth_scale,
                                        synthetic_size=run.synthetic_size, seed=train_cfg.seed)
        if len(self.train_reader) == 0:
            raise UserError(f"--data {run.data}: no training samples")
        if train_cfg.batch_size > len(self.train_reader):  # a step would repeat samples, and outlast a stop
            raise UserError(f"--batch-size {train_cfg.batch_size} is more than the {len(self.train_reader)} "
                            f"training samples of --data {run.data}")
        if _resume is None:  # a resumed run keeps the camera its checkpoint recorded
            model_cfg = dataclasses.replace(model_cfg, camera=training_camera(
                self.train_reader, model_cfg, train_cfg.canonical_focal))
            self.model_cfg = model_cfg
        self.eval_reader = heldout_reader(run, train_cfg.seed)
        if _resume is not None:
            self.model = load_checkpoint(_resume.folder)
        else:
            from ..model import build_model

            self.model = build_model(model_cfg, pretrained=pretrained)
        if run.train_all:
            for p in self.model.parameters():
                p.requires_grad_(True)
        self.model.to(self.device).train()

        camera = self.model.cfg.camera
        canonical = (camera.fx, camera.fy) if train_cfg.canonical_focal and camera is not None else None
        self.dataset = DepthDataset(self.train_reader, model_cfg.preprocess,
                                    training_augment(run.augment, run.augment_input), train_cfg.seed,
                                    run.cache, canonical)
        self.sampler = ResumableSampler(len(self.dataset), batch_size=train_cfg.batch_size,
                                        world_size=self.env.world_size, rank=self.env.rank, seed=train_cfg.seed)
        self.loader = torch.utils.data.DataLoader(
            self.dataset, batch_size=train_cfg.batch_size, sampler=self.sampler,
            num_workers=train_cfg.num_workers, persistent_workers=train_cfg.num_workers > 0,
            pin_memory=self.device.type == "cuda", worker_init_fn=ignore_signals_in_worker,
        )
        self.steps_per_epoch = self.sampler.batches_per_epoch
        self._bad_steps = 0  # non-finite losses in a row (_check_diverged)
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
        self.stopped_by: int | None = None  # the signal that ended fit() early, if one did
        self.stopped = False
        self.resumed = _resume is not None
        if _resume is not None:
            self._load_state(_resume)
        self.log = RunLog(self.out, self.step if self.resumed else None) if self.env.is_main else None

    # --------------------------------------------------------------------------------------
    @classmethod
    def resume(cls, out: str | Path, *, epochs: int | None = None, num_workers: int | None = None,
               **run_overrides: Any) -> Trainer:
        """Continue the run in `out` from its last checkpoint (config, data and state from
        there; `epochs` may extend it; num_workers and run_overrides such as device or progress
        change how it runs, not what it computes)."""
        return cls.from_saved(load_run(out), epochs=epochs, num_workers=num_workers, **run_overrides)

    @classmethod
    def from_saved(cls, saved: SavedRun, *, epochs: int | None = None, num_workers: int | None = None,
                   **run_overrides: Any) -> Trainer:
        """`resume` from a run already read with `resume.load_run`."""
        train_cfg = extended(saved, epochs)
        if num_workers is not None:
            train_cfg = dataclasses.replace(train_cfg, num_workers=num_workers)
        return cls(saved.model, train_cfg, dataclasses.replace(saved.run, **run_overrides), _resume=saved)

    def _state(self) -> TrainerState:
        epoch, done = divmod(self.step, self.steps_per_epoch)
        return TrainerState(
            step=self.step, steps_per_epoch=self.steps_per_epoch, world_size=self.env.world_size,
            best=self.best, optimizer=self.optimizer.state_dict(), scheduler=self.scheduler.state_dict(),
            scaler=self.scaler.state_dict(), rng=rng_state(), sampler={"epoch": epoch, "batches_done": done},
        )

    def _load_state(self, saved: SavedRun) -> None:
        state = saved.state
        if state.steps_per_epoch != self.steps_per_epoch:
            raise CheckpointError(
                f"cannot resume exactly: the checkpoint has {state.steps_per_epoch} steps per epoch, "
                f"this setup {self.steps_per_epoch} (same data, batch size and world size needed)")
        restore_state(state, saved.folder, self.optimizer, self.scheduler, self.scaler)
        self.step, self.best = state.step, state.best

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
            try:  # a signal ends the evaluation at the next batch: a stop must not wait for it
                metrics = evaluate(self.model, self.eval_reader, get_protocol("standard"), device=self.device,
                                   limit=self.run.eval_limit, stop=lambda: signals.requested() is not None).metrics
            except EvalStopped:
                metrics = None
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
        """Train to cfg.epochs; returns the last held-out metrics. With epochs 0 it only
        scores the initial model and checkpoints it (last/, step 0).

        SIGINT / SIGTERM / SIGHUP: the current step finishes, last/ is checkpointed, and fit
        returns with `stopped_by` set (continue with `resume`); a second signal ends the
        process at once. stop_at_step ends the process-local loop abruptly after that step,
        saving nothing: a simulated kill, for tests.
        """
        progress = TrainProgress(enabled=self.run.progress and self.env.is_main)
        killed = False
        with progress, StopRequest(self.env) as stop:
            if not self.resumed and self.run.eval_before:
                self._record_eval(epoch=0)
            self._t0 = time.perf_counter()
            if not self._stopping(stop):
                if self.total_steps == 0:
                    self.save()
                killed = self._epochs(stop, progress, stop_at_step)
        if killed:
            return None
        if self.log is not None:
            self.log.close()
        return self.last_metrics

    def _stopping(self, stop: StopRequest) -> bool:
        """After a step: on a stop request (any rank), checkpoint and say so."""
        if not stop.should_stop():
            return False
        self.save()
        self.stopped, self.stopped_by = True, stop.signum
        return True

    def _epochs(self, stop: StopRequest, progress: TrainProgress, stop_at_step: int | None) -> bool:
        """Train until done or stopped; True when stop_at_step cut it short."""
        while self.step < self.total_steps:
            epoch, done = divmod(self.step, self.steps_per_epoch)
            self.sampler.set_epoch(epoch, done)
            progress.start_epoch(epoch + 1, self.cfg.epochs, self.steps_per_epoch, done)
            running: dict[str, float] = {}
            n_running = 0
            for batch in self.loader:
                values = self.train_step(batch)
                self.step += 1
                self._check_diverged(values["total"])
                running = {k: running.get(k, 0.0) + v for k, v in values.items()}
                n_running += 1
                progress.advance(values["total"])
                if self.step % self.run.log_every == 0 or self.step % self.steps_per_epoch == 0:
                    self._record_train(epoch, {k: v / n_running for k, v in running.items()})
                    running, n_running = {}, 0
                if stop_at_step is not None and self.step >= stop_at_step:
                    return True
                if self._stopping(stop):
                    return False
                if self.run.save_every and self.step % self.run.save_every == 0 \
                        and self.step % self.steps_per_epoch:
                    self.save()
            epoch_done = self.step // self.steps_per_epoch
            improved = False
            if epoch_done % self.cfg.eval_every == 0 or self.step >= self.total_steps:
                improved = self._record_eval(epoch_done)
            if self._stopping(stop):  # asked during the evaluation: last/ is saved, best/ not judged
                return False
            self.save(best=improved)
        return False

    def _check_diverged(self, loss: float) -> None:
        """RunFailure after DIVERGED_STEPS non-finite losses in a row (mixed precision skips a
        step or two on its own): the weights are NaN by then, so nothing more is saved and
        last/ keeps the latest finite checkpoint."""
        self._bad_steps = 0 if math.isfinite(loss) else self._bad_steps + 1
        if self._bad_steps >= DIVERGED_STEPS:
            last = self.out / "last"
            kept = f"{last} keeps the checkpoint saved before it" if last.is_dir() else "no checkpoint was saved"
            raise RunFailure(f"training diverged: the loss was {loss} for {self._bad_steps} steps in a row "
                             f"(step {self.step}); try a lower --lr; {kept}")

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
