"""The API's routers, one module per part of the gateway."""

from gateway.api.routes import (
    approvals,
    audit,
    catalog,
    decisions,
    executions,
    health,
    knowledge,
    stepup,
    tickets,
    tokens,
    troubleshooting,
)

__all__ = ["DEFAULT_ROUTERS"]

DEFAULT_ROUTERS = (
    health.router,
    tokens.router,
    decisions.router,
    stepup.router,
    approvals.router,
    executions.router,
    catalog.router,
    troubleshooting.router,
    tickets.router,
    knowledge.router,
    audit.router,
)
