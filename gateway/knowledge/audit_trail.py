"""The audit records that document executions, read once and indexed.

``read_audit`` reads the log with ``gateway.audit.snapshot.read_records`` (an append under
way is not read yet) and ``gateway.audit.records.parse_record``.  A line that cannot be read
is not fatal here (verifying the log is ``gateway audit verify``'s job): it is skipped and named in
``problems``, and summaries say that part of the record is missing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from gateway.audit.records import AuditRecord, parse_record
from gateway.audit.snapshot import read_records
from gateway.errors import VerificationError
from gateway.knowledge.errors import KnowledgeStoreError
from gateway.privacy.keystore import DataKeyStore
from gateway.privacy.sealer import open_record
from gateway.storage import StorageSettings

__all__ = ["AuditIndex", "read_audit"]


@dataclass
class AuditIndex:
    """Audit records by execution id, decisions by decision id, and what was unreadable."""

    by_execution: dict[str, list[AuditRecord]] = field(default_factory=lambda: defaultdict(list))
    decisions: dict[str, AuditRecord] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, records: Iterable[AuditRecord], problems: Iterable[str] = ()) -> AuditIndex:
        index = cls(problems=list(problems))
        for record in records:
            if record.type == "decision" and record.decision_id:
                index.decisions[record.decision_id] = record
            execution = record.payload.get("execution")
            if isinstance(execution, str):
                index.by_execution[execution].append(record)
        return index

    def for_execution(self, execution_id: str) -> list[AuditRecord]:
        return list(self.by_execution.get(execution_id, ()))


def read_audit(
    path: Path, data_keys: Path | None = None, storage: StorageSettings | None = None
) -> AuditIndex:
    """Every readable record of the log at ``path``; unreadable lines become problems.

    With ``data_keys`` (``[privacy] key_store``; shared on PostgreSQL, per ``storage``),
    sealed personal fields are opened where their key is held, and read
    ``"erased"``/``"unavailable"`` otherwise (``gateway.privacy``): documentation is written
    from what may still be read."""
    records: list[AuditRecord] = []
    problems: list[str] = []
    keys = DataKeyStore.for_reading(data_keys, storage) if data_keys is not None else None
    try:
        for position, line in enumerate(read_records(path)):
            try:
                records.append(open_record(parse_record(line, position), keys))
            except VerificationError as exc:
                problems.append(f"audit record at line {position + 1} is unreadable ({exc.kind})")
    except FileNotFoundError:
        problems.append("the audit log does not exist")
    except OSError as exc:
        raise KnowledgeStoreError(f"{path}: cannot read the audit log: {exc.strerror}") from exc
    finally:
        if keys is not None:
            keys.close()
    return AuditIndex.of(records, problems)
