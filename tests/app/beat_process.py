"""One serving gateway's background beat, as a process of its own (``test_background_leases``).

``python -m tests.app.beat_process ROOT PREFIX SECONDS`` builds a gateway over ``ROOT`` whose
stores are in the test PostgreSQL (the variable ``GATEWAY_TEST_DATABASE_URL``, schemas
starting with ``PREFIX``), runs its background jobs every 50 ms for ``SECONDS``, and prints
``holder <name>`` after its first beat; it may be killed at any moment.
"""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path

from gateway.app import open_services
from tests.app.test_storage_from_config import _config


def main() -> None:
    root, prefix, seconds = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    config = _config(root, prefix, lease_seconds=1.5, retention={"decision": 365})
    with open_services(config) as services:
        jobs = services.background_jobs()
        assert services.leases is not None
        deadline = time.monotonic() + seconds
        first = True
        while time.monotonic() < deadline:
            for job in jobs:
                try:
                    job()
                except Exception:  # the test reads the leases, not the work's outcome
                    traceback.print_exc(file=sys.stderr)
            if first:
                print(f"holder {services.leases.holder}", flush=True)
                first = False
            time.sleep(0.05)


if __name__ == "__main__":
    main()
