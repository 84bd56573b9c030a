"""Config reading checks every value: wrong types, unknown literals and out-of-range values are
one InvalidConfig naming the file and the field; valid configs round-trip unchanged."""
from __future__ import annotations

import copy
import json

import pytest

from moadepth_edge.config import (
    PRESETS, InvalidConfig, ModelCfg, PreprocessCfg, TrainCfg, from_dict, replace, to_dict, validate_tree,
)
from moadepth_edge.errors import ConfigError

TINY = to_dict(PRESETS["moadepth-tiny"])


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_round_trip_and_validate(name):
    cfg = PRESETS[name]
    validate_tree(cfg)
    again = from_dict(ModelCfg, json.loads(json.dumps(to_dict(cfg))))
    assert again == cfg and isinstance(again.preprocess.size, tuple)


def test_train_cfg_round_trips():
    cfg = TrainCfg(lr=3e-4, schedule="cosine", epochs=0)
    assert from_dict(TrainCfg, to_dict(cfg)) == cfg


# (dotted field, bad value, expected field in the message, words of the reason)
BAD_MODEL = [
    ("bins.n_bins", "many", "bins.n_bins", "expected an integer, got 'many'"),
    ("bins.n_bins", 1, "bins.n_bins", "must be >= 2"),
    ("bins.n_bins", 2.5, "bins.n_bins", "expected an integer"),
    ("bins.n_bins", True, "bins.n_bins", "expected an integer, got True"),
    ("bins.min_depth", -1.0, "bins.min_depth", "must be > 0"),
    ("bins.max_depth", 0.05, "bins.max_depth", "must be > min_depth"),
    ("bins.min_depth", float("nan"), "bins.min_depth", "expected a finite number"),
    ("bins.spacing", "cubic", "bins.spacing", "expected one of 'log', 'linear'"),
    ("head.fusion", "max", "head.fusion", "expected one of 'gate', 'mean', got 'max'"),
    ("head.hidden", -32, "head.hidden", "must be >= 1"),
    ("moa.layers", [1, -3], "moa.layers", "must be >= 0"),
    ("moa.layers", [1, 1], "moa.layers", "repeats a block"),
    ("moa.layers", [1, "3"], "moa.layers[1]", "expected an integer, got '3'"),
    ("moa.layers", 3, "moa.layers", "expected a list, got 3"),
    ("moa.num_experts", 0, "moa.num_experts", "must be >= 1"),
    ("moa.tau", 0, "moa.tau", "must be > 0"),
    ("preprocess.size", [64], "preprocess.size", "expected 2 values, got 1"),
    ("preprocess.size", [64, -64], "preprocess.size", "must be 1..8192"),
    ("preprocess.mean", [0.5, 0.5, "x"], "preprocess.mean[2]", "expected a number"),
    ("preprocess.std", [0.5, 0.0, 0.5], "preprocess.std", "must all be > 0"),
    ("preprocess.color", "BGR", "preprocess.color", "expected one of 'RGB'"),
    ("clip.pretrained", 7, "clip.pretrained", "expected a string or null, got 7"),
    ("clip.quick_gelu", "yes", "clip.quick_gelu", "expected true or false"),
    ("context.template", "a photo of {0} {1}", "context.template", "placeholder"),
    ("context.scenes", [], "context.scenes", "at least one scene"),
    ("depthclip.depths", [1.0, 2.0], "depthclip.depths", "one depth per distance word"),
    ("kind", "unet", "kind", "expected one of 'moa', 'depthclip'"),
    ("trainable_blocks", -1, "trainable_blocks", "must be >= 0"),
    ("head", [], "head", "expected an object"),
]


def _with(data: dict, dotted: str, value):
    data = copy.deepcopy(data)
    *parents, last = dotted.split(".")
    node = data
    for p in parents:
        node = node[p]
    node[last] = value
    return data


@pytest.mark.parametrize("dotted,value,field,reason", BAD_MODEL)
def test_bad_model_values_name_file_and_field(dotted, value, field, reason):
    with pytest.raises(InvalidConfig) as info:
        from_dict(ModelCfg, _with(TINY, dotted, value), source="ck/config.json", path="model_cfg")
    exc = info.value
    assert exc.field == f"model_cfg.{field}" and reason in exc.reason
    assert str(exc).startswith(f"ck/config.json: model_cfg.{field}: ") and "\n" not in str(exc)
    assert isinstance(exc, ConfigError) and isinstance(exc, ValueError)


def test_unknown_missing_and_non_object():
    with pytest.raises(InvalidConfig, match=r"model_cfg: unknown ModelCfg field\(s\): extra"):
        from_dict(ModelCfg, {**TINY, "extra": 1}, path="model_cfg")
    with pytest.raises(InvalidConfig, match="expected an object, got"):
        from_dict(ModelCfg, ["not", "a", "dict"], source="f.json")
    # a field left out takes its default; a required one cannot be left out
    assert from_dict(TrainCfg, {"lr": 0.5}).lr == 0.5
    from moadepth_edge.train.run_spec import RunSpec
    with pytest.raises(InvalidConfig, match="missing RunSpec field"):
        from_dict(RunSpec, {"data": "synthetic"})


@pytest.mark.parametrize("field,value,reason", [
    ("lr", 0, "must be > 0"), ("lr", "fast", "expected a number"), ("epochs", -1, "must be >= 0"),
    ("batch_size", 0, "must be >= 1"), ("schedule", "linear", "expected one of"),
    ("grad_clip", -0.5, "must be >= 0"), ("eval_every", 0, "must be >= 1"),
    ("num_workers", -1, "must be >= 0"), ("amp", 1, "expected true or false"),
])
def test_bad_train_values(field, value, reason):
    with pytest.raises(InvalidConfig, match=reason) as info:
        from_dict(TrainCfg, {**to_dict(TrainCfg()), field: value}, path="extra.train_cfg")
    assert info.value.field == f"extra.train_cfg.{field}"


def test_validate_tree_checks_configs_built_in_code():
    cfg = replace(PRESETS["moadepth-tiny"], preprocess=PreprocessCfg(size=(0, 64)))
    with pytest.raises(InvalidConfig, match="preprocess.size: height and width must be 1..8192"):
        validate_tree(cfg)
