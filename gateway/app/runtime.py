"""The guarded runtime bound to the configured systems, and what a serving gateway does
on every beat."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from gateway.app.knowledge import open_knowledge
from gateway.app.notifier import build_notifier
from gateway.approvals.model import ApprovalRequest
from gateway.approvals.notices import approval_notice, approvers_to_ask
from gateway.config import GatewayConfig
from gateway.enforcement.point import EnforcementPoint
from gateway.notify.model import NotificationKind
from gateway.notify.reliable import ReliableNotifier
from gateway.runtime.worker import BackgroundWorker
from gateway.storage.errors import LeaseStoreError

if TYPE_CHECKING:
    from gateway.runtime.executor import Executor
    from gateway.storage.leases import Leases

__all__ = ["background_jobs", "liveness", "open_runtime", "take_liveness"]


def open_runtime(
    config: GatewayConfig, gateway: EnforcementPoint, *, notifier: ReliableNotifier | None = None
) -> Executor:
    """The guarded executor with the shipped actions bound to the configured systems: the
    configured directory when it can make changes (LDAP, Okta), else the embedded one; the
    Snipe-IT asset manager when ``[selfservice.snipeit]`` is set, else the embedded one.
    Approvers are told through ``notifier`` (the process's one; built when not given)."""
    from gateway.changes.setup import open_change_requests
    from gateway.devices.embedded import EmbeddedDeviceManager
    from gateway.devices.installer import SoftwareInstaller
    from gateway.identity.directory import DirectoryActions
    from gateway.identity.embedded_actions import EmbeddedDirectoryActions
    from gateway.knowledge.actions import knowledge_actions
    from gateway.runtime.actions import ActionRegistry
    from gateway.runtime.builtin import (
        directory_actions,
        notification_actions,
        software_actions,
    )
    from gateway.runtime.executor import Executor
    from gateway.runtime.sealing import OutputSealer
    from gateway.runtime.store import ExecutionStore
    from gateway.runtime.workflows import WorkflowCatalog

    settings = config.runtime
    changes: DirectoryActions
    closers: list[Callable[[], object]] = []
    if isinstance(gateway.directory, DirectoryActions):
        changes, system = gateway.directory, "directory"
    else:
        embedded = EmbeddedDirectoryActions(
            settings.embedded_systems / "directory.db", gateway.directory
        )
        changes, system = embedded, "embedded directory"
        closers.append(embedded.close)
    devices: SoftwareInstaller
    if config.selfservice.snipeit is not None:  # a real asset manager
        from gateway.devices.snipeit import SnipeItInstaller

        snipeit = SnipeItInstaller(config.selfservice.snipeit.with_secrets("selfservice.snipeit"))
        devices = snipeit
        closers.append(snipeit.close)
    else:
        embedded_devices = EmbeddedDeviceManager(settings.embedded_systems / "devices.db")
        devices = embedded_devices
        closers.append(embedded_devices.close)
    if notifier is None:
        notifier = build_notifier(config.notifications, getattr(gateway, "storage", None))
    told = notifier
    actions = ActionRegistry(
        [
            *directory_actions(gateway.directory, changes, system=system),
            *software_actions(devices),
            *notification_actions(notifier),
            *knowledge_actions(partial(open_knowledge, config.knowledge)),
        ]
    )

    def ask_approvers(item: ApprovalRequest) -> None:
        kind = NotificationKind.APPROVAL_REQUESTED
        told.send(approval_notice(kind, item, approvers_to_ask(item)))

    workflows = WorkflowCatalog.load(settings.workflows, actions)
    change_requests = open_change_requests(
        config.changes.register_file,
        config.changes.servicenow,
        notes=settings.database.with_name("change-notes.jsonl"),
    )
    closer = getattr(change_requests, "close", None)
    if callable(closer):
        closers.append(closer)
    audit = gateway.audit
    executor = Executor(
        gateway,
        workflows,
        actions,
        ExecutionStore(settings.database, backend=getattr(gateway, "storage", None)),
        audit=audit.append if audit is not None else None,
        sealer=OutputSealer.from_key_file(settings.output_key, settings.output_ttl_seconds),
        settings=settings,
        approval_opened=ask_approvers,
        changes=change_requests,
    )
    for closer in closers:
        executor.close_with(closer)
    return executor


def background_jobs(
    gateway: EnforcementPoint,
    runtime: Executor,
    notifier: ReliableNotifier,
    *,
    leases: Leases | None = None,
) -> list[Callable[[], object]]:
    """What a serving gateway does on every beat: resume executions (and the steps a dead
    process left), expire and escalate approvals (telling the people concerned), and
    retry undelivered notifications through the process's one ``notifier``.  With
    ``leases`` (state shared by several processes), each runs only in the process holding
    its lease (``approvals.tick``, ``runtime.tick``, ``notify.flush``: the outbox is shared
    too, and each notification is claimed by the process delivering it).  Every process
    recovers its own steps cut short while the database was away; its liveness lease
    (``runtime.process.<host:pid>``) is renewed by the heartbeat ``take_liveness`` starts,
    not on this beat, so a slow job never lets it expire.  Once it has expired (the process
    stopped), its steps are taken over by the ``runtime.tick`` holder; a process that never
    took one, a command, is taken to live."""

    def approvals() -> None:
        if gateway.approvals is None:
            return
        for change in gateway.approvals.tick():
            kind = (
                NotificationKind.ESCALATED
                if change.kind == "escalated"
                else NotificationKind.EXPIRED
            )
            people = change.notify if change.kind == "escalated" else (change.request.requester,)
            notifier.send(approval_notice(kind, change.request, tuple(people)))

    if leases is None:
        return [approvals, runtime.tick, notifier.flush]

    def alive(owner: str) -> bool:  # a process that never took one (a command) may live
        return not leases.expired(f"runtime.process.{owner}")

    runtime.watch_hosts(alive)
    return [
        runtime.recover_own,
        leases.guard("approvals.tick", approvals),
        leases.guard("runtime.tick", runtime.tick),
        leases.guard("notify.flush", notifier.flush),
    ]


def liveness(runtime: Executor, leases: Leases) -> Callable[[], object]:
    """The renewal of this process's liveness lease (``runtime.process.<host:pid>``): the
    process lives, for the other hosts, while it renews it."""
    name = f"runtime.process.{runtime.owner}"

    def heartbeat() -> bool:
        return leases.acquire(name, release_on_close=False)

    return heartbeat


def take_liveness(
    runtime: Executor,
    leases: Leases,
    *,
    wait_seconds: float,
    renew_seconds: float | None = None,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> BackgroundWorker:
    """Take this process's liveness lease before it serves or claims anything, so that no
    step it claims is ever taken over as a dead process's, then renew it every
    ``renew_seconds`` (default: a third of ``wait_seconds``, a lease's time) on a thread of
    its own, the heartbeat, returned started and stopped when ``runtime`` closes: however
    long a background job takes, the lease of a living process does not expire.

    A name (host:pid) is reused by a later process of the same host and pid (a restarted
    container): its predecessor's lease is taken over once it has expired, waiting at most
    ``wait_seconds``; a predecessor's lease left expired is renewed at once."""
    heartbeat = liveness(runtime, leases)
    deadline = clock() + wait_seconds
    while not heartbeat():
        if clock() >= deadline:
            raise LeaseStoreError(
                f"liveness lease runtime.process.{runtime.owner}: held by another process"
            )
        sleep(0.2)
    beat = BackgroundWorker(
        [heartbeat],
        wait_seconds / 3 if renew_seconds is None else renew_seconds,
        name="gateway-liveness",
    )
    runtime.close_with(beat.stop)  # after the steps in flight are finished
    beat.start()
    return beat
