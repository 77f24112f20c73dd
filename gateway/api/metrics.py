"""Prometheus metrics of the HTTP API, in a registry of the app's own (not the global one).

* ``gateway_http_requests_total{route, method, status}``: requests answered;
* ``gateway_http_request_duration_seconds{route, method, status}``: their latency;
* ``gateway_decisions_total{decision}``: decisions given, ``allow`` or ``deny``;
* ``gateway_authentication_failures_total{reason}``: refused credentials, by reason;
* ``gateway_authorization_refusals_total{reason}``: known callers refused, by reason.

``route`` is the route's path template (``/v1/approvals/{approval_id}``), or
``unmatched`` for a path no route serves, so label values stay few.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ApiMetrics", "MetricsMiddleware"]

_LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip


class ApiMetrics:
    """The API's counters and histograms, and their text exposition."""

    def __init__(self) -> None:
        self._request_children: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gateway_http_requests_total",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gateway_http_request_duration_seconds",
            "Time to answer HTTP requests, by route template, method and status.",
            ["route", "method", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.decisions = Counter(
            "gateway_decisions_total",
            "Decisions given over the HTTP API, by result.",
            ["decision"],
            registry=self.registry,
        )
        self.authentication_failures = Counter(
            "gateway_authentication_failures_total",
            "Requests whose credentials were missing or refused, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.refusals = Counter(
            "gateway_authorization_refusals_total",
            "Authenticated callers refused, by reason.",
            ["reason"],
            registry=self.registry,
        )

    def observe_request(self, route: str, method: str, status: str, seconds: float) -> None:
        """Counts one answered request and its latency.

        The labelled children are kept per label set (routes, methods and statuses are few),
        so a request does not look them up under the metric's lock each time.
        """
        key = (route, method, status)
        children = self._request_children.get(key)
        if children is None:
            children = (self.requests.labels(*key), self.latency.labels(*key))
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request (the outermost layer, so refusals count too)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app fails before answering

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            elapsed = time.perf_counter() - started
            self.metrics.observe_request(route, scope["method"], str(status), elapsed)
