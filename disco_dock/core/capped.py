"""Run one call in a forked child process with a wall-clock cap: long jobs over many items
(decoys, benchmarks) give up on an item that takes too long instead of stalling, and count it as
a failure. The child is a fork, so it shares the parent's loaded models without copying them."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from typing import Any


class CappedCallError(RuntimeError):
    """The capped call did not return a value: over the cap, raised, or its process died. The
    message is one line, ready for a failure list."""


def call_capped(function: Callable[..., Any], *args: Any, seconds: float) -> Any:
    """`function(*args)` in a forked child process, killed after `seconds`; its return value
    (which must pickle), or CappedCallError with the reason."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(sender, function, args), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(seconds):
            child.kill()
            raise CappedCallError(f"over the time cap of {seconds:g} s")
        try:
            succeeded, value = receiver.recv()
        except EOFError:  # the child ended without sending anything
            child.join()
            raise CappedCallError(f"the worker process ended with status {child.exitcode}") from None
    finally:
        receiver.close()
        child.join()
    if not succeeded:
        raise CappedCallError(value)
    return value


def _child(sender, function: Callable[..., Any], args: tuple) -> None:
    """In the child: send (True, the value) or (False, the error in one line)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        result = (True, function(*args))
    except Exception as error:  # everything the call raises goes back to the parent as its reason
        result = (False, " ".join(f"{type(error).__name__}: {error}".split()))
    sender.send(result)
    sender.close()
