"""The configured audit log for those who only read it (export, policy history and impact,
``audit show``, the knowledge trail): the file ``[audit] log``, or the table of the shared
database when ``[storage] backend = "postgresql"``.  Readers that take records read them
through ``audit_records``; readers that read a file get one from ``audit_log_file``."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway.app.gateway import open_audit_log
from gateway.audit.database import DatabaseAuditLog, DatabaseAuditRecords
from gateway.audit.export import export_lines
from gateway.audit.keys import Signer
from gateway.audit.log import AuditLog
from gateway.audit.snapshot import AuditFile
from gateway.audit.store import AuditReader, AuditStore
from gateway.config import GatewayConfig
from gateway.privacy.keystore import DataKeyStore
from gateway.storage import open_backend

__all__ = [
    "audit_log_file",
    "audit_log_opener",
    "audit_records",
    "configured_audit_log",
    "data_keys",
]


@contextmanager
def audit_records(config: GatewayConfig) -> Iterator[AuditReader]:
    """The records of the log ``config`` writes, open for the block."""
    if config.storage.backend != "postgresql":
        yield AuditFile(config.audit.log)
        return
    backend = open_backend(config.storage)
    try:
        reader = DatabaseAuditRecords(backend)
        try:
            yield reader
        finally:
            reader.close()
    finally:
        backend.close()


@contextmanager
def audit_log_file(config: GatewayConfig) -> Iterator[Path]:
    """The log ``config`` writes as a file, for readers that read a file: ``[audit] log``
    itself, or, on PostgreSQL, an export of the table to a temporary file (removed when
    the block ends; records appended meanwhile are not in it)."""
    if config.storage.backend != "postgresql":
        yield config.audit.log
        return
    with tempfile.TemporaryDirectory(prefix="gateway-audit-") as folder:
        path = Path(folder) / "audit.log"
        with audit_records(config) as reader:
            export_lines(reader.lines(), path)
        yield path


@contextmanager
def configured_audit_log(config: GatewayConfig) -> Iterator[AuditStore]:
    """The log ``config`` writes, open for appending for the block, with its own
    connection to the shared database when there is one."""
    backend = open_backend(config.storage)
    try:
        log = open_audit_log(config.audit, config.privacy, backend)
        try:
            yield log
        finally:
            log.close()
    finally:
        backend.close()


@contextmanager
def audit_log_opener(config: GatewayConfig) -> Iterator[Callable[[Signer], AuditStore]]:
    """Opens the log ``config`` writes with a given key (a key rotation signs with the
    key it replaces), for the block."""
    backend = open_backend(config.storage)
    try:
        if backend.name == "postgresql":
            yield lambda signer: DatabaseAuditLog(backend, signer)
        else:
            yield lambda signer: AuditLog(config.audit.log, signer)
    finally:
        backend.close()


@contextmanager
def data_keys(config: GatewayConfig, path: Path | None = None) -> Iterator[DataKeyStore | None]:
    """The data key store that opens sealed fields: the file at ``path`` when given, else
    the configured one (in the shared database on PostgreSQL); ``None`` when there is no
    such file."""
    if path is not None or config.storage.backend != "postgresql":
        chosen = path or config.privacy.key_store
        if not chosen.exists():
            yield None
            return
        with DataKeyStore(chosen) as keys:
            yield keys
        return
    backend = open_backend(config.storage)
    try:
        with DataKeyStore(config.privacy.key_store, backend) as keys:
            yield keys
    finally:
        backend.close()
