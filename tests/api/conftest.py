"""An app over a real gateway in a temporary folder, with credentials to call it."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI

from gateway.api import DEFAULT_ROUTERS, ApiServices, create_app
from gateway.app import Gateway, Services
from gateway.audit.records import AuditRecord, parse_record
from gateway.config import GatewayConfig, load_config
from tests.api.client import ApiClient

REPO = Path(__file__).resolve().parents[2]
ALL_SCOPES = (
    "decisions:write",
    "audit:read",
    "metrics:read",
    "stepup:write",
    "approvals:write",
    "executions:write",
    "executions:read",
    "catalog:run",
    "catalog:usage",
    "troubleshooting:write",
    "tickets:write",
    "knowledge:read",
)
SERVICE_SCOPES = ("decisions:write", "audit:read", "metrics:read")


def write_config(folder: Path, extra: str = "") -> GatewayConfig:
    """``gateway.toml`` in ``folder`` (paths relative to it) with the repository's policies."""
    if not (folder / "policies").exists():
        shutil.copytree(REPO / "policies", folder / "policies")
    if not (folder / "automations").exists():
        shutil.copytree(REPO / "automations", folder / "automations")
    path = folder / "gateway.toml"
    path.write_text(extra, encoding="utf-8")
    return load_config(path)


@dataclass
class Api:
    """The app, a client, and helpers to make credentials and read the audit log."""

    app: FastAPI
    client: ApiClient
    gateway: Gateway
    config: GatewayConfig
    parts: Services  # the process's parts, as ``gateway serve`` opens them
    secrets: list[str] = field(default_factory=list)

    @property
    def services(self) -> ApiServices:
        services: ApiServices = self.app.state.services
        return services

    def key(self, *scopes: str, name: str | None = None) -> str:
        """A new API key granting ``scopes``."""
        store = self.services.callers.api_keys
        issued = store.create(name or f"svc-{len(self.secrets)}", scopes or SERVICE_SCOPES)
        secret = issued.secret.get_secret_value()
        self.secrets.append(secret)
        return secret

    def token(self, user: str, *scopes: str) -> str:
        """A bearer token for ``user`` from the embedded issuer."""
        issuer = self.services.callers.issuer
        assert issuer is not None
        value = issuer.issue(user, scopes or ALL_SCOPES).token.get_secret_value()
        self.secrets.append(value)
        return value

    def as_service(self, *scopes: str) -> dict[str, str]:
        return {"X-API-Key": self.key(*scopes)}

    def as_person(self, user: str, *scopes: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user, *scopes)}"}

    def audit_records(self) -> list[AuditRecord]:
        """The records written so far; a line background work is still writing (after the
        answer the test looks at) is not read."""
        data = self.config.audit.log.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        return [parse_record(line, index) for index, line in enumerate(complete.splitlines())]

    def audited(self, kind: str) -> list[AuditRecord]:
        return [record for record in self.audit_records() if record.type == kind]

    def close(self) -> None:
        self.client.close()
        self.services.close()
        self.parts.close()
        for response in self.client.responses:  # nothing a caller was shown holds a secret
            shown = response.text + repr(response.headers.multi_items())
            for secret in self.secrets:
                assert secret not in shown, f"{response.request.url} showed a credential"


def build_api(
    folder: Path,
    extra: str = "",
    *,
    routers: Sequence[APIRouter] = DEFAULT_ROUTERS,
    raise_app_exceptions: bool = True,
) -> Api:
    """An app over a gateway configured by ``extra`` (TOML) in ``folder``."""
    config = write_config(folder, extra)
    parts = Services(config, tickets_advance="background")
    app = create_app(
        parts.gateway,
        config,
        routers=routers,
        runtime=parts.runtime,
        selfservice=parts.selfservice,
        troubleshooting=parts.troubleshooting,
        tickets=parts.tickets,
        knowledge=parts.knowledge,
        notifier=parts.notifier,
    )
    client = ApiClient(app, raise_app_exceptions=raise_app_exceptions)
    return Api(app, client, parts.gateway, config, parts)


MakeApi = Callable[..., Api]


@pytest.fixture
def make_api(tmp_path: Path) -> Iterator[MakeApi]:
    made: list[Api] = []

    def make(extra: str = "", **options: Any) -> Api:
        folder = tmp_path / f"gateway-{len(made)}"
        folder.mkdir()
        made.append(build_api(folder, extra, **options))
        return made[-1]

    yield make
    for api in made:
        api.close()


@pytest.fixture
def api(make_api: MakeApi) -> Api:
    return make_api()
