"""The background loop: every job on every beat; a job that fails does not stop the rest."""

from __future__ import annotations

import threading

import pytest

from gateway.runtime.worker import BackgroundWorker


def test_a_failing_job_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[str] = []

    def broken() -> None:
        raise ValueError("the store is locked")

    worker = BackgroundWorker([broken, lambda: ran.append("tick")], interval=60)

    worker.run_once()
    worker.run_once()

    assert ran == ["tick", "tick"]
    assert caplog.text.count("background job broken failed") == 2
    assert "ValueError: the store is locked" in caplog.text


def test_the_worker_runs_its_jobs_in_the_background_until_stopped() -> None:
    beats = threading.Semaphore(0)
    count: list[int] = []

    def job() -> None:
        count.append(1)
        beats.release()

    worker = BackgroundWorker([job], interval=0.001)
    worker.start()
    for _ in range(3):
        assert beats.acquire(timeout=10)
    worker.stop()
    stopped_at = len(count)

    assert stopped_at >= 3
    worker.run_once()
    assert len(count) == stopped_at + 1, "no beat of its own after stopping"


def test_stopping_a_worker_that_never_started_is_harmless() -> None:
    worker = BackgroundWorker([], interval=1)

    worker.stop()
    worker.run_once()


def test_jobs_added_before_the_start_run_on_every_beat_too() -> None:
    ran: list[str] = []
    worker = BackgroundWorker([lambda: ran.append("first")], interval=60)
    worker.add([lambda: ran.append("added")])

    worker.run_once()

    assert ran == ["first", "added"]
