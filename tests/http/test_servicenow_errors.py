"""ServiceNow's error object, read once for the help desk and the change calendar alike."""

from __future__ import annotations

import httpx
import pytest

from gateway.http.servicenow_errors import servicenow_error_text

ANSWERS = {
    "message and detail": (
        {"error": {"message": "No Record found", "detail": "Record doesn't exist"},
         "status": "failure"},
        "No Record found: Record doesn't exist",
    ),
    "a message alone": ({"error": {"message": " ACL denied "}}, "ACL denied"),
    "an empty error": ({"error": {}}, "no error details"),
    "no error object": ({"result": []}, "no error details"),
    "a list, not an object": ([], "no error details"),
    "a long message is cut": ({"error": {"message": "x" * 500}}, "x" * 300),
}  # fmt: skip


@pytest.mark.parametrize("case", ANSWERS.values(), ids=list(ANSWERS))
def test_the_error_object_becomes_one_short_line(case: tuple[object, str]) -> None:
    body, text = case
    assert servicenow_error_text(httpx.Response(400, json=body)) == text


def test_a_body_that_is_not_json_has_no_details() -> None:
    assert servicenow_error_text(httpx.Response(502, text="<html>Bad gateway</html>")) == (
        "no error details"
    )
