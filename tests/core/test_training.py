"""The training loop (`core.fit`: exact resumption, clipping, EMA, records, hooks) and its utilities:
EMA, atomic checkpoints, metrics log, seeding and devices."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest
import torch
from torch import nn

from disco_dock.core.distributed import Processes, ShardedBatches
from disco_dock.core.fit import FitSettings, StepIndices, Task, fit
from disco_dock.core.training import (
    EMA,
    MetricsLog,
    load_checkpoint,
    pick_device,
    save_checkpoint,
    seed_everything,
)

CUDA = torch.cuda.is_available()


def _make_run(seed: int, decay: float = 0.8) -> tuple[nn.Module, torch.optim.Optimizer, EMA]:
    """A small model with dropout (so the forward pass also draws from the global RNG), Adam and an EMA."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Dropout(0.2), nn.Linear(16, 1))
    return model, torch.optim.Adam(model.parameters(), lr=1e-2), EMA(model, decay)


def _regression_loss(model: nn.Module, record: list[float] | None = None, stop_at: int = 0, error: type = KeyboardInterrupt):
    """loss(step) drawing a fresh batch from the global torch RNG (or given a batch); optionally
    records every loss, and raises `error` at call `stop_at`, after the draw (which a resumed run
    must then replay)."""
    calls = [0]

    def loss_fn(step) -> torch.Tensor:
        calls[0] += 1
        x = torch.randn(16, 4) if isinstance(step, int) else step
        if calls[0] == stop_at:
            raise error
        loss = (model(x) - x.sum(dim=1, keepdim=True)).pow(2).mean()
        if record is not None:
            record.append(loss.item())
        return loss

    return loss_fn


def _assert_state_dicts_equal(first: dict, second: dict) -> None:
    assert first.keys() == second.keys()
    for name in first:
        assert torch.equal(first[name], second[name]), name


def _step_task(model: nn.Module, path, loss, steps: int = 10, **settings) -> Task:
    return Task("run", model, StepIndices(steps), path, FitSettings(lr=1e-2, **settings), loss)


def _interrupted(task: Task) -> None:
    with pytest.raises(KeyboardInterrupt):
        fit(task)


# ---------------------------------------------------------------- fit


@pytest.mark.parametrize("grad_clip", [0.0, 0.5])
def test_fit_resumes_an_interrupted_run_exactly(tmp_path, grad_clip, one_thread):
    """10 steps straight == interrupted during step 6, then a fresh model resumed to 10 (weights and EMA)."""
    settings = {"grad_clip": grad_clip, "ema_decay": 0.8, "checkpoint_every": 3}
    model, _, _ = _make_run(seed=0)
    straight = fit(_step_task(model, tmp_path / "straight.pt", _regression_loss(model), **settings))

    first, _, _ = _make_run(seed=0)
    _interrupted(_step_task(first, tmp_path / "resumed.pt", _regression_loss(first, stop_at=6), **settings))
    assert load_checkpoint(tmp_path / "resumed.pt", restore_rng=False).step == 5
    resumed, _, _ = _make_run(seed=123)
    torch.randn(100)  # disturb the global RNG: resumption must restore it
    resumed_ema = fit(_step_task(resumed, tmp_path / "resumed.pt", _regression_loss(resumed), **settings))

    _assert_state_dicts_equal(model.state_dict(), resumed.state_dict())
    _assert_state_dicts_equal(straight.state_dict(), resumed_ema.state_dict())
    assert load_checkpoint(tmp_path / "resumed.pt", restore_rng=False).step == 10


