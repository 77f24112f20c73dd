"""One writer of a shared audit log on PostgreSQL (``test_postgres_log.py``).

``python -m tests.audit.appender JSON`` opens the audit log in the schemas named by the
JSON's ``prefix`` with the signing key at ``key``, prints ``ready``, waits for ``go`` on
its input, then appends ``count`` records from ``threads`` threads at once (so group
commit batches them) and prints the sequence numbers it was given as one JSON line.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

from gateway.audit.database import DatabaseAuditLog
from gateway.audit.keys import load_signer
from gateway.audit.records import AuditEvent
from gateway.storage.postgres import PostgresBackend


def main(task: dict[str, Any]) -> None:
    backend = PostgresBackend(task["dsn"], pool_size=4, prefix=task["prefix"])
    log = DatabaseAuditLog(backend, load_signer(Path(task["key"])))
    seqs: list[int] = []
    threads = int(task["threads"])
    each = int(task["count"]) // threads

    def work(number: int) -> None:
        for index in range(each):
            event = AuditEvent(
                type="decision.made",
                actor=task["name"],
                action="password.reset",
                resource=f"account:user-{number}-{index}",
                payload={"thread": number, "index": index},
            )
            seqs.append(log.append(event).seq)

    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit(2)
    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    log.close()
    backend.close()
    print(json.dumps({"seqs": seqs}), flush=True)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
