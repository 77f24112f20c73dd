"""A gateway over temporary files, an executor on a settable clock, and an outside
system the tests control (down for a while, refusing, slow).

Everything is the real thing: the policies, the embedded directory, the audit log, the
step-up and approval stores.  Only the clock of the executor is set by the tests, and a
help desk ("ticketing") stands in for an outside system whose failures they choose.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pyotp
from pydantic import SecretStr

from gateway.app import Gateway, build_notifier, open_knowledge
from gateway.app.audit import audit_records, data_keys
from gateway.audit.records import AuditEvent, AuditRecord, parse_record
from gateway.changes.requests import ChangeRequestSource
from gateway.config import EMBEDDED_DIRECTORY, GatewayConfig, IdentityConfig
from gateway.devices.embedded import EmbeddedDeviceManager
from gateway.errors import ActionFailedError, TargetUnavailableError
from gateway.identity.embedded_actions import EmbeddedDirectoryActions
from gateway.knowledge.actions import knowledge_actions
from gateway.privacy.sealer import open_record
from gateway.runtime.actions import ActionCall, ActionOutput, ActionRegistry, ActionSpec
from gateway.runtime.builtin import directory_actions, notification_actions, software_actions
from gateway.runtime.executor import Executor, RuntimeSettings
from gateway.runtime.model import Execution
from gateway.runtime.parameters import ParameterSpec
from gateway.runtime.sealing import OutputSealer
from gateway.runtime.store import ExecutionStore
from gateway.runtime.workflows import WorkflowCatalog

REPO = Path(__file__).resolve().parents[2]
SHIPPED_WORKFLOWS = REPO / "automations" / "workflows"
TICKET = ParameterSpec(pattern=r"T-[0-9]{1,8}", max_length=10)

AuditFilter = Callable[[AuditEvent], None]


class Clock:
    """The executor's clock: it stays where the test puts it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_config(root: Path) -> GatewayConfig:
    """A configuration with every file under ``root``: copies of the policies, of the
    sample directory (so a test may edit facts) and of the shipped workflows."""
    shutil.copytree(REPO / "policies", root / "policies")
    shutil.copytree(SHIPPED_WORKFLOWS, root / "automations" / "workflows")
    shutil.copy(EMBEDDED_DIRECTORY, root / "directory.yaml")
    config = GatewayConfig(identity=IdentityConfig(static_file=Path("directory.yaml")))
    return config.resolved(root)


@dataclass
class Ticketing:
    """The help desk the test actions talk to.

    ``down`` comments or closes in a row find it unavailable; ``refuse_undo`` makes
    un-assigning fail; ``release`` lets the slow action finish (set when the runtime
    closes); ``during`` is called as each call arrives.
    """

    down: int = 0
    refuse_undo: bool = False
    calls: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    during: Callable[[ActionCall], None] | None = None

    def _reach(self, call: ActionCall, what: str) -> None:
        self.calls.append(f"{what} {call.parameters['ticket']} by {call.actor}")
        if self.during is not None:
            self.during(call)

    def _maybe_down(self) -> None:
        if self.down > 0:
            self.down -= 1
            raise TargetUnavailableError("ticketing", "connection refused")

    def comment(self, call: ActionCall) -> ActionOutput:
        self._reach(call, "comment")
        self._maybe_down()
        return ActionOutput(values={"ticket": call.parameters["ticket"], "attempt": call.attempt})

    def close(self, call: ActionCall) -> ActionOutput:
        self._reach(call, "close")
        self._maybe_down()
        return ActionOutput(values={"closed": True})

    def assign(self, call: ActionCall) -> ActionOutput:
        self._reach(call, "assign")
        return ActionOutput(values={"assignee": call.actor}, detail="assigned")

    def unassign(self, call: ActionCall) -> ActionOutput:
        self._reach(call, "unassign")
        if self.refuse_undo:
            raise ActionFailedError("ticketing refused: the ticket is closed")
        return ActionOutput(values={}, detail="unassigned")

    def lock(self, call: ActionCall) -> ActionOutput:
        self._reach(call, "lock")
        raise ActionFailedError("ticketing refused: the ticket is locked")

    def crash(self, call: ActionCall) -> ActionOutput:
        self._reach(call, "crash")
        raise KeyError("internal detail")

    def wait(self, call: ActionCall) -> ActionOutput:
        self._reach(call, "wait")
        self.release.wait(30)
        return ActionOutput()

    def token(self, call: ActionCall) -> ActionOutput:
        self._reach(call, "token")
        return ActionOutput(
            values={"ticket": call.parameters["ticket"]},
            secrets={"api_token": SecretStr("tok-" + call.parameters["ticket"])},
        )


