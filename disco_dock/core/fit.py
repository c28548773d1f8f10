"""The training loop of every backend: Adam, gradient clipping, an optional EMA, a metrics log,
validation, and checkpoints from which a run resumes exactly.

A `Task` says what to train (a model, its loss, its batches) and `FitSettings` how. Batches come
epoch by epoch from a `Batches` source: a dataset's shuffled batches (`distributed.ShardedBatches`)
or, for studies whose loss draws its own batch, `StepIndices` (one epoch of step numbers).

The checkpoint (`Task.checkpoint`) holds the weights, optimizer, EMA, the generators' states and the
loop's `Position` (epochs finished, batches done in the epoch, the loss sums not yet logged). It is
written at the end of every epoch, every `checkpoint_every` steps if set, and when the run is
interrupted with KeyboardInterrupt (with the generators' states from before the unfinished batch),
so that running again continues exactly as an uninterrupted run would.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from disco_dock.core.distributed import Processes
from disco_dock.core.training import EMA, MetricsLog, load_checkpoint, progress, rng_state, save_checkpoint, seed_everything, set_rng_state

Loss = Tensor | tuple[Tensor, dict[str, Tensor]]
"""A batch's loss, alone or with named parts to log (their sum or any other breakdown)."""


class Batches(Protocol):
    """Where `fit` gets each epoch's batches."""

    def __len__(self) -> int:
        """Batches per epoch (of this process)."""

    def epoch(self, epoch: int, skip: int = 0) -> Iterable:
        """This process's batches of `epoch` without its first `skip`."""


@dataclass(frozen=True)
class StepIndices:
    """One epoch of `steps` batches that are step numbers: for a loss that draws its own batch
    from the global generator (restored on resume, so the draws are replayed)."""

    steps: int

    def __len__(self) -> int:
        return self.steps

    def epoch(self, epoch: int, skip: int = 0) -> range:
        """The step numbers of `epoch` after the first `skip`."""
        return range(epoch * self.steps + skip, (epoch + 1) * self.steps)


@dataclass(frozen=True)
class FitSettings:
    """How `fit` trains."""

    lr: float
    epochs: int = 1
    weight_decay: float = 0.0
    grad_clip: float = 0.0
    """Clip the gradients' total norm to this (0: no clipping)."""
    ema_decay: float | None = None
    """Decay of an exponential moving average of the weights (None: no EMA)."""
    ema_warmup: bool = False
    """The EMA's decay grows as (1 + n) / (10 + n) up to `ema_decay` (see `core.training.EMA`)."""
    cpu_time_limit: float = 0.0
    """Stop after the step at which this process has used this many CPU seconds in this call,
    with a checkpoint, so that running again continues (0: no limit; one process, not DDP)."""
    log_every: int = 0
    """Steps between metrics records (0: one at each epoch's end; there is always one there)."""
    checkpoint_every: int = 0
    """Steps between checkpoints (0: at each epoch's end only; there is always one there)."""
    validate_every: int = 1
    """Epochs between validations (the last epoch is always validated)."""
    seed: int = 0
    """The generators of DDP processes other than rank 0 are seeded from it."""


@dataclass
class Task:
    """What `fit` trains: `model`'s `parameters` (all by default) to minimise `loss(batch)`, or
    the model's own output `model(batch)` when `loss` is None (which DDP needs)."""

    name: str
    model: nn.Module
    batches: Batches
    checkpoint: Path
    settings: FitSettings
    loss: Callable[[Any], Loss] | None = None
    parameters: list[nn.Parameter] | None = None
    config: Any = None
    """Stored in the checkpoint; by default a checkpoint with another one is refused (ValueError)."""
    check_config: Callable[[Any, Path], None] | None = None
    """Instead of equality: raises if a checkpoint's stored config (and path) cannot continue this run."""
    validate: Callable[[nn.Module], dict[str, float]] | None = None
    """Metrics of the trained model (the EMA's when there is one), on rank 0, after an epoch."""
    before_epoch: Callable[[int], None] | None = None
    metrics: Path | None = None
    """A JSON-lines file that gets the records (on rank 0)."""
    report: Callable[[str], None] | None = None
    """Where each record is also shown, as one line (e.g. tqdm.write)."""


@dataclass
class Position:
    """Where a run stands: epochs finished, batches done in the current one, optimizer steps in
    all, and the sums of the loss parts over the `counted` batches since the last record."""

    epoch: int = 0
    batches: int = 0
    step: int = 0
    sums: dict[str, float] = field(default_factory=dict)
    counted: int = 0

    def add(self, parts: dict[str, Tensor]) -> None:
        """Count one batch with these loss parts."""
        for key, value in parts.items():
            self.sums[key] = self.sums.get(key, 0.0) + float(value.detach())
        self.counted += 1
        self.batches += 1
        self.step += 1

    def take_means(self) -> dict[str, float]:
        """The parts' means since the last record; starts a new window."""
        means = {key: total / max(self.counted, 1) for key, total in self.sums.items()}
        self.sums, self.counted = {}, 0
        return means