def test_fit_resumes_a_checkpoint_of_the_former_step_loop(tmp_path, one_thread):
    """A checkpoint without the loop's position (extra = {}, as the step-based loop wrote) resumes at its step."""
    model, _, _ = _make_run(seed=0)
    fit(_step_task(model, tmp_path / "straight.pt", _regression_loss(model), ema_decay=0.8))

    first, _, _ = _make_run(seed=0)
    with pytest.raises(RuntimeError):  # a crash: the checkpoint of step 5 stays
        fit(_step_task(first, tmp_path / "old.pt", _regression_loss(first, stop_at=7, error=RuntimeError), ema_decay=0.8, checkpoint_every=5))
    payload = torch.load(tmp_path / "old.pt", weights_only=False)
    torch.save({**payload, "extra": {}}, tmp_path / "old.pt")
    resumed, _, _ = _make_run(seed=1)
    fit(_step_task(resumed, tmp_path / "old.pt", _regression_loss(resumed), ema_decay=0.8))
    _assert_state_dicts_equal(model.state_dict(), resumed.state_dict())


def test_fit_over_shuffled_epochs_resumes_mid_epoch_exactly(tmp_path, one_thread):
    """3 epochs of a dataset's shuffled batches, interrupted in the second: same weights and records."""
    data = torch.randn(40, 4, generator=torch.Generator().manual_seed(0))
    batches = ShardedBatches(data, batch_size=8, seed=3, procs=Processes())

    def run(folder, stop_at: int = 0) -> nn.Module:
        model, _, _ = _make_run(seed=0)
        task = Task("epochs", model, batches, folder / "run.pt", FitSettings(lr=1e-2, epochs=3), _regression_loss(model, stop_at=stop_at), metrics=folder / "metrics.jsonl")
        if stop_at:
            _interrupted(task)
            model, _, _ = _make_run(seed=5)
            task = dataclasses.replace(task, model=model, loss=_regression_loss(model))
        fit(task)
        return model

    straight, resumed = run(tmp_path / "straight"), run(tmp_path / "resumed", stop_at=8)
    _assert_state_dicts_equal(straight.state_dict(), resumed.state_dict())
    losses = [[(record["epoch"], record["loss"]) for record in MetricsLog(tmp_path / name / "metrics.jsonl").read()] for name in ("straight", "resumed")]
    assert losses[0] == losses[1] and [epoch for epoch, _ in losses[0]] == [1, 2, 3]


def test_fit_logs_window_means_across_resume(tmp_path):
    """Records every `log_every` steps hold the means of the losses since the previous one, also across a resume."""
    model, _, _ = _make_run(seed=0)
    losses: list[float] = []
    task = _step_task(model, tmp_path / "run.pt", _regression_loss(model, losses, stop_at=7), steps=12, log_every=4)
    task.metrics = tmp_path / "metrics.jsonl"
    _interrupted(task)
    fit(dataclasses.replace(task, loss=_regression_loss(model, losses)))
    records = MetricsLog(task.metrics).read()
    assert [record["step"] for record in records] == [4, 8, 12]
    for record, (start, stop) in zip(records, [(0, 4), (4, 8), (8, 12)]):
        assert record["loss"] == pytest.approx(np.mean(losses[start:stop]), rel=1e-6)


def test_fit_clips_the_gradient_norm(tmp_path):
    """The gradients of the last step (left on the parameters) have at most the clipping norm."""
    norms = {}
    for clip in (0.0, 0.01):
        model, _, _ = _make_run(seed=0)
        fit(_step_task(model, tmp_path / f"{clip}.pt", _regression_loss(model), steps=1, grad_clip=clip))
        norms[clip] = float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters()])))
    assert norms[0.0] > 0.1 and norms[0.01] == pytest.approx(0.01, rel=1e-4)


