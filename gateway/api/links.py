"""OpenAPI links: from the answer that makes (or lists) a thing to the calls that follow it,
with the id taken from the answer's body, so a client or a stateful fuzzer can follow an
execution, an approval, a troubleshooting session or a self-service run from its start.

One declarative list; ``add_links`` writes each link on its source answer in the document
(``responses.<status>.links.<name>``), naming the target by ``operationRef``.  A link
whose source or target the app does not serve is left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["LINKS", "Link", "add_links"]


@dataclass(frozen=True, slots=True)
class Link:
    """``source`` (``"POST /v1/executions 202"``) leads to ``target`` (``"GET /v1/..."``)."""

    source: str
    name: str
    target: str
    description: str
    parameters: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None

    def parts(self) -> tuple[str, str, str, str, str]:
        method, path, status = self.source.split(" ")
        target_method, target_path = self.target.split(" ")
        return method.lower(), path, status, target_method.lower(), target_path


def _each(sources: tuple[str, ...], *links: Link) -> tuple[Link, ...]:
    """``links`` (written for ``sources[0]``) from each of ``sources``."""
    return tuple(
        Link(source, link.name, link.target, link.description, link.parameters, link.body)
        for source in sources
        for link in links
    )


_EXECUTION = "/v1/executions/{execution_id}"
_APPROVAL = "/v1/approvals/{approval_id}"
_SESSION = "/v1/troubleshooting/sessions/{session_id}"
_RUN = "/v1/catalog/runs/{run_id}"
_ID = "$response.body#/id"
_FIRST_ID = "$response.body#/0/id"

_OF_AN_EXECUTION = _each(
    (
        "POST /v1/executions 202",
        f"GET {_EXECUTION} 200",
        f"POST {_EXECUTION}/cancel 200",
    ),
    Link("", "GetExecution", f"GET {_EXECUTION}", "The execution, step by step.",
         {"execution_id": _ID}),
    Link("", "CancelExecution", f"POST {_EXECUTION}/cancel",
         "Cancel the execution while it is unfinished.", {"execution_id": _ID}),
    Link("", "ReadSecretOutput", f"POST {_EXECUTION}/secrets/{{name}}",
         "Read a sealed output of the first step, once.",
         {"execution_id": _ID, "name": "$response.body#/steps/0/secret_outputs/0"}),
    Link("", "GetApproval", f"GET {_APPROVAL}", "The approval the execution waits for.",
         {"approval_id": "$response.body#/waiting/approval_id"}),
    Link("", "ApproveApproval", f"POST {_APPROVAL}/approve",
         "Approve what the execution waits for (as an approver).",
         {"approval_id": "$response.body#/waiting/approval_id"},
         {"digest": "$response.body#/waiting/digest"}),
    Link("", "RejectApproval", f"POST {_APPROVAL}/reject",
         "Reject what the execution waits for (as an approver).",
         {"approval_id": "$response.body#/waiting/approval_id"},
         {"digest": "$response.body#/waiting/digest"}),
    Link("", "GetStepUpStatus", "GET /v1/stepup/status",
         "Whether the caller's step-up, which the execution may wait for, is fresh."),
    Link("", "VerifyStepUp", "POST /v1/stepup/verify",
         "Step up (a TOTP code) when the execution waits for it."),
)  # fmt: skip

_OF_AN_APPROVAL = _each(
    (f"GET {_APPROVAL} 200",),
    Link("", "ApproveApproval", f"POST {_APPROVAL}/approve", "Approve it, as shown.",
         {"approval_id": _ID}, {"digest": "$response.body#/digest"}),
    Link("", "RejectApproval", f"POST {_APPROVAL}/reject", "Reject it, as shown.",
         {"approval_id": _ID}, {"digest": "$response.body#/digest"}),
)  # fmt: skip

_OF_A_SESSION = _each(
    (
        "POST /v1/troubleshooting/sessions 201",
        f"GET {_SESSION} 200",
        f"POST {_SESSION}/answer 200",
        f"POST {_SESSION}/undo 200",
        f"POST {_SESSION}/resume 200",
    ),
    Link("", "GetSession", f"GET {_SESSION}", "The session and the question it waits on.",
         {"session_id": _ID}),
    Link("", "AnswerSession", f"POST {_SESSION}/answer", "Answer the question it waits on.",
         {"session_id": _ID}),
    Link("", "UndoSession", f"POST {_SESSION}/undo", "Take back the last answer.",
         {"session_id": _ID}),
    Link("", "ResumeSession", f"POST {_SESSION}/resume",
         "Go on once the workflow it waits for has finished.", {"session_id": _ID}),
)  # fmt: skip

_OF_A_RUN = _each(
    (
        "POST /v1/catalog/items/{item_id}/runs 202",
        f"GET {_RUN} 200",
        f"POST {_RUN}/resume 200",
    ),
    Link("", "GetRun", f"GET {_RUN}", "The run and what it waits for.", {"run_id": _ID}),
    Link("", "ResumeRun", f"POST {_RUN}/resume", "Go on once what it waited for is done.",
         {"run_id": _ID}),
    Link("", "CancelRun", f"POST {_RUN}/cancel", "Cancel the run while it waits.",
         {"run_id": _ID}),
    Link("", "GetRunExecution", f"GET {_EXECUTION}", "The run's first execution.",
         {"execution_id": "$response.body#/executions/0"}),
    Link("", "GetRunApproval", f"GET {_APPROVAL}", "The approval the run waits for.",
         {"approval_id": "$response.body#/approval_id"}),
)  # fmt: skip

_OF_A_TICKET = _each(
    ("POST /v1/tickets/servicenow 202", "POST /v1/tickets/generic 202",
     "POST /v1/tickets/jira 202"),
    Link("", "GetExecution", f"GET {_EXECUTION}", "The execution the ticket started.",
         {"execution_id": "$response.body#/execution_id"}),
)  # fmt: skip

_FROM_LISTS = (
    Link("GET /v1/executions 200", "GetExecution", f"GET {_EXECUTION}",
         "The latest execution.", {"execution_id": _FIRST_ID}),
    Link("GET /v1/approvals 200", "GetApproval", f"GET {_APPROVAL}",
         "The first approval listed.", {"approval_id": _FIRST_ID}),
    Link("GET /v1/approvals 200", "ApproveApproval", f"POST {_APPROVAL}/approve",
         "Approve the first approval listed.", {"approval_id": _FIRST_ID},
         {"digest": "$response.body#/0/digest"}),
    Link("GET /v1/workflows 200", "StartExecution", "POST /v1/executions",
         "Start the first workflow listed.", body={"workflow": _FIRST_ID}),
    Link("GET /v1/troubleshooting/trees 200", "StartSession",
         "POST /v1/troubleshooting/sessions", "Start a session on the first tree listed.",
         body={"tree": _FIRST_ID}),
    Link("GET /v1/troubleshooting/trees 200", "GetReport",
         "GET /v1/troubleshooting/reports/{tree_id}", "The report of the first tree listed.",
         {"tree_id": _FIRST_ID}),
    Link("GET /v1/catalog 200", "GetItem", "GET /v1/catalog/items/{item_id}",
         "The first item listed.", {"item_id": _FIRST_ID}),
    Link("GET /v1/catalog/items/{item_id} 200", "RunItem",
         "POST /v1/catalog/items/{item_id}/runs", "Run the item.", {"item_id": _ID}),
    Link("GET /v1/knowledge/search 200", "GetArticle",
         "GET /v1/knowledge/articles/{article_id}", "The best match.",
         {"article_id": _FIRST_ID}),
    Link("POST /v1/knowledge/suggestions 200", "GetArticle",
         "GET /v1/knowledge/articles/{article_id}", "The best suggestion.",
         {"article_id": _FIRST_ID}),
)  # fmt: skip

LINKS: tuple[Link, ...] = (
    _OF_AN_EXECUTION + _OF_AN_APPROVAL + _OF_A_SESSION + _OF_A_RUN + _OF_A_TICKET + _FROM_LISTS
)


def _pointer(path: str) -> str:
    return path.replace("~", "~0").replace("/", "~1")


def add_links(document: dict[str, Any], links: tuple[Link, ...] = LINKS) -> None:
    """Write ``links`` on their source answers in ``document`` (an OpenAPI document)."""
    paths: dict[str, Any] = document["paths"]
    for link in links:
        method, path, status, target_method, target_path = link.parts()
        answer = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if answer is None or target_method not in paths.get(target_path, {}):
            continue
        written: dict[str, Any] = {
            "operationRef": f"#/paths/{_pointer(target_path)}/{target_method}",
            "description": link.description,
        }
        if link.parameters:
            written["parameters"] = dict(link.parameters)
        if link.body is not None:
            written["requestBody"] = dict(link.body)
        answer.setdefault("links", {})[link.name] = written
