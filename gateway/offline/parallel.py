"""Checking a long segment's lines on every core.

Each line's strict parse and Ed25519 verification (``gateway.audit.segment_lines``) do not
depend on the lines before it, and the verification holds the GIL, so a segment of at least
``PARALLEL_MIN_LINES`` lines has them checked in chunks of ``CHUNK_LINES`` by worker
processes (one per other core, started once from a fork server and kept) and by this
process, which takes the last chunks no worker has started while it waits for the next one
in order; the caller runs the checks that follow the chain, in order, as chunks come back.
Shorter segments, a machine with one core, or a pool that cannot start or breaks are
checked in this process: the same checks, slower, never fewer.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from gateway.audit.segment_lines import LineCheck, Malformed, Wire, check_lines, from_wire

__all__ = ["CHUNK_LINES", "PARALLEL_MIN_LINES", "checked_lines", "workers"]

PARALLEL_MIN_LINES = 2_000
CHUNK_LINES = 1_000

_log = logging.getLogger(__name__)
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def workers() -> int:
    """How many cores this process may use."""
    return len(os.sched_getaffinity(0))


def _shared_pool() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["gateway.audit.segment_lines"])
            _pool = ProcessPoolExecutor(max_workers=workers() - 1, mp_context=context)
        return _pool


def _drop_pool(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def checked_lines(lines: Sequence[bytes], raw_key: bytes) -> Iterator[LineCheck | Malformed]:
    """``check_lines`` over ``lines``, in order; on every core when it pays."""
    if workers() < 2 or len(lines) < PARALLEL_MIN_LINES:
        yield from map(from_wire, check_lines(raw_key, lines))
        return
    chunks = [lines[at : at + CHUNK_LINES] for at in range(0, len(lines), CHUNK_LINES)]
    pool = _shared_pool()
    futures: list[Future[list[Wire]] | None] = [None] * len(chunks)
    try:
        for number, chunk in enumerate(chunks):
            futures[number] = pool.submit(check_lines, raw_key, chunk)
    except (BrokenProcessPool, OSError, RuntimeError) as exc:  # shut down, cannot start
        _failed(pool, exc)
    done: dict[int, list[Wire]] = {}
    try:
        for number, chunk in enumerate(chunks):
            _steal_while_waiting(number, futures, chunks, done, raw_key)
            checked = done.pop(number, None)
            if checked is None:
                checked = _collect(futures[number], pool, raw_key, chunk)
            yield from map(from_wire, checked)
    finally:
        for future in futures:  # the caller stopped at a bad record: drop the rest
            if future is not None:
                future.cancel()


def _steal_while_waiting(
    number: int,
    futures: list[Future[list[Wire]] | None],
    chunks: list[Sequence[bytes]],
    done: dict[int, list[Wire]],
    raw_key: bytes,
) -> None:
    """While chunk ``number`` is not back, check here the last chunks no worker started."""
    while (future := futures[number]) is not None and not future.done():
        later = next(
            (
                at
                for at in range(len(chunks) - 1, number, -1)
                if (taken := futures[at]) is not None and taken.cancel()
            ),
            None,
        )
        if later is None:
            return
        futures[later] = None
        done[later] = check_lines(raw_key, chunks[later])


def _failed(pool: ProcessPoolExecutor, exc: BaseException) -> None:
    _log.warning("segment lines checked in this process: the worker pool failed: %s", exc)
    _drop_pool(pool)


def _collect(
    future: Future[list[Wire]] | None,
    pool: ProcessPoolExecutor,
    raw_key: bytes,
    chunk: Sequence[bytes],
) -> list[Wire]:
    if future is not None:
        try:
            return future.result()
        except Exception as exc:  # whatever failed there, the lines are checked here
            _failed(pool, exc)
    return check_lines(raw_key, chunk)
