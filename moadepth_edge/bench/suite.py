"""Run a benchmark plan: models x backends x precisions x resolutions x batch sizes.

Each configuration is measured on its own and fails on its own: a backend this machine lacks,
a precision the model file does not have, a shape the model refuses or an input too large for
memory is recorded in the report with its one-line error, and the remaining configurations
still run. A value no machine could run (an unknown backend or precision, a baseline without
its checkpoint, a reference no backend reads) stops the whole run before anything is measured.
"""
from __future__ import annotations

import shlex
import sys
import typing
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from .. import signals
from ..errors import RunFailure, UserError
from ..formats.artifact import ModelArtifact
from ..runtime.backends import backend_names, select_backend
from ..runtime.backends.base import Backend
from ..train.metrics import Protocol, get_protocol
from . import accuracy as acc
from .limits import MAX_BATCH, MAX_SIDE
from .live import LiveSpec, bench_live
from .measure import Budget, summarize, throughput, time_calls
from .streams import StreamsSpec, bench_streams
from .memory import GpuProbe, PeakSampler, file_size_mb, open_gpu_probe
from .schema import ConfigResult, MemoryResult, Report
from .system import system_info

FRAME_DEFAULT_HW = (480, 640)  # input of a "frame" model when no --resolution is given
# the backend option a `name:device` spec sets
_DEVICE_OPTION = {"onnxruntime": "providers", "torch": "device"}
# the precisions a model file can hold (its artifact's), the only ones --precision can match
PRECISIONS: tuple[str, ...] = typing.get_args(typing.get_type_hints(ModelArtifact)["precision"])


@dataclass(frozen=True)
class BenchPlan:
    """What to measure. backends: "auto" (by file suffix), "name" or "name:device"
    (onnxruntime:cuda, onnxruntime:tensorrt, torch:cuda). Empty precisions / resolutions mean
    each model's own."""

    models: tuple[Path, ...]
    backends: tuple[str, ...] = ("auto",)
    precisions: tuple[str, ...] = ()
    batches: tuple[int, ...] = (1,)
    resolutions: tuple[tuple[int, int], ...] = ()
    budget: Budget = field(default_factory=Budget)
    video: Path | None = None
    data: str | None = None
    protocol: str = "standard"
    reference: Path | None = None
    baseline: str | None = None
    checkpoint: Path | None = None
    threads: int | None = None
    live: LiveSpec | None = None  # glass-to-depth latency on a live source
    streams: StreamsSpec | None = None  # several copies of `video` at once, batched vs one per call

    def __post_init__(self) -> None:
        """UserError, before any work, for a value no machine could run; what this machine
        lacks (a GPU, a library) is left to each configuration."""
        for spec in self.backends:
            check_backend(spec)
        for precision in self.precisions:
            if precision not in PRECISIONS:
                raise UserError(f"unknown precision {precision!r} (--precision); a model file holds "
                                f"{', '.join(PRECISIONS)}")
        if self.batches and max(self.batches) > MAX_BATCH:
            raise UserError(f"--batch takes sizes from 1 to {MAX_BATCH}, got {max(self.batches)}")
        for h, w in self.resolutions:
            if max(h, w) > MAX_SIDE:
                raise UserError(f"--resolution takes sides from 1 to {MAX_SIDE} pixels, got {h}x{w}")
        if self.baseline is not None:
            from .baseline import check_baseline

            check_baseline(self.baseline, self.checkpoint)


class Progress:
    """Told of every step; the CLI's rich progress bar subclasses it. The default is silent."""

    def start(self, description: str, total: int | None) -> None:
        """A new phase of `total` steps (None: unknown, e.g. a time budget)."""

    def advance(self) -> None:
        """One step (a timed call, a pipeline frame, an image scored) done."""

    def warn(self, message: str) -> None:
        """A configuration failed: one line, as it happens."""
        print(f"error: {message}", file=sys.stderr)


