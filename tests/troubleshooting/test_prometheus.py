"""The ``monitoring`` check answered by Prometheus, against answers shaped as Prometheus
documents them.

The answers follow the Prometheus HTTP API page (prometheus.io/docs/prometheus/latest/
querying/api/): "Format overview" (the ``status``/``data``/``errorType``/``error``/
``warnings`` envelope; 400 for bad parameters, 422 when an expression cannot be executed,
503 on timeout or abort), "Instant queries" (``GET``/``POST /api/v1/query`` with ``query``
and ``timeout``, ``resultType`` ``vector`` or ``scalar``, each sample ``[<unix seconds>,
"<value>"]``) and "Alerts" (``GET /api/v1/alerts``: ``data.alerts[]`` with ``labels``,
``annotations``, ``state``, ``activeAt``, ``value``).  A real Prometheus answers the same
checks in ``tests/integration/test_prometheus.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from gateway.troubleshooting.diagnostics import (
    DiagnosticResult,
    DiagnosticRunner,
    default_checks,
)
from gateway.troubleshooting.prometheus import PrometheusMonitoring
from gateway.troubleshooting.prometheus_settings import PrometheusSettings

Reply = Callable[[httpx.Request], httpx.Response]


def envelope(data: Any, *, status: int = 200, warnings: list[str] | None = None) -> httpx.Response:
    body: dict[str, Any] = {"status": "success", "data": data}
    if warnings is not None:
        body["warnings"] = warnings
    return httpx.Response(status, json=body)


def error(status: int, kind: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"status": "error", "errorType": kind, "error": message})


def vector(*values: str, instance: str = "printer-3f:9100") -> dict[str, Any]:
    return {
        "resultType": "vector",
        "result": [
            {"metric": {"__name__": "up", "job": "hosts", "instance": instance},
             "value": [1435781451.781, value]}
            for value in values
        ],
    }  # fmt: skip


class FakePrometheus:
    """Answers every call with ``reply`` and keeps the requests it got."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.reply: Reply = lambda request: envelope(vector("1"))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.reply(request)

    def form(self, index: int = -1) -> dict[str, list[str]]:
        return parse_qs(self.requests[index].content.decode())


@pytest.fixture
def prometheus() -> FakePrometheus:
    return FakePrometheus()


@pytest.fixture
def check(prometheus: FakePrometheus) -> Iterator[Callable[[str], DiagnosticResult]]:
    settings = PrometheusSettings(url="https://prometheus.example.com", max_retries=1)
    source = PrometheusMonitoring(
        settings, transport=httpx.MockTransport(prometheus), sleep=lambda _: None
    )
    runner = DiagnosticRunner(default_checks(monitoring=source), timeout_seconds=3,
                              closers=[source.close])  # fmt: skip

    def run(query: str) -> DiagnosticResult:
        return runner.run("monitoring", {"query": query}, actor="elena")

    yield run
    runner.close()


def test_a_host_whose_up_series_is_1_is_up_asked_with_an_instant_query(
    prometheus: FakePrometheus, check: Callable[[str], DiagnosticResult]
) -> None:
    result = check("host_up:printer-3f")
    assert (result.status, result.detail, result.data["value"]) == (
        "ok", "host_up:printer-3f is up", "up"
    )  # fmt: skip
    request = prometheus.requests[0]
    assert (request.method, request.url.path) == ("POST", "/api/v1/query")
    assert prometheus.form() == {
        "query": ['up{instance=~"printer\\\\-3f(:[0-9]+)?"}'],
        "timeout": ["2"],
    }
    assert result.data["series"][0]["labels"]["instance"] == "printer-3f:9100"


@pytest.mark.parametrize(
    ("values", "status", "value"),
    [
        (("0",), "failed", "down"),
        (("1", "0"), "failed", "degraded"),
        (("1", "1"), "ok", "up"),
    ],
    ids=["a zero sample is down", "a mix is degraded", "all non-zero is up"],
)
def test_the_samples_decide_up_down_or_degraded(
    prometheus: FakePrometheus,
    check: Callable[[str], DiagnosticResult],
    values: tuple[str, ...],
    status: str,
    value: str,
) -> None:
    prometheus.reply = lambda request: envelope(vector(*values))
    result = check("service:mail")
    assert (result.status, result.data["value"]) == (status, value)
    assert prometheus.form()["query"] == ['up{job="mail"}']


