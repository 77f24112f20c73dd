"""The HTTP API (FastAPI): decisions, step-up, approvals, audit proofs, health and metrics.

``create_app(gateway, config)`` builds it; ``gateway serve`` runs it with uvicorn.  Every
route calls the same services as the command line, through ``ApiServices``; every error
is an RFC 9457 problem.  See ``docs/api.md``.
"""

from gateway.api.app import create_app
from gateway.api.problems import ApiProblem, Problem
from gateway.api.routes import DEFAULT_ROUTERS
from gateway.api.services import ApiServices, get_services

__all__ = ["DEFAULT_ROUTERS", "ApiProblem", "ApiServices", "Problem", "create_app", "get_services"]
