"""A gateway with the ticket service in a temporary folder: the shipped policies,
workflows and triggers, the embedded directory and help desk, and the real runtime."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway.app import Gateway, open_runtime, open_ticket_service
from gateway.app.audit import audit_records
from gateway.audit.records import AuditRecord, parse_record
from gateway.config import GatewayConfig, load_config
from gateway.identity.resolver import IdentityResolver
from gateway.runtime.executor import Executor
from gateway.tickets import TicketService
from gateway.tickets.service import Advance

REPO = Path(__file__).resolve().parents[2]
TRIGGERS = REPO / "automations" / "triggers"


def write_config(folder: Path, extra: str = "", *, triggers: Path = TRIGGERS) -> GatewayConfig:
    lines = [
        "[policy]",
        f"dir = {json.dumps(str(REPO / 'policies'))}",
        "[runtime]",
        f"workflows = {json.dumps(str(REPO / 'automations' / 'workflows'))}",
        "backoff_seconds = 0.05",
        "[tickets]",
        f"triggers = {json.dumps(str(triggers))}",
    ]
    path = folder / "gateway.toml"
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return load_config(path)


@dataclass
class Desk:
    config: GatewayConfig
    gateway: Gateway
    executor: Executor
    service: TicketService

    def audit_lines(self) -> list[bytes]:
        """The log's lines: the file's, or the shared database's on PostgreSQL."""
        with audit_records(self.config) as reader:
            return list(reader.lines())

    def audited(self, kind: str) -> list[AuditRecord]:
        lines = self.audit_lines()
        records = [parse_record(line, index) for index, line in enumerate(lines)]
        return [record for record in records if record.type == kind]

    def entries(self, ref: str) -> list[tuple[str, str]]:
        self.service.flush_outbox()
        return [(entry.kind, entry.text) for entry in self.service.embedded.entries(ref)]

    def close(self) -> None:
        self.service.close()
        self.executor.close()
        self.gateway.close()
        if isinstance(self.gateway.directory, IdentityResolver):
            for source in self.gateway.directory.sources:
                source.close()  # type: ignore[attr-defined]


MakeDesk = Callable[..., Desk]


@pytest.fixture
def make_desk(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[MakeDesk]:
    """Desks over their own folders; on both storage backends in the modules that use the
    ``storage_settings`` fixture (on PostgreSQL, the desks of one test share its schemas)."""
    made: list[Desk] = []
    storage = (
        request.getfixturevalue("storage_settings")
        if "storage_settings" in request.fixturenames
        else None
    )

    def make(extra: str = "", *, advance: Advance = "inline", **options: Any) -> Desk:
        folder = tmp_path / f"gateway-{len(made)}"
        folder.mkdir()
        config = write_config(folder, extra, **options)
        if storage is not None:
            config = config.model_copy(update={"storage": storage})
        gateway = Gateway.from_config(config)
        executor = open_runtime(config, gateway)
        service = open_ticket_service(config, gateway, executor, advance=advance)
        made.append(Desk(config, gateway, executor, service))
        return made[-1]

    yield make
    for desk in made:
        desk.close()


@pytest.fixture
def desk(make_desk: MakeDesk) -> Desk:
    return make_desk()


def generic(
    number: int | str,
    email: str | None,
    subject: str,
    description: str = "",
    *,
    kind: str = "created",
    event: str | None = None,
    **ticket: Any,
) -> bytes:
    """A generic event about ticket ``T-<number>`` (event id ``e-<number>`` unless given)."""
    body: dict[str, Any] = {
        "event_id": event or f"e-{number}",
        "kind": kind,
        "ticket": {
            "id": f"T-{number}",
            "subject": subject,
            "description": description,
            "requester": {"email": email} if email else {},
            **ticket,
        },
    }
    return json.dumps(body).encode()
