"""``open_services``: every part of a running gateway, each built once, on first use, from
one configuration, and closed in the reverse order of its making.

A command asks for what it needs (``services.runtime``, ``services.tickets``...) and gets
the process's one instance: one audit log, one notifier, one runtime, whoever asks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Protocol, TypeVar

from gateway.app.gateway import Gateway
from gateway.app.knowledge import open_knowledge
from gateway.app.notifier import build_notifier
from gateway.app.runtime import background_jobs, open_runtime
from gateway.app.selfservice import open_selfservice
from gateway.app.tickets import open_ticket_service
from gateway.app.troubleshooting import open_troubleshooting
from gateway.config import GatewayConfig
from gateway.notify.reliable import ReliableNotifier
from gateway.privacy.keystore import DataKeyStore
from gateway.privacy.retention import RetentionSweeper, sweep_job
from gateway.storage.leases import Leases

if TYPE_CHECKING:
    from gateway.knowledge.base import KnowledgeBase
    from gateway.runtime.executor import Executor
    from gateway.selfservice.service import SelfService
    from gateway.tickets.service import Advance, TicketService
    from gateway.troubleshooting.engine import TroubleshootingEngine

__all__ = ["Services", "open_services", "retention_sweeper"]

Job = Callable[[], object]


class _Closable(Protocol):
    def close(self) -> None: ...


Part = TypeVar("Part", bound=_Closable)


class Services:
    """The gateway's parts for one process; use through ``open_services``."""

    def __init__(self, config: GatewayConfig, *, tickets_advance: Advance = "inline") -> None:
        self.config = config
        self._tickets_advance: Advance = tickets_advance
        self._closers: list[Job] = []
        self.gateway = Gateway.from_config(config)
        self._closers.append(self.gateway.close)

    @cached_property
    def leases(self) -> Leases | None:
        """This process's leases on background work, when its state is shared with other
        processes (``[storage] backend = "postgresql"``); released when it closes."""
        storage = self.gateway.storage
        if storage.name != "postgresql":
            return None
        leases = Leases(
            storage,
            self.config.runtime.database.with_name("leases.db"),
            ttl_seconds=self.config.storage.lease_seconds,
        )
        return self._closing(leases)

    @cached_property
    def notifier(self) -> ReliableNotifier:
        """The one notifier: the configured channel behind its durable outbox."""
        return self._closing(build_notifier(self.config.notifications, self.gateway.storage))

    @cached_property
    def runtime(self) -> Executor:
        """The one guarded executor, telling approvers through the one notifier."""
        return self._closing(open_runtime(self.config, self.gateway, notifier=self.notifier))

    @cached_property
    def selfservice(self) -> SelfService:
        return self._closing(open_selfservice(self.config, self.gateway, self.runtime))

    @cached_property
    def troubleshooting(self) -> TroubleshootingEngine:
        return self._closing(open_troubleshooting(self.config, self.gateway, self.runtime))

    @cached_property
    def tickets(self) -> TicketService:
        service = open_ticket_service(
            self.config, self.gateway, self.runtime, advance=self._tickets_advance
        )
        return self._closing(service)

    @cached_property
    def knowledge(self) -> KnowledgeBase:
        return self._closing(open_knowledge(self.config.knowledge))

    def background_jobs(self) -> list[Job]:
        """What a serving gateway does on every beat: the runtime's and approvals' work,
        notifications retried, and, when ``[tickets]`` is enabled, ticket work and polling;
        with ``leases``, each runs only in the process holding its lease."""
        leases = self.leases
        jobs = background_jobs(self.gateway, self.runtime, self.notifier, leases=leases)
        if self.config.tickets.enabled:
            ticket_work = ticket_jobs(self.tickets, self.config.tickets.poll_interval_seconds)
            jobs.extend(_leased(leases, TICKET_LEASES, ticket_work))
        if self.config.privacy.retention:  # shred what aged out, at most once an hour
            keys = self._closing(self.data_keys())
            sweep = sweep_job(retention_sweeper(self.config, self.gateway, keys))
            jobs.extend(_leased(leases, ("privacy.sweep",), [sweep]))
        return jobs

    def data_keys(self) -> DataKeyStore:
        """A handle on the data key store (``[privacy] key_store``) on this process's
        storage backend, shared with every process on PostgreSQL; the caller closes it."""
        return DataKeyStore(self.config.privacy.key_store, self.gateway.storage)

    def close(self) -> None:
        """Close every part made, the last made first."""
        while self._closers:
            self._closers.pop()()

    def _closing(self, part: Part) -> Part:
        self._closers.append(part.close)
        return part


# The leases of ticket work, in the order of ``ticket_jobs``.
TICKET_LEASES = ("tickets.follow_up", "tickets.writeback", "tickets.poll")


def _leased(leases: Leases | None, names: tuple[str, ...], jobs: list[Job]) -> list[Job]:
    """``jobs``, each guarded by the lease of the same position in ``names`` when the
    state is shared (``leases``)."""
    if leases is None:
        return jobs
    return [leases.guard(name, job) for name, job in zip(names, jobs, strict=True)]


def ticket_jobs(service: TicketService, poll_every: float) -> list[Job]:
    """Ticket work on every beat (write-backs, follow-ups) and polling on its own clock."""
    next_poll = [0.0]

    def poll() -> None:
        if time.monotonic() >= next_poll[0]:
            next_poll[0] = time.monotonic() + poll_every
            service.poll()

    return [service.follow_up, service.flush_outbox, poll]


@contextmanager
def open_services(
    config: GatewayConfig, *, tickets_advance: Advance = "inline"
) -> Iterator[Services]:
    """The gateway's parts for ``config``, closed when the block ends."""
    services = Services(config, tickets_advance=tickets_advance)
    try:
        yield services
    finally:
        services.close()


def retention_sweeper(
    config: GatewayConfig, gateway: Gateway, keys: DataKeyStore, actor: str | None = None
) -> RetentionSweeper:
    """The ``[privacy] retention`` sweeper, deciding as ``actor`` (default: the runtime's
    system actor) and recording in the gateway's audit log."""
    audit = gateway.audit
    return RetentionSweeper(
        gateway,
        audit.append if audit is not None else None,
        keys,
        config.privacy.retention,
        actor or config.runtime.system_actor,
    )
