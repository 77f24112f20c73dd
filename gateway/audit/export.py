"""``gateway audit export``: the log's records, in order, as the file auditors verify.

Whatever holds the records (the file, or the table of the shared database), the export is
the file form byte for byte: each record's canonical line and a newline, in sequence
order.  It is written to a temporary file next to the output, flushed to disk and renamed
into place, so a reader never sees half an export.  The Merkle root of exactly the
records written comes back, so a checkpoint can commit to the export as it is.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gateway.audit.keys import Signer
from gateway.audit.merkle import leaf_hash
from gateway.audit.note import Checkpoint, sign_checkpoint
from gateway.audit.verify import RootAccumulator
from gateway.errors import AuditError

__all__ = ["Export", "export_lines"]


@dataclass(frozen=True)
class Export:
    """What was exported: how many records and the root of their tree."""

    path: Path
    records: int
    root: bytes

    def checkpoint(self, signer: Signer, name: str) -> str:
        """A signed C2SP checkpoint over exactly the records exported."""
        return sign_checkpoint(Checkpoint(name, self.records, self.root), name, signer.private_key)


def export_lines(lines: Iterable[bytes], output: Path) -> Export:
    """Write ``lines`` to ``output`` as a log file; ``AuditError`` when it cannot be
    written (nothing is left at ``output`` then)."""
    partial = output.with_name(f".{output.name}.partial")
    accumulator = RootAccumulator()
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as handle:
            for line in lines:
                handle.write(line + b"\n")
                accumulator.add(leaf_hash(line))
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(output)
    except OSError as exc:
        _discard(partial)
        raise AuditError(f"{output}: cannot write the export: {exc.strerror}") from exc
    except BaseException:
        _discard(partial)
        raise
    return Export(output, accumulator.size, accumulator.root())


def _discard(partial: Path) -> None:
    with contextlib.suppress(OSError):  # keep the first error, not the clean-up's
        partial.unlink(missing_ok=True)
