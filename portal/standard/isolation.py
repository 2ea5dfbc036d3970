"""Run a function in a short-lived child process with an address-space limit.

Native code (python-calamine) that fails to allocate aborts its whole process, past any ``except``: run it
where that death only ends a child. Children fork from a forkserver started once per process (a clean
interpreter with the reader modules imported), so a read costs a fork (~20 ms), not an interpreter start;
forking the caller itself would copy a web process's threads and locks.
"""
from __future__ import annotations

import logging
import multiprocessing
import pickle
import resource
import time
from typing import Any, Callable

log = logging.getLogger(__name__)

# Imported once by the forkserver, so that each child starts warm. multiprocessing re-runs the caller's main
# script in every child (preloading '__main__' does not prevent it in CPython 3.11); the entry scripts'
# own imports (flask, rq worker, gunicorn) are preloaded so that this re-run costs nothing.
PRELOAD = ["portal.standard.workbook", "python_calamine", "flask.cli", "rq.cli", "gunicorn.app.wsgiapp"]


class ChildDied(Exception):
    """The child ended without an answer: killed by a signal, out of memory, or over its time."""

    def __init__(self, reason: str, exitcode: int | None):
        super().__init__(f"{reason} (exit code {exitcode})")
        self.reason = reason  # 'timeout' or 'died'
        self.exitcode = exitcode


_context = None


def _get_context():
    global _context
    if _context is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        _context = context
    return _context


class ResultTooLarge(Exception):
    """The child's answer pickles to more than the caller accepts (it would not fit this process)."""

    def __init__(self, size: int):
        super().__init__(f"answer of {size} bytes")
        self.size = size


def _child(connection, memory_bytes: int, max_result_bytes: int, func: Callable, args: tuple) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    try:
        outcome = (True, func(*args))
    except Exception as exc:  # noqa: BLE001 — handed to the parent, raised there
        outcome = (False, exc)
    try:
        payload = pickle.dumps(outcome, pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 — an answer that does not pickle is a failure of its own
        payload = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
    if len(payload) > max_result_bytes:
        payload = pickle.dumps((False, ResultTooLarge(len(payload))))
    connection.send_bytes(payload)
    del payload
    connection.send(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    connection.close()


def run_in_child(func: Callable, *args: Any, memory_bytes: int, timeout: float,
                 max_result_bytes: int = 1 << 30) -> Any:
    """``func(*args)`` in a child limited to ``memory_bytes`` of address space and ``timeout`` seconds.

    Returns its result or raises the exception it raised (both must pickle); raises ``ResultTooLarge`` when
    the result pickles to more than ``max_result_bytes``, ``ChildDied`` when the child ends without an answer
    (a native abort, the memory limit, a signal) or runs out of time (killed).
    """
    context = _get_context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, memory_bytes, max_result_bytes, func, args),
                              daemon=True)
    started = time.monotonic()
    process.start()
    sender.close()  # the child holds the only writer: its death is an EOF here
    try:
        if not receiver.poll(timeout):
            process.kill()
            raise ChildDied("timeout", None)
        try:
            ok, value = pickle.loads(receiver.recv_bytes())
        except (EOFError, OSError):
            process.join(5)
            raise ChildDied("died", process.exitcode) from None
        try:
            peak = receiver.recv()
        except (EOFError, OSError):
            peak = 0
    finally:
        receiver.close()
        process.join(5)
        if process.is_alive():
            process.kill()
            process.join()
    log.info("%s ran in a child process: %.2f s, peak RSS %.0f MB", getattr(func, "__name__", func),
             time.monotonic() - started, peak / 1048576)
    if not ok:
        raise value
    return value