def test_a_scalar_answer_is_read_too(
    prometheus: FakePrometheus, check: Callable[[str], DiagnosticResult]
) -> None:
    prometheus.reply = lambda request: envelope({"resultType": "scalar", "result": [1.0, "1"]})
    assert check("service:mail").status == "ok"


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (envelope(vector()), "no data for host_up:printer-3f"),
        (envelope(vector("NaN")), "is not a number"),
        (envelope(vector("up")), "is not a number"),
        (envelope({"resultType": "vector", "result": [{"metric": {}}]}), "is not a number"),
        (envelope({"resultType": "vector", "result": ["odd"]}), "is not a number"),
        (envelope({"resultType": "matrix", "result": []}), "unexpected answer"),
        (envelope(vector(), warnings=["partial response"]), "warnings: partial response"),
        (envelope("odd"), "HTTP 200 without data"),
        (envelope(vector("1"), status=204), "HTTP 204 without data"),
        (httpx.Response(200, text="<html>proxy</html>"), "without Prometheus's JSON answer"),
        (httpx.Response(401, text="Unauthorized"), "HTTP 401 without Prometheus's JSON"),
        (error(200, "internal", "odd"), "HTTP 200: internal: odd"),
    ],
    ids=[
        "no series is unknown, not down",
        "a NaN sample is unknown",
        "a sample that is not a number is unknown",
        "a series without a value is unknown",
        "a series that is not an object is unknown",
        "a range answer is not read",
        "warnings are shown with the missing data",
        "an answer without data is unknown",
        "an answer other than 200 is unknown",
        "a proxy page is unknown",
        "a refused credential is unknown",
        "an error envelope with 200 is unknown",
    ],
)
def test_missing_or_unreadable_data_makes_the_check_unavailable_never_a_guess(
    prometheus: FakePrometheus,
    check: Callable[[str], DiagnosticResult],
    answer: httpx.Response,
    said: str,
) -> None:
    prometheus.reply = lambda request: answer
    result = check("host_up:printer-3f")
    assert result.status == "unavailable"
    assert said in result.detail
    assert not result.as_fact()["ok"]


def test_warnings_are_kept_beside_the_answer(
    prometheus: FakePrometheus, check: Callable[[str], DiagnosticResult]
) -> None:
    prometheus.reply = lambda request: envelope(vector("1"), warnings=["partial response"])
    result = check("host_up:printer-3f")
    assert result.status == "ok"
    assert result.data["warnings"] == ["partial response"]
    assert result.detail.endswith("(warnings: partial response)")


@pytest.mark.parametrize("status", [400, 422], ids=["bad data", "execution error"])
def test_a_query_prometheus_refuses_is_an_error_naming_its_reason(
    prometheus: FakePrometheus, check: Callable[[str], DiagnosticResult], status: int
) -> None:
    prometheus.reply = lambda request: error(status, "bad_data", "1:1: parse error")
    result = check("host_up:printer-3f")
    assert result.status == "error"
    assert "prometheus refused host_up:printer-3f: bad_data: 1:1: parse error" in result.detail
    assert len(prometheus.requests) == 1  # a refused query is not tried again


def test_a_prometheus_that_times_out_is_tried_again_then_unavailable_with_its_reason(
    prometheus: FakePrometheus, check: Callable[[str], DiagnosticResult]
) -> None:
    prometheus.reply = lambda request: error(503, "timeout", "query timed out in expression")
    result = check("host_up:printer-3f")
    assert result.status == "unavailable"
    assert "HTTP 503 (timeout: query timed out in expression)" in result.detail
    assert "gave up after 2 attempts" in result.detail
    assert len(prometheus.requests) == 2


def test_a_5xx_page_without_an_envelope_is_unavailable(
    prometheus: FakePrometheus, check: Callable[[str], DiagnosticResult]
) -> None:
    prometheus.reply = lambda request: httpx.Response(502, text="bad gateway")
    result = check("host_up:printer-3f")
    assert result.status == "unavailable"
    assert "HTTP 502; gave up" in result.detail