def check_backend(spec: str) -> None:
    """UserError for a --backend entry no machine runs: an unknown name, or a device on a
    backend that takes none (whether this machine has the backend is up to its configuration)."""
    name = spec.partition(":")[0]
    if name == "auto":
        return
    if name not in backend_names():
        raise UserError(f"unknown backend {name!r} (--backend); choose from auto, "
                        f"{', '.join(backend_names())}, optionally NAME:DEVICE")
    _device_opts(name, spec)


def _device_opts(name: str, spec: str) -> dict[str, Any]:
    """The option the `:DEVICE` of `spec` sets on backend `name` ({} without one); UserError
    when that backend takes no device."""
    device = spec.partition(":")[2]
    if not device:
        return {}
    if name not in _DEVICE_OPTION:
        raise UserError(f"backend {name!r} takes no device (got {spec!r})")
    return {_DEVICE_OPTION[name]: device}


def _open(model: Path, spec: str, threads: int | None) -> Backend:
    name = spec.partition(":")[0]
    cls = select_backend(model, None if name == "auto" else name)
    opts = _device_opts(cls.name, spec)
    if threads and cls.name == "onnxruntime":
        opts["threads"] = threads
    return cls.load(model, **opts)


def _model_input(backend: Backend, batch: int, hw: tuple[int, int]) -> np.ndarray:
    rng = np.random.default_rng(0)
    if backend.artifact.input_kind == "frame":
        return rng.integers(0, 256, (batch, *hw, 3), dtype=np.uint8)
    return rng.random((batch, 3, *hw), dtype=np.float32)


def pending(model: Path, role: str, backend: str, precision: str, batch: int,
            hw: tuple[int, ...]) -> ConfigResult:
    """A configuration not measured yet (status "error" until a measurement replaces it)."""
    cid = f"{model.name}/{backend}/{precision}/b{batch}/{'x'.join(map(str, hw)) or '?'}"
    return ConfigResult(id=cid, model=str(model), role=role, backend=backend,  # type: ignore[arg-type]
                        precision=precision, batch=batch, resolution=list(hw), status="error")


