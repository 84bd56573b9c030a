"""Hostile input to `train`, `eval` and `info`: every mistake is exit 2 with exactly one
`error:` line on stderr, no traceback, nothing half-written, and no pickle from disk is ever
opened (a planted one would create a marker file).

Most cases call the CLI in-process (`main([...])`, the same code path as the console script);
a few representative ones run the real `python -m moadepth_edge` in a subprocess."""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from moadepth_edge.cli.main import main

REPO = Path(__file__).resolve().parents[2]
TINY = ["--preset", "moadepth-tiny", "--data", "synthetic:8", "--synthetic-size", "24x32", "--batch-size", "4",
        "--lr", "1e-3", "--workers", "0", "--eval-limit", "2", "--no-progress"]
PROC = Path("/proc/moadepth-no-such-dir")  # root cannot create anything under /proc


class _Planted:
    """Unpickling this creates `marker`: proof that a file was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.fixture()
def marker(tmp_path) -> Path:
    return tmp_path / "PWNED"


def _plant(path: Path, marker: Path, zipped: bool = False) -> Path:
    """A malicious pickle at `path` (raw, or torch.save's zip format as a .pt would be)."""
    if zipped:
        import torch
        torch.save({"step": _Planted(marker)}, path)
    else:
        path.write_bytes(pickle.dumps(_Planted(marker)))
    return path


def test_the_planted_pickle_really_runs_code(tmp_path, marker):
    pickle.loads(_plant(tmp_path / "p.pkl", marker).read_bytes())
    assert marker.exists()  # so the marker's absence below means: never unpickled


def _one_error(capsys, *words: str) -> str:
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for w in words:
        assert w in lines[0], lines[0]
    return out


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bad") / "run"
    assert main(["train", *TINY, "--epochs", "1", "--out", str(out)]) == 0
    return out


@pytest.fixture()
def run(run_dir, tmp_path) -> Path:
    """A fresh copy of the trained run, to damage."""
    return Path(shutil.copytree(run_dir, tmp_path / "run"))


# ---------------------------------------------------------------------------------------------
# train: options, checked before anything is read or created

@pytest.mark.parametrize("args,words", [
    (["--batch-size", "0"], ["--batch-size", ">= 1"]),
    (["--lr", "-0.01"], ["--lr", "> 0"]),
    (["--lr", "0"], ["--lr", "> 0"]),
    (["--epochs", "-1"], ["--epochs", ">= 0"]),
    (["--weight-decay", "-1"], ["--weight-decay"]),
    (["--warmup-steps", "-1"], ["--warmup-steps"]),
    (["--grad-clip", "-1"], ["--grad-clip"]),
    (["--eval-every", "0"], ["--eval-every"]),
    (["--eval-limit", "-5"], ["--eval-limit"]),
    (["--workers", "-1"], ["--workers"]),
    (["--save-every", "-2"], ["--save-every"]),
    (["--depth-scale", "-1000"], ["--depth-scale"]),
    (["--schedule", "linear"], ["--schedule", "constant, cosine or onecycle"]),
    (["--synthetic-size", "0x32"], ["--synthetic-size", "1..4096"]),
    (["--synthetic-size", "100000x32"], ["--synthetic-size", "1..4096"]),
    (["--synthetic-size", "24by32"], ["--synthetic-size", "HEIGHTxWIDTH"]),
    (["--synthetic-size", "1x2x3"], ["--synthetic-size"]),
    (["--device", "gpu"], ["--device", "auto, cpu, cuda"]),
    (["--device", "cuda:7"], ["--device cuda:7"]),
    (["--batch-size", "many"], ["--batch-size"]),
    (["--preset", "moadepth-huge"], ["unknown preset"]),
    (["--data", "nope:/x"], ["unknown data kind"]),
    (["--data", "synthetic:many"], ["synthetic:N"]),
    (["--data", "synthetic:0"], ["positive frame count"]),
    (["--data", "nyu:/no/such/place"], ["not found"]),
    (["--data", f"nyu:{REPO / 'docs' / 'real_frame.png'}"], ["not a text list"]),
    (["--data", f"densedepth:{REPO / 'docs' / 'real_frame.png'}"], ["not a CSV text file"]),
    (["--lr", "inf"], ["--lr", "finite"]),
    (["--batch-size", "9"], ["--batch-size 9 is more than the 8 training samples"]),
    (["--clip", "no-such-tag"], ["--clip no-such-tag", "neither a pretrained tag"]),
])
def test_train_bad_options(tmp_path, capsys, args, words):
    out = tmp_path / "new"
    args = [*TINY, *args]
    assert main(["train", *args, "--out", str(out)]) == 2
    _one_error(capsys, *words)
    assert not out.exists()  # refused before it started: nothing left behind


def _unwritable_dir(tmp_path: Path) -> Path:
    if os.geteuid() == 0:
        pytest.skip("root writes into a 0o500 folder; /proc covers an unwritable place")
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    return ro / "run"


@pytest.mark.parametrize("where,words", [
    (lambda t: (t / "file").write_text("x") and t / "file", ["is a file"]),
    (lambda t: (t / "file").write_text("x") and t / "file" / "run", ["is a file, not a folder"]),
    (lambda t: PROC / "run", ["cannot create folder"]),
    (_unwritable_dir, ["cannot write"]),
], ids=["a-file", "under-a-file", "proc", "read-only"])
def test_train_unwritable_out(tmp_path, capsys, where, words):
    out = where(tmp_path)
    before = _files(tmp_path)
    assert main(["train", *TINY, "--out", str(out)]) == 2
    _one_error(capsys, "--out", *words)
    assert _files(tmp_path) == before


@pytest.mark.parametrize("name,zipped,words", [
    ("clip.pt", True, ["PyTorch pickle", "only .safetensors"]),
    ("clip.bin", False, ["PyTorch pickle"]),
    ("clip.safetensors", False, ["PyTorch pickle"]),  # a pickle under a safetensors name
])
def test_clip_pickles_are_refused_unopened(tmp_path, capsys, marker, name, zipped, words):
    weights = _plant(tmp_path / name, marker, zipped)
    assert main(["train", *TINY, "--clip", str(weights), "--out", str(tmp_path / "new")]) == 2
    _one_error(capsys, f"--clip {weights}", *words)
    assert not marker.exists() and not (tmp_path / "new").exists()


def test_clip_garbage_and_folder_are_refused(tmp_path, capsys):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(np.random.default_rng(1).bytes(5000))
    assert main(["train", *TINY, "--clip", str(junk), "--out", str(tmp_path / "a")]) == 2
    _one_error(capsys, "not a valid safetensors file")
    assert main(["train", *TINY, "--clip", str(tmp_path), "--out", str(tmp_path / "b")]) == 2
    _one_error(capsys, "is not a file")


# ---------------------------------------------------------------------------------------------
# train --resume: a damaged run, a planted pickle, options that would change the run

def _edit_config(run: Path, change) -> None:
    path = run / "last" / "config.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _edit_state(run: Path, change) -> None:
    path = run / "last" / "trainer_state.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


RESUME_DAMAGE = {
    "no-last": (lambda r: shutil.rmtree(r / "last"), ["nothing to resume"]),
    "state-json-missing": (lambda r: (r / "last" / "trainer_state.json").unlink(), ["nothing to resume"]),
    "state-json-truncated": (lambda r: _truncate(r / "last" / "trainer_state.json"), ["corrupt trainer state"]),
    "state-json-wrong-shape": (lambda r: (r / "last" / "trainer_state.json").write_text('{"step": 1}'),
                               ["missing TrainerState field"]),
    "state-tensors-empty": (lambda r: (r / "last" / "trainer_state.safetensors").write_bytes(b""),
                            ["corrupt trainer state"]),
    "state-tensors-random": (lambda r: (r / "last" / "trainer_state.safetensors").write_bytes(
        np.random.default_rng(2).bytes(9000)), ["corrupt trainer state"]),
    "config-truncated": (lambda r: _truncate(r / "last" / "config.json"), ["corrupt checkpoint config"]),
    "config-empty": (lambda r: (r / "last" / "config.json").write_text(""), ["corrupt checkpoint config"]),
    "config-a-list": (lambda r: (r / "last" / "config.json").write_text("[1, 2]"), ["expected a JSON object"]),
    "config-no-extra": (lambda r: _edit_config(r, lambda d: d.pop("extra")), ["not written by the trainer"]),
    "n_bins-many": (lambda r: _edit_config(r, lambda d: d["model_cfg"]["bins"].update(n_bins="many")),
                    ["config.json: model_cfg.bins.n_bins: expected an integer"]),
    "layers-99": (lambda r: _edit_config(r, lambda d: d["model_cfg"]["moa"].update(layers=[1, 99])),
                  ["config.json: model_cfg.moa.layers: blocks [99] do not exist in the 4-block"]),
    "fusion-max": (lambda r: _edit_config(r, lambda d: d["model_cfg"]["head"].update(fusion="max")),
                   ["model_cfg.head.fusion: expected one of 'gate', 'mean'"]),
    "size-negative": (lambda r: _edit_config(r, lambda d: d["model_cfg"]["preprocess"].update(size=[-64, 64])),
                      ["model_cfg.preprocess.size"]),
    "lr-fast": (lambda r: _edit_config(r, lambda d: d["extra"]["train_cfg"].update(lr="fast")),
                ["extra.train_cfg.lr: expected a number"]),
    "run-size-zero": (lambda r: _edit_config(r, lambda d: d["extra"]["run"].update(synthetic_size=[0, 5])),
                      ["extra.run.synthetic_size"]),
    "n_bins-huge": (lambda r: _edit_config(r, lambda d: d["model_cfg"]["bins"].update(n_bins=10**12)),
                    ["model_cfg.bins.n_bins: must be <= 4096"]),
    "experts-huge": (lambda r: _edit_config(r, lambda d: d["model_cfg"]["moa"].update(num_experts=10**6)),
                     ["model_cfg.moa.num_experts: must be <= 64"]),
    "max-depth-huge": (lambda r: _edit_config(r, lambda d: d["model_cfg"]["bins"].update(max_depth=1e300)),
                       ["model_cfg.bins.max_depth: must be <= 10000"]),
    "state-lr-a-string": (lambda r: _edit_state(r, lambda d: d["optimizer"]["param_groups"][0].update(lr="x")),
                          ["does not fit this run", "'lr' is 'x'"]),
    "weights-missing": (lambda r: (r / "last" / "model.safetensors").unlink(), ["no model.safetensors"]),
    "weights-truncated": (lambda r: _truncate(r / "last" / "model.safetensors"), ["corrupt checkpoint weights"]),
}


@pytest.mark.parametrize("damage", sorted(RESUME_DAMAGE))
def test_resume_damaged_run(run, capsys, damage):
    change, words = RESUME_DAMAGE[damage]
    change(run)
    before = _files(run)
    assert main(["train", "--resume", "--out", str(run), "--no-progress"]) == 2
    _one_error(capsys, *words)
    assert _files(run) == before


@pytest.mark.parametrize("target", ["old-state", "state-tensors", "weights"])
def test_resume_never_unpickles_a_planted_file(run, capsys, marker, target):
    last = run / "last"
    if target == "old-state":  # an earlier version's run, or an attacker's file
        for name in ("trainer_state.json", "trainer_state.safetensors"):
            (last / name).unlink()
        _plant(last / "trainer_state.pt", marker, zipped=True)
        words = ["trainer_state.pt", "old pickle format and is never loaded"]
    elif target == "state-tensors":
        _plant(last / "trainer_state.safetensors", marker)
        words = ["corrupt trainer state"]
    else:
        _plant(last / "model.safetensors", marker)
        words = ["corrupt checkpoint weights"]
    assert main(["train", "--resume", "--out", str(run), "--no-progress"]) == 2
    _one_error(capsys, *words)
    assert not marker.exists()


@pytest.mark.parametrize("args,words", [
    (["--lr", "0.01"], ["--lr 0.01 (the run has --lr 0.001)"]),
    (["--preset", "moadepth-vitb32", "--batch-size", "2"],
     ["--preset moadepth-vitb32 (the run has --preset moadepth-tiny)", "--batch-size 2 (the run has --batch-size 4)"]),
    (["--data", "synthetic:9", "--no-augment", "--synthetic-size", "30x30"],
     ["--data synthetic:9", "--no-augment (the run has --augment)", "--synthetic-size 30x30 (the run has --synthetic-size 24x32)"]),
    (["--augment-input"], ["--augment-input (the run has --no-augment-input)"]),
    (["--clip", "none", "--seed", "5", "--schedule", "cosine"], ["--seed 5", "--schedule cosine"]),
    (["--epochs", "0"], ["--epochs 0 ends before step 2", "--epochs 1 or more"]),
])
def test_resume_refuses_changes(run, capsys, args, words):
    before = _files(run)
    assert main(["train", "--resume", "--out", str(run), *args]) == 2
    _one_error(capsys, *words)
    assert _files(run) == before


def test_resume_accepts_the_original_options(run, capsys):
    """Repeating the first command with --resume is no conflict (here: nothing left to do)."""
    assert main(["train", *TINY, "--epochs", "1", "--resume", "--out", str(run)]) == 0
    assert "error" not in capsys.readouterr().err


def test_resume_of_a_missing_run(tmp_path, capsys):
    assert main(["train", "--resume", "--out", str(tmp_path / "none")]) == 2
    _one_error(capsys, "no run in")
    assert not (tmp_path / "none").exists()


# ---------------------------------------------------------------------------------------------
# eval and info

@pytest.mark.parametrize("args,words", [
    (["--limit", "0"], ["--limit", ">= 1"]),
    (["--limit", "-3"], ["--limit"]),
    (["--batch-size", "0"], ["--batch-size"]),
    (["--max-depth", "0"], ["--max-depth"]),
    (["--device", "tpu"], ["--device"]),
    (["--protocol", "mine"], ["unknown protocol"]),
])
def test_eval_bad_options(run_dir, capsys, args, words):
    assert main(["eval", str(run_dir), "--data", "synthetic:2", *args]) == 2
    out = _one_error(capsys, *words)
    assert "RMSE" not in out  # refused before evaluating


@pytest.mark.parametrize("where,words", [
    (lambda t: t, ["is a folder"]),
    (lambda t: (t / "file").write_text("x") and t / "file" / "m.json", ["is a file, not a folder"]),
    (lambda t: PROC / "m.json", ["--json"]),
], ids=["a-folder", "under-a-file", "proc"])
def test_eval_unwritable_json_is_refused_before_evaluating(run_dir, tmp_path, capsys, where, words):
    target = where(tmp_path)
    before = _files(tmp_path)
    assert main(["eval", str(run_dir), "--data", "synthetic:2", "--json", str(target)]) == 2
    out = _one_error(capsys, "--json", *words)
    assert "RMSE" not in out and _files(tmp_path) == before


CKPT_DAMAGE = {k: RESUME_DAMAGE[k] for k in (
    "config-truncated", "config-empty", "config-a-list", "n_bins-many", "layers-99", "fusion-max",
    "size-negative", "weights-missing", "weights-truncated")}
CKPT_DAMAGE["weights-random"] = (lambda r: (r / "last" / "model.safetensors").write_bytes(
    np.random.default_rng(3).bytes(4096)), ["corrupt checkpoint weights"])
CKPT_DAMAGE["weights-empty"] = (lambda r: (r / "last" / "model.safetensors").write_bytes(b""),
                                ["corrupt checkpoint weights"])


@pytest.mark.parametrize("verb", ["eval", "info"])
@pytest.mark.parametrize("damage", sorted(CKPT_DAMAGE))
def test_damaged_checkpoint(run, capsys, verb, damage):
    change, words = CKPT_DAMAGE[damage]
    change(run)
    args = ["eval", str(run / "last"), "--data", "synthetic:2"] if verb == "eval" else ["info", str(run / "last")]
    assert main(args) == 2
    _one_error(capsys, *words)


def test_info_of_a_file_or_nothing(tmp_path, capsys):
    (tmp_path / "model.safetensors").write_bytes(b"\x00" * 16)
    assert main(["info", str(tmp_path / "model.safetensors")]) == 2
    _one_error(capsys, "neither a checkpoint folder nor a preset")
    assert main(["info", str(tmp_path)]) == 2
    _one_error(capsys, "no config.json")


# ---------------------------------------------------------------------------------------------
# the real console entry point, in subprocesses

def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "MOADEPTH_LOG_DIR": str(cwd / "logs")}
    return subprocess.run([sys.executable, "-m", "moadepth_edge", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _one_error_line(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-2000:]
    for w in words:
        assert w in lines[0]


@pytest.mark.slow  # four interpreters importing torch: ~10 s idle
def test_real_cli_refusals(run, tmp_path, marker):
    _one_error_line(_cli("train", *TINY, "--batch-size", "0", "--out", "new", cwd=tmp_path), "--batch-size")
    assert not (tmp_path / "new").exists()

    _one_error_line(_cli("eval", str(run), "--data", "synthetic:2", "--json", str(tmp_path), cwd=tmp_path),
                    "--json", "is a folder")

    _one_error_line(_cli("train", "--resume", "--out", str(run), "--lr", "5", cwd=tmp_path), "--lr 5.0")
    _plant(run / "last" / "trainer_state.safetensors", marker)
    _one_error_line(_cli("train", "--resume", "--out", str(run), cwd=tmp_path), "corrupt trainer state")
    assert not marker.exists()

    RESUME_DAMAGE["n_bins-many"][0](run)
    _one_error_line(_cli("info", str(run / "last"), cwd=tmp_path), "model_cfg.bins.n_bins")
    assert not (tmp_path / "logs").exists()  # no crash logs: every refusal was an expected one


def test_a_disk_that_fills_while_checkpointing_is_a_write_failure(tmp_path):
    """safetensors reports a full disk as its own error type: it is still one `cannot write`
    line naming the file, exit 1, and no half-written last/ (here: a 256 KiB file-size limit)."""
    import resource
    import signal

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))

    from cli_helpers import assert_one_error, run_cli

    out = tmp_path / "run"
    proc = run_cli("train", *TINY, "--epochs", "1", "--out", out, preexec_fn=limited)
    line = assert_one_error(proc.returncode, proc.stderr, expected_rc=1)
    assert line.startswith(f"error: cannot write {out}") and "model.safetensors: File too large" in line
    assert not (out / "last").exists() and not list(out.glob(".last.tmp-*"))
