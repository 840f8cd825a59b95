import pytest
import torch
from ignite.engine import Engine

from cmb_kd.metrics import VesselCounts, VesselSegmentation


def data() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Two iterations of one subject each: a vessel found whole, then one cut in two by the prediction."""
    ref = torch.zeros(1, 1, 12, 12, 20)
    ref[0, 0, 5:8, 5:8, 2:18] = 1
    cut = ref.clone()
    cut[0, 0, :, :, 9:11] = 0
    return [(ref.clone(), ref.clone()), (cut, ref.clone())]


@pytest.mark.parametrize(
    "metric_name, expected",
    [("sensitivity", 270 / 288), ("precision", 1.0), ("fragments_pred", 1.5), ("fragment_ratio", 1.5)],
)
def test_handler_on_engine(metric_name: str, expected: float) -> None:
    engine = Engine(lambda e, batch: batch)
    VesselSegmentation(metric_name).attach(engine, metric_name)
    engine.run(data(), max_epochs=1)
    assert engine.state.metrics[metric_name] == pytest.approx(expected)
    details = engine.state.metric_details[metric_name]
    assert details.shape == (2, len(VesselCounts.field_names()))
    assert VesselCounts.from_sequence(details[1].tolist()).fragments_pred == 2


def test_handler_resets_each_epoch_and_uses_output_transform() -> None:
    engine = Engine(lambda e, batch: {"pred": batch[0], "label": batch[1]})
    handler = VesselSegmentation("cldice", output_transform=lambda out: (out["pred"], out["label"]))
    handler.attach(engine, "cldice")
    engine.run(data(), max_epochs=3)
    once = Engine(lambda e, batch: batch)
    VesselSegmentation("cldice").attach(once, "cldice")
    once.run(data(), max_epochs=1)
    assert engine.state.metrics["cldice"] == once.state.metrics["cldice"] < 1.0


def test_handler_rejects_several_names() -> None:
    with pytest.raises(ValueError, match="metric_name: expected one metric name"):
        VesselSegmentation(("dice", "cldice"))
