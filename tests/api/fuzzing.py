"""How the suite fuzzes the API with schemathesis: every check on, and the refusals the
document describes in words only (docs/api.md) expected of requests it calls valid."""

from __future__ import annotations

import schemathesis

# Refusals that depend on the state or on the caller, so the document describes them in
# words: schemathesis cannot expect them of a valid request; each is a 422 naming the reason.
IN_WORDS_ONLY = {
    "GET /v1/audit/proofs/inclusion": "a size within the log and an index below it",
    "GET /v1/audit/proofs/consistency": "sizes within the log",
    "POST /v1/executions": "the actor a service must name, the workflow's parameters",
    "POST /v1/catalog/items/{item_id}/runs": "the person a service must name",
    "POST /v1/troubleshooting/sessions": "the facts the tree takes",
    "POST /v1/troubleshooting/sessions/{session_id}/answer": "an answer the question offers",
    "POST /v1/tickets/generic": "an update of a ticket the gateway knows",
    "POST /v1/tickets/servicenow": "an update of a ticket the gateway knows",
    "POST /v1/tickets/jira": "an update of an issue Jira has",
}
# schemathesis' own expectation of a valid request, and 422
ACCEPTED_OR_REFUSED_IN_WORDS = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]


def fuzzing_config() -> schemathesis.Config:
    """Every check on; the refusals described in words expected of valid requests."""
    operations = [
        {
            "include-name": name,
            "checks": {
                "positive_data_acceptance": {"expected-statuses": ACCEPTED_OR_REFUSED_IN_WORDS}
            },
        }
        for name in IN_WORDS_ONLY
    ]
    return schemathesis.Config.from_dict(
        {"generation": {"with-security-parameters": False}, "operations": operations}
    )
