"""Readiness while another process appends to the audit log file: a record half written
is an append under way, not a torn log."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable
from typing import Any

import pytest
from httpx import Response

from gateway.policy.request import AccessRequest
from tests.api.conftest import Api

HALF = b'{"actor":"elena","action":"kb.publish"'


def test_ready_while_another_process_is_appending_a_record(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = api.config.audit.log
    api.gateway.authorize(AccessRequest(actor="elena", action="kb.publish", resource="article:x"))
    # the other process: holds the log's lock and has written half of its record
    writer = os.open(log, os.O_WRONLY | os.O_APPEND)
    fcntl.flock(writer, fcntl.LOCK_EX)
    os.write(writer, HALF)
    reader_waits = threading.Event()
    real_flock: Callable[[Any, int], None] = fcntl.flock

    def flock(descriptor: Any, operation: int) -> None:
        if operation == fcntl.LOCK_SH:
            reader_waits.set()  # the check waits for the append under way
        real_flock(descriptor, operation)

    monkeypatch.setattr(fcntl, "flock", flock)
    answers: list[Response] = []
    check = threading.Thread(target=lambda: answers.append(api.client.get("/readyz")))
    check.start()
    try:
        assert reader_waits.wait(10)
    finally:
        # the other process's append ends (this one fails and is cut, as an append that
        # cannot finish is), then it lets the lock go
        before = log.read_bytes()
        os.ftruncate(writer, len(before) - len(HALF))
        fcntl.flock(writer, fcntl.LOCK_UN)
        os.close(writer)
        check.join(10)
    [response] = answers
    assert response.status_code == 200, response.json()
