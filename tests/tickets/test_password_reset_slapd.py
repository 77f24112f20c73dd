"""The password reset from a ticket, end to end against a real OpenLDAP server (slapd).

Elena writes a ticket; the gateway verifies her as the account owner, starts the reset
as Elena, asks her (on the ticket) to step up; she steps up bound to that exact reset; the
password changes in slapd; the ticket gets the next steps and is resolved; the audit log
verifies with the public key alone and shows every step; nothing written holds the
password.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyotp
import pytest

from gateway.audit.checkpoints import verify_log_file
from gateway.audit.keys import load_public_key
from gateway.runtime.model import ExecutionState
from gateway.tickets import Outcome
from tests.integration.slapd import (
    ADMIN_PASSWORD,
    INSTALL_HINT,
    Slapd,
    in_ci,
    missing,
    running_slapd,
)
from tests.scenarios.runtime_support import LDAP_PASSWORD_ENV, binds, ldap_identity
from tests.tickets.conftest import MakeDesk, generic


@pytest.fixture(scope="module")
def ldap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    binary = missing()
    if binary is not None:
        if in_ci():
            pytest.fail(f"{binary} not found: the scenario needs it in CI; {INSTALL_HINT}")
        pytest.skip(INSTALL_HINT)
    yield from running_slapd(tmp_path_factory.mktemp("tickets-slapd"))


def test_a_ticket_resets_elenas_password_in_slapd_after_his_step_up(
    make_desk: MakeDesk, ldap_server: Slapd, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LDAP_PASSWORD_ENV, ADMIN_PASSWORD)
    desk = make_desk(ldap_identity(ldap_server))
    body = generic(
        "R1", "elena@example.test", "Forgot my password",
        "Hi, I forgot my password after the holidays. Please reset it. Elena",
    )  # fmt: skip

    result = desk.service.receive_delivery("generic", body, {})

    assert result.outcome is Outcome.STARTED
    execution = result.execution
    assert execution is not None
    assert execution.actor == "elena"
    assert execution.state is ExecutionState.AWAITING_STEP_UP
    asked = desk.entries("embedded:T-R1")[-1][1]
    digest = str((execution.waiting or {})["digest"])
    assert f"--user elena --bound-to {digest}" in asked
    assert binds(ldap_server, "elena", "elena-Old-pw1")

    stepup = desk.gateway.stepup
    assert stepup is not None
    seed = stepup.enrol("elena").seed.get_secret_value()
    stepup.verify("elena", pyotp.TOTP(seed).now(), bound_to=digest)
    done = desk.executor.advance(execution.id)
    desk.service.follow_up()
    entries = desk.entries("embedded:T-R1")
    password = desk.executor.reveal(execution.id, "temporary_password", "elena")

    assert done.state is ExecutionState.SUCCEEDED
    assert binds(ldap_server, "elena", password)
    assert not binds(ldap_server, "elena", "elena-Old-pw1")
    assert [kind for kind, _ in entries] == ["comment", "comment", "comment", "resolve"]
    assert entries[2][1].startswith("Your password was reset. Read your temporary password once")
    assert desk.service.embedded.fetch("embedded:T-R1").closed
    assert [step.step_id for step in done.steps if step.state == "succeeded"] == [
        "lookup", "reset", "tell-user"
    ]  # fmt: skip

    folder = desk.config.audit.log.parent.parent
    public_key = load_public_key(folder / "keys" / "audit-signing.pub")
    verify_log_file(desk.config.audit.log, public_key)
    text = desk.config.audit.log.read_text(encoding="utf-8")
    kinds = [json.loads(line)["type"] for line in text.splitlines()]
    for kind in ("ticket.routed", "execution.started", "execution.awaiting_step_up",
                 "action.started", "action.succeeded", "execution.finished",
                 "ticket.writeback_queued", "ticket.writeback_delivered"):  # fmt: skip
        assert kind in kinds
    assert kinds.index("ticket.routed") < kinds.index("execution.started")
    assert password not in text
    assert password not in json.dumps(entries)
