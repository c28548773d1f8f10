"""Run one call in a forked child process with a cap on its CPU seconds: long jobs over many
items (decoys, benchmarks) give up on an item that takes too long instead of stalling, and count
it as a failure. The cap counts the child's own CPU time (the kernel's `RLIMIT_CPU`), so a busy
machine, which stretches wall-clock time, does not turn items into misses; a wall-clock limit of
`WALL_CLOCK_FACTOR` times the cap still stops a child that waits without computing. The child is
a fork, so it shares the parent's loaded models without copying them; it dies with the parent
(Linux) and leaves Ctrl-C to the parent.

OpenMP's thread pool does not survive a fork (a child using it can hang), so the child runs torch
on one thread."""

from __future__ import annotations

import ctypes
import multiprocessing
import math
import pickle
import resource
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

PR_SET_PDEATHSIG = 1
"""Linux `prctl` option: the signal a process gets when its parent dies."""

WALL_CLOCK_FACTOR = 3.0
"""A child still running after this many times its CPU cap in wall-clock seconds is stopped too
(it is waiting, not computing, or the machine is loaded beyond three processes per core)."""


class CappedCallError(RuntimeError):
    """The capped call did not return a value: over the cap, raised, or its process died. The
    message is one line, ready for a failure list."""


def call_capped(function: Callable[..., Any], *args: Any, seconds: float) -> Any:
    """`function(*args)` in a forked child process, stopped after `seconds` of its CPU time
    (rounded up to whole seconds); its return value (which must pickle), or CappedCallError with
    the reason."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    cpu_limit = max(1, math.ceil(seconds))
    child = context.Process(target=_child, args=(sender, function, args, cpu_limit), daemon=True)
    child.start()
    sender.close()
    over_cap = CappedCallError(f"over the time cap of {seconds:g} CPU s")
    try:
        if not receiver.poll(WALL_CLOCK_FACTOR * seconds):
            raise CappedCallError(f"over the time cap: {WALL_CLOCK_FACTOR * seconds:g} s of wall-clock time")
        try:
            succeeded, value = pickle.loads(receiver.recv_bytes())
        except (EOFError, OSError, pickle.UnpicklingError):  # the child ended without sending a whole result
            child.join(timeout=5)
            if child.exitcode == -signal.SIGXCPU:  # the kernel's CPU limit
                raise over_cap from None
            raise CappedCallError(f"the worker process ended with status {child.exitcode}") from None
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()
    if not succeeded:
        raise CappedCallError(value)
    return value


def cpu_seconds() -> float:
    """CPU seconds used so far by this process and by its children that have ended and been
    waited for (a capped call's child counts once it returns): the difference around a call is
    that call's CPU time, in this process or in a capped child."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _child(sender, function: Callable[..., Any], args: tuple, cpu_limit: int) -> None:
    """In the child: send (True, the value) or (False, the error in one line); the kernel ends it
    with SIGXCPU after `cpu_limit` CPU seconds."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_limit, resource.RLIM_INFINITY))
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)  # the parent's OpenMP pool is not usable after the fork
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    try:
        result = (True, function(*args))
    except Exception as error:  # everything the call raises goes back to the parent as its reason
        result = (False, _one_line(error))
    try:  # plain pickle bytes: multiprocessing's own pickler would pass torch tensors as shared memory, gone with this process
        message = pickle.dumps(result)
    except Exception as error:  # e.g. a value that does not pickle
        message = pickle.dumps((False, f"the result could not be sent back: {_one_line(error)}"))
    sender.send_bytes(message)
    sender.close()


def _one_line(error: Exception) -> str:
    """"Type: message" on one line."""
    return " ".join(f"{type(error).__name__}: {error}".split())
