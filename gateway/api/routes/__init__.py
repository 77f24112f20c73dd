"""The API's routers, one module per part of the gateway."""

from gateway.api.routes import (
    approvals,
    audit,
    catalog,
    chat_slack,
    chat_teams,
    decisions,
    executions,
    health,
    knowledge,
    offline,
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
    offline.router,
    chat_slack.router,
    chat_teams.router,
)
