"""A capped call returns its value, or fails in one line: over the cap, raised, or died."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from disco_dock.core.capped import CappedCallError, call_capped


def test_the_value_comes_back_from_the_child() -> None:
    value = call_capped(np.arange, 100_000, seconds=30)
    assert np.array_equal(value, np.arange(100_000))


def test_a_call_over_the_cap_is_stopped_and_reported() -> None:
    start = time.perf_counter()
    with pytest.raises(CappedCallError, match="over the time cap of 0.5 s"):
        call_capped(time.sleep, 30, seconds=0.5)
    assert time.perf_counter() - start < 10


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
