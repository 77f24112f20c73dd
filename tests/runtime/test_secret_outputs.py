"""A temporary password is sealed for the person who asked, read once, then gone; it is
never in the audit log, the execution record or a notification."""

from __future__ import annotations

import json
import re

import pytest

from gateway.runtime.errors import ExecutionStateError, ExecutionStoreError
from gateway.runtime.sealing import OutputSealer
from tests.runtime.conftest import MakeRuntime
from tests.runtime.harness import Clock, Runtime

pytestmark = pytest.mark.usefixtures("storage_settings")  # SQLite and PostgreSQL


PASSWORD = re.compile(r"[A-Za-z0-9\-_.!@#%+=]{20}")


def reset(runtime: Runtime) -> str:
    return runtime.run("password-reset", "elena", user="tom").id


def test_the_temporary_password_is_read_once_by_the_requester_only(runtime: Runtime) -> None:
    execution_id = reset(runtime)
    executor = runtime.executor

    with pytest.raises(ExecutionStateError) as by_other:
        executor.reveal(execution_id, "temporary_password", "tom")
    password = executor.reveal(execution_id, "temporary_password", "elena")
    with pytest.raises(ExecutionStateError) as again:
        executor.reveal(execution_id, "temporary_password", "elena")

    assert PASSWORD.fullmatch(password)
    assert str(by_other.value) == (
        f"only elena may read the secret outputs of execution {execution_id}"
    )
    assert str(again.value) == (
        f"execution {execution_id} has no unread secret output 'temporary_password' "
        "(it was read already, expired, or never made)"
    )
    read = [r for r in runtime.trail(execution_id) if r.type == "execution.secret_read"]
    assert [r.payload["by"] for r in read] == ["elena"]
    for where in (
        runtime.audit_text(),
        json.dumps(executor.get(execution_id).as_json()),
        runtime.config.notifications.file.read_text(),
        *(
            path.read_bytes().decode("latin-1")
            for path in runtime.config.runtime.database.parent.glob("runtime.db*")
        ),
    ):
        assert password not in where


def test_an_unread_secret_expires(runtime: Runtime, clock: Clock) -> None:
    execution_id = reset(runtime)
    clock.advance(seconds=runtime.config.runtime.output_ttl_seconds)

    with pytest.raises(ExecutionStateError, match=r"'temporary_password' of .* has expired$"):
        runtime.executor.reveal(execution_id, "temporary_password", "elena")


def test_expired_secrets_are_purged_by_the_background_work(runtime: Runtime, clock: Clock) -> None:
    execution_id = reset(runtime)
    clock.advance(seconds=runtime.config.runtime.output_ttl_seconds + 1)

    runtime.executor.tick()

    with pytest.raises(ExecutionStateError, match="has no unread secret output"):
        runtime.executor.reveal(execution_id, "temporary_password", "elena")


def test_a_secret_sealed_under_another_key_does_not_decrypt(runtime: Runtime) -> None:
    execution_id = reset(runtime)
    runtime.config.runtime.output_key.unlink()
    runtime.restart()  # a new key is made

    with pytest.raises(ExecutionStoreError, match=r"'temporary_password' of .* does not decrypt"):
        runtime.executor.reveal(execution_id, "temporary_password", "elena")


def test_an_output_key_others_can_read_is_refused(runtime: Runtime) -> None:
    key = runtime.config.runtime.output_key
    key.chmod(0o644)

    with pytest.raises(ExecutionStoreError, match="output key is accessible by group or others"):
        OutputSealer.from_key_file(key, 60)


def test_a_gateway_that_keeps_no_secrets_drops_them(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime(keep_secrets=False)

    execution = runtime.run("token", "elena", ticket="T-1")

    assert execution.step("token").sealed == ()
    assert "tok-T-1" not in runtime.audit_text()
    with pytest.raises(ExecutionStateError, match="secret outputs are not kept by this gateway"):
        runtime.executor.reveal(execution.id, "api_token", "elena")


def test_any_actions_secret_output_is_sealed_and_listed_by_name(runtime: Runtime) -> None:
    execution = runtime.run("token", "elena", ticket="T-1")

    assert execution.as_json()["steps"][0]["secret_outputs"] == ["api_token"]
    assert runtime.executor.reveal(execution.id, "api_token", "elena") == "tok-T-1"
    assert "tok-T-1" not in runtime.audit_text()


def test_a_gateway_that_keeps_no_secrets_has_none_to_purge(
    make_runtime: MakeRuntime, clock: Clock
) -> None:
    runtime = make_runtime(keep_secrets=False)
    runtime.ticketing.down = 1
    waiting = runtime.run("comment", "elena", ticket="T-1")
    clock.advance(seconds=2)

    assert runtime.executor.tick() == 1
    assert runtime.executor.get(waiting.id).state.finished
