"""Tests of cmb_kd.handlers.loss_terms: the loss and its named terms as floats for the stats handlers."""

import pytest
import torch

from cmb_kd.handlers import LOSS_TERM_PREFIX, loss_terms


def test_picks_the_loss_and_every_named_term_as_floats():
    output = {"loss": torch.tensor(1.5), "loss_geometric": torch.tensor([0.25, 0.75]), "loss_kl": 2, "pred": 0}
    assert loss_terms(output) == {"loss": 1.5, "loss_geometric": 0.5, "loss_kl": 2.0}
    assert LOSS_TERM_PREFIX == "loss_"


@pytest.mark.parametrize("output", [None, [], "loss", {"pred": torch.zeros(2)}])
def test_an_output_without_a_loss_gives_nothing(output):
    assert loss_terms(output) == {}


def test_a_decollated_batch_uses_its_first_item():
    output = [{"loss": torch.tensor(0.5, dtype=torch.float16)}, {"loss": torch.tensor(9.0)}]
    terms = loss_terms(output)
    assert terms == {"loss": 0.5} and type(terms["loss"]) is float


def test_loss_terms_picks_named_losses():
    out = loss_terms([{"loss": torch.tensor(1.5), "loss_geo": 0.25, "pred": torch.zeros(2)}])
    assert out == {"loss": 1.5, "loss_geo": 0.25}
    assert loss_terms(None) == {}
