"""Numeric arrays from a MATLAB .mat file, without scipy.

NYU's `splits.mat` is a MATLAB 5 file (not HDF5), so h5py cannot read it; this reads the
numeric matrices of a level-5 file (plain or zlib-compressed elements). MATLAB v7.3 files
are HDF5 and go through h5py. Layout: the MAT-File Format reference (MathWorks), ch. 1.
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from .._lazy import lazy_import
from ..errors import UserError

_MI_MATRIX, _MI_COMPRESSED = 14, 15
# element data types (miINT8 ... miUINT64) -> numpy
_MI_DTYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8", 13: "u8"}
# numeric array classes (mxDOUBLE_CLASS ... mxUINT64_CLASS) -> numpy
_MX_DTYPES = {6: "f8", 7: "f4", 8: "i1", 9: "u1", 10: "i2", 11: "u2", 12: "i4", 13: "u4", 14: "i8", 15: "u8"}
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def read_mat_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """The named numeric arrays of a .mat file (v5 or v7.3); other variable kinds are skipped."""
    path = Path(path)
    data = path.read_bytes()
    if data[512:520] == _HDF5_SIGNATURE or data[:8] == _HDF5_SIGNATURE:
        return _read_hdf5(path)
    if len(data) < 128:
        raise UserError(f"not a MATLAB .mat file (too short): {path}")
    endian = {b"IM": "<", b"MI": ">"}.get(data[126:128])
    if endian is None:
        raise UserError(f"not a MATLAB 5 .mat file (bad header): {path}")
    try:
        return dict(_elements(data, 128, endian))
    except (struct.error, zlib.error, ValueError) as exc:
        raise UserError(f"corrupt .mat file {path}: {exc}") from None


def _read_hdf5(path: Path) -> dict[str, np.ndarray]:
    h5py = lazy_import("h5py")
    with h5py.File(path, "r") as f:
        # v7.3 stores column-major: reverse the axes back to MATLAB's order
        return {k: np.asarray(v).T for k, v in f.items() if isinstance(v, h5py.Dataset)}


def _tag(data: bytes, pos: int, endian: str) -> tuple[int, int, int, int]:
    """(type, nbytes, data start, next element position) of the element at `pos`."""
    mtype, nbytes = struct.unpack_from(endian + "II", data, pos)
    if mtype >> 16:  # small data element: type and size packed in 4 bytes, data in the next 4
        return mtype & 0xFFFF, mtype >> 16, pos + 4, pos + 8
    start = pos + 8
    return mtype, nbytes, start, start + nbytes + (-nbytes % 8)


def _elements(data: bytes, pos: int, endian: str):
    while pos + 8 <= len(data):
        mtype, nbytes, start, nxt = _tag(data, pos, endian)
        if mtype == _MI_COMPRESSED:
            yield from _elements(zlib.decompress(data[start:start + nbytes]), 0, endian)
            nxt = start + nbytes  # compressed elements are not padded
        elif mtype == _MI_MATRIX:
            item = _matrix(data[start:start + nbytes], endian)
            if item is not None:
                yield item
        pos = nxt


def _matrix(body: bytes, endian: str) -> tuple[str, np.ndarray] | None:
    parts = []
    pos = 0
    while pos + 8 <= len(body):
        mtype, nbytes, start, nxt = _tag(body, pos, endian)
        parts.append((mtype, body[start:start + nbytes]))
        pos = nxt
    if len(parts) < 4:
        return None  # empty or non-numeric
    (_, flags), (_, dims), (_, name), (rtype, real) = parts[:4]
    mx_class = struct.unpack_from(endian + "I", flags)[0] & 0xFF
    if mx_class not in _MX_DTYPES or rtype not in _MI_DTYPES:
        return None
    shape = np.frombuffer(dims, dtype=endian + "i4")
    values = np.frombuffer(real, dtype=endian + _MI_DTYPES[rtype])
    array = values.astype(_MX_DTYPES[mx_class]).reshape(tuple(shape), order="F")
    return name.decode("ascii", "replace"), array