class Suite:
    """Runs a BenchPlan into a Report, telling `progress` of every step and failure."""

    def __init__(self, plan: BenchPlan, progress: Progress | None = None) -> None:
        self.plan = plan
        self.progress = progress or Progress()
        self.gpu: GpuProbe | None = None
        self.samples: list[Any] | None = None
        self.reference_preds: list[np.ndarray] | None = None
        self.stop_note: list[str] = []
        self.checked = False  # check_inputs passed

    # -- one configuration --------------------------------------------------------------------
    def _failed(self, base: ConfigResult, error: str) -> ConfigResult:
        self.progress.warn(f"{base.id}: {error}")
        return replace(base, status="error", error=error)

    def _time(self, base: ConfigResult, call: Callable[[], object], size_of: Path) -> ConfigResult:
        self.progress.start(f"{base.id} (model only)", self._steps())
        with PeakSampler(self.gpu) as mem:
            samples = time_calls(call, self.plan.budget, on_step=self.progress.advance)
        stats = summarize(samples)
        peak = mem.result
        assert peak is not None
        return replace(
            base, status="ok", latency=stats, throughput_ips=throughput(base.batch, stats.mean),
            memory=MemoryResult(model_size_mb=file_size_mb(size_of), **vars(peak)),
        )

    def _steps(self) -> int | None:
        return self.plan.budget.iters

    # -- a model on one backend -------------------------------------------------------------
    def _group(self, model: Path, spec: str) -> Iterator[ConfigResult]:
        plan = self.plan
        label = spec if spec != "auto" else "auto"
        try:
            backend = _open(model, spec, plan.threads)
        except UserError as exc:
            for hw in plan.resolutions or ((),):
                for b in plan.batches:
                    yield self._failed(pending(model, "toolkit", label, "-", b, hw), str(exc))
            return
        with backend:
            art = backend.artifact
            label = backend.name if spec == "auto" else spec
            default_hw = tuple(art.preprocess.size) if art.input_kind == "image" else FRAME_DEFAULT_HW
            if plan.precisions and art.precision not in plan.precisions:
                for b in plan.batches:
                    base = pending(model, "toolkit", label, art.precision, b, default_hw)
                    yield self._failed(base, f"{model.name} holds {art.precision} weights, not "
                                       f"{' or '.join(plan.precisions)} (--precision); export or build "
                                       "a model of that precision and pass its file")
                return
            first = True
            for hw in plan.resolutions or (default_hw,):
                for b in plan.batches:
                    base = pending(model, "toolkit", label, art.precision, b, hw)
                    try:
                        x = _model_input(backend, b, hw)
                        backend.infer(x)  # a shape the model refuses fails here, in one line
                        result = self._time(base, lambda: backend.infer(x), model)
                        if first:
                            result = self._extras(result, backend)
                            first = False
                    except (UserError, RunFailure) as exc:  # RunFailure: a live source died
                        yield self._failed(base, str(exc))
                        continue
                    except MemoryError as exc:  # a batch x input this machine cannot hold
                        yield self._failed(base, f"out of memory: {exc}" if str(exc) else "out of memory")
                        continue
                    yield result

    def _extras(self, result: ConfigResult, backend: Backend) -> ConfigResult:
        """Pipeline, accuracy and reference agreement: once per model and backend."""
        plan = self.plan
        if plan.video is not None:
            from .pipeline import bench_pipeline

            self.progress.start(f"{result.id} (pipeline)", self._steps())
            result = replace(result, pipeline=bench_pipeline(backend, plan.video, plan.budget,
                                                             on_frame=self.progress.advance))
        if plan.streams is not None and plan.video is not None and not signals.requested():
            spec = plan.streams
            self.progress.start(f"{result.id} (streams)", 2 * len(spec.counts) * (spec.rounds + 1))
            result = replace(result, streams=bench_streams(backend, plan.video, spec, on_run=self.progress.advance))
        if plan.live is not None and not signals.requested():
            self.progress.start(f"{result.id} (live)", None)
            result = replace(result, live=bench_live(backend, plan.live, on_frame=self.progress.advance))
        return self._scores(result, lambda samples: acc.predict_all(backend, samples, self.progress.advance))

    def _scores(self, result: ConfigResult, predict: Callable[[list[Any]], list[np.ndarray]]) -> ConfigResult:
        plan = self.plan
        samples = self._samples()
        if samples:
            self.progress.start(f"{result.id} (accuracy)", len(samples))
            preds = predict(samples)
            if plan.data is not None:
                result = replace(result, accuracy=acc.score(preds, samples, self._protocol(), plan.data))
            if plan.reference is not None:
                result = replace(result, agreement=acc.agreement(preds, self._reference_preds(samples),
                                                                 plan.reference.name))
        return result

    def _protocol(self) -> Protocol:
        return get_protocol(self.plan.protocol)

    def _samples(self) -> list[Any]:
        """The evaluation images: --data, or 8 synthetic frames when only --reference is given."""
        if self.samples is None:
            plan = self.plan
            spec = plan.data or ("synthetic:8" if plan.reference is not None else None)
            self.samples = list(acc.open_dataset(spec)) if spec else []
        return self.samples

    def _reference_preds(self, samples: list[Any]) -> list[np.ndarray]:
        if self.reference_preds is None:
            with _open(self.plan.reference, "auto", self.plan.threads) as ref:  # type: ignore[arg-type]
                self.reference_preds = acc.predict_all(ref, samples, lambda: None)
        return self.reference_preds

    # -- the torch-eager baseline -----------------------------------------------------------
    def _baseline(self) -> Iterator[ConfigResult]:
        plan = self.plan
        ckpt = plan.checkpoint
        try:
            from .baseline import open_baseline

            eager = open_baseline(str(plan.baseline), ckpt, plan.threads)
        except UserError as exc:
            for hw in plan.resolutions or ((),):
                for b in plan.batches:
                    base = pending(Path(str(ckpt)), "baseline", str(plan.baseline), "fp32", b, hw)
                    yield self._failed(base, str(exc))
            return
        first = True
        for hw in plan.resolutions or (eager.size,):
            for b in plan.batches:
                base = pending(eager.path, "baseline", eager.name, "fp32", b, hw)
                try:
                    x = eager.input(b, hw)
                    eager.forward(x)
                except Exception as exc:  # torch raises RuntimeError for a shape the model refuses
                    yield self._failed(base, f"torch: {str(exc).strip().splitlines()[0]}")
                    continue
                result = self._time(base, lambda: eager.forward(x), eager.path)
                if first:
                    if plan.video is not None:
                        self.progress.start(f"{base.id} (pipeline)", self._steps())
                        result = replace(result, pipeline=eager.bench_pipeline(
                            plan.video, plan.budget, on_frame=self.progress.advance))
                    result = self._scores(
                        result, lambda samples: eager.predict_all(samples, self.progress.advance))
                first = False
                yield result
        eager.close()

    # -- the whole plan -------------------------------------------------------------------------
    def check_inputs(self) -> None:
        """Fail the whole run early (one line) on a flag every configuration depends on; call
        it before showing progress (`run` calls it when it was not)."""
        plan = self.plan
        if plan.reference is not None:
            try:
                select_backend(plan.reference).inspect(plan.reference)
            except UserError as exc:
                raise UserError(f"--reference {plan.reference}: {exc}") from None
        if plan.video is not None:
            from ..runtime.sources import open_source

            with open_source(str(plan.video)) as video:
                if plan.streams is not None:
                    plan.streams.check_source(video)
        if plan.live is not None:
            plan.live.open().close()
        get_protocol(plan.protocol)
        self._samples()
        self.checked = True

    def run(self, command: str | None = None) -> Report:
        plan = self.plan
        if not self.checked:
            self.check_inputs()
        self.gpu = open_gpu_probe()
        try:
            configs = self._measure_all()
        finally:
            if self.gpu is not None:
                self.gpu.close()
        b = plan.budget
        system = system_info()
        return Report(
            created_utc=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            command=command or "moadepth-edge bench " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
            budget={"warmup": b.warmup, "iters": b.iters, "seconds": b.seconds, "threads": plan.threads},
            system=system,
            configs=with_speedups(configs),
            notes=busy_note(system) + self.stop_note,
        )

    def _measure_all(self) -> list[ConfigResult]:
        """Every configuration in order; a signal ends the run after the current one."""
        plan = self.plan
        groups = [self._group(model, spec) for model in plan.models for spec in plan.backends]
        if plan.baseline is not None:
            groups.append(self._baseline())
        configs: list[ConfigResult] = []
        for group in groups:
            for config in group:
                configs.append(config)
                if signals.requested():
                    self.stop_note = [f"Stopped by {signals.signal_name(signals.requested())} after "
                                      f"{len(configs)} configuration(s); the rest were not measured."]
                    return configs
        return configs


