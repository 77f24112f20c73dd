"""Stores shared by several gateway processes: what the per-use freshness check costs.

Run with ``python -m benchmarks.shared_stores`` (SQLite), or with
``GATEWAY_BENCH_DATABASE_URL=postgresql://...`` set to measure on PostgreSQL as well.

* **API key check** (every HTTP request with a key): each check must see a revocation made
  by any process at once.  The store remembers the keys it has checked and, per check,
  reads one number, the store's revocation generation, instead of the key's row (hash,
  scopes, times) parsed again; the naive baseline reads and parses the row every time (the
  memory emptied before each check).
* **Data key look-up** (every sealed audit record): the key of a person, type and month,
  remembered under the key store's erasure generation, read once per look-up; the naive
  baseline reads the key's row every time.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from gateway.callers.api_keys import ApiKeyStore
from gateway.privacy.keystore import DataKeyStore
from gateway.storage import Backend, SqliteBackend

CHECKS = 2_000


def _median_us(check: Callable[[], object], before: Callable[[], object]) -> float:
    times = []
    for _ in range(CHECKS):
        before()
        start = time.perf_counter()
        check()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def bench(backend: Backend, folder: Path) -> tuple[float, float]:
    store = ApiKeyStore(folder / "api-keys.db", backend=backend)
    try:
        secret = store.create("bench", ["decisions:write"]).secret.get_secret_value()
        store.authenticate(secret)
        remembered = _median_us(lambda: store.authenticate(secret), lambda: None)
        naive = _median_us(lambda: store.authenticate(secret), store._checked.clear)
    finally:
        store.close()
    return remembered, naive


def bench_data_keys(backend: Backend, folder: Path) -> tuple[float, float]:
    store = DataKeyStore(folder / "data-keys.sqlite", backend)
    now = datetime.now(UTC)
    try:
        store.key_for("tom", "decision", "2026-12", now)

        def look_up() -> object:
            return store.key_for("tom", "decision", "2026-12", now)

        remembered = _median_us(look_up, lambda: None)
        naive = _median_us(look_up, store._cache.clear)
    finally:
        store.close()
    return remembered, naive


def main() -> None:
    print(f"load: {os.getloadavg()[0]:.2f} (1 min)")
    backends: list[tuple[str, Backend]] = [("sqlite", SqliteBackend())]
    dsn = os.environ.get("GATEWAY_BENCH_DATABASE_URL")
    if dsn:
        from gateway.storage.postgres import PostgresBackend

        prefix = f"bench{os.getpid()}_"
        backends.append(("postgresql", PostgresBackend(dsn, pool_size=2, prefix=prefix)))
    for name, backend in backends:
        with tempfile.TemporaryDirectory() as folder:
            remembered, naive = bench(backend, Path(folder))
            key_remembered, key_naive = bench_data_keys(backend, Path(folder))
        if name == "postgresql":
            with backend.pool.connection() as db:  # type: ignore[attr-defined]
                for store in ("callers", "privacy"):
                    db.execute(f'DROP SCHEMA "bench{os.getpid()}_{store}" CASCADE')
        backend.close()
        print(
            f"{name}: API key check p50 {remembered:.1f} us remembered "
            f"(one generation read), {naive:.1f} us reading the key's row "
            f"({naive / remembered:.2f}x)"
        )
        print(
            f"{name}: data key look-up p50 {key_remembered:.1f} us remembered "
            f"(one generation read), {key_naive:.1f} us reading the key's row "
            f"({key_naive / key_remembered:.2f}x)"
        )


if __name__ == "__main__":
    main()
