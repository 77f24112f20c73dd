"""Automated checks of diagnostic nodes, time-boxed, and what they report.

A ``Check`` runs one kind of check with rendered parameters and returns a ``CheckReport``
(``ok`` and details); it raises ``TargetUnavailableError`` when the system it needs cannot
be asked at all.  The ``DiagnosticRunner`` gives every check a time box, turns what
happens into a ``DiagnosticResult`` (``ok``, ``failed``, ``error``, ``timeout``,
``unavailable``, ``refused``) and never lets a check's exception escape.  Offline, every
check is ``unavailable`` without being run.

The shipped checks: ``ping`` (the ``ping`` binary when present, else a TCP connect to port
7 or 443, never a shell string), ``dns`` (``getaddrinfo``), ``tcp`` (a connect), ``http``
(httpx), and ``monitoring`` and ``asset`` behind small Protocols whose embedded defaults
answer from a status file (``gateway.troubleshooting.status``); ``monitoring`` asks
Prometheus instead when it is configured (``gateway.troubleshooting.prometheus``).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from gateway.defaults import EMBEDDED_STATUS
from gateway.errors import TargetUnavailableError
from gateway.troubleshooting.status import load_status

__all__ = [
    "AssetInventory",
    "Check",
    "CheckReport",
    "DiagnosticResult",
    "DiagnosticRunner",
    "MonitoringSource",
    "Permit",
    "StaticAssets",
    "StaticMonitoring",
    "default_checks",
    "status_sources",
]

# Who may run a check against what: None when allowed, else why not.
Permit = Callable[[str, str], str | None]


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What a check found: ``ok`` and check-specific details (latency, addresses, ...)."""

    ok: bool
    detail: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DiagnosticResult:
    """A check's result as the session keeps it (the fact the node sets)."""

    status: str  # ok, failed, error, timeout, unavailable, refused
    detail: str
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def completed(self) -> bool:
        """The check ran to the end (ok or failed): the node's branches apply."""
        return self.status in ("ok", "failed")

    def as_fact(self) -> dict[str, Any]:
        return {**self.data, "ok": self.status == "ok", "status": self.status,
                "detail": self.detail}  # fmt: skip


class Check(Protocol):
    """One kind of automated check."""

    def __call__(self, params: Mapping[str, Any], timeout: float) -> CheckReport: ...


class MonitoringSource(Protocol):
    """Answers a monitoring query (``host_up:printer-3f``) with ok and a value."""

    def query(self, query: str) -> CheckReport: ...


class AssetInventory(Protocol):
    """Looks an asset up by tag, host name or user."""

    def lookup(self, key: str) -> CheckReport: ...


class StaticMonitoring:
    """The embedded monitoring source: a table of query -> (ok, value), from the status file."""

    def __init__(self, states: Mapping[str, tuple[bool, str]]) -> None:
        self._states = dict(states)

    def query(self, query: str) -> CheckReport:
        if query not in self._states:
            return CheckReport(False, f"no monitoring data for {query}", {"value": None})
        ok, value = self._states[query]
        return CheckReport(ok, f"{query} is {value}", {"value": value})


class StaticAssets:
    """The embedded asset inventory: a table of key -> asset record, from the status file."""

    def __init__(self, assets: Mapping[str, Mapping[str, Any]]) -> None:
        self._assets = {key: dict(value) for key, value in assets.items()}

    def lookup(self, key: str) -> CheckReport:
        asset = self._assets.get(key)
        if asset is None:
            return CheckReport(False, f"no asset {key}", {"found": False, "asset": {}})
        return CheckReport(True, f"asset {key} found", {"found": True, "asset": asset})


def status_sources(path: Path = EMBEDDED_STATUS) -> tuple[StaticMonitoring, StaticAssets]:
    """The monitoring source and asset inventory that answer from the status file at
    ``path`` (default: the embedded one); ``SourceError`` with file and line when it is
    missing or invalid."""
    status = load_status(path)
    monitoring = {query: (answer.ok, answer.value) for query, answer in status.monitoring.items()}
    return StaticMonitoring(monitoring), StaticAssets(status.assets)


