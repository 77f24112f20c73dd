"""A store that fails because its database cannot serve answers 503
``storage-unavailable``, whichever store it is; on the command line, exit code 5."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.api.problems import problem_for
from gateway.approvals.errors import ApprovalStoreError
from gateway.cli import cli
from gateway.errors import ExitCode
from gateway.runtime.errors import ExecutionStoreError
from gateway.stepup.errors import StepUpStoreError
from gateway.storage import StorageUnavailableError
from tests.postgres import free_port


def _raised_from_unavailable(kind: type[Exception]) -> Exception:
    message = "postgresql schema gateway_x: store failed: the database is unavailable: cut"
    try:
        raise kind(message) from StorageUnavailableError(message)
    except kind as exc:
        return exc


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param(ExecutionStoreError, id="the execution store"),
        pytest.param(ApprovalStoreError, id="the approval store"),
        pytest.param(StepUpStoreError, id="the step-up store"),
    ],
)
def test_a_store_cut_from_its_database_is_storage_unavailable(kind: type[Exception]) -> None:
    problem = problem_for(_raised_from_unavailable(kind))  # type: ignore[arg-type]

    assert (problem.status, problem.name, problem.title) == (
        503,
        "storage-unavailable",
        "Storage unavailable",
    )
    assert str(problem).endswith("the database is unavailable: cut")


def test_a_store_failing_for_another_reason_keeps_its_own_problem() -> None:
    problem = problem_for(ExecutionStoreError("postgresql schema gateway_runtime: bad row"))

    assert (problem.status, problem.name) == (503, "executions-unavailable")


def test_a_command_whose_database_cannot_be_reached_exits_5(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(
        '[storage]\nbackend = "postgresql"\ndsn_env = "GATEWAY_DATABASE_URL"\ntimeout_seconds = 1\n'
    )
    monkeypatch.chdir(tmp_path)
    dsn = f"postgresql://gateway:Sup3r-secret@127.0.0.1:{free_port()}/gateway"

    result = CliRunner().invoke(
        cli,
        ["--config", str(config), "executions", "list"],
        env={"GATEWAY_DATABASE_URL": dsn},
        prog_name="gateway",
    )

    assert result.exit_code == ExitCode.UNAVAILABLE, result.output
    assert "cannot reach the PostgreSQL database" in result.output
    assert "Sup3r-secret" not in result.output
