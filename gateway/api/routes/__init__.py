"""The API's routers, one module per part of the gateway."""

from gateway.api.routes import approvals, audit, decisions, executions, health, stepup, tokens

__all__ = ["DEFAULT_ROUTERS"]

DEFAULT_ROUTERS = (
    health.router,
    tokens.router,
    decisions.router,
    stepup.router,
    approvals.router,
    executions.router,
    audit.router,
)
