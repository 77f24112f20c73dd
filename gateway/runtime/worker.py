"""The background loop of a serving gateway: resume what can go on, on a fixed beat.

A loop runs its jobs one after the other, so a slow job delays the next round: what must
happen on time whatever the other jobs take (the renewal of a liveness lease) runs in a
loop of its own."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

__all__ = ["BackgroundWorker"]

log = logging.getLogger(__name__)


class BackgroundWorker:
    """Calls each of ``jobs`` every ``interval`` seconds in one daemon thread until stopped;
    a job that raises is logged and the others go on."""

    def __init__(
        self, jobs: Iterable[Callable[[], object]], interval: float, *, name: str = "gateway-worker"
    ) -> None:
        self._jobs = list(jobs)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def add(self, jobs: list[Callable[[], object]]) -> None:
        """More jobs, before ``start``."""
        self._jobs.extend(jobs)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self._interval)

    def run_once(self) -> None:
        for job in self._jobs:
            try:
                job()
            except Exception:
                log.exception("background job %s failed", getattr(job, "__name__", job))

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
