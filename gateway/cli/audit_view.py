"""What ``gateway audit show`` prints: records with sealed fields opened, erased or
unavailable (``gateway.privacy``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gateway.audit.records import parse_record
from gateway.audit.snapshot import read_records
from gateway.privacy.keystore import DataKeyStore
from gateway.privacy.sealer import open_payload

__all__ = ["describe", "show_records"]


def show_records(
    log_path: Path, keys_path: Path | None, only: int | None, *, held: DataKeyStore | None = None
) -> Iterator[dict[str, Any]]:
    """Each record (or record ``only``) as the auditor sees it, opened with the key store
    ``held`` (the caller's, left open) or the one at ``keys_path``."""
    keys = held
    if keys is None and keys_path is not None and keys_path.exists():
        keys = DataKeyStore(keys_path)
    try:
        for index, line in enumerate(read_records(log_path)):
            if only is not None and index != only:
                continue
            record = parse_record(line, index)
            opened = open_payload(record.type, record.payload, keys)
            yield {
                "seq": record.seq,
                "time": record.time,
                "type": record.type,
                "actor": record.actor,
                "action": record.action,
                "resource": record.resource,
                "decision_id": record.decision_id,
                "payload": opened.payload,
                "sealed": opened.fields,
                "data_key_ids": opened.key_ids,
                "redacted": list(record.redacted),
            }
    finally:
        if keys is not None and keys is not held:
            keys.close()


def describe(row: dict[str, Any]) -> str:
    head = f"#{row['seq']} {row['time']} {row['type']}"
    for name in ("actor", "action", "resource"):
        if row[name] is not None:
            head += f" {name}={row[name]}"
    lines = [head]
    for name, value in row["payload"].items():
        state = row["sealed"].get(f"payload.{name}")
        text = (
            value if state in ("erased", "unavailable") else json.dumps(value, ensure_ascii=False)
        )
        mark = f" (sealed, {state})" if state == "opened" else ""
        lines.append(f"  payload.{name}: {text}{mark}")
    return "\n".join(lines)
