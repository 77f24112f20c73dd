"""What the routes call: the gateway's services, held once on ``app.state.services``.

A route takes ``ApiServices`` as a dependency (``Depends(get_services)``) and calls the
same services the command line does.  A new part of the gateway that routes need (the
runtime, say) becomes one more field here, set by whoever builds the app.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from starlette.requests import Request

from gateway.api.metrics import ApiMetrics
from gateway.callers.authentication import Callers
from gateway.chat.service import ChatEntries
from gateway.config import ApiConfig
from gateway.enforcement.point import EnforcementPoint
from gateway.knowledge.base import KnowledgeBase
from gateway.notify.reliable import ReliableNotifier
from gateway.runtime.executor import Executor
from gateway.selfservice.service import SelfService
from gateway.tickets.service import TicketService
from gateway.troubleshooting.engine import TroubleshootingEngine

__all__ = ["ApiServices", "get_services"]


@dataclass
class ApiServices:
    """The gateway, caller authentication, settings and metrics of one app."""

    gateway: EnforcementPoint
    callers: Callers
    settings: ApiConfig
    audit_name: str  # the audit log's name: checkpoint origin and note key name
    metrics: ApiMetrics = field(default_factory=ApiMetrics)
    notifier: ReliableNotifier | None = None  # tells people when their request finishes
    runtime: Executor | None = None  # runs workflows; the executions routes need it
    selfservice: SelfService | None = None  # the self-service catalog routes need it
    troubleshooting: TroubleshootingEngine | None = None  # guided troubleshooting routes
    tickets: TicketService | None = None  # help desk webhooks
    knowledge: KnowledgeBase | None = None  # knowledge base search and articles
    offline_quarantine: Path | None = None  # where refused offline segments are kept
    chat: ChatEntries | None = None  # Slack and Teams interactivity

    def close(self) -> None:
        """Close caller authentication and the chat entries (the gateway belongs to
        whoever built it)."""
        self.callers.close()
        if self.chat is not None:
            self.chat.close()


async def get_services(request: Request) -> ApiServices:
    """The app's services, as a route dependency."""
    return cast(ApiServices, request.app.state.services)
