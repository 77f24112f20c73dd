"""The seam between the audit log's users and where its records live.

Every user of the log (the enforcement point, the runtime, the CLI, the HTTP routes, the
offline merge, privacy requests) holds an ``AuditStore``:

* ``gateway.audit.log.AuditLog``: one file, appends serialised by ``flock`` (the embedded
  default, and each field kit's segment);
* ``gateway.audit.database.DatabaseAuditLog``: a table of the shared database
  (``[storage] backend = "postgresql"``), appends serialised by the audit schema's lock, so
  every process and host writes one chain.

Both seal records with the same function (``gateway.audit.records.seal_record``) through
the same group commit (``gateway.audit.batching``), so the records are the same bytes and
``gateway audit verify`` reads either, the database one through ``gateway audit export``.
An ``AuditReader`` is the part a reader needs: the records, in order, and where they are.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from gateway.audit.keys import Signer
from gateway.audit.records import AuditEvent, AuditRecord, PayloadSealer

__all__ = ["AuditReader", "AuditStore"]


class AuditReader(Protocol):
    """The records of a log, for those who only read it."""

    @property
    def where(self) -> str:
        """The log's place, for messages: a file path or a database schema."""
        ...

    def lines(self) -> Iterator[bytes]:
        """The records committed when reading starts, in sequence order, each the exact
        canonical line (without a newline); ``AuditError`` when the log cannot be read."""
        ...


class AuditStore(AuditReader, Protocol):
    """An open audit log: appends are durable and ordered when they return, from every
    thread, process and host writing it; ``AuditWriteError`` otherwise, with nothing
    written (so the change that waited for the record does not happen)."""

    signer: Signer
    sealer: PayloadSealer | None
    last_failure: str | None  # why the last append failed; None once one works again

    def append(self, event: AuditEvent) -> AuditRecord: ...

    def append_batch(self, events: Sequence[AuditEvent]) -> list[AuditRecord]: ...

    def rotate_key(self, new_signer: Signer) -> AuditRecord: ...

    def readiness_problem(self) -> str | None:
        """Why the next append would fail, from a cheap local look, or ``None``."""
        ...

    def close(self) -> None: ...
