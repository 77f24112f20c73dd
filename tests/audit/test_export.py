"""``export_lines``: the records as the file auditors verify, written whole or not at all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.audit.checkpoints import verify_log_file
from gateway.audit.export import export_lines
from gateway.audit.snapshot import AuditFile
from gateway.errors import AuditError
from tests.audit.conftest import SampleLog


def test_an_export_is_the_log_file_byte_for_byte_and_its_checkpoint_verifies(
    sample_log: SampleLog, tmp_path: Path
) -> None:
    output = tmp_path / "exports" / "audit.jsonl"
    exported = export_lines(AuditFile(sample_log.path).lines(), output)
    assert output.read_bytes() == sample_log.path.read_bytes()
    assert exported.records == 6
    note = exported.checkpoint(sample_log.second, "example.org/audit")
    result = verify_log_file(output, sample_log.first.public_key, checkpoint_note=note)
    assert result.checkpoint is not None
    assert result.checkpoint.size == 6
    assert not list(output.parent.glob(".*partial"))


def test_a_log_never_written_exports_as_an_empty_file(tmp_path: Path) -> None:
    exported = export_lines(AuditFile(tmp_path / "none.log").lines(), tmp_path / "out.jsonl")
    assert (exported.records, (tmp_path / "out.jsonl").read_bytes()) == (0, b"")
    assert AuditFile(tmp_path / "none.log").where == str(tmp_path / "none.log")


def test_an_unwritable_output_is_an_audit_error_and_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(AuditError, match="cannot write the export"):
        export_lines(iter([b"{}"]), tmp_path / "file" / "audit.jsonl")


def test_a_log_that_fails_while_read_leaves_no_export(tmp_path: Path) -> None:
    def failing() -> Iterator[bytes]:
        yield b"{}"
        raise AuditError("postgresql schema gateway_audit: audit read failed")

    output = tmp_path / "audit.jsonl"
    with pytest.raises(AuditError, match="audit read failed"):
        export_lines(failing(), output)
    assert list(tmp_path.iterdir()) == []


def test_a_folder_is_not_a_log_to_read(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="cannot read audit log"):
        list(AuditFile(tmp_path).lines())
