"""Optimization-profile shapes from the ONNX input and a target profile's ranges."""
from __future__ import annotations

import pytest

from moadepth_edge.errors import UserError
from moadepth_edge.export.trt_profile import profile_shapes
from moadepth_edge.formats.profile import DimRange

def test_image_input_with_dynamic_batch():
    shapes, notes = profile_shapes((None, 3, 64, 64), "NCHW", batch=DimRange(1, 2, 8))
    assert (shapes.min, shapes.opt, shapes.max) == ((1, 3, 64, 64), (2, 3, 64, 64), (8, 3, 64, 64))
    assert notes == []


def test_dynamic_batch_defaults_to_one():
    shapes, _ = profile_shapes((None, 3, 224, 224), "NCHW")
    assert shapes.min == shapes.max == (1, 3, 224, 224)


def test_frame_input_takes_height_and_width_ranges():
    shapes, _ = profile_shapes((None, None, None, 3), "NHWC", DimRange(1, 1, 1),
                               DimRange(240, 480, 720), DimRange(320, 640, 1280))
    assert shapes.to_dict() == {"min": [1, 240, 320, 3], "opt": [1, 480, 640, 3], "max": [1, 720, 1280, 3]}


def test_dynamic_height_without_a_range_is_a_user_error():
    with pytest.raises(UserError, match="height is dynamic"):
        profile_shapes((None, 3, None, None), "NCHW")


def test_a_fixed_dim_wins_over_a_conflicting_range_and_says_so():
    shapes, notes = profile_shapes((None, 3, 64, 64), "NCHW", height=DimRange(224, 224, 224))
    assert shapes.opt == (1, 3, 64, 64)
    assert len(notes) == 1 and "height is fixed at 64" in notes[0]


def test_bad_layouts_and_ranges():
    with pytest.raises(UserError, match="4-d"):
        profile_shapes((None, 3, 64), "NCHW")
    with pytest.raises(UserError, match="min <= opt <= max"):
        DimRange(4, 2, 8)


@pytest.mark.parametrize("value,expected", [
    (4, (4, 4, 4)), ("1:4:8", (1, 4, 8)), ({"min": 1, "opt": 2, "max": 3}, (1, 2, 3)), ("2", (2, 2, 2)),
])
def test_dim_range_parse(value, expected):
    r = DimRange.parse(value, "--batch")
    assert (r.min, r.opt, r.max) == expected


def test_dim_range_parse_rejects_garbage():
    with pytest.raises(UserError, match="--batch: expected"):
        DimRange.parse("1:x:3", "--batch")
