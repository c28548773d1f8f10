"""Training utilities shared by every backend: seeding, devices, progress bars, EMA, checkpoints, metrics log
(the loop itself is `core.fit`).

Checkpoints hold the configuration, weights, EMA weights, optimizer state, step and every random
number generator's state, so that a resumed run continues exactly as an uninterrupted one would.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from disco_dock.core.files import replacing


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name: str = "auto") -> torch.device:
    """'auto' gives CUDA when present, else CPU; anything else is passed to torch.device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("CUDA was asked for but is not available on this machine")
    return device


def progress(iterable=None, total: int | None = None, desc: str = "", initial: int = 0, disable: bool = False) -> tqdm:
    """A progress bar on stderr, quiet enough for CI logs (none with `disable`, e.g. on DDP ranks > 0)."""
    return tqdm(iterable, total=total, desc=desc, initial=initial, mininterval=2.0, dynamic_ncols=True, leave=False, disable=disable)


class EMA(nn.Module):
    """Exponential moving average of a model's parameters (buffers are copied as they are).

    With `warmup`, update n (counting from 0) uses the decay min(`decay`, (1 + n) / (10 + n)), as
    TensorFlow's `ExponentialMovingAverage` with `num_updates`: the average forgets the random
    initialisation within the first steps instead of carrying decay^n of it (31 % after 1,170
    steps at 0.999).
    """

    def __init__(self, model: nn.Module, decay: float = 0.999, warmup: bool = False):
        super().__init__()
        self.decay, self.warmup = decay, warmup
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    def decay_at(self, updates_done: int) -> float:
        """The decay of the update that follows `updates_done` earlier ones."""
        return min(self.decay, (1 + updates_done) / (10 + updates_done)) if self.warmup else self.decay

    @torch.no_grad()
    def update(self, model: nn.Module, updates_done: int = 0) -> None:
        """Move the average towards `model`'s parameters (`updates_done`: earlier updates, for the warm-up)."""
        weight = 1.0 - self.decay_at(updates_done)
        for average, current in zip(self.model.parameters(), model.parameters()):
            average.lerp_(current.detach(), weight)
        for average, current in zip(self.model.buffers(), model.buffers()):
            average.copy_(current)

    def forward(self, *args, **kwargs):
        return self.model(*args, **kwargs)


def rng_state() -> dict[str, Any]:
    """The states of Python's, NumPy's, torch's (and CUDA's) global generators."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore generator states from `rng_state`."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _config_dict(config: Any) -> Any:
    return dataclasses.asdict(config) if dataclasses.is_dataclass(config) else config


def save_checkpoint(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None,
    step: int,
    config: Any = None,
    ema: EMA | None = None,
    extra: dict | None = None,
) -> None:
    """Write a checkpoint atomically (temporary file, then rename): a crash never leaves half a file."""
    payload = {
        "config": _config_dict(config),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "ema": ema.state_dict() if ema is not None else None,
        "step": step,
        "rng": rng_state(),
        "extra": extra or {},
    }
    with replacing(path) as temporary:
        torch.save(payload, temporary)


@dataclass
class LoadedCheckpoint:
    """What `load_checkpoint` returns besides the restored modules."""

    step: int
    config: Any
    extra: dict


def load_checkpoint(
    path: Path,
    model: nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    ema: EMA | None = None,
    restore_rng: bool = True,
    map_location="cpu",
    expected_config: Any = None,
) -> LoadedCheckpoint:
    """Restore whichever of model, optimizer, EMA are given, and (by default) the RNG states.

    With ``expected_config``, a checkpoint saved with another configuration raises ValueError
    before anything is restored.
    """
    payload = torch.load(Path(path), map_location=map_location, weights_only=False)
    if expected_config is not None and payload["config"] != _config_dict(expected_config):
        raise ValueError(f"{path} was written with another configuration: delete it or use another folder")
    if model is not None:
        model.load_state_dict(payload["model"])
    if optimizer is not None and payload["optimizer"] is not None:
        optimizer.load_state_dict(payload["optimizer"])
    if ema is not None and payload["ema"] is not None:
        ema.load_state_dict(payload["ema"])
    if restore_rng:
        set_rng_state(payload["rng"])
    return LoadedCheckpoint(step=payload["step"], config=payload["config"], extra=payload["extra"])


class MetricsLog:
    """Appends one JSON object per line (step, wall time, metrics) to a file; safe to reopen on resume."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.start = time.time()

    def log(self, step: int, **metrics: float) -> None:
        record = {"step": step, "time": round(time.time() - self.start, 3), **metrics}
        with self.path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")

    def read(self) -> list[dict]:
        """All records written so far."""
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
