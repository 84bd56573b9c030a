"""The torch Dataset wrapper."""
from __future__ import annotations

import torch

from moadepth_edge.config import PreprocessCfg
from moadepth_edge.data.dataset import DepthDataset
from moadepth_edge.data.synthetic import SyntheticReader
from moadepth_edge.data.transforms import Augment


def test_items_are_model_ready_tensors():
    ds = DepthDataset(SyntheticReader(2, size=(30, 40)), PreprocessCfg(size=(32, 32)), augment=Augment(), seed=1, cache=True)
    item = ds[0]
    assert item["image"].shape == (3, 32, 32) and item["image"].dtype == torch.float32
    assert 0.0 <= item["image"].min() and item["image"].max() <= 1.0
    assert item["depth"].shape == (1, 32, 32) and item["valid"].dtype == torch.bool
    assert (item["depth"][~item["valid"]] == 0).all()


def test_epoch_changes_augmentation_and_is_reproducible():
    ds = DepthDataset(SyntheticReader(1, size=(30, 40)), augment=Augment(), seed=1)
    assert torch.equal(ds[(3, 0)]["image"], ds[(3, 0)]["image"])
    assert not torch.equal(ds[(3, 0)]["image"], ds[(4, 0)]["image"])
    ds.set_epoch(3)
    assert torch.equal(ds[0]["image"], ds[(3, 0)]["image"])


def test_input_photometry_runs_after_the_resize_and_leaves_labels_alone():
    from moadepth_edge.data.transforms import training_augment

    reader, pre = SyntheticReader(1, size=(30, 40)), PreprocessCfg(size=(64, 64))
    plain = DepthDataset(reader, pre, augment=None, seed=1)[0]
    item = DepthDataset(reader, pre, augment=training_augment(False, True), seed=1)[0]
    assert item["image"].shape == (3, 64, 64) and not torch.equal(item["image"], plain["image"])
    assert torch.equal(item["depth"], plain["depth"]) and torch.equal(item["valid"], plain["valid"])