def test_fit_validates_when_due_and_calls_the_epoch_hook(tmp_path):
    """`before_epoch` sees every epoch; validation runs every `validate_every` epochs and at the last, on the EMA."""
    model, _, _ = _make_run(seed=0)
    epochs, validated = [], []

    def validate(kept: nn.Module) -> dict[str, float]:
        validated.append(kept)
        return {"val_metric": 1.0}

    settings = FitSettings(lr=1e-2, epochs=5, ema_decay=0.5, validate_every=2)
    task = Task("hooks", model, StepIndices(2), tmp_path / "run.pt", settings, _regression_loss(model), validate=validate, before_epoch=epochs.append, metrics=tmp_path / "m.jsonl")
    kept = fit(task)
    assert epochs == [0, 1, 2, 3, 4] and len(validated) == 3 and all(module is kept for module in validated)
    assert ["val_metric" in record for record in MetricsLog(tmp_path / "m.jsonl").read()] == [False, True, False, True, True]


def test_fit_refuses_a_checkpoint_of_another_configuration(tmp_path):
    model, _, _ = _make_run(seed=0)
    task = _step_task(model, tmp_path / "run.pt", _regression_loss(model), steps=2)
    fit(dataclasses.replace(task, config={"size": 1}))
    with pytest.raises(ValueError, match="another configuration"):
        fit(dataclasses.replace(task, config={"size": 2}))


# ---------------------------------------------------------------- EMA


