"""Tests of cmb_kd.losses.transfer_loss: the shared base of the transfer losses (reduction, adapter, float32)."""

import pytest
import torch

from cmb_kd.losses import FeatureAdapter, TransferLoss


class SquaredDifference(TransferLoss):
    """Mean squared difference per sample, enough to see what the base does around ``per_sample``."""

    def per_sample(self, student, teacher):
        self.seen_dtype = student.dtype
        return (student - teacher).pow(2).flatten(1).mean(1)


def test_reductions_over_the_batch():
    student, teacher = torch.zeros(3, 1, 2, 2, 2), torch.arange(3.0).view(3, 1, 1, 1, 1).expand(3, 1, 2, 2, 2)
    per_sample = torch.tensor([0.0, 1.0, 4.0])
    assert torch.equal(SquaredDifference(reduction="none")(student, teacher), per_sample)
    assert SquaredDifference(reduction="sum")(student, teacher).item() == 5.0
    assert SquaredDifference()(student, teacher).item() == pytest.approx(5.0 / 3.0)


def test_an_adapter_maps_student_channels_and_maths_stays_float32_under_autocast():
    loss = SquaredDifference(student_channels=2, teacher_channels=4)
    assert isinstance(loss.adapter, FeatureAdapter) and loss.adapter.in_channels == 2
    assert SquaredDifference(student_channels=4, teacher_channels=4).adapter is None
    student, teacher = torch.randn(2, 2, 4, 4, 2), torch.randn(2, 4, 4, 4, 2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        value = loss(student, teacher)
    assert loss.seen_dtype == torch.float32 and value.dtype == torch.float32
    expected = (loss.adapter(student) - teacher).pow(2).mean()
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="reduction"):
        SquaredDifference(reduction="max")
    with pytest.raises(ValueError, match="give both student_channels and teacher_channels"):
        SquaredDifference(student_channels=2)
    with pytest.raises(NotImplementedError):
        TransferLoss()(torch.zeros(1, 1, 2), torch.zeros(1, 1, 2))
