"""The ``monitoring`` check answered by Prometheus's HTTP API.

A check's query reads ``<kind>:<target>``.  ``alerts:<target>`` asks ``GET
/api/v1/alerts`` for the active alerts whose ``alert_labels`` name the target; any other
kind renders its PromQL template (``gateway.troubleshooting.promql``, the target quoted
as a string literal) and asks ``POST /api/v1/query`` (an instant query, form-encoded,
with Prometheus's own ``timeout``).

How answers become results (never a guess):

- a vector (or scalar) whose every sample is non-zero is ``up`` (ok); all zero ``down``;
  a mix ``degraded`` (not ok); ``warnings`` are kept in the detail and the data;
- no series, a sample that is not a number (``NaN``), an unexpected ``resultType``, an
  answer that is not Prometheus's JSON envelope, a timeout, a 5xx (after the retries) or
  a refusal such as HTTP 401: ``TargetUnavailableError``, so the check is ``unavailable``;
- ``status: "error"`` with HTTP 400 or 422 (``bad_data``, ``execution``: the query
  itself is wrong): ``MonitoringQueryError``, so the check is an ``error``.

Every call goes through ``gateway.http`` (one client, retries, error mapping).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from gateway.errors import TargetUnavailableError
from gateway.http import Failure, RetryingClient, RetryPolicy, open_client
from gateway.troubleshooting.diagnostics import CheckReport
from gateway.troubleshooting.errors import MonitoringQueryError
from gateway.troubleshooting.prometheus_settings import ALERTS_KIND, PrometheusSettings
from gateway.troubleshooting.promql import check_target, render_query

__all__ = ["SYSTEM", "PrometheusMonitoring"]

SYSTEM = "prometheus"
_SHOWN_SERIES = 20
_SHOWN_TEXT = 300
_QUERY_ERRORS = (400, 422)


def _short(text: object) -> str:
    return str(text)[:_SHOWN_TEXT]


def _envelope_error(response: httpx.Response) -> str:
    """``errorType: error`` of Prometheus's error envelope, or ``""``."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict) and body.get("status") == "error":
        return _short(f"{body.get('errorType', 'error')}: {body.get('error', '')}")
    return ""


def _unavailable(failure: Failure) -> Exception:
    said = "" if failure.response is None else _envelope_error(failure.response)
    problem = failure.problem + (f" ({said})" if said else "")
    return TargetUnavailableError(
        SYSTEM, f"{failure.where}: {problem}; gave up after {failure.attempts} attempts"
    )


def _number(text: object) -> float:
    try:
        value = float(str(text))
    except ValueError:
        return math.nan
    return value


