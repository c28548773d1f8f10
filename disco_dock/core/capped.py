"""Run one call in a forked child process with a wall-clock cap: long jobs over many items
(decoys, benchmarks) give up on an item that takes too long instead of stalling, and count it as
a failure. The child is a fork, so it shares the parent's loaded models without copying them;
it dies with the parent (Linux) and leaves Ctrl-C to the parent.

OpenMP's thread pool does not survive a fork (a child using it can hang), so the child runs torch
on one thread."""

from __future__ import annotations

import ctypes
import multiprocessing
import pickle
import signal
import sys
from collections.abc import Callable
from typing import Any

PR_SET_PDEATHSIG = 1
"""Linux `prctl` option: the signal a process gets when its parent dies."""


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
            raise CappedCallError(f"over the time cap of {seconds:g} s")
        try:
            succeeded, value = receiver.recv()
        except (EOFError, OSError, pickle.UnpicklingError):  # the child ended without sending a whole result
            child.join(timeout=5)
            raise CappedCallError(f"the worker process ended with status {child.exitcode}") from None
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()
    if not succeeded:
        raise CappedCallError(value)
    return value


def _child(sender, function: Callable[..., Any], args: tuple) -> None:
    """In the child: send (True, the value) or (False, the error in one line)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)  # the parent's OpenMP pool is not usable after the fork
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    try:
        result = (True, function(*args))
    except Exception as error:  # everything the call raises goes back to the parent as its reason
        result = (False, _one_line(error))
    try:
        sender.send(result)
    except Exception as error:  # e.g. a value that does not pickle
        sender.send((False, f"the result could not be sent back: {_one_line(error)}"))
    sender.close()


def _one_line(error: Exception) -> str:
    """"Type: message" on one line."""
    return " ".join(f"{type(error).__name__}: {error}".split())
