import pytest
import torch
from ignite.engine import Engine

from cmb_kd.metrics import LesionDetection


def data():
    """Two iterations of one subject each: a hit with a duplicate, and a lesion-free subject with an FP."""
    first_pred, first_ref = torch.zeros(1, 1, 8, 8, 4), torch.zeros(1, 1, 8, 8, 4)
    first_ref[0, 0, 1:6, 1, 1] = 1
    first_pred[0, 0, 1, 1, 1] = 1
    first_pred[0, 0, 5, 1, 1] = 1
    second_pred, second_ref = torch.zeros(1, 1, 8, 8, 4), torch.zeros(1, 1, 8, 8, 4)
    second_pred[0, 0, 6, 6, 3] = 1
    return [(first_pred, first_ref), (second_pred, second_ref)]


@pytest.mark.parametrize("metric_name, expected", [("f1", 2 / 3), ("tpr", 1.0), ("ppv", 0.5), ("fp_avg", 0.5)])
def test_handler_on_engine(metric_name, expected):
    engine = Engine(lambda e, batch: batch)
    LesionDetection(metric_name).attach(engine, metric_name)
    engine.run(data(), max_epochs=1)
    assert engine.state.metrics[metric_name] == pytest.approx(expected)
    details = engine.state.metric_details[metric_name]
    assert details.shape == (2, 7)
    assert details[0, :4].tolist() == [1, 0, 0, 1]  # tp, fp, fn, duplicates


def test_handler_resets_each_epoch_and_uses_output_transform():
    engine = Engine(lambda e, batch: {"pred": batch[0], "label": batch[1]})
    LesionDetection("tp", output_transform=lambda out: (out["pred"], out["label"])).attach(engine, "tp")
    engine.run(data(), max_epochs=3)
    assert engine.state.metrics["tp"] == 1.0


def test_handler_rejects_several_names():
    with pytest.raises(ValueError, match="metric_name: expected one metric name"):
        LesionDetection(("f1", "tpr"))
