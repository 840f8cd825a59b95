import pytest
import torch
from ignite.engine import Engine, Events

from cmb_kd.handlers import PrepareLowResolutionBatch, ProgressiveResolutionHandler


class Recorder:
    def __init__(self):
        self.enabled = True


def run(handler, epochs, epoch_length, network=None, state=None):
    engine = Engine(lambda e, b: None)
    engine.network = network or torch.nn.Linear(2, 2)
    handler.attach(engine)
    handler.attach(engine)  # idempotent
    seen = []
    engine.add_event_handler(
        Events.ITERATION_STARTED,
        lambda e: seen.append((e.state.iteration, handler.degrade.factor[2], handler.distillation.enabled)),
    )
    if state is not None:
        engine.load_state_dict(state)
    engine.run(range(epoch_length), max_epochs=epochs)
    return engine, seen


@pytest.mark.parametrize(
    "mode, unit, lengths, epochs, expected",
    [
        ("plkd", "epochs", [1, 2, 1, 1], 5, [2, 2, 4, 4, 4, 4, 8, 8, 4, 4]),
        ("plkd", "iterations", 3, 6, [2, 2, 2, 4, 4, 4, 8, 8, 8, 4, 4, 4]),
        ("direct_kd", "epochs", 2, 2, [4, 4, 4, 4]),
    ],
)
def test_factor_changes_exactly_at_boundaries(tmp_path, mode, unit, lengths, epochs, expected):
    handler = ProgressiveResolutionHandler(
        PrepareLowResolutionBatch(1), mode=mode, unit=unit, lengths=lengths, save_dir=tmp_path, distillation=Recorder()
    )
    _, seen = run(handler, epochs, 2)
    assert [f for _, f, _ in seen] == expected
    names = [s.name for s in handler.stages]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"student_{n}.pt" for n in names)
    assert handler.saved == names


def test_stage_checkpoints_hold_the_student_at_the_boundary(tmp_path):
    net = torch.nn.Linear(2, 2)
    handler = ProgressiveResolutionHandler(PrepareLowResolutionBatch(1), lengths=1, save_dir=tmp_path)
    handler.distillation = Recorder()
    engine = Engine(lambda e, b: net.weight.data.fill_(float(e.state.iteration)))
    engine.network = net
    handler.attach(engine)
    engine.run(range(2), max_epochs=4)
    for name, last_iteration in zip(["primary", "middle", "senior", "final"], [2, 4, 6, 8]):
        state = torch.load(tmp_path / f"student_{name}.pt")
        assert state["weight"].unique().item() == last_iteration


def test_no_kd_switches_distillation_off():
    handler = ProgressiveResolutionHandler(PrepareLowResolutionBatch(1), mode="no_kd", distillation=Recorder())
    _, seen = run(handler, 1, 2)
    assert all(not enabled for *_, enabled in seen) and seen[0][1] == 4


def test_resume_mid_stage_continues_with_the_right_factor(tmp_path):
    handler = ProgressiveResolutionHandler(
        PrepareLowResolutionBatch(1), lengths=2, save_dir=tmp_path, distillation=Recorder()
    )
    engine, _ = run(handler, 3, 2)  # stopped in the middle of stage 'middle'
    state, saved = engine.state_dict(), handler.state_dict()
    assert saved == {"saved": ["primary"]}
    resumed = ProgressiveResolutionHandler(
        PrepareLowResolutionBatch(8), lengths=2, save_dir=tmp_path, distillation=Recorder()
    )
    resumed.load_state_dict(saved)
    state["max_epochs"] = 8
    _, seen = run(resumed, 8, 2, state=state)
    assert seen[0][0] == 7  # no finished iteration is repeated
    assert [f for _, f, _ in seen] == [4, 4, 8, 8, 8, 8, 4, 4, 4, 4]
    assert resumed.saved == ["primary", "middle", "senior", "final"]


def test_optimizer_reset_between_stages():
    net = torch.nn.Linear(2, 2)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    handler = ProgressiveResolutionHandler(
        PrepareLowResolutionBatch(1), lengths=1, optimizer=optimizer, reset_optimizer=True, lr_scheduler=scheduler
    )
    lrs = []

    def step(engine, batch):
        optimizer.zero_grad()
        net(torch.ones(1, 2)).sum().backward()
        optimizer.step()
        scheduler.step()

    engine = Engine(step)
    engine.network = net
    handler.attach(engine)
    engine.add_event_handler(Events.ITERATION_STARTED, lambda e: lrs.append(optimizer.param_groups[0]["lr"]))
    engine.run(range(2), max_epochs=4)
    assert lrs == [0.1, 0.05] * 4


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"mode": "progressive"}, ValueError, "mode"),
        ({"unit": "steps"}, ValueError, "unit"),
        ({"lengths": [1, 2]}, ValueError, "lengths: expected one int or 4"),
        ({"lengths": 0}, ValueError, "length: expected >= 1"),
        ({"reset_optimizer": True}, ValueError, "optimizer"),
        (
            {"stages": [{"name": "a", "factor": 2, "length": 1}, {"name": "a", "factor": 4, "length": 1}]},
            ValueError,
            "unique",
        ),
        ({"stages": [{"name": "a", "factor": [1, 1, 2.5], "length": 1}]}, ValueError, r"stages\[0\] \('a'\): factor"),
        ({"stages": [{"name": "a", "factor": 0, "length": 1}]}, ValueError, "factor: expected integers >= 1, got 0"),
        ({"stages": [{"name": "a", "factor": 2.0, "length": 1}]}, ValueError, "expected an integer or three"),
        ({"target_factor": -4}, ValueError, r"\('final'\): factor: expected integers >= 1"),
    ],
)
def test_bad_arguments(kwargs, err, match):
    with pytest.raises(err, match=match):
        ProgressiveResolutionHandler(PrepareLowResolutionBatch(1), **kwargs)
    with pytest.raises(TypeError, match="factor"):
        ProgressiveResolutionHandler(object())


def test_stage_factors_keep_their_form():
    handler = ProgressiveResolutionHandler(
        PrepareLowResolutionBatch(1),
        stages=[{"name": "a", "factor": 4, "length": 1}, {"name": "b", "factor": (2, 2, 1), "length": 1}],
    )
    assert [s.factor for s in handler.stages] == [4, (2, 2, 1)]


def test_run_longer_than_curriculum_fails_at_start():
    handler = ProgressiveResolutionHandler(PrepareLowResolutionBatch(1), lengths=1, distillation=Recorder())
    with pytest.raises(ValueError, match="set max_epochs to 4"):
        run(handler, 5, 2)