class PrometheusMonitoring:
    """A ``MonitoringSource`` over Prometheus; ``transport`` replaces the network in tests."""

    def __init__(
        self,
        settings: PrometheusSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        client = open_client(
            base_url=settings.url,
            token=settings.token,
            timeout=settings.timeout_seconds,
            transport=transport,
        )
        policy = RetryPolicy(
            max_retries=settings.max_retries, backoff_seconds=0.1, max_wait_seconds=1.0
        )
        self._http = RetryingClient(
            client, name=SYSTEM, policy=policy, unavailable=_unavailable, sleep=sleep
        )

    def close(self) -> None:
        self._http.close()

    # -- calls ----------------------------------------------------------------------------

    def _call(self, method: str, path: str, asked: str, **options: Any) -> dict[str, Any]:
        """The ``data`` of a successful answer, and its ``warnings`` under ``"warnings"``."""
        response = self._http.request(method, path, where=f"{SYSTEM} {method} {path}", **options)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("status") not in ("success", "error"):
            raise TargetUnavailableError(
                SYSTEM, f"{asked}: HTTP {response.status_code} without Prometheus's JSON answer"
            )
        if body["status"] == "error":
            said = _short(f"{body.get('errorType', 'error')}: {body.get('error', '')}")
            if response.status_code in _QUERY_ERRORS:
                raise MonitoringQueryError(f"prometheus refused {asked}: {said}")
            raise TargetUnavailableError(SYSTEM, f"{asked}: HTTP {response.status_code}: {said}")
        data = body.get("data")
        if response.status_code != 200 or not isinstance(data, dict):
            raise TargetUnavailableError(
                SYSTEM, f"{asked}: HTTP {response.status_code} without data"
            )
        warnings = body.get("warnings")
        shown = [_short(w) for w in warnings] if isinstance(warnings, list) else []
        return {**data, "warnings": shown}

    # -- the check ------------------------------------------------------------------------

    def query(self, query: str) -> CheckReport:
        """Answer ``<kind>:<target>``; see the module's description for the outcomes."""
        kind, separator, target = query.partition(":")
        if not separator or not kind or not target:
            raise ValueError("query must read <kind>:<target>, e.g. host_up:printer-3f")
        if kind == ALERTS_KIND:
            return self._alerts(query, check_target(target))
        template = self.settings.queries.get(kind)
        if template is None:
            known = ", ".join(sorted([*self.settings.queries, ALERTS_KIND]))
            raise ValueError(f"no Prometheus query for {kind!r}; known: {known}")
        promql = render_query(template, target)
        timeout = f"{self.settings.timeout_seconds:g}"  # seconds, as a float
        data = self._call(
            "POST", "/api/v1/query", query, data={"query": promql, "timeout": timeout}
        )
        return _sample_report(query, promql, data)

    def _alerts(self, query: str, target: str) -> CheckReport:
        data = self._call("GET", "/api/v1/alerts", query)
        alerts = data.get("alerts")
        if not isinstance(alerts, list):
            raise TargetUnavailableError(SYSTEM, f"{query}: the answer has no alerts list")
        about = [alert for alert in alerts if self._names(alert, target)]
        found = [
            {
                "alertname": _short(alert["labels"].get("alertname", "")),
                "state": _short(alert.get("state", "")),
                "active_at": _short(alert.get("activeAt", "")),
            }
            for alert in about
        ]
        firing = sorted({a["alertname"] for a in found if a["state"] == "firing"})
        pending = sorted({a["alertname"] for a in found if a["state"] == "pending"})
        value = "firing" if firing else "pending" if pending else "clear"
        detail = f"{query} is {value}" + (f": {', '.join(firing or pending)}" if found else "")
        report = {"value": value, "alerts": found[:_SHOWN_SERIES], "warnings": data["warnings"]}
        return CheckReport(not firing, _with_warnings(detail, data["warnings"]), report)

    def _names(self, alert: object, target: str) -> bool:
        """Whether one of the alert's ``alert_labels`` names ``target`` (a ``:port`` aside)."""
        if not isinstance(alert, dict) or not isinstance(alert.get("labels"), dict):
            return False
        labels: Mapping[str, object] = alert["labels"]
        for name in self.settings.alert_labels:
            value = str(labels.get(name, ""))
            if value == target or value.rsplit(":", 1)[0] == target:
                return True
        return False


def _with_warnings(detail: str, warnings: list[str]) -> str:
    return detail + (f" (warnings: {'; '.join(warnings)})" if warnings else "")


def _sample_report(query: str, promql: str, data: Mapping[str, Any]) -> CheckReport:
    kind, result = data.get("resultType"), data.get("result")
    samples: list[tuple[dict[str, str], float]] = []
    if kind == "vector" and isinstance(result, list):
        for series in result:
            metric = series.get("metric") if isinstance(series, dict) else None
            point = series.get("value") if isinstance(series, dict) else None
            labels = metric if isinstance(metric, dict) else {}
            number = _number(point[1]) if isinstance(point, list) and len(point) == 2 else math.nan
            samples.append(({str(k): _short(v) for k, v in labels.items()}, number))
    elif kind == "scalar" and isinstance(result, list) and len(result) == 2:
        samples.append(({}, _number(result[1])))
    else:
        raise TargetUnavailableError(SYSTEM, f"{query}: unexpected answer (resultType {kind!r})")
    if not samples:
        message = f"no data for {query}: {promql} matched no series"
        raise TargetUnavailableError(SYSTEM, _with_warnings(message, data["warnings"]))
    if any(not math.isfinite(number) for _, number in samples):
        raise TargetUnavailableError(SYSTEM, f"{query}: a sample of {promql} is not a number")
    values = [number for _, number in samples]
    state = "up" if all(values) else "down" if not any(values) else "degraded"
    series = [{"labels": labels, "value": number} for labels, number in samples]
    detail = f"{query} is {state}" + (f" ({len(samples)} series)" if len(samples) > 1 else "")
    report = {
        "value": state,
        "promql": promql,
        "series": series[:_SHOWN_SERIES],
        "warnings": data["warnings"],
    }
    return CheckReport(state == "up", _with_warnings(detail, data["warnings"]), report)
