"""The self-service catalog: pre-approved automations people run themselves, with typed
parameters, guardrails and usage analytics (``docs/self-service.md``).

Every run goes through the guarded runtime: the catalog never changes a system itself.
"""

from gateway.selfservice.analytics import UsageReport, prometheus_text
from gateway.selfservice.catalog import Catalog, CatalogItem
from gateway.selfservice.errors import (
    RunRefusedError,
    RunStateError,
    SelfServiceError,
    UnknownItemError,
    UnknownRunError,
)
from gateway.selfservice.model import DryRunPlan, RefusalReason, Run, RunState
from gateway.selfservice.service import SelfService

__all__ = [
    "Catalog",
    "CatalogItem",
    "DryRunPlan",
    "RefusalReason",
    "Run",
    "RunRefusedError",
    "RunState",
    "RunStateError",
    "SelfService",
    "SelfServiceError",
    "UnknownItemError",
    "UnknownRunError",
    "UsageReport",
    "prometheus_text",
]
