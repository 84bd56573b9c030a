"""Output paths, checked before the work starts, and writes that are checked and atomic.

`output_dir` / `output_file` turn every way an output can be wrong (an existing file of the
other kind, an unwritable or read-only folder, a path under a file) into one UserError before
any work is done. `write_text` / `write_bytes` / `replace_from` write through a temp file in the
same folder and rename it into place, so a reader never sees half a file; any OSError on the
way (disk full, folder gone) becomes WriteFailed naming the file. Torch-free.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterator

from . import signals
from .errors import UserError, WriteFailed


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _probe_writable(folder: Path, flag: str, what: Path) -> None:
    """Create and remove a file in `folder`: the only test that is right on read-only mounts,
    /proc, ACLs and root (os.access says yes to root on a read-only file system)."""
    try:
        fd, name = tempfile.mkstemp(prefix=".moadepth-probe-", dir=folder)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise UserError(f"{flag} {what}: cannot write in {folder} ({_reason(exc)})") from None


def nearest_existing(folder: Path) -> Path:
    """`folder` or the nearest of its parents that exists (what a check before the work probes)."""
    return next((p for p in (folder, *folder.parents) if p.exists()), Path(folder.anchor or "."))


def _existing_ancestor(folder: Path, flag: str, what: Path) -> Path:
    """nearest_existing(folder); a file in the way is a UserError."""
    for parent in (folder, *folder.parents):
        if parent.exists() and not parent.is_dir():
            raise UserError(f"{flag} {what}: {parent} is a file, not a folder")
    return nearest_existing(folder)


def _make_dir(folder: Path, flag: str, what: Path) -> None:
    _existing_ancestor(folder, flag, what)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{flag} {what}: cannot create folder {folder} ({_reason(exc)})") from None


def _usable_dir(folder: Path, flag: str, what: Path, create: bool) -> Path:
    """`folder` created and probed, or (create=False) the folder it would be created in probed,
    so a check before the work leaves nothing behind when a later check fails."""
    if create:
        _make_dir(folder, flag, what)
        _probe_writable(folder, flag, what)
        return folder
    base = _existing_ancestor(folder, flag, what)
    _probe_writable(base, flag, what)
    return base


def output_dir(path: str | Path, flag: str = "output", create: bool = True) -> Path:
    """A folder that exists (created if needed; with create=False, that could be created) and
    can be written; else UserError."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise UserError(f"{flag} {path}: is a file, expected a folder")
    _usable_dir(path, flag, path, create)
    return path


def output_file(path: str | Path, flag: str = "output", suffixes: tuple[str, ...] = (),
                create: bool = True) -> Path:
    """A file path whose folder exists (created if needed; with create=False, could be created)
    and can be written, that is not a folder, with one of `suffixes` if given; else UserError.
    The file itself is not created."""
    path = Path(path).expanduser()
    if suffixes and path.suffix.lower() not in suffixes:
        raise UserError(f"{flag} {path}: expected a {' or '.join(suffixes)} file")
    if path.is_dir():
        raise UserError(f"{flag} {path}: is a folder, expected a file name")
    if path.exists() and not os.path.isfile(path):
        raise UserError(f"{flag} {path}: exists and is not a regular file")
    _usable_dir(path.parent, flag, path, create)
    return path


def make_dir_for_write(folder: Path) -> None:
    """Create `folder` (checked earlier by output_dir / output_file with create=False) when the
    first file goes in, so a run that fails before writing leaves no empty folder; WriteFailed."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteFailed(folder, exc) from None


def refuse_earlier_outputs(folder: Path, patterns: tuple[str, ...], overwrite: bool, flag: str) -> None:
    """Refuse to mix runs: `folder` already holding files matching `patterns` is a UserError
    unless `overwrite` (then they are replaced as the new run writes its own)."""
    if overwrite or not folder.is_dir():
        return
    for pattern in patterns:
        first = next(iter(folder.glob(pattern)), None)
        if first is not None:
            raise UserError(f"{flag} {folder} already holds outputs of an earlier run ({first.name}); "
                            "choose an empty folder or pass --overwrite")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp path beside `path`; on success it replaces `path` (fsynced), on failure
    it is removed. OSError -> WriteFailed(path)."""
    path = Path(path)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise WriteFailed(path, exc) from None
    tmp = Path(name)
    _TEMP_FILES.add(tmp)
    try:
        yield tmp
        _publish(tmp, _umask())
        os.replace(tmp, path)
    except OSError as exc:
        raise WriteFailed(path, exc) from None
    finally:
        _TEMP_FILES.discard(tmp)
        with contextlib.suppress(OSError):
            tmp.unlink()


def _remove_temp_files() -> None:
    for tmp in list(_TEMP_FILES):
        with contextlib.suppress(OSError):
            tmp.unlink()


_TEMP_FILES: set[Path] = set()  # atomic_path's temp files not yet moved into place or removed
signals.at_force_exit(_remove_temp_files)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` atomically; WriteFailed on any OSError."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically; WriteFailed on any OSError."""
    return write_bytes(path, text.encode("utf-8"))


def write_with(path: str | Path, writer: Callable[[Path], object]) -> Path:
    """`writer(tmp_path)` writes the file (np.save, cv2.imwrite, onnx.save...), then it moves
    into place. A writer returning False (cv2.imwrite's way of failing) is a failure too."""
    with atomic_path(path) as tmp:
        if writer(tmp) is False:
            raise WriteFailed(path, "the encoder refused to write it")
    return Path(path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _publish(path: Path, mask: int) -> None:
    """Flush a written file (or every file of a folder) to disk before a rename publishes it -
    a power cut after the swap must not leave empty files under the new name - and give it the
    permissions of a plain open / mkdir (temp files and folders are owner-only)."""
    if path.is_dir():
        for child in path.iterdir():
            _publish(child, mask)
        os.chmod(path, 0o777 & ~mask)
        return
    with open(path, "rb") as f:
        os.fsync(f.fileno())
    os.chmod(path, 0o666 & ~mask)


def previous_copy(folder: Path) -> Path:
    """Where the previous version of `folder` sits while a new one moves into place: a crash
    between the two renames leaves the last complete copy there."""
    return folder.with_name(f".{folder.name}.old")


def replace_dir(tmp: Path, folder: Path) -> None:
    """Move a fully written temp folder (made beside `folder`) into place; the old one goes
    only after that. OSError -> WriteFailed."""
    import shutil

    old = previous_copy(folder)
    try:
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
    except OSError as exc:
        raise WriteFailed(folder, exc) from None
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staged_dir(folder: str | Path) -> Iterator[Path]:
    """Yield a temp folder beside `folder`; on success its files are flushed and it replaces
    `folder` in one swap, on any failure it is removed and `folder` is untouched (a crash
    between the two renames leaves the previous copy at `previous_copy(folder)`). Temp folders
    of an earlier process killed mid-save are cleared first. OSError -> WriteFailed(folder)."""
    import shutil

    folder = Path(folder)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        for stale in folder.parent.glob(f".{folder.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
    except OSError as exc:
        raise WriteFailed(folder, exc) from None
    try:
        yield tmp
        _publish(tmp, _umask())
        replace_dir(tmp, folder)
    except OSError as exc:
        raise WriteFailed(folder, exc) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
