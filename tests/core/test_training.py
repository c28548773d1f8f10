"""Training utilities: exact resumption, EMA, atomic checkpoints, metrics log, seeding and devices."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest
import torch
from torch import nn

from disco_dock.core.training import (
    EMA,
    LoopConfig,
    MetricsLog,
    load_checkpoint,
    pick_device,
    save_checkpoint,
    seed_everything,
    train_loop,
)

CUDA = torch.cuda.is_available()


def _make_run(seed: int, decay: float = 0.8) -> tuple[nn.Module, torch.optim.Optimizer, EMA]:
    """A small model with dropout (so the forward pass also draws from the global RNG), Adam and an EMA."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Dropout(0.2), nn.Linear(16, 1))
    return model, torch.optim.Adam(model.parameters(), lr=1e-2), EMA(model, decay)


def _regression_loss(model: nn.Module, record: list[float] | None = None):
    """loss_fn(step) drawing a fresh batch from the global torch RNG; optionally records every loss."""

    def loss_fn(step: int) -> torch.Tensor:
        x = torch.randn(16, 4)
        loss = (model(x) - x.sum(dim=1, keepdim=True)).pow(2).mean()
        if record is not None:
            record.append(loss.item())
        return loss

    return loss_fn


def _assert_state_dicts_equal(first: dict, second: dict) -> None:
    assert first.keys() == second.keys()
    for name in first:
        assert torch.equal(first[name], second[name]), name


# ---------------------------------------------------------------- train_loop


@pytest.mark.parametrize("grad_clip", [0.0, 0.5])
def test_train_loop_resume_matches_uninterrupted_run(tmp_path, grad_clip):
    """10 steps straight == 5 steps, then a fresh model/optimizer resumed from the checkpoint to 10."""
    model, optimizer, ema = _make_run(seed=0)
    loop = LoopConfig(num_steps=10, checkpoint_every=3, grad_clip=grad_clip)
    assert train_loop(model, optimizer, _regression_loss(model), loop, tmp_path / "straight.pt", ema=ema) == 10

    first, first_optimizer, first_ema = _make_run(seed=0)
    half = dataclasses.replace(loop, num_steps=5)
    train_loop(first, first_optimizer, _regression_loss(first), half, tmp_path / "resumed.pt", ema=first_ema)
    resumed, resumed_optimizer, resumed_ema = _make_run(seed=123)
    torch.randn(100)  # disturb the global RNG: resumption must restore it
    step = train_loop(resumed, resumed_optimizer, _regression_loss(resumed), loop, tmp_path / "resumed.pt", ema=resumed_ema)

    assert step == 10
    _assert_state_dicts_equal(model.state_dict(), resumed.state_dict())
    _assert_state_dicts_equal(ema.state_dict(), resumed_ema.state_dict())
    assert load_checkpoint(tmp_path / "resumed.pt", restore_rng=False).step == 10


def test_train_loop_logs_window_means_across_resume(tmp_path):
    """Logged losses are the means of the per-step losses since the previous log, also after a resume."""
    model, optimizer, _ = _make_run(seed=0)
    losses: list[float] = []
    metrics = MetricsLog(tmp_path / "metrics.jsonl")
    checkpoint = tmp_path / "run.pt"
    for num_steps in (5, 12):  # stop at a step that is not a multiple of log_every, then resume
        train_loop(model, optimizer, _regression_loss(model, losses), LoopConfig(num_steps, log_every=4), checkpoint, metrics=metrics)
    records = metrics.read()
    assert [record["step"] for record in records] == [4, 5, 8, 12]
    windows = [(0, 4), (4, 5), (5, 8), (8, 12)]
    for record, (start, stop) in zip(records, windows):
        assert record["loss"] == pytest.approx(np.mean(losses[start:stop]), rel=1e-6)


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
    config = LoopConfig(num_steps=7, log_every=2)
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
