"""Depth data: readers (NYU, DenseDepth, KITTI, folders, synthetic), augmentations, and the
torch Dataset wrapper (`moadepth_edge.data.dataset`, imports torch)."""
from .sample import DepthReader, Intrinsics, Sample, make_sample, nyu_intrinsics, validity_mask
from .spec import open_reader

__all__ = [
    "DepthReader", "Intrinsics", "Sample", "make_sample", "nyu_intrinsics", "validity_mask",
    "open_reader",
]
