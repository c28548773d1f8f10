"""A capped call returns its value, or fails in one line: over its CPU seconds (or far over them
in wall-clock time), raised, or died."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from disco_dock.core.capped import WALL_CLOCK_FACTOR, CappedCallError, call_capped, cpu_seconds


def test_the_value_comes_back_from_the_child() -> None:
    value = call_capped(np.arange, 100_000, seconds=30)
    assert np.array_equal(value, np.arange(100_000))


def test_torch_tensors_come_back_after_the_child_has_ended() -> None:
    import torch  # multiprocessing's pickler would share them through memory that ends with the child

    value = call_capped(torch.arange, 5, seconds=10)
    assert torch.equal(value, torch.arange(5))


def test_a_call_over_its_cpu_seconds_is_stopped_and_reported() -> None:
    start = time.perf_counter()
    with pytest.raises(CappedCallError, match="over the time cap of 1 CPU s"):
        call_capped(_spin, seconds=1)
    assert time.perf_counter() - start < 3 * WALL_CLOCK_FACTOR


def test_a_call_that_waits_without_computing_is_stopped_by_the_wall_clock() -> None:
    start = time.perf_counter()
    with pytest.raises(CappedCallError, match="over the time cap: 1.5 s of wall-clock time"):
        call_capped(time.sleep, 30, seconds=0.5)
    assert time.perf_counter() - start < 10


def test_cpu_seconds_count_a_capped_child_once_it_has_ended() -> None:
    before = cpu_seconds()
    call_capped(_busy_for, 0.3, seconds=30)
    assert cpu_seconds() - before >= 0.25


def _spin() -> None:
    while True:
        pass


def _busy_for(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_an_error_in_the_call_becomes_one_line() -> None:
    with pytest.raises(CappedCallError, match=r"^ValueError: bad\s+input$"):
        call_capped(_fail, "bad\n  input", seconds=30)


def test_a_child_that_dies_is_reported_with_its_status() -> None:
    with pytest.raises(CappedCallError, match="ended with status 3"):
        call_capped(os._exit, 3, seconds=30)


def _fail(message: str) -> None:
    raise ValueError(message)


def test_a_value_that_does_not_pickle_is_reported() -> None:
    with pytest.raises(CappedCallError, match="could not be sent back"):
        call_capped(_unpicklable, seconds=30)


def _unpicklable():
    return lambda: None
