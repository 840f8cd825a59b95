"""Tests of cmb_kd.losses.feature_pair: student/teacher pairing, the adapter and float32 maths under autocast."""

import pytest
import torch

from cmb_kd.losses import FeatureAdapter
from cmb_kd.losses.feature_pair import float32_region, prepare_pair


def test_a_pair_comes_back_float32_with_the_adapter_applied_to_the_student():
    torch.manual_seed(0)
    student, teacher = torch.randn(2, 3, 4, 4, 2, dtype=torch.float16), torch.randn(2, 5, 4, 4, 2)
    adapter = FeatureAdapter(3, 3, 5)
    s, t = prepare_pair(student, teacher, adapter, "loss")
    assert s.dtype == t.dtype == torch.float32 and s.shape == t.shape == (2, 5, 4, 4, 2)
    assert torch.allclose(s, adapter(student.float())) and torch.equal(t, teacher)


def test_float32_region_switches_autocast_off():
    a = torch.randn(4, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.mm(a, a).dtype == torch.bfloat16
        with float32_region(a.device):
            assert torch.mm(a, a).dtype == torch.float32


@pytest.mark.parametrize(
    "student, teacher, adapter, error, match",
    [
        ([1.0], torch.zeros(1, 1), None, TypeError, "cos: student: expected a torch.Tensor, got list"),
        (torch.zeros(3), torch.zeros(1, 3), None, ValueError, r"cos: student must have shape \(B, C, ...\)"),
        (torch.zeros(1, 2, 4), torch.zeros(1, 3, 4), None, ValueError, "Channel counts differ"),
        (torch.zeros(1, 2, 4), torch.zeros(1, 2, 8), None, ValueError, r"does not match teacher shape \(1, 2, 8\)\.$"),
        (torch.zeros(1, 4, 4, 4, 4), torch.zeros(1, 3, 4, 4, 4), "adapter", ValueError, "expects 2 student channels"),
    ],
)
def test_a_bad_pair_is_refused_with_both_shapes(student, teacher, adapter, error, match):
    with pytest.raises(error, match=match):
        prepare_pair(student, teacher, FeatureAdapter(3, 2, 3) if adapter else None, "cos")