def ticket_actions(ticketing: Ticketing) -> list[ActionSpec]:
    """Unprivileged actions on the help desk, one per behaviour a test needs."""
    params = {"ticket": TICKET}

    def spec(name: str, run: Callable[[ActionCall], ActionOutput], **options: Any) -> ActionSpec:
        return ActionSpec(
            name=name, description=name, run=run, parameters=params, system="ticketing", **options
        )

    return [
        spec("ticket.comment", ticketing.comment, idempotent=True),
        spec("ticket.escalate", ticketing.comment, idempotent=True, max_attempts=2),
        spec("ticket.close", ticketing.close, idempotent=False),
        spec(
            "ticket.assign",
            ticketing.assign,
            idempotent=True,
            compensation="ticket.unassign",
            undo=lambda p, _: {"ticket": p["ticket"]},
        ),
        spec("ticket.unassign", ticketing.unassign, idempotent=True),
        spec("ticket.lock", ticketing.lock),
        spec("ticket.crash", ticketing.crash),
        spec("ticket.wait", ticketing.wait, idempotent=True, timeout_seconds=0.05),
        spec("ticket.wait-once", ticketing.wait, idempotent=False, timeout_seconds=0.05),
        spec("ticket.token", ticketing.token, idempotent=True),
    ]


def change_actions(devices: EmbeddedDeviceManager) -> list[ActionSpec]:
    """An install that tells the policies what kind of change it is (``change``)."""

    def install(call: ActionCall) -> ActionOutput:
        result = devices.install(call.parameters["device"], call.parameters["title"])
        return ActionOutput(values={"changed": result.changed}, detail=result.detail)

    return [
        ActionSpec(
            name="software.install-change",
            description="install a catalog title as a standard or normal change",
            run=install,
            parameters={
                "title": ParameterSpec(),
                "device": ParameterSpec(),
                "change": ParameterSpec(enum=["standard", "normal"]),
            },
            permission="software.install",
            resource=lambda p: f"software:{p['title']}",
            context=lambda p: {"device": p["device"], "change": p["change"]},
            idempotent=True,
        )
    ]


