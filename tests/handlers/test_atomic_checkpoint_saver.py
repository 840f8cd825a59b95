import os
import stat

import pytest
import torch
from ignite.engine import Engine

from cmb_kd.handlers import AtomicCheckpointSaver, is_complete_checkpoint, save_atomic


class Unpicklable:
    def __reduce__(self):
        raise RuntimeError("cannot be saved")


def trainer(net):
    def step(engine, batch):
        net.weight.data.add_(1.0)

    return Engine(step)


def test_save_atomic_writes_a_loadable_file_with_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = save_atomic({"w": torch.arange(3)}, tmp_path / "model.pt")
    finally:
        os.umask(old)
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.arange(3))
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert is_complete_checkpoint(path)


def test_save_atomic_failure_keeps_the_old_file_and_no_temporary(tmp_path):
    path = save_atomic({"w": torch.ones(2)}, tmp_path / "model.pt")
    with pytest.raises(RuntimeError, match="cannot be saved"):
        save_atomic({"w": Unpicklable()}, path)
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]
    with pytest.raises(FileNotFoundError, match="checkpoint folder does not exist"):
        save_atomic({}, tmp_path / "missing" / "model.pt")


def test_interval_checkpoint_replaced_only_after_the_new_one_is_complete(tmp_path, monkeypatch):
    net = torch.nn.Linear(1, 1, bias=False)
    engine = trainer(net)
    saver = AtomicCheckpointSaver(str(tmp_path), {"model": net, "trainer": engine}, save_interval=1, n_saved=1)
    saver.attach(engine)
    real_save = torch.save

    def dies_on_epoch_3(obj, handle, *args, **kwargs):
        if obj["trainer"]["iteration"] == 6:  # end of epoch 3
            handle.write(b"PK\x03\x04 half a checkpoint")
            raise KeyboardInterrupt  # stands for a kill in the middle of the write
        real_save(obj, handle, *args, **kwargs)

    monkeypatch.setattr(torch, "save", dies_on_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        engine.run(range(2), max_epochs=5)
    # the previous checkpoint is intact and still there; no truncated file under a final name, no temporary
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint_epoch=2.pt"]
    state = torch.load(tmp_path / "checkpoint_epoch=2.pt", weights_only=True)
    assert state["trainer"]["iteration"] == 4
    assert state["model"]["weight"].item() == pytest.approx(net.weight.item() - 2.0)


def test_a_resumed_run_removes_the_checkpoint_it_resumed_from(tmp_path):
    net = torch.nn.Linear(1, 1)
    engine = trainer(net)
    save_atomic({"model": net.state_dict()}, tmp_path / "checkpoint_epoch=5.pt")  # what the run resumes from
    (tmp_path / "checkpoint_final_iteration=9.pt").write_bytes(b"other kind")
    (tmp_path / "notes.txt").write_text("kept")
    engine.load_state_dict({"iteration": 5, "epoch_length": 1, "max_epochs": 8})
    AtomicCheckpointSaver(str(tmp_path), {"model": net, "trainer": engine}, save_interval=1, n_saved=2).attach(engine)
    engine.run(range(1), max_epochs=8)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "checkpoint_epoch=7.pt",
        "checkpoint_epoch=8.pt",
        "checkpoint_final_iteration=9.pt",
        "notes.txt",
    ]


def test_final_file_only_when_the_run_finishes(tmp_path):
    net = torch.nn.Linear(1, 1)

    def fails(engine, batch):
        if engine.state.iteration == 3:
            raise RuntimeError("diverged")

    engine = Engine(fails)
    AtomicCheckpointSaver(str(tmp_path), {"model": net}, save_final=True, final_filename="model.pt").attach(engine)
    with pytest.raises(RuntimeError, match="diverged"):
        engine.run(range(2), max_epochs=2)
    assert not (tmp_path / "model.pt").exists()

    engine = Engine(lambda e, b: None)
    AtomicCheckpointSaver(str(tmp_path), {"model": net}, save_final=True, final_filename="model.pt").attach(engine)
    engine.run(range(2), max_epochs=2)
    assert set(torch.load(tmp_path / "model.pt", weights_only=True)) == {"weight", "bias"}


def run_validations(tmp_path, scores, state=None):
    """Validations whose key metric takes ``scores`` in turn, the weight set to the validation's index."""
    net = torch.nn.Linear(1, 1, bias=False)
    turn = iter(enumerate(scores))

    def validate(engine, batch):
        i, score = next(turn)
        engine.state.metrics["f1"] = score
        net.weight.data.fill_(float(i))

    evaluator = Engine(validate)
    saver = AtomicCheckpointSaver(
        str(tmp_path), {"model": net}, save_key_metric=True, key_metric_name="f1", key_metric_filename="best.pt"
    )
    if state is not None:
        saver.load_state_dict(state)
    saver.attach(evaluator)
    for _ in scores:
        evaluator.run(range(1), max_epochs=1)
    return saver


def best_weight(tmp_path):
    return torch.load(tmp_path / "best.pt", weights_only=True)["weight"].item()


def test_best_model_tracking_survives_a_resume(tmp_path):
    state = run_validations(tmp_path, [0.2, 0.9, 0.4]).state_dict()
    assert best_weight(tmp_path) == 1.0 and [score for score, _ in state["key_metric"]] == [0.9]
    # a resumed run whose validations score lower keeps the best model of before the interruption ...
    run_validations(tmp_path, [0.5, 0.6], state=torch.load(save_atomic(state, tmp_path / "s.pt"), weights_only=True))
    assert best_weight(tmp_path) == 1.0
    # ... and replaces it on a better score
    run_validations(tmp_path, [0.5, 0.6, 0.95], state=state)
    assert best_weight(tmp_path) == 2.0
    # without the restored tracking the first lower score overwrites it (what the state prevents)
    run_validations(tmp_path, [0.3])
    assert best_weight(tmp_path) == 0.0
    with pytest.raises(KeyError, match="lacks 'key_metric'"):
        AtomicCheckpointSaver(str(tmp_path), {"model": torch.nn.Linear(1, 1)}).load_state_dict({"saved": []})
