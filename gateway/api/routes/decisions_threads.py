"""The threads that run decisions, handed work by the event loop without anyio.

``await in_decision_thread(function, *args, threads=N)`` runs ``function`` in one of N
threads of this process and resumes the awaiting coroutine with its result or its error.
A decision blocks its thread while its audit record is committed (group commit), so the
threads are as many as the decisions that may usefully wait for one commit together
(``threads_for``): 16 when records go to the local audit file, which at 32 requests in
flight cost less CPU per decision than 8 (smaller groups, more ``fsync``) or 32 (more
threads woken by every commit, taking turns on the GIL); 32 when a decision waits on
database round trips (PostgreSQL), which release the GIL while they wait.

Compared with ``run_in_threadpool`` (anyio's worker threads behind a capacity limiter and
a cancel scope), a hand-off here is one queue put on the way in and one
``call_soon_threadsafe`` on the way out; the function runs in a copy of the caller's
context variables, as with anyio.  A coroutine cancelled while its function runs stops
waiting; the function runs to its end all the same (a decision is audited as usual) and
its result is dropped.

The threads are made on first use, one set per size and process (a forked worker process
makes its own), and live as long as the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["DATABASE_THREADS", "FILE_THREADS", "in_decision_thread", "threads_for"]

FILE_THREADS = 16  # records committed to the local audit file
DATABASE_THREADS = 32  # records and reads over database round trips

_T = TypeVar("_T")
_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]


class _Threads:
    """The queue the threads of one process take work from."""

    def __init__(self, size: int) -> None:
        self.pid = os.getpid()
        self.jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        for number in range(size):
            thread = threading.Thread(
                target=_work, args=(self.jobs,), name=f"decision-{number}", daemon=True
            )
            thread.start()


_pools: dict[int, _Threads] = {}  # by size
_lock = threading.Lock()


def threads_for(storage: str | None) -> int:
    """How many decision threads suit a gateway whose stores are on ``storage`` (the
    backend's name; ``None``: SQLite and the audit file)."""
    return DATABASE_THREADS if storage == "postgresql" else FILE_THREADS


def _settle(future: asyncio.Future[Any], error: BaseException | None, result: object) -> None:
    if future.cancelled():
        return  # its coroutine stopped waiting
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _work(jobs: queue.SimpleQueue[_Job]) -> None:
    while True:
        loop, future, function, args = jobs.get()
        error: BaseException | None = None
        result: object = None
        try:
            result = function(*args)
        except BaseException as exc:  # the coroutine gets it, as from run_in_threadpool
            error = exc
        with contextlib.suppress(RuntimeError):  # its loop closed: nobody waits any more
            loop.call_soon_threadsafe(_settle, future, error, result)
        del loop, future, function, args, error, result  # nothing kept while idle


def _jobs(size: int) -> queue.SimpleQueue[_Job]:
    with _lock:
        threads = _pools.get(size)
        if threads is None or threads.pid != os.getpid():
            threads = _pools[size] = _Threads(size)
        return threads.jobs


async def in_decision_thread(function: Callable[..., _T], *args: Any, threads: int) -> _T:
    """``function(*args)`` in one of ``threads`` decision threads: its result, or its error
    raised here."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[_T] = loop.create_future()
    context = contextvars.copy_context()  # the caller's context variables, as anyio runs it
    _jobs(threads).put((loop, future, context.run, (function, *args)))
    return await future
