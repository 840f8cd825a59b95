import pytest
import torch

from cmb_kd.losses import FeatureAdapter


def test_shapes():
    assert FeatureAdapter(3, 4, 8)(torch.randn(2, 4, 5, 5, 3)).shape == (2, 8, 5, 5, 3)
    assert FeatureAdapter(2, 4, 2)(torch.randn(2, 4, 5, 5)).shape == (2, 2, 5, 5)


@pytest.mark.parametrize("args, match", [((4, 1, 1), "spatial_dims"), ((3, 0, 1), "in_channels")])
def test_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        FeatureAdapter(*args)