@pytest.mark.parametrize("decay", [0.0, 0.9, 1.0])
def test_ema_update_math(decay):
    """ema <- d * ema + (1 - d) * param; buffers are copied as they are."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    ema = EMA(model, decay)
    before = [parameter.clone() for parameter in ema.model.parameters()]
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter))
    model(torch.randn(8, 3))  # training-mode forward updates the batch-norm running statistics
    ema.update(model)
    for average, old, current in zip(ema.model.parameters(), before, model.parameters()):
        torch.testing.assert_close(average, decay * old + (1 - decay) * current)
        assert not average.requires_grad
    for average, current in zip(ema.model.buffers(), model.buffers()):
        assert torch.equal(average, current)


def test_ema_warmup_forgets_the_initialisation():
    """With warm-up, update n uses min(decay, (1 + n) / (10 + n)): after n updates towards a fixed
    target the initialisation keeps the product of those decays (0.1 after the first update),
    not decay^n; past the crossover the decay is the configured one."""
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    ema = EMA(model, 0.999, warmup=True)
    assert ema.decay_at(0) == pytest.approx(0.1) and ema.decay_at(10**6) == 0.999
    start = [parameter.clone() for parameter in ema.model.parameters()]
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(1.0)
    for updates_done in range(100):
        ema.update(model, updates_done)
    kept = float(np.prod([ema.decay_at(n) for n in range(100)]))
    assert kept < 1e-6 < 0.999**100
    for average, initial, current in zip(ema.model.parameters(), start, model.parameters()):
        torch.testing.assert_close(average, kept * initial + (1 - kept) * current)


def test_fit_stops_at_its_cpu_time_limit_and_continues(tmp_path):
    """A tiny CPU-time limit stops after the first step with a checkpoint; running again continues from it."""
    model, _, _ = _make_run(seed=0)
    fit(_step_task(model, tmp_path / "run.pt", _regression_loss(model), steps=5, cpu_time_limit=1e-9, ema_decay=0.9, ema_warmup=True))
    assert load_checkpoint(tmp_path / "run.pt", restore_rng=False).step == 1
    fit(_step_task(model, tmp_path / "run.pt", _regression_loss(model), steps=5, cpu_time_limit=1e-9, ema_decay=0.9, ema_warmup=True))
    assert load_checkpoint(tmp_path / "run.pt", restore_rng=False).step == 2


def test_ema_is_an_independent_copy():
    """Changing the model does not change the EMA until update; the EMA forwards through its copy."""
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    ema = EMA(model, 0.5)
    x = torch.randn(4, 3)
    expected = model(x).detach()
    with torch.no_grad():
        model.weight.zero_()
    torch.testing.assert_close(ema(x), expected)


# ---------------------------------------------------------------- checkpoints


@pytest.fixture
def trained_state(tmp_path):
    """A model, optimizer and EMA after one step, saved with config and extra into a nested folder."""
    model, optimizer, ema = _make_run(seed=0)
    _regression_loss(model)(0).backward()
    optimizer.step()
    ema.update(model)
    path = tmp_path / "nested" / "run.pt"
    config = FitSettings(lr=0.5, epochs=7)
    save_checkpoint(path, model, optimizer, step=1, config=config, ema=ema, extra={"best": 1.5})
    save_checkpoint(path, model, optimizer, step=3, config=config, ema=ema, extra={"best": 0.5})  # overwrite
    return path, model, optimizer, ema, config


def test_save_checkpoint_is_atomic(trained_state, tmp_path):
    """Only the final file exists afterwards: the temporary file was renamed away."""
    path = trained_state[0]
    assert [file.name for file in tmp_path.rglob("*") if file.is_file()] == ["run.pt"]
    assert path.exists()


def test_load_checkpoint_restores_everything(trained_state):
    """Weights, optimizer and EMA state, step, config (as a dict) and extra come back."""
    path, model, optimizer, ema, config = trained_state
    fresh, fresh_optimizer, fresh_ema = _make_run(seed=1)
    loaded = load_checkpoint(path, fresh, fresh_optimizer, fresh_ema, restore_rng=False)
    assert loaded.step == 3
    assert loaded.config == dataclasses.asdict(config)
    assert loaded.extra == {"best": 0.5}
    _assert_state_dicts_equal(model.state_dict(), fresh.state_dict())
    _assert_state_dicts_equal(ema.state_dict(), fresh_ema.state_dict())
    saved_moments = optimizer.state_dict()["state"]
    loaded_moments = fresh_optimizer.state_dict()["state"]
    for index in saved_moments:
        _assert_state_dicts_equal(saved_moments[index], loaded_moments[index])


def _draw_from_every_rng() -> tuple:
    return random.random(), float(np.random.rand()), torch.rand(3)


def test_load_checkpoint_restores_rng_states(tmp_path):
    """After loading, Python, NumPy and torch draw the same numbers as right after saving."""
    model = nn.Linear(2, 2)
    seed_everything(5)
    save_checkpoint(tmp_path / "rng.pt", model, None, step=0)
    after_save = _draw_from_every_rng()
    _draw_from_every_rng()
    load_checkpoint(tmp_path / "rng.pt")
    after_load = _draw_from_every_rng()
    assert after_load[:2] == after_save[:2]
    assert torch.equal(after_load[2], after_save[2])


# ---------------------------------------------------------------- metrics log, seeding, devices


def test_metrics_log_appends_and_reads_back(tmp_path):
    """Records come back in order with step, time and metrics; reopening the file appends."""
    path = tmp_path / "logs" / "metrics.jsonl"
    assert MetricsLog(path).read() == []
    log = MetricsLog(path)
    log.log(1, loss=0.5)
    log.log(2, loss=0.25, accuracy=0.75)
    MetricsLog(path).log(3, loss=0.125)
    records = MetricsLog(path).read()
    assert [{key: value for key, value in record.items() if key != "time"} for record in records] == [
        {"step": 1, "loss": 0.5},
        {"step": 2, "loss": 0.25, "accuracy": 0.75},
        {"step": 3, "loss": 0.125},
    ]
    assert all(record["time"] >= 0 for record in records)


def test_seed_everything_makes_all_generators_repeat():
    seed_everything(11)
    first = _draw_from_every_rng()
    seed_everything(11)
    second = _draw_from_every_rng()
    assert first[:2] == second[:2]
    assert torch.equal(first[2], second[2])


def test_pick_device_cpu():
    assert pick_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(CUDA, reason="checks the CPU-only fallback")
def test_pick_device_auto_falls_back_to_cpu():
    assert pick_device("auto") == torch.device("cpu")


@pytest.mark.skipif(CUDA, reason="checks the error on a machine without CUDA")
def test_pick_device_cuda_without_cuda_raises():
    with pytest.raises(ValueError, match="CUDA"):
        pick_device("cuda")
