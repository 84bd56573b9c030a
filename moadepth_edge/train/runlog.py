"""A run's logs: metrics.jsonl (every record), train.csv and eval.csv (flat tables), and
TensorBoard scalars when tensorboard is installed. A resumed run first drops the records
written after its checkpoint, so the logs read as one uninterrupted run.

Every write is checked: an OSError (disk full, folder gone) is WriteFailed naming the file.
Files that are rewritten (the CSVs, the trimmed JSONL on resume) are replaced atomically; the
JSONL grows by appends, each flushed, so a crash loses at most the record being written.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from ..errors import CheckpointError, WriteFailed
from ..outputs import write_text


class RunLog:
    def __init__(self, folder: str | Path, resume_step: int | None = None, tensorboard: bool = True) -> None:
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WriteFailed(self.folder, exc) from None
        self.jsonl = self.folder / "metrics.jsonl"
        records = self.read() if resume_step is not None else []
        self.records = [r for r in records if r["step"] <= (resume_step or 0)]
        write_text(self.jsonl, "".join(json.dumps(r) + "\n" for r in self.records))
        self._write_csvs()
        self.tb = _tensorboard(self.folder / "tb") if tensorboard else None

    def read(self) -> list[dict[str, Any]]:
        """The records in metrics.jsonl; a torn last line (a crash mid-append) is dropped."""
        if not self.jsonl.is_file():
            return []
        lines = [line for line in self.jsonl.read_text(errors="replace").splitlines() if line.strip()]
        records = []
        for i, line in enumerate(lines):
            try:
                record = json.loads(line)
            except ValueError:
                if i == len(lines) - 1:
                    break
                raise CheckpointError(f"{self.jsonl} line {i + 1} is not JSON; move the file aside to resume") from None
            if not isinstance(record, dict) or not isinstance(record.get("step"), int) or "kind" not in record:
                raise CheckpointError(f"{self.jsonl} line {i + 1} is not a metrics record; "
                                      "move the file aside to resume")
            records.append(record)
        return records

    def log(self, kind: str, step: int, epoch: int, values: dict[str, float]) -> None:
        record = {"kind": kind, "step": step, "epoch": epoch, **values}
        self.records.append(record)
        try:
            with self.jsonl.open("a") as f:
                f.write(json.dumps(record) + "\n")
        except OSError as exc:
            raise WriteFailed(self.jsonl, exc) from None
        self._write_csvs(kind)
        if self.tb is not None:
            for k, v in values.items():
                self.tb.add_scalar(f"{kind}/{k}", v, step)

    def _write_csvs(self, only: str | None = None) -> None:
        for kind in (only,) if only else ("train", "eval"):
            rows = [r for r in self.records if r["kind"] == kind]
            path = self.folder / f"{kind}.csv"
            if not rows:
                try:
                    path.unlink(missing_ok=True)
                except OSError as exc:
                    raise WriteFailed(path, exc) from None
                continue
            keys = list(dict.fromkeys(k for r in rows for k in r if k != "kind"))
            text = io.StringIO(newline="")
            w = csv.DictWriter(text, fieldnames=keys)
            w.writeheader()
            w.writerows({k: r.get(k, "") for k in keys} for r in rows)
            write_text(path, text.getvalue())

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def _tensorboard(folder: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return None
    return SummaryWriter(str(folder))