def busy_note(system: dict[str, Any]) -> list[str]:
    """A warning in the report when the machine was already loaded when the run began."""
    load, cores = system.get("load_avg_1m") or 0.0, system.get("cpu_cores_logical") or 1
    if load < 0.5 * cores:
        return []
    return [f"The machine was busy when this run started (load average {load} on {cores} CPU threads): "
            "other processes competed for the CPU, so tails (p99, max, std) are inflated."]


def with_speedups(configs: list[ConfigResult]) -> list[ConfigResult]:
    """Fill each measured configuration's speed-up over the baseline at the same batch and input
    size (model: baseline p50 / ours, the typical call, robust to a few slow calls on a busy
    machine; pipeline: our FPS / the baseline's)."""
    base = {(c.batch, tuple(c.resolution)): c for c in configs if c.role == "baseline" and c.status == "ok"}
    base_pipe = next((c.pipeline for c in configs if c.role == "baseline" and c.pipeline), None)
    out = []
    for c in configs:
        ref = base.get((c.batch, tuple(c.resolution)))
        if c.role == "toolkit" and c.status == "ok":
            if ref is not None and ref.latency and c.latency:
                c = replace(c, speedup_model=round(ref.latency.p50 / c.latency.p50, 3))
            if base_pipe is not None and c.pipeline is not None:
                c = replace(c, speedup_pipeline=round(c.pipeline.fps / base_pipe.fps, 3))
        out.append(c)
    return out
