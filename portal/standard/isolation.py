"""Run a function in a short-lived child process with an address-space limit.

Native code (python-calamine) that fails to allocate aborts its whole process, past any ``except``: run it
where that death only ends a child. Children fork from a forkserver started once per process (a clean
interpreter with the reader modules imported), so a read costs a fork (some 20–30 ms), not an interpreter
start; forking the caller itself would copy a web process's threads and locks.

The child reads hostile files, so what it hands back is data only — JSON (dates tagged), never a pickle
that could run code here if the child were subverted — and no more of it than the caller accepts.
"""
from __future__ import annotations

import json
import logging
import math
import multiprocessing
import resource
import time
from dataclasses import dataclass
from datetime import date, datetime, time as clock_time, timedelta
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


class ChildFailed(Exception):
    """The function raised in the child: ``kind`` is the exception's class name, ``message`` its text."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class ChildUsage:
    """What the last child of this process cost: wall seconds, CPU seconds, peak RSS bytes (logged; the
    benchmarks print it)."""

    seconds: float
    cpu_seconds: float
    peak_rss: int


last_usage: ChildUsage | None = None


class ResultTooLarge(Exception):
    """The child's answer is larger than the caller accepts (it would not fit this process)."""

    def __init__(self, size: int):
        super().__init__(f"answer of {size} bytes")
        self.size = size


_TAGS = {"$date": date.fromisoformat, "$datetime": datetime.fromisoformat, "$time": clock_time.fromisoformat,
         "$timedelta": lambda seconds: timedelta(seconds=seconds)}


def _tagged(value):
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, clock_time):
        return {"$time": value.isoformat()}
    if isinstance(value, timedelta):
        return {"$timedelta": value.total_seconds()}
    raise TypeError(f"{type(value).__name__} cannot leave the child")


def _untagged(obj: dict):
    if len(obj) == 1:
        (key, value), = obj.items()
        if key in _TAGS:
            return _TAGS[key](value)
    return obj


def encode_data(value) -> bytes:
    """``value`` as a child hands it back: JSON (UTF-8) with dates, times and durations tagged."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_tagged).encode("utf-8")


def decode_data(data: bytes):
    """The value ``encode_data`` wrote (data only: nothing in it can run code here)."""
    return json.loads(data, object_hook=_untagged)


def answer_size(value) -> int:
    """The bytes ``value`` would take as a child's answer (for a caller that wants to know without asking)."""
    return len(encode_data({"value": value}))


_context = None


def _get_context():
    global _context
    if _context is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        _context = context
    return _context


def _child(connection, memory_bytes: int, cpu_seconds: int, max_result_bytes: int, func: Callable,
           args: tuple) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    # the caller kills a child over its time; this ends one whose caller died first (it forked from the
    # forkserver, not from the caller, so nothing else would)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    try:
        payload = encode_data({"value": func(*args)})
    except Exception as exc:  # noqa: BLE001 — handed to the parent, raised there
        payload = encode_data({"failed": [type(exc).__name__, str(exc)]})
    if len(payload) > max_result_bytes:
        payload = encode_data({"too_large": len(payload)})
    connection.send_bytes(payload)
    del payload
    usage = resource.getrusage(resource.RUSAGE_SELF)
    connection.send_bytes(f"{usage.ru_maxrss * 1024} {usage.ru_utime + usage.ru_stime:.3f}".encode())
    connection.close()


def run_in_child(func: Callable, *args: Any, memory_bytes: int, timeout: float,
                 max_result_bytes: int = 1 << 30) -> Any:
    """``func(*args)`` in a child limited to ``memory_bytes`` of address space and ``timeout`` seconds.

    ``func`` and ``args`` must pickle (they go to the child); its result must be JSON with dates, times and
    durations (they come back). Raises ``ChildFailed`` when ``func`` raised, ``ResultTooLarge`` when the
    result is over ``max_result_bytes``, ``ChildDied`` when the child ended without an answer (a native
    abort, the memory limit, a signal) or ran out of time (killed).
    """
    return start_in_child(func, *args, memory_bytes=memory_bytes, timeout=timeout,
                          max_result_bytes=max_result_bytes).answer()


def start_in_child(func: Callable, *args: Any, memory_bytes: int, timeout: float,
                   max_result_bytes: int = 1 << 30) -> "ChildRun":
    """``run_in_child`` begun and not waited for: the caller goes on (another child beside it, on another core)
    and takes the answer from the ``ChildRun`` — or stops it, no longer wanting it."""
    return ChildRun(func, args, memory_bytes, timeout, max_result_bytes)


class ChildRun:
    """One child running ``func(*args)`` (``start_in_child``); ``answer()`` once, or ``stop()``."""

    def __init__(self, func, args, memory_bytes, timeout, max_result_bytes):
        context = _get_context()
        self._name = getattr(func, "__name__", func)
        self._receiver, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=_child, daemon=True, args=(
            sender, memory_bytes, math.ceil(timeout) + 5, max_result_bytes, func, args))
        self._max_result_bytes = max_result_bytes
        self._started = time.monotonic()
        self._deadline = self._started + timeout  # the time runs from the start, whatever the caller did since
        self._process.start()
        sender.close()  # the child holds the only writer: its death is an EOF here
        self._answered = False
        self.usage: ChildUsage | None = None
        self.answer_size = 0  # the bytes of the answer (its JSON)

    def answer(self) -> Any:
        """The child's answer, waited for until its time is up; raises as ``run_in_child`` does."""
        try:
            if not self._receiver.poll(max(self._deadline - time.monotonic(), 0)):
                self._process.kill()
                raise ChildDied("timeout", None)
            try:
                data = self._receiver.recv_bytes(self._max_result_bytes + 1024)
            except (EOFError, OSError):
                self._process.join(5)
                raise ChildDied("died", self._process.exitcode) from None
            self._answered, self.answer_size = True, len(data)
            answer = decode_data(data)
            del data
            try:
                peak, cpu = self._receiver.recv_bytes(64).split()
                peak, cpu = int(peak), float(cpu)
            except (EOFError, OSError, ValueError):
                peak, cpu = 0, 0.0
        finally:
            self.stop()
        global last_usage
        self.usage = last_usage = ChildUsage(time.monotonic() - self._started, cpu, peak)
        log.info("%s ran in a child process: %.2f s (CPU %.2f s), peak RSS %.0f MB", self._name,
                 self.usage.seconds, cpu, peak / 1048576)
        if "failed" in answer:
            raise ChildFailed(*answer["failed"])
        if "too_large" in answer:
            raise ResultTooLarge(answer["too_large"])
        return answer["value"]

    def stop(self) -> None:
        """End the child — at once if it has not answered (its answer is no longer wanted) — and close the
        pipe; stopping twice does nothing more."""
        self._receiver.close()
        self._process.join(5 if self._answered else 0)  # one that answered exits by itself
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