def test_a_5xx_with_another_json_body_is_unavailable(
    prometheus: FakePrometheus, check: Callable[[str], DiagnosticResult]
) -> None:
    prometheus.reply = lambda request: httpx.Response(503, json={"message": "down"})
    assert "HTTP 503; gave up" in check("host_up:printer-3f").detail


def test_a_network_timeout_is_unavailable(
    prometheus: FakePrometheus, check: Callable[[str], DiagnosticResult]
) -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    prometheus.reply = hang
    result = check("host_up:printer-3f")
    assert result.status == "unavailable"
    assert "cannot be reached (ReadTimeout)" in result.detail


@pytest.mark.parametrize(
    "query",
    [
        'host_up:printer"} or vector(1) #',
        "host_up:printer-3f}) or up{",
        "host_up:a b",
        "host_up:-flag",
        'alerts:x"',
    ],
    ids=[
        "a quote cannot close the label matcher",
        "a brace cannot close the selector",
        "a space is refused",
        "a leading dash is refused",
        "an alerts target is checked too",
    ],
)
def test_a_target_cannot_change_the_query(
    prometheus: FakePrometheus, check: Callable[[str], DiagnosticResult], query: str
) -> None:
    result = check(query)
    assert result.status == "error"
    assert "target must be a host name, address or URL" in result.detail
    assert prometheus.requests == []


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("printer-3f", "query must read <kind>:<target>"),
        ("host_up:", "query must read <kind>:<target>"),
        ("disk:printer-3f", "no Prometheus query for 'disk'; known: alerts, host_up, service"),
    ],
    ids=["no kind", "no target", "an unknown kind"],
)
def test_a_query_that_names_no_configured_kind_is_an_error(
    prometheus: FakePrometheus, check: Callable[[str], DiagnosticResult], query: str, said: str
) -> None:
    result = check(query)
    assert result.status == "error"
    assert said in result.detail
    assert prometheus.requests == []


def alerts(*found: dict[str, Any]) -> Reply:
    return lambda request: envelope({"alerts": list(found)})


def alert(name: str, state: str, **labels: str) -> dict[str, Any]:
    return {
        "labels": {"alertname": name, **labels},
        "annotations": {"summary": f"{name} on {labels.get('instance', '?')}"},
        "state": state,
        "activeAt": "2026-12-07T01:00:00.000Z",
        "value": "0e+00",
    }


def test_a_firing_alert_about_the_target_fails_the_check(
    prometheus: FakePrometheus, check: Callable[[str], DiagnosticResult]
) -> None:
    prometheus.reply = alerts(
        alert("PrinterDown", "firing", instance="printer-3f:9100"),
        alert("DiskFull", "firing", instance="mail:9100"),
        "not an alert",  # type: ignore[arg-type]
        {"labels": "odd"},
    )
    result = check("alerts:printer-3f")
    request = prometheus.requests[0]
    assert (request.method, request.url.path) == ("GET", "/api/v1/alerts")
    assert (result.status, result.detail) == ("failed", "alerts:printer-3f is firing: PrinterDown")
    assert result.data["alerts"] == [
        {"alertname": "PrinterDown", "state": "firing", "active_at": "2026-12-07T01:00:00.000Z"}
    ]


@pytest.mark.parametrize(
    ("found", "value", "detail"),
    [
        ((), "clear", "alerts:printer-3f is clear"),
        ((alert("PrinterDown", "pending", host="printer-3f"),), "pending",
         "alerts:printer-3f is pending: PrinterDown"),
        ((alert("PrinterDown", "firing", host="printer-9"),), "clear",
         "alerts:printer-3f is clear"),
    ],
    ids=["no alert", "a pending alert is not yet firing", "an alert about another host"],
)  # fmt: skip
def test_without_a_firing_alert_the_check_passes(
    prometheus: FakePrometheus,
    check: Callable[[str], DiagnosticResult],
    found: tuple[dict[str, Any], ...],
    value: str,
    detail: str,
) -> None:
    prometheus.reply = alerts(*found)
    result = check("alerts:printer-3f")
    assert (result.status, result.data["value"], result.detail) == ("ok", value, detail)