def fit(task: Task, procs: Processes = Processes()) -> nn.Module:
    """Train `task`, resuming from its checkpoint when there is one; returns the model to keep
    (the EMA's copy, in eval mode, if there is an EMA). See the module docstring."""
    settings = task.settings
    parameters = list(task.model.parameters() if task.parameters is None else task.parameters)
    optimizer = torch.optim.Adam(parameters, lr=settings.lr, weight_decay=settings.weight_decay)
    ema = EMA(task.model, settings.ema_decay, settings.ema_warmup) if settings.ema_decay is not None else None
    position = _resume(task, optimizer, ema)
    if procs.rank:  # the others' generators: their own, also after a resume from rank 0's checkpoint
        seed_everything(settings.seed + 1000 * position.step + procs.rank)
    metrics = MetricsLog(task.metrics) if task.metrics is not None and procs.is_main else None
    kept = task.model if ema is None else ema.model

    def save() -> None:
        if procs.is_main:
            save_checkpoint(task.checkpoint, task.model, optimizer, position.step, task.config, ema, extra=dataclasses.asdict(position))

    def record(epoch: int, seconds: float, steps: int, validation: dict[str, float]) -> None:
        values = {"stage": task.name, "epoch": epoch + 1, **procs.mean(position.take_means())}
        values.update({"seconds_per_step": seconds / max(steps, 1), **validation})
        if metrics is not None:
            metrics.log(position.step, **values)
        if task.report is not None and procs.is_main:
            task.report(_summary(values, settings.epochs))

    per_epoch = len(task.batches)
    cpu_start = time.process_time()
    for epoch in range(position.epoch, settings.epochs):
        if task.before_epoch is not None:
            task.before_epoch(epoch)
        network = procs.wrap(task.model)
        task.model.train()
        bar = progress(total=per_epoch, initial=position.batches, desc=f"{task.name} {epoch + 1}/{settings.epochs}", disable=not procs.is_main)
        start, steps = time.perf_counter(), 0
        before_batch = rng_state()  # the batch may draw random numbers: resume from before it
        out_of_time = False
        try:
            for batch in task.batches.epoch(epoch, skip=position.batches):
                parts = _train_step(task, network, batch, optimizer, parameters, ema, position.step)
                position.add(parts)
                before_batch = rng_state()
                steps += 1
                bar.update(1)
                bar.set_postfix(loss=f"{float(parts['loss'].detach()):.4g}", refresh=False)
                if position.batches < per_epoch:  # the epoch's end records and saves below
                    if settings.log_every and position.step % settings.log_every == 0:
                        record(epoch, time.perf_counter() - start, steps, {})
                        start, steps = time.perf_counter(), 0
                    if settings.checkpoint_every and position.step % settings.checkpoint_every == 0:
                        save()
                out_of_time = settings.cpu_time_limit > 0 and time.process_time() - cpu_start >= settings.cpu_time_limit
                if out_of_time and position.batches < per_epoch:
                    record(epoch, time.perf_counter() - start, steps, {})
                    save()
                    return kept
        except KeyboardInterrupt:
            set_rng_state(before_batch)
            save()
            raise
        finally:
            bar.close()
        due = (epoch + 1) % settings.validate_every == 0 or epoch + 1 == settings.epochs
        validation = task.validate(kept) if procs.is_main and task.validate is not None and due else {}
        record(epoch, time.perf_counter() - start, steps, validation)
        position.epoch, position.batches = epoch + 1, 0
        save()
        procs.barrier()
        if out_of_time:
            break
    return kept


def _train_step(
    task: Task, network: nn.Module, batch: Any, optimizer: torch.optim.Optimizer, parameters: list[nn.Parameter], ema: EMA | None, step: int
) -> dict[str, Tensor]:
    """One optimizer step on `batch` (clipped, then the EMA updated as its `step`-th update); returns the loss and its parts."""
    output = network(batch) if task.loss is None else task.loss(batch)
    loss, parts = output if isinstance(output, tuple) else (output, {})
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if task.settings.grad_clip > 0:
        nn.utils.clip_grad_norm_(parameters, task.settings.grad_clip)
    optimizer.step()
    if ema is not None:
        ema.update(task.model, step)
    return {"loss": loss, **parts}


def _resume(task: Task, optimizer: torch.optim.Optimizer, ema: EMA | None) -> Position:
    """The position of the task's checkpoint, with weights, optimizer, EMA and generators restored;
    the start when there is none."""
    if not task.checkpoint.exists():
        return Position()
    expected = task.config if task.check_config is None else None
    loaded = load_checkpoint(task.checkpoint, task.model, optimizer, ema, expected_config=expected)  # on the CPU: RNG states must stay there
    if task.check_config is not None:
        task.check_config(loaded.config, task.checkpoint)
    if not loaded.extra:  # written by the former step-based loop: `step` batches into one long epoch
        epoch, batches = divmod(loaded.step, len(task.batches))
        return Position(epoch, batches, loaded.step)
    return Position(**{"counted": loaded.extra["batches"], **loaded.extra})  # checkpoints before `counted`: one record per epoch


def _summary(record: dict, epochs: int) -> str:
    """One line: the record's metrics after its task and epoch."""
    shown = {key: value for key, value in record.items() if key not in ("stage", "epoch")}
    return f"{record['stage']} epoch {record['epoch']}/{epochs}: " + ", ".join(f"{key} {value:.4g}" for key, value in shown.items())