TEST_WORKFLOWS = {
    "install-change": """
id: install-change
title: Install software as a change
parameters: {title: {}, device: {}, change: {}}
steps:
  - id: install
    action: software.install-change
    with:
      title: "{{ params.title }}"
      device: "{{ params.device }}"
      change: "{{ params.change }}"
""",
    "comment": """
id: comment
title: Comment on a ticket
target: "ticket:{{ params.ticket }}"
parameters: {ticket: {}}
steps:
  - id: comment
    action: ticket.comment
    with: {ticket: "{{ params.ticket }}"}
""",
    "escalate": """
id: escalate
title: Escalate a ticket
parameters: {ticket: {}}
steps:
  - id: escalate
    action: ticket.escalate
    with: {ticket: "{{ params.ticket }}"}
""",
    "close": """
id: close
title: Close a ticket
parameters: {ticket: {}}
steps:
  - id: assign
    action: ticket.assign
    with: {ticket: "{{ params.ticket }}"}
  - id: close
    action: ticket.close
    with: {ticket: "{{ params.ticket }}"}
""",
    "assign-then": """
id: assign-then
title: Assign a ticket, then do one more thing
parameters:
  ticket: {}
  then: {enum: [lock, crash, comment, wait, wait-once, assign]}
steps:
  - id: assign
    action: ticket.assign
    with: {ticket: "{{ params.ticket }}"}
  - id: lock
    when: "params.then == 'lock'"
    action: ticket.lock
    with: {ticket: "{{ params.ticket }}"}
  - id: crash
    when: "params.then == 'crash'"
    action: ticket.crash
    with: {ticket: "{{ params.ticket }}"}
  - id: comment
    when: "params.then == 'comment'"
    action: ticket.comment
    with: {ticket: "{{ params.ticket }}"}
  - id: wait
    when: "params.then == 'wait'"
    action: ticket.wait
    with: {ticket: "{{ params.ticket }}"}
  - id: wait-once
    when: "params.then == 'wait-once'"
    action: ticket.wait-once
    with: {ticket: "{{ params.ticket }}"}
""",
    "grant-then-lock": """
id: grant-then-lock
title: Grant access for a while, then fail
target: "access:{{ params.user }}:{{ params.system }}"
parameters:
  user: {}
  system: {}
steps:
  - id: grant
    action: access.grant
    with: {user: "{{ params.user }}", system: "{{ params.system }}"}
  - id: expire
    schedule:
      workflow: access-revoke
      after_hours: 1
      with: {user: "{{ params.user }}", system: "{{ params.system }}", reason: grant_expired}
  - id: lock
    action: ticket.lock
    with: {ticket: T-1}
""",
    "grant-then-maybe-lock": """
id: grant-then-maybe-lock
title: Grant access for a while, then fail when asked to
target: "access:{{ params.user }}:{{ params.system }}"
parameters:
  user: {}
  system: {}
  lock: {}
steps:
  - id: grant
    action: access.grant
    with: {user: "{{ params.user }}", system: "{{ params.system }}"}
  - id: expire
    schedule:
      workflow: access-revoke
      after_hours: 1
      expiry: true
      with: {user: "{{ params.user }}", system: "{{ params.system }}", reason: grant_expired}
  - id: lock
    when: "params.lock == 'yes'"
    action: ticket.lock
    with: {ticket: T-1}
""",
    "token": """
id: token
title: Make an API token
parameters: {ticket: {}}
steps:
  - id: token
    action: ticket.token
    with: {ticket: "{{ params.ticket }}"}
""",
}


def install_test_workflows(config: GatewayConfig) -> None:
    for name, text in TEST_WORKFLOWS.items():
        (config.runtime.workflows / f"{name}.yaml").write_text(text.lstrip(), encoding="utf-8")


