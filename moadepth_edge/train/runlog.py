"""A run's logs: metrics.jsonl (every record), train.csv and eval.csv (flat tables), and
TensorBoard scalars when tensorboard is installed. A resumed run first drops the records
written after its checkpoint, so the logs read as one uninterrupted run."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any


class RunLog:
    def __init__(self, folder: str | Path, resume_step: int | None = None, tensorboard: bool = True) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.jsonl = self.folder / "metrics.jsonl"
        records = self.read() if resume_step is not None else []
        self.records = [r for r in records if r["step"] <= (resume_step or 0)]
        self.jsonl.write_text("".join(json.dumps(r) + "\n" for r in self.records))
        self._write_csvs()
        self.tb = _tensorboard(self.folder / "tb") if tensorboard else None

    def read(self) -> list[dict[str, Any]]:
        if not self.jsonl.is_file():
            return []
        return [json.loads(line) for line in self.jsonl.read_text().splitlines() if line.strip()]

    def log(self, kind: str, step: int, epoch: int, values: dict[str, float]) -> None:
        record = {"kind": kind, "step": step, "epoch": epoch, **values}
        self.records.append(record)
        with self.jsonl.open("a") as f:
            f.write(json.dumps(record) + "\n")
        self._write_csvs(kind)
        if self.tb is not None:
            for k, v in values.items():
                self.tb.add_scalar(f"{kind}/{k}", v, step)

    def _write_csvs(self, only: str | None = None) -> None:
        for kind in (only,) if only else ("train", "eval"):
            rows = [r for r in self.records if r["kind"] == kind]
            path = self.folder / f"{kind}.csv"
            if not rows:
                path.unlink(missing_ok=True)
                continue
            keys = list(dict.fromkeys(k for r in rows for k in r if k != "kind"))
            with path.open("w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=keys)
                w.writeheader()
                w.writerows({k: r.get(k, "") for k in keys} for r in rows)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def _tensorboard(folder: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return None
    return SummaryWriter(str(folder))