def _text(params: Mapping[str, Any], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise ValueError(f"{name} must be a non-empty string")
    return str(value).strip()


def _port(params: Mapping[str, Any]) -> int:
    try:
        port = int(str(params.get("port")))
    except ValueError:
        raise ValueError("port must be a number from 1 to 65535") from None
    if not 1 <= port <= 65535:
        raise ValueError("port must be a number from 1 to 65535")
    return port


def _connect(host: str, port: int, timeout: float) -> CheckReport:
    began = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except socket.gaierror:
        return CheckReport(False, f"{host} does not resolve", {"latency_ms": None})
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else "refused or unreachable"
        return CheckReport(False, f"{host}:{port} {reason}", {"latency_ms": None})
    latency = round((time.perf_counter() - began) * 1000, 1)
    return CheckReport(True, f"{host}:{port} answered in {latency} ms", {"latency_ms": latency})


def tcp_check(params: Mapping[str, Any], timeout: float) -> CheckReport:
    return _connect(_text(params, "host"), _port(params), timeout)


def ping_check(params: Mapping[str, Any], timeout: float) -> CheckReport:
    """One ICMP echo with the ``ping`` binary (an argument list, no shell), or a TCP
    connect to port 443 where there is no ``ping``."""
    host = _text(params, "host")
    if host.startswith("-"):
        raise ValueError("host must not start with '-'")
    binary = shutil.which("ping")
    if binary is None:
        return _connect(host, 443, timeout)
    wait = str(max(1, int(timeout)))
    began = time.perf_counter()
    try:
        completed = subprocess.run(  # noqa: S603 - a fixed binary and argument list
            [binary, "-c", "1", "-W", wait, host],
            capture_output=True,
            timeout=timeout + 1,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return CheckReport(False, f"{host} did not answer", {"latency_ms": None})
    latency = round((time.perf_counter() - began) * 1000, 1)
    if completed.returncode == 0:
        return CheckReport(True, f"{host} answered", {"latency_ms": latency})
    return CheckReport(False, f"{host} did not answer", {"latency_ms": None})


def dns_check(params: Mapping[str, Any], timeout: float) -> CheckReport:
    name = _text(params, "name")
    try:
        found = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return CheckReport(False, f"{name} does not resolve", {"addresses": []})
    addresses = sorted({str(entry[4][0]) for entry in found})
    return CheckReport(True, f"{name} resolves to {', '.join(addresses)}",
                       {"addresses": addresses})  # fmt: skip


def http_check(params: Mapping[str, Any], timeout: float) -> CheckReport:
    url = _text(params, "url")
    if not url.startswith(("http://", "https://")):
        raise ValueError("url must start with http:// or https://")
    expect = int(str(params.get("expect_status", 200)))
    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=False)
    except httpx.TimeoutException:
        return CheckReport(False, f"{url} timed out", {"status_code": None})
    except httpx.HTTPError as exc:
        return CheckReport(False, f"{url} failed: {type(exc).__name__}", {"status_code": None})
    code = response.status_code
    data = {"status_code": code, "redirect": response.headers.get("location")}
    return CheckReport(code == expect, f"{url} answered {code}", data)


def default_checks(
    monitoring: MonitoringSource | None = None,
    assets: AssetInventory | None = None,
) -> dict[str, Check]:
    """The shipped check of every kind; ``monitoring`` and ``assets`` not given answer from
    the embedded status file."""
    if monitoring is None or assets is None:
        embedded_monitoring, embedded_assets = status_sources()
        monitoring = embedded_monitoring if monitoring is None else monitoring
        assets = embedded_assets if assets is None else assets
    return {
        "ping": ping_check,
        "dns": dns_check,
        "tcp": tcp_check,
        "http": http_check,
        "monitoring": lambda params, timeout: monitoring.query(_text(params, "query")),
        "asset": lambda params, timeout: assets.lookup(_text(params, "key")),
    }


_TARGET = {"ping": "host", "tcp": "host", "dns": "name", "http": "url"}


class DiagnosticRunner:
    """Runs checks with a time box; ``offline`` makes every check unavailable.

    ``permit`` (when given) is asked before a check that reaches a host: a refusal gives
    the result ``refused``, and the node's fallback branch is taken.
    """

    def __init__(
        self,
        checks: Mapping[str, Check],
        *,
        timeout_seconds: float = 5.0,
        offline: bool = False,
        permit: Permit | None = None,
        workers: int = 4,
        closers: Sequence[Callable[[], None]] = (),
    ) -> None:
        self.checks = dict(checks)
        self._closers = tuple(closers)
        self.timeout_seconds = timeout_seconds
        self.offline = offline
        self._permit = permit
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="diagnostic")

    def run(
        self, check: str, params: Mapping[str, Any], *, actor: str, timeout: float | None = None
    ) -> DiagnosticResult:
        if self.offline:
            return DiagnosticResult("unavailable", "offline: no check can reach a system")
        implementation = self.checks.get(check)
        if implementation is None:
            return DiagnosticResult("unavailable", f"no {check} check is configured")
        if self._permit is not None and check in _TARGET:
            why = self._permit(actor, str(params.get(_TARGET[check], "")))
            if why is not None:
                return DiagnosticResult("refused", f"{check} refused: {why}")
        seconds = timeout if timeout is not None else self.timeout_seconds
        future = self._pool.submit(implementation, params, seconds)
        try:
            report = future.result(timeout=seconds)
        except FutureTimeout:
            future.cancel()
            return DiagnosticResult("timeout", f"{check} gave no answer within {seconds:g}s")
        except TargetUnavailableError as exc:
            return DiagnosticResult("unavailable", str(exc))
        except Exception as exc:  # a check that raises is a failed check
            return DiagnosticResult("error", f"{check} failed: {type(exc).__name__}: {exc}")
        return DiagnosticResult("ok" if report.ok else "failed", report.detail, dict(report.data))

    def close(self) -> None:
        """Stop taking checks (a check that hangs is left to finish on its own), then
        close the connections of the checks' sources (``closers``)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        for close in self._closers:
            close()
