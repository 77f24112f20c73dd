"""Bounds on waiting for PostgreSQL, so a network that drops packets silently (no reset)
fails a request within the store's timeout instead of leaving it hanging until TCP
gives up (many minutes).

``safe_conninfo`` adds to a connection string what it does not set itself:

* ``connect_timeout``: connecting gives up after the store's timeout;
* TCP keepalives (``keepalives``, ``keepalives_idle``, ``keepalives_interval``,
  ``keepalives_count``) and ``tcp_user_timeout``: a peer that vanished is noticed;
* ``statement_timeout`` and ``lock_timeout`` (in ``options``): the server ends a
  statement, or a wait for a lock (the stores' advisory locks too), after the timeout.

A peer that accepts and then never answers (a half-dead proxy, a frozen host) defeats
all of these: the client waits for a reply that the server never sends and that TCP
never times out.  So each statement runs under a ``Watchdog`` deadline a little longer
than the statement timeout: a statement with no answer by then has no live server
behind it, and its connection is shut down, which fails the statement (and so the
request) as unavailable.  A connection string that sets ``statement_timeout`` itself
chooses its own bound: the watchdog then leaves its statements alone.
"""

from __future__ import annotations

import contextlib
import math
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from psycopg.conninfo import conninfo_to_dict, make_conninfo

__all__ = ["WATCHDOG_GRACE_SECONDS", "Watchdog", "safe_conninfo"]

WATCHDOG_GRACE_SECONDS = 0.5  # beyond the statement timeout, before a silent peer is cut


def safe_conninfo(dsn: str, timeout_seconds: float) -> tuple[str, float | None]:
    """``dsn`` with the defaults it does not set, and how long a statement may wait for
    its answer before the watchdog cuts it (``None`` when ``dsn`` sets its own
    ``statement_timeout``)."""
    found = conninfo_to_dict(dsn)
    seconds = max(1, round(timeout_seconds))
    defaults: dict[str, str | int] = {
        "connect_timeout": seconds,
        "keepalives": 1,
        "keepalives_idle": seconds,
        "keepalives_interval": max(1, seconds // 3),
        "keepalives_count": 3,
        "tcp_user_timeout": int(timeout_seconds * 1000),
    }
    added = {name: value for name, value in defaults.items() if name not in found}
    options = str(found.get("options") or "")
    milliseconds = int(timeout_seconds * 1000)
    for setting in ("statement_timeout", "lock_timeout"):
        if setting not in options:
            options = f"{options} -c {setting}={milliseconds}".strip()
    added["options"] = options
    watched = None if "statement_timeout" in str(found.get("options") or "") else timeout_seconds
    return make_conninfo(dsn, **added), watched


def _shut(fd: int) -> None:
    """Shut the socket ``fd`` down (not closed: its owner still holds it)."""
    sock = socket.socket(fileno=fd)
    try:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    finally:
        sock.detach()


class Watchdog:
    """Shuts down the socket of a statement still unanswered at its deadline; one
    daemon thread, started on first use, asleep while nothing is watched.

    The thread sleeps until the earliest deadline it saw; a statement is watched without
    waking it unless its deadline comes sooner (the thread had nothing to watch, or a
    store with a shorter timeout): statements of one timeout start in deadline order, so
    a busy process wakes the thread about once per timeout, not once per statement."""

    def __init__(self) -> None:
        self._due: dict[object, tuple[float, int]] = {}
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._wake = math.inf  # when the thread looks next (inf: asleep until woken)

    @contextmanager
    def watch(self, fd: int, seconds: float | None) -> Iterator[None]:
        """Within the block, ``fd`` is shut down once ``seconds`` (plus a grace) pass."""
        if seconds is None:
            yield
            return
        token = object()
        deadline = time.monotonic() + seconds + WATCHDOG_GRACE_SECONDS
        with self._changed:
            self._due[token] = (deadline, fd)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="postgres-watchdog", daemon=True
                )
                self._thread.start()
            elif deadline < self._wake:
                self._changed.notify()  # due before the thread would look again
        try:
            yield
        finally:
            with self._changed:
                self._due.pop(token, None)

    def _run(self) -> None:
        with self._changed:
            while True:
                now = time.monotonic()
                for token, (deadline, fd) in list(self._due.items()):
                    if deadline <= now:
                        del self._due[token]
                        _shut(fd)
                self._wake = min((deadline for deadline, _ in self._due.values()), default=math.inf)
                self._changed.wait(None if self._wake == math.inf else self._wake - now)
