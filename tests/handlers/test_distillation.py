import pytest
import torch
from ignite.engine import Events
from monai.engines import SupervisedTrainer
from monai.losses import DiceLoss

from cmb_kd.handlers import DistillationHandler, PrepareLowResolutionBatch, loss_terms
from cmb_kd.losses import CosineFeatureLoss, KnowledgeTransferLoss
from cmb_kd.networks import E2UNet, FeatureTaps

SHAPE = (2, 1, 8, 8, 4)


def tiny_net(seed, **kw):
    torch.manual_seed(seed)
    return E2UNet(3, 1, 1, channels=(2, 4, 8), **kw)


def plkd_loss(**kw):
    terms = [
        {"name": "geo", "loss": CosineFeatureLoss(**kw), "tap": "geometric", "weight": 0.5},
        {"name": "sem", "loss": CosineFeatureLoss(), "tap": "semantic", "weight": 0.5},
    ]
    return KnowledgeTransferLoss(terms, supervised_weight=0.6, transfer_weight=0.4)


def make_trainer(student, handler, n=2, epochs=1, optimizer=None):
    torch.manual_seed(1)
    data = [{"image": torch.randn(*SHAPE), "label": (torch.rand(*SHAPE) > 0.8).float()} for _ in range(n)]
    optimizer = optimizer or torch.optim.SGD(student.parameters(), lr=0.1)
    return SupervisedTrainer(
        device=torch.device("cpu"),
        max_epochs=epochs,
        train_data_loader=data,
        network=student,
        optimizer=optimizer,
        loss_function=DiceLoss(sigmoid=True),
        prepare_batch=PrepareLowResolutionBatch(2),
        train_handlers=[handler],
        decollate=False,
    )


def test_teacher_frozen_and_never_changes():
    teacher = tiny_net(0)
    teacher.train()
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    handler = DistillationHandler(teacher, plkd_loss())
    trainer = make_trainer(tiny_net(1), handler, n=3)
    grads = []
    trainer.add_event_handler(Events.ITERATION_COMPLETED, lambda e: grads.extend(p.grad for p in teacher.parameters()))
    trainer.run()
    assert not teacher.training
    assert all(not p.requires_grad for p in teacher.parameters())
    assert all(g is None for g in grads)
    for k, v in teacher.state_dict().items():  # batch-norm running stats included: eval mode
        torch.testing.assert_close(v, before[k], msg=k)


def test_loss_equals_independent_computation():
    # instance norm: a second forward pass gives the same features (no running statistics)
    teacher, student = tiny_net(0, norm="instance"), tiny_net(1, norm="instance")
    handler = DistillationHandler(teacher, plkd_loss())
    trainer = make_trainer(student, handler, n=1)
    seen = {}

    def capture(engine):
        # before backward: recompute everything from the same batch, independently of the handler
        hr = engine.state.batch["image_hr"]
        lr = engine.state.output["image"]
        with torch.no_grad(), FeatureTaps(student, ["geometric", "semantic"]) as s_taps:
            pred = student(lr)
            fs = s_taps.collect()
        with torch.no_grad(), FeatureTaps(teacher, ["geometric", "semantic"]) as t_taps:
            teacher(hr)
            ft = t_taps.collect()
        sup = DiceLoss(sigmoid=True)(pred, engine.state.output["label"])
        cos = CosineFeatureLoss()
        seen["expected"] = 0.6 * sup + 0.4 * (
            0.5 * cos(fs["geometric"], ft["geometric"]) + 0.5 * cos(fs["semantic"], ft["semantic"])
        )
        seen["loss"] = engine.state.output["loss"].detach().clone()
        seen["terms"] = loss_terms(engine.state.output)

    trainer.add_event_handler(handler.event, capture)  # registered after the handler: sees its result
    trainer.run()
    torch.testing.assert_close(seen["loss"], seen["expected"], rtol=1e-4, atol=1e-5)
    assert set(seen["terms"]) == {"loss", "loss_supervised", "loss_geo", "loss_sem", "loss_transfer"}


def test_disabled_keeps_supervised_loss_and_hooks_removed_at_end():
    handler = DistillationHandler(tiny_net(0), plkd_loss(), enabled=False)
    trainer = make_trainer(tiny_net(1), handler)
    out = {}
    trainer.add_event_handler(Events.ITERATION_COMPLETED, lambda e: out.update(loss_terms(e.state.output)))
    trainer.run()
    assert out["loss"] == pytest.approx(out["loss_supervised"])
    assert not handler.student_taps.attached and not handler.teacher_taps.attached


def test_attach_is_idempotent_and_state_round_trip():
    handler = DistillationHandler(tiny_net(0), plkd_loss())
    trainer = make_trainer(tiny_net(1), handler)
    n = len(trainer._event_handlers[handler.event])
    handler.attach(trainer)
    assert len(trainer._event_handlers[handler.event]) == n
    state = handler.state_dict()
    handler.enabled = False
    handler.load_state_dict(state)
    assert handler.enabled
    with pytest.raises(KeyError, match="lacks"):
        handler.load_state_dict({})


def test_adapter_joins_the_optimizer_and_trains():
    student, teacher = tiny_net(1), E2UNet(3, 1, 1, channels=(3, 6, 12))
    loss = KnowledgeTransferLoss(
        [{"name": "geo", "loss": CosineFeatureLoss(student_channels=4, teacher_channels=6), "tap": "geometric"}]
    )
    optimizer = torch.optim.SGD(student.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="optimizer"):
        DistillationHandler(teacher, loss)
    handler = DistillationHandler(teacher, loss, optimizer=optimizer)
    assert len(optimizer.param_groups) == 2
    weight = loss.losses["geo"].adapter.conv.weight.detach().clone()
    make_trainer(student, handler, optimizer=optimizer).run()
    assert not torch.equal(weight, loss.losses["geo"].adapter.conv.weight)


def test_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="teacher"):
        DistillationHandler("net", plkd_loss())
    with pytest.raises(ValueError, match="LOSS_COMPLETED"):
        DistillationHandler(tiny_net(0), plkd_loss(), event="FORWARD_COMPLETED")
    with pytest.raises(ValueError, match="not declared"):
        DistillationHandler(
            tiny_net(0), KnowledgeTransferLoss([{"name": "a", "loss": CosineFeatureLoss(), "tap": "feature1"}])
        )
    with pytest.raises(FileNotFoundError, match="teacher_checkpoint"):
        DistillationHandler(tiny_net(0), plkd_loss(), teacher_checkpoint=tmp_path / "none.pt")
    torch.save(E2UNet(3, 1, 1, channels=(2, 4, 16)).state_dict(), tmp_path / "wrong.pt")
    with pytest.raises(RuntimeError, match="does not match"):
        DistillationHandler(tiny_net(0), plkd_loss(), teacher_checkpoint=tmp_path / "wrong.pt")
    torch.save({"model": tiny_net(3).state_dict()}, tmp_path / "ok.pt")
    handler = DistillationHandler(tiny_net(0), plkd_loss(), teacher_checkpoint=tmp_path / "ok.pt")
    torch.testing.assert_close(handler.teacher.state_dict(), tiny_net(3).state_dict())


def test_missing_teacher_input_key():
    handler = DistillationHandler(tiny_net(0), plkd_loss(), teacher_input_key="image_hr2")
    with pytest.raises(KeyError, match="image_hr2"):
        make_trainer(tiny_net(1), handler).run()
