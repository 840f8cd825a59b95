import numpy as np
import pytest

from cmb_kd.synth.tissue import FLOW_VOID, TISSUES, Tissue, tissue_properties

BRAIN = ("csf", "gm", "wm", "deep_gm", "vein")


def test_r2star_is_linear_in_b0_through_both_tabulated_fields():
    t = Tissue("x", 1.0, 10.0, 16.0, 0.0)
    assert t.r2star(1.5) == pytest.approx(10.0)
    assert t.r2star(3.0) == pytest.approx(16.0)
    assert t.r2star(7.0) == pytest.approx(10.0 + 4.0 * 5.5)
    assert t.r2star(-100.0) == 0.5  # never below 0.5 1/s


def test_table_orders_the_brain_tissues_as_the_literature():
    assert TISSUES["csf"].proton_density > TISSUES["gm"].proton_density > TISSUES["wm"].proton_density
    assert TISSUES["deep_gm"].r2star_30 > TISSUES["wm"].r2star_30 > TISSUES["gm"].r2star_30
    assert TISSUES["air"].susceptibility == pytest.approx(9.4) and TISSUES["air"].proton_density == 0.0
    assert "flow_void" not in TISSUES and FLOW_VOID.proton_density == 0.0


@pytest.mark.parametrize("b0", [1.5, 3.0, 7.0])
def test_without_jitter_the_table_holds_r2star_at_the_field(b0):
    table = tissue_properties(b0)
    assert set(table) == set(TISSUES)
    for name, t in table.items():
        assert t.r2star_15 == t.r2star_30 == pytest.approx(TISSUES[name].r2star(b0))
        assert t.proton_density == TISSUES[name].proton_density
        assert t.susceptibility == TISSUES[name].susceptibility


def test_jitter_moves_brain_tissues_only_and_replays_with_the_generator():
    first = tissue_properties(3.0, np.random.default_rng(2), jitter=0.3)
    again = tissue_properties(3.0, np.random.default_rng(2), jitter=0.3)
    assert first == again
    for name, t in first.items():
        exact = tissue_properties(3.0)[name]
        if name in BRAIN:
            assert t != exact and t.proton_density <= 1.0
            assert 0.5 * exact.r2star_30 <= t.r2star_30 <= 1.5 * exact.r2star_30
        else:
            assert t == exact


def test_jitter_needs_a_generator():
    with pytest.raises(ValueError, match="needs an rng when jitter > 0"):
        tissue_properties(3.0, None, jitter=0.1)