def test_an_alerts_answer_without_a_list_is_unavailable(
    prometheus: FakePrometheus, check: Callable[[str], DiagnosticResult]
) -> None:
    prometheus.reply = lambda request: envelope({"groups": []})
    result = check("alerts:printer-3f")
    assert result.status == "unavailable"
    assert "the answer has no alerts list" in result.detail


def test_the_token_is_sent_as_a_bearer_credential_and_never_shown(
    prometheus: FakePrometheus,
) -> None:
    settings = PrometheusSettings(
        url="https://prometheus.example.com", token=SecretStr("prom-Secret-1"), max_retries=0
    )
    source = PrometheusMonitoring(settings, transport=httpx.MockTransport(prometheus))
    prometheus.reply = lambda request: httpx.Response(500, text="prom-Secret-1")
    with pytest.raises(Exception) as raised:
        source.query("host_up:printer-3f")
    source.close()
    assert prometheus.requests[0].headers["Authorization"] == "Bearer prom-Secret-1"
    assert "prom-Secret-1" not in str(raised.value)


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ({"url": "ftp://prometheus"}, "expected an http(s):// URL"),
        ({"url": "https://user:pw@prometheus"}, "expected scheme, host, port and path only"),
        ({"url": "http://prometheus.example.com"}, "plain http is allowed only for a loopback"),
        ({"url": "https://p", "queries": {"disk": "node_disk"}}, "use $target or $instance"),
        ({"url": "https://p", "queries": {"disk": "up{x=$other}"}}, "use $target or $instance"),
        ({"url": "https://p", "queries": {"disk": "up{x=$}"}}, "use $target or $instance"),
        ({"url": "https://p", "queries": {"alerts": "up{x=$target}"}}, "other than 'alerts'"),
        ({"url": "https://p", "alert_labels": ["in-stance"]}, "expected a Prometheus label"),
        ({"url": "https://p", "token": "x"}, "secrets never go in the configuration file"),
    ],
    ids=[
        "another scheme",
        "credentials in the URL",
        "plain http to another host",
        "a template without the target",
        "an unknown placeholder",
        "a bare dollar",
        "a template named alerts",
        "a label name with a dash",
        "a token in the file",
    ],
)
def test_settings_refuse_what_cannot_work(table: dict[str, Any], said: str) -> None:
    with pytest.raises(ValidationError) as raised:
        PrometheusSettings.model_validate(table, context={"configuration_file": True})
    assert said in str(raised.value)


def test_plain_http_is_allowed_for_loopback_or_when_asked() -> None:
    assert PrometheusSettings(url="http://127.0.0.1:9090/").url == "http://127.0.0.1:9090"
    assert PrometheusSettings(url="http://localhost:9090").url == "http://localhost:9090"
    wanted = PrometheusSettings(url="http://prom.lan:9090", allow_plain_http=True)
    assert wanted.url == "http://prom.lan:9090"


def test_the_request_body_is_form_encoded_json_is_never_sent(
    prometheus: FakePrometheus, check: Callable[[str], DiagnosticResult]
) -> None:
    check("host_up:10.0.0.7")
    request = prometheus.requests[0]
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert prometheus.form()["query"] == ['up{instance=~"10\\\\.0\\\\.0\\\\.7(:[0-9]+)?"}']
    with pytest.raises(json.JSONDecodeError):
        json.loads(request.content)


def test_configured_queries_and_alert_labels_are_used(prometheus: FakePrometheus) -> None:
    settings = PrometheusSettings(
        url="https://prometheus.example.com",
        queries={"probe": "probe_success{target=$target}", "node": "up{instance=~$instance}"},
        alert_labels=["target", "device"],
    )
    source = PrometheusMonitoring(settings, transport=httpx.MockTransport(prometheus))
    report = source.query("probe:https://intranet.example.com")
    prometheus.reply = alerts(alert("ProbeFailed", "firing", device="printer-3f"))
    firing = source.query("alerts:printer-3f")
    source.close()
    assert report.ok
    assert prometheus.form(0)["query"] == ['probe_success{target="https://intranet.example.com"}']
    assert not firing.ok
