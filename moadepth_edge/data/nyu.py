"""NYU Depth V2 readers: BTS-style "sync" folders with list files, and the official
labeled `nyu_depth_v2_labeled.mat` (HDF5 / MATLAB v7.3) with `splits.mat`.

BTS list lines are `rgb depth focal`, paths relative to a data root (the train list's
leading '/' included); depth PNGs are uint16 millimetres, 0 = no Kinect return.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from .._lazy import lazy_import
from ..errors import UserError
from .files import read_list_file, resolve
from .matv5 import read_mat_arrays
from .pairs import Pair, PairReader
from .sample import DepthReader, Sample, make_sample, nyu_intrinsics

NYU_MAX_DEPTH = 10.0


class NYUSyncReader(PairReader):
    """NYU "sync" pairs from a BTS list file.

    list_file: `rgb depth focal` per line (e.g. BTS's nyudepthv2_test_files_with_gt.txt).
    root: folder the listed paths are relative to (default: the list file's folder).
    Lines whose depth is `None` (no ground truth) are skipped; every other listed file must
    exist, checked up front so a long run does not fail hours in. Intrinsics are NYU's
    calibration with fx from the list's focal column.
    """

    kind = "nyu-sync"

    def __init__(
        self,
        list_file: str | Path,
        root: str | Path | None = None,
        *,
        min_depth: float = 1e-3,
        max_depth: float = NYU_MAX_DEPTH,
        depth_scale: float = 1000.0,
    ) -> None:
        list_file = Path(list_file)
        root = Path(root) if root is not None else list_file.parent
        if not root.is_dir():
            raise UserError(f"NYU data root is not a folder: {root}")
        pairs = []
        for lineno, fields in enumerate(read_list_file(list_file), 1):
            if fields[1] == "None":
                continue
            pairs.append(Pair(
                resolve(root, fields[0], list_file, lineno),
                resolve(root, fields[1], list_file, lineno),
                nyu_intrinsics(focal=_parse_focal(fields, list_file, lineno)),
            ))
        self.list_file = list_file
        super().__init__(pairs, root, depth_scale=depth_scale, min_depth=min_depth,
                         max_depth=max_depth, source=str(list_file))


def _parse_focal(fields: list[str], list_file: Path, lineno: int) -> float | None:
    if len(fields) < 3:
        return None
    try:
        return float(fields[2])
    except ValueError:
        raise UserError(f"{list_file}:{lineno}: focal {fields[2]!r} is not a number") from None


def nyu_list_in(folder: str | Path, split: str) -> Path:
    """The list file of `split` in a folder: `{split}_files.txt` or BTS's
    `nyudepthv2_{split}_files_with_gt.txt`."""
    folder = Path(folder)
    for name in (f"{split}_files.txt", f"nyudepthv2_{split}_files_with_gt.txt"):
        if (folder / name).is_file():
            return folder / name
    found = sorted(p.name for p in folder.glob("*.txt"))
    raise UserError(
        f"no {split} list file in {folder} (looked for {split}_files.txt, "
        f"nyudepthv2_{split}_files_with_gt.txt; found: {', '.join(found) or 'none'}); "
        "pass the list file itself"
    )


class NYULabeledReader(DepthReader):
    """The official labeled set: 1449 frames in `nyu_depth_v2_labeled.mat` (HDF5 / v7.3).

    MATLAB stores arrays column-major, so h5py sees them with the axes reversed:
    `images` is (N, 3, W, H) uint8 and `depths` (N, W, H) float32 metres.
    split: "train" (795) / "test" (654) from `splits.mat` (1-based trainNdxs / testNdxs),
    or "all". depths: "depths" (the in-painted maps used for evaluation) or "rawDepths".
    """

    kind = "nyu-mat"

    def __init__(
        self,
        mat_file: str | Path,
        splits_file: str | Path | None = None,
        *,
        split: Literal["train", "test", "all"] = "test",
        depths: Literal["depths", "rawDepths"] = "depths",
        min_depth: float = 1e-3,
        max_depth: float = NYU_MAX_DEPTH,
    ) -> None:
        h5py = lazy_import("h5py")
        self.mat_file = Path(mat_file)
        if not self.mat_file.is_file():
            raise UserError(f"labeled .mat file not found: {self.mat_file}")
        try:
            self._file = h5py.File(self.mat_file, "r")
        except OSError as exc:
            raise UserError(f"cannot open {self.mat_file} as HDF5 (MATLAB v7.3): {exc}") from None
        for key in ("images", depths):
            if key not in self._file:
                raise UserError(f"{self.mat_file} has no {key!r} dataset (keys: {sorted(self._file)})")
        self._images, self._depths = self._file["images"], self._file[depths]
        n = self._images.shape[0]
        if self._images.ndim != 4 or self._images.shape[1] != 3 or self._depths.shape[0] != n:
            raise UserError(
                f"{self.mat_file}: unexpected shapes images {self._images.shape}, "
                f"{depths} {self._depths.shape}"
            )
        self.min_depth, self.max_depth = min_depth, max_depth
        self.indices = self._split_indices(split, splits_file, n)

    def _split_indices(self, split: str, splits_file: str | Path | None, n: int) -> np.ndarray:
        if split == "all":
            return np.arange(n)
        if split not in ("train", "test"):
            raise UserError(f"split must be train, test or all, got {split!r}")
        path = Path(splits_file) if splits_file else self.mat_file.with_name("splits.mat")
        if not path.is_file():
            raise UserError(f"splits file not found: {path} (needed for split {split!r})")
        key = f"{split}Ndxs"
        arrays = read_mat_arrays(path)
        if key not in arrays:
            raise UserError(f"{path} has no {key!r} (has {sorted(arrays)})")
        idx = np.asarray(arrays[key]).reshape(-1).astype(np.int64) - 1  # MATLAB is 1-based
        if idx.size == 0 or idx.min() < 0 or idx.max() >= n:
            raise UserError(f"{path}: {key} indexes outside 1..{n}")
        return idx

    def __len__(self) -> int:
        return len(self.indices)

    def load(self, index: int) -> Sample:
        i = int(self.indices[index])
        rgb = np.ascontiguousarray(np.asarray(self._images[i]).transpose(2, 1, 0))  # (H, W, 3)
        depth = np.ascontiguousarray(np.asarray(self._depths[i], dtype=np.float32).T)  # (H, W)
        h, w = depth.shape
        return make_sample(
            rgb.astype(np.uint8, copy=False), depth, min_depth=self.min_depth,
            max_depth=self.max_depth, intrinsics=nyu_intrinsics(h, w), name=f"{i + 1:04d}",
        )

    def close(self) -> None:
        self._file.close()