class Runtime:
    """The gateway and an executor over ``config``'s files; ``restart`` closes every
    part and opens new ones over the same files, as a new process would."""

    def __init__(
        self,
        config: GatewayConfig,
        clock: Clock,
        ticketing: Ticketing,
        *,
        settings: RuntimeSettings | None = None,
        audit_filter: AuditFilter | None = None,
        extra: Callable[[Runtime], list[ActionSpec]] | None = None,
        keep_secrets: bool = True,
        with_tickets: bool = True,
        tell_approvers: bool = True,
        changes: ChangeRequestSource | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.ticketing = ticketing
        self.settings = settings or RuntimeSettings(workers=4)
        self.audit_filter = audit_filter
        self.extra = extra
        self.keep_secrets = keep_secrets
        self.with_tickets = with_tickets
        self.tell_approvers = tell_approvers
        self.changes = changes
        self.opened: list[str] = []
        self.closed = True
        self._open()

    def _open(self) -> None:
        config = self.config
        self.closed = False
        self.gateway = Gateway.from_config(config)
        embedded = config.runtime.embedded_systems
        self.directory = EmbeddedDirectoryActions(embedded / "directory.db", self.gateway.directory)
        self.devices = EmbeddedDeviceManager(embedded / "devices.db")
        actions = ActionRegistry(
            [
                *directory_actions(
                    self.gateway.directory, self.directory, system="embedded directory"
                ),
                *software_actions(self.devices),
                *notification_actions(build_notifier(config.notifications)),
                *knowledge_actions(partial(open_knowledge, config.knowledge)),
                *(ticket_actions(self.ticketing) if self.with_tickets else []),
                *change_actions(self.devices),
                *(self.extra(self) if self.extra is not None else []),
            ]
        )
        sealer = (
            OutputSealer.from_key_file(config.runtime.output_key, config.runtime.output_ttl_seconds)
            if self.keep_secrets
            else None
        )
        self.executor = Executor(
            self.gateway,
            WorkflowCatalog.load(config.runtime.workflows, actions),
            actions,
            ExecutionStore(config.runtime.database, backend=self.gateway.storage),
            audit=None if self.gateway.audit is None else self._sink,
            sealer=sealer,
            settings=self.settings,
            clock=self.clock,
            approval_opened=(lambda item: self.opened.append(item.id))
            if self.tell_approvers
            else None,
            changes=self.changes,
        )

    def _sink(self, event: AuditEvent) -> object:
        if self.audit_filter is not None:
            self.audit_filter(event)
        audit = self.gateway.audit
        return None if audit is None else audit.append(event)

    def restart(self) -> None:
        self.close()
        self._open()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.ticketing.release.set()
        self.executor.close()
        self.executor.store.close()
        self.devices.close()
        self.directory.close()
        self.gateway.close()
        self.ticketing.release.clear()

    # -- running ------------------------------------------------------------------------

    def run(self, workflow: str, actor: str, **parameters: object) -> Execution:
        """Start ``workflow`` and advance it until it waits or finishes."""
        started = self.executor.start(workflow, parameters, actor=actor, channel="cli")
        return self.executor.advance(started.id)

    def approve(self, execution: Execution, approver: str) -> Execution:
        """``approver`` approves what the execution waits for; then it goes on."""
        waiting = execution.waiting or {}
        approvals = self.gateway.approvals
        if approvals is None:
            raise RuntimeError("approvals are disabled")
        approvals.approve(waiting["approval_id"], approver, digest=waiting["digest"])
        return self.executor.advance(execution.id)

    def enrol(self, user: str) -> str:
        """Enrol ``user`` in step-up; the TOTP seed their authenticator app holds."""
        stepup = self.gateway.stepup
        if stepup is None:
            raise RuntimeError("step-up is disabled")
        return stepup.enrol(user).seed.get_secret_value()

    def step_up(self, user: str, seed: str, digest: str, *, offset: int = 0) -> None:
        """``user`` types the current code of their app, bound to ``digest``."""
        stepup = self.gateway.stepup
        if stepup is None:
            raise RuntimeError("step-up is disabled")
        code = pyotp.TOTP(seed).at(datetime.now(UTC), counter_offset=offset)
        stepup.verify(user, code, bound_to=digest)

    # -- reading the audit log -------------------------------------------------------------

    def audit_lines(self) -> list[bytes]:
        """The log's lines: the file's, or the shared database's on PostgreSQL."""
        with audit_records(self.config) as reader:
            return list(reader.lines())

    def audit_text(self) -> str:
        return b"\n".join(self.audit_lines()).decode()

    def records(self) -> list[AuditRecord]:
        """The log's records as the auditor sees them: sealed personal fields opened."""
        lines = self.audit_lines()
        with data_keys(self.config) as keys:
            return [open_record(parse_record(line, n), keys) for n, line in enumerate(lines)]

    def trail(self, execution_id: str) -> list[AuditRecord]:
        """The records about ``execution_id``, oldest first."""
        return [r for r in self.records() if r.payload.get("execution") == execution_id]

    def types(self, execution_id: str) -> list[str]:
        return [record.type for record in self.trail(execution_id)]

    def decisions(self, action: str) -> Iterator[AuditRecord]:
        return (r for r in self.records() if r.type == "decision" and r.action == action)
