"""The audit log file (gateway.audit.log): durable, ordered appends from threads and processes,
torn tails quarantined, failures reported without leaving a partial record."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from gateway.audit.keys import Signer
from gateway.audit.log import AuditLog, read_lines
from gateway.audit.records import KEY_ROTATED, AuditEvent, AuditRecord
from gateway.errors import AuditWriteError
from tests.audit.conftest import START, body_of, lines_of, stepping_clock, verify_path

REPO = Path(__file__).resolve().parents[2]


def event(number: int, **fields: Any) -> AuditEvent:
    return AuditEvent(type="test.event", actor=f"user{number}", payload={"n": number, **fields})


def numbers(path: Path) -> list[int]:
    return [
        body_of(line)["payload"]["n"]
        for line in lines_of(path)
        if body_of(line)["type"] == "test.event"
    ]


def pem(signer: Signer) -> bytes:
    return signer.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def run_python(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


class GateClock:
    """A clock whose first reading blocks until released: the first writer holds the log
    while others queue up behind it."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.readings = 0

    def __call__(self) -> datetime:
        self.readings += 1
        if self.readings == 1:
            self.entered.set()
            assert self.release.wait(10)
        return START + timedelta(seconds=self.readings)


class Queued:
    """Run appends in threads while a first append holds the writer, then release them all
    together: the queued ones are written as one group."""

    def __init__(self, log: AuditLog, clock: GateClock) -> None:
        self.log, self.clock = log, clock
        self.results: dict[str, AuditRecord | Exception] = {}
        self.threads: list[threading.Thread] = []
        self._start("holder", lambda: log.append(event(0)))
        assert clock.entered.wait(10)

    def _start(self, name: str, call: Callable[[], AuditRecord]) -> None:
        def run() -> None:
            try:
                self.results[name] = call()
            except Exception as exc:  # reported to the test through results
                self.results[name] = exc

        thread = threading.Thread(target=run)
        self.threads.append(thread)
        thread.start()

    def queue(self, name: str, call: Callable[[], AuditRecord]) -> None:
        waiting = len(self.log._pending)  # peeked only to know the call is queued
        self._start(name, call)
        wait_until(lambda: len(self.log._pending) == waiting + 1)

    def release(self) -> dict[str, AuditRecord | Exception]:
        self.clock.release.set()
        for thread in self.threads:
            thread.join(10)
        return self.results


# -- appending ------------------------------------------------------------------------------


def test_an_append_returns_the_record_once_it_is_in_the_file(
    audit_log: AuditLog, signer: Signer
) -> None:
    first = audit_log.append(event(1))
    second = audit_log.append(event(2))
    assert (first.seq, second.seq) == (0, 1)
    assert second.prev == first.hash
    assert first.time == "2024-05-01T09:30:00.000000Z"
    assert audit_log.path.read_bytes() == first.line + b"\n" + second.line + b"\n"
    assert verify_path(audit_log.path, signer).records == 2


def test_a_reopened_log_continues_the_sequence_and_the_chain(tmp_path: Path) -> None:
    signer = Signer.generate()
    path = tmp_path / "deep" / "dir" / "audit.log"
    with AuditLog(path, signer) as log:
        last = log.append(event(1))
    with AuditLog(path, signer) as log:
        record = log.append(event(2))
    assert (record.seq, record.prev) == (1, last.hash)
    assert verify_path(path, signer).records == 2


def test_a_log_follows_records_appended_by_another_writer(tmp_path: Path) -> None:
    signer = Signer.generate()
    path = tmp_path / "audit.log"
    with AuditLog(path, signer) as one, AuditLog(path, signer) as two:
        one.append(event(1))
        two.append(event(2))
        one.append(event(3))
        record = two.append(event(4))
    assert record.seq == 3
    assert numbers(path) == [1, 2, 3, 4]
    assert verify_path(path, signer).records == 4


def test_a_record_larger_than_the_tail_window_is_read_back(tmp_path: Path) -> None:
    signer = Signer.generate()
    path = tmp_path / "audit.log"
    big = "x" * 200_000
    with AuditLog(path, signer) as log:
        log.append(event(1))
        log.append(event(2, blob=big))
    with AuditLog(path, signer) as log:
        assert log.append(event(3)).seq == 2
    assert numbers(path) == [1, 2, 3]
    assert verify_path(path, signer).records == 3


def test_closing_twice_is_harmless(tmp_path: Path, signer: Signer) -> None:
    log = AuditLog(tmp_path / "audit.log", signer)
    log.close()
    log.close()


def test_appends_queued_behind_a_writer_are_written_together_in_order(
    tmp_path: Path, signer: Signer
) -> None:
    clock = GateClock()
    log = AuditLog(tmp_path / "audit.log", signer, clock=clock)
    queued = Queued(log, clock)
    for number in (1, 2, 3):
        queued.queue(f"n{number}", partial(log.append, event(number)))
    results = queued.release()
    log.close()
    records = [results[name] for name in ("holder", "n1", "n2", "n3")]
    assert all(isinstance(record, AuditRecord) for record in records)
    assert [record.seq for record in records if isinstance(record, AuditRecord)] == [0, 1, 2, 3]
    assert len({record.time for record in records[1:] if isinstance(record, AuditRecord)}) == 1
    assert clock.readings == 2  # one group, one clock reading, one write
    assert numbers(log.path) == [0, 1, 2, 3]
    assert verify_path(log.path, signer).records == 4


def test_sixteen_threads_appending_at_once_lose_and_duplicate_nothing(
    tmp_path: Path, signer: Signer
) -> None:
    path = tmp_path / "audit.log"
    per_thread = 25
    barrier = threading.Barrier(16)
    errors: list[BaseException] = []
    with AuditLog(path, signer) as log:

        def work(thread: int) -> None:
            try:
                barrier.wait()
                for index in range(per_thread):
                    record = log.append(event(thread * 1000 + index))
                    assert record.payload["n"] == thread * 1000 + index
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(number,)) for number in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert errors == []
    written = numbers(path)
    assert sorted(written) == sorted(t * 1000 + i for t in range(16) for i in range(per_thread))
    for number in range(16):  # each thread's records are in the order it appended them
        own = [n for n in written if n // 1000 == number]
        assert own == sorted(own)
    assert [body_of(line)["seq"] for line in lines_of(path)] == list(range(16 * per_thread))
    assert verify_path(path, signer).records == 16 * per_thread


WRITER = """
    import itertools
    import sys
    from pathlib import Path
    from gateway.audit.keys import load_signer
    from gateway.audit.log import AuditLog
    from gateway.audit.records import AuditEvent

    log_path, key_path, worker, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    with AuditLog(Path(log_path), load_signer(Path(key_path))) as log:
        for index in range(count) if count >= 0 else itertools.count():
            log.append(AuditEvent(type="test.event", payload={"n": worker * 100000 + index}))
            if count < 0 and index == 0:
                print("started", flush=True)
"""


def test_four_processes_appending_to_one_file_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    signer = Signer.generate()
    key = tmp_path / "audit-signing.key"
    key.write_bytes(pem(signer))
    key.chmod(0o600)
    path = tmp_path / "audit.log"
    count = 30
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                textwrap.dedent(WRITER),
                str(path),
                str(key),
                str(w),
                str(count),
            ],
            cwd=REPO,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(4)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
    assert sorted(numbers(path)) == sorted(w * 100000 + i for w in range(4) for i in range(count))
    assert verify_path(path, signer).records == 4 * count


def test_a_writer_killed_while_appending_never_loses_a_complete_record(tmp_path: Path) -> None:
    signer = Signer.generate()
    key = tmp_path / "audit-signing.key"
    key.write_bytes(pem(signer))
    key.chmod(0o600)
    path = tmp_path / "audit.log"
    writer = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(WRITER), str(path), str(key), "7", "-1"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline() == "started\n"
        wait_until(lambda: path.stat().st_size > 20_000)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(10)
        if writer.stdout is not None:
            writer.stdout.close()
    data = path.read_bytes()
    complete = data[: data.rindex(b"\n") + 1].splitlines()
    with AuditLog(path, signer) as log:
        log.append(AuditEvent(type="test.after_crash"))
    lines = lines_of(path)
    assert lines[: len(complete)] == complete
    assert numbers(path)[: len(complete)] == [700000 + i for i in range(len(complete))]
    assert body_of(lines[-1])["type"] == "test.after_crash"
    assert verify_path(path, signer).records == len(lines)


# -- a torn tail is quarantined ---------------------------------------------------------------


def test_a_torn_tail_is_moved_aside_and_recorded(tmp_path: Path, signer: Signer) -> None:
    path = tmp_path / "audit.log"
    with AuditLog(path, signer) as log:
        log.append(event(1))
        doomed = log.append(event(2)).line
    torn = doomed[:57]
    with path.open("ab") as handle:
        handle.write(torn)
    clock = stepping_clock(datetime(2024, 7, 1, 8, 0, 0, 123456, tzinfo=UTC))
    with AuditLog(path, signer, clock=clock) as log:
        after = log.append(event(3))
    quarantine = tmp_path / "audit.log.torn-20240701T080000123456Z"
    assert quarantine.read_bytes() == torn
    lines = lines_of(path)
    assert len(lines) == 4
    notice = body_of(lines[2])
    assert notice["type"] == "audit.tail_quarantined"
    assert notice["payload"] == {
        "bytes": 57,
        "sha256": hashlib.sha256(torn).hexdigest(),
        "file": quarantine.name,
    }
    assert after.seq == 3
    assert verify_path(path, signer).records == 4


def test_a_log_that_is_only_a_torn_line_starts_over_with_the_notice(
    tmp_path: Path, signer: Signer
) -> None:
    path = tmp_path / "audit.log"
    path.write_bytes(b'{"action":nu')
    with AuditLog(path, signer, clock=stepping_clock()):
        pass
    lines = lines_of(path)
    assert [body_of(line)["type"] for line in lines] == ["audit.tail_quarantined"]
    assert body_of(lines[0])["payload"]["bytes"] == 12
    assert verify_path(path, signer).records == 1


def test_a_torn_tail_after_a_very_long_record_is_cut_at_the_right_place(
    tmp_path: Path, signer: Signer
) -> None:
    path = tmp_path / "audit.log"
    with AuditLog(path, signer) as log:
        log.append(event(1, blob="y" * 150_000))
    with path.open("ab") as handle:
        handle.write(b"z" * 100_000)  # longer than the tail window, no newline
    with AuditLog(path, signer) as log:
        log.append(event(2))
    assert numbers(path) == [1, 2]
    notice = body_of(lines_of(path)[1])
    assert notice["payload"]["bytes"] == 100_000
    assert notice["payload"]["sha256"] == hashlib.sha256(b"z" * 100_000).hexdigest()
    assert verify_path(path, signer).records == 3


def test_a_second_torn_tail_never_overwrites_an_earlier_quarantined_one(
    tmp_path: Path, signer: Signer
) -> None:
    path = tmp_path / "audit.log"
    frozen = datetime(2024, 7, 1, tzinfo=UTC)
    for torn in (b'{"first torn', b'{"second torn'):
        with path.open("ab") as handle:
            handle.write(torn)
        AuditLog(path, signer, clock=lambda: frozen).close()
    kept = sorted(p.read_bytes() for p in tmp_path.glob("audit.log.torn-*"))
    assert kept == [b'{"first torn', b'{"second torn']


def test_a_torn_tail_that_cannot_be_quarantined_is_an_audit_write_error(
    tmp_path: Path, signer: Signer
) -> None:
    path = tmp_path / ("a" * 240)  # the quarantine file's name would be too long
    path.write_bytes(b'{"torn')
    with pytest.raises(AuditWriteError, match="cannot quarantine a torn tail"):
        AuditLog(path, signer, clock=lambda: datetime(2024, 7, 1, tzinfo=UTC))
    assert path.read_bytes() == b'{"torn', "nothing is cut before it is kept"


# -- failed appends -------------------------------------------------------------------------


def test_an_event_that_cannot_be_encoded_is_refused_and_the_log_keeps_working(
    audit_log: AuditLog, signer: Signer
) -> None:
    audit_log.append(event(1))
    before = audit_log.path.read_bytes()
    with pytest.raises(AuditWriteError, match=r"append failed: record\.payload\.ratio: float"):
        audit_log.append(event(2, ratio=0.5))
    with pytest.raises(AuditWriteError, match=r"append failed: .* object keys must be strings"):
        audit_log.append(event(2, nested={1: "x"}))
    assert audit_log.path.read_bytes() == before
    assert audit_log.append(event(3)).seq == 1
    assert numbers(audit_log.path) == [1, 3]
    assert verify_path(audit_log.path, signer).records == 2


def test_a_log_path_that_is_a_directory_cannot_be_opened(tmp_path: Path, signer: Signer) -> None:
    path = tmp_path / "audit.log"
    path.mkdir()
    with pytest.raises(AuditWriteError, match=r"audit\.log: cannot open audit log: Is a directory"):
        AuditLog(path, signer)


def test_a_log_under_a_file_cannot_be_opened(tmp_path: Path, signer: Signer) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(AuditWriteError, match="cannot open audit log"):
        AuditLog(tmp_path / "file" / "audit.log", signer)


@pytest.mark.parametrize(
    "last_line",
    [
        pytest.param(b"garbage", id="garbage"),
        pytest.param(b"", id="an empty line"),
        pytest.param(b'{"seq":1}', id="an incomplete record"),
    ],
)
def test_a_log_whose_last_record_is_unreadable_refuses_appends(
    tmp_path: Path, signer: Signer, last_line: bytes
) -> None:
    path = tmp_path / "audit.log"
    with AuditLog(path, signer) as log:
        log.append(event(1))
    with path.open("ab") as handle:
        handle.write(last_line + b"\n")
    before = path.read_bytes()
    with AuditLog(path, signer) as log:
        for _ in range(2):
            with pytest.raises(AuditWriteError, match="last record is unreadable: record -1: "):
                log.append(event(2))
    assert path.read_bytes() == before


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_write_to_a_full_device_is_an_audit_write_error(signer: Signer) -> None:
    with AuditLog(Path("/dev/full"), signer) as log:
        with pytest.raises(AuditWriteError, match=r"^/dev/full: append failed: "):
            log.append(event(1))
        with pytest.raises(AuditWriteError, match=r"^/dev/full: append failed: "):
            log.append(event(2))


def test_a_write_refused_part_way_is_cut_back_and_the_log_keeps_working(
    audit_log: AuditLog, signer: Signer
) -> None:
    audit_log.append(event(1))
    before = audit_log.path.read_bytes()
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) + 200, hard))
    try:  # the first 200 bytes of the record are written, then the file may not grow
        with pytest.raises(AuditWriteError, match=r"append failed: File too large$"):
            audit_log.append(event(2, blob="b" * 2000))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
    assert audit_log.path.read_bytes() == before
    assert audit_log.append(event(3)).seq == 1
    assert numbers(audit_log.path) == [1, 3]
    assert verify_path(audit_log.path, signer).records == 2


def test_a_write_cut_short_by_the_file_size_limit_leaves_no_partial_record(
    tmp_path: Path,
) -> None:
    signer = Signer.generate()
    key = tmp_path / "audit-signing.key"
    key.write_bytes(pem(signer))
    key.chmod(0o600)
    path = tmp_path / "audit.log"
    with AuditLog(path, signer) as log:
        log.append(event(1))
    before = path.read_bytes()
    result = run_python(
        """
        import json, resource, signal, sys
        from pathlib import Path
        from gateway.audit.keys import load_signer
        from gateway.audit.log import AuditLog
        from gateway.audit.records import AuditEvent
        from gateway.errors import AuditWriteError

        path = Path(sys.argv[1])
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (path.stat().st_size + 1000, hard))
        out = {}
        with AuditLog(path, load_signer(Path(sys.argv[2]))) as log:
            try:
                log.append(AuditEvent(type="test.event", payload={"n": 2, "blob": "b" * 5000}))
            except AuditWriteError as exc:
                out["error"] = str(exc)
            out["size_after_failure"] = path.stat().st_size
            out["seq"] = log.append(AuditEvent(type="test.event", payload={"n": 3})).seq
        print(json.dumps(out))
        """,
        str(path),
        str(key),
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["error"] == f"{path}: append failed: File too large"
    assert out["size_after_failure"] == len(before)
    assert out["seq"] == 1
    assert path.read_bytes().startswith(before)
    assert numbers(path) == [1, 3]
    assert verify_path(path, signer).records == 2


# -- keys -----------------------------------------------------------------------------------


def test_after_a_rotation_records_are_signed_by_the_new_key(tmp_path: Path) -> None:
    old, new = Signer.generate(), Signer.generate()
    path = tmp_path / "audit.log"
    with AuditLog(path, old) as log:
        log.append(event(1))
        rotation = log.rotate_key(new)
        after = log.append(event(2))
    assert rotation.type == KEY_ROTATED
    assert rotation.key_id == old.key_id
    assert rotation.payload["new_key_id"] == new.key_id
    assert after.key_id == new.key_id
    with AuditLog(path, new) as log:  # a restarted writer holding the new key continues
        assert log.append(event(3)).key_id == new.key_id
    report = verify_path(path, old)
    assert report.key_ids == (old.key_id, new.key_id)
    assert report.records == 4


def test_a_writer_holding_the_retired_key_is_refused(tmp_path: Path) -> None:
    old, new = Signer.generate(), Signer.generate()
    path = tmp_path / "audit.log"
    with AuditLog(path, old) as log:
        log.append(event(1))
        log.rotate_key(new)
    before = path.read_bytes()
    with (
        AuditLog(path, old) as stale,
        pytest.raises(AuditWriteError, match=f"signed by key {new.key_id}"),
    ):
        stale.append(event(2))
    assert path.read_bytes() == before
    assert verify_path(path, old).records == 2


def test_a_writer_holding_an_unrelated_key_is_refused(tmp_path: Path) -> None:
    owner, stranger = Signer.generate(), Signer.generate()
    path = tmp_path / "audit.log"
    with AuditLog(path, owner) as log:
        log.append(event(1))
    with (
        AuditLog(path, stranger) as log,
        pytest.raises(AuditWriteError, match=f"this writer holds {stranger.key_id}"),
    ):
        log.append(event(2))
    assert verify_path(path, owner).records == 1


# -- known bugs -----------------------------------------------------------------------------


def test_a_too_deeply_nested_payload_is_an_audit_write_error(
    audit_log: AuditLog, signer: Signer
) -> None:
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(AuditWriteError, match="append failed"):
        audit_log.append(event(1, deep=deep))
    assert audit_log.append(event(2)).seq == 0


def test_a_bad_event_does_not_fail_the_valid_events_written_with_it(
    tmp_path: Path, signer: Signer
) -> None:
    clock = GateClock()
    log = AuditLog(tmp_path / "audit.log", signer, clock=clock)
    queued = Queued(log, clock)
    queued.queue("bad", lambda: log.append(event(1, ratio=0.5)))
    queued.queue("good", lambda: log.append(event(2)))
    results = queued.release()
    log.close()
    assert isinstance(results["bad"], AuditWriteError)
    assert isinstance(results["good"], AuditRecord)


def test_an_append_queued_behind_a_rotation_is_signed_by_the_new_key(
    tmp_path: Path, signer: Signer
) -> None:
    new = Signer.generate()
    clock = GateClock()
    log = AuditLog(tmp_path / "audit.log", signer, clock=clock)
    queued = Queued(log, clock)
    queued.queue("rotation", lambda: log.rotate_key(new))
    queued.queue("after", lambda: log.append(event(2)))
    results = queued.release()
    log.close()
    after = results["after"]
    assert isinstance(results["rotation"], AuditRecord)
    assert isinstance(after, AuditRecord)
    assert after.key_id == new.key_id
    assert verify_path(log.path, signer).records == 3


def test_record_times_are_utc_whatever_the_clock_zone(tmp_path: Path, signer: Signer) -> None:
    berlin_summer = timezone(timedelta(hours=2))
    clock = lambda: datetime(2024, 7, 1, 12, 0, tzinfo=berlin_summer)  # noqa: E731
    with AuditLog(tmp_path / "audit.log", signer, clock=clock) as log:
        assert log.append(event(1)).time == "2024-07-01T10:00:00.000000Z"


def test_read_lines_streams_complete_lines_and_a_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "lines"
    path.write_bytes(b"one\n\ntwo\nthr")
    assert list(read_lines(path)) == [b"one", b"", b"two", b"thr"]
    os.truncate(path, 0)
    assert list(read_lines(path)) == []


def test_a_failed_write_fails_the_valid_events_of_its_group_and_keeps_the_refused_ones_reason(
    tmp_path: Path, signer: Signer
) -> None:
    clock = GateClock()
    log = AuditLog(tmp_path / "audit.log", signer, clock=clock)
    queued = Queued(log, clock)
    queued.queue("bad", lambda: log.append(event(1, ratio=0.5)))
    queued.queue("big", lambda: log.append(event(2, blob="b" * 20_000)))
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4_000, hard))  # the holder's record fits
    try:
        results = queued.release()
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
    log.close()

    assert isinstance(results["holder"], AuditRecord)
    assert "not allowed" in str(results["bad"]), "the refused event keeps its own reason"
    assert str(results["big"]).endswith("append failed: File too large")
    assert verify_path(log.path, signer).records == 1


class InterruptingClock(GateClock):
    """A ``GateClock`` whose first reading, once released, is interrupted (Ctrl+C)."""

    def __call__(self) -> datetime:
        reading = super().__call__()
        if self.readings == 1:
            raise KeyboardInterrupt
        return reading


def test_a_writer_interrupted_mid_batch_writes_none_of_it_and_the_appends_queued_behind_go_ahead(
    tmp_path: Path, signer: Signer
) -> None:
    clock = InterruptingClock()
    log = AuditLog(tmp_path / "audit.log", signer, clock=clock)
    outcomes: dict[str, object] = {}

    def run(name: str, call: Callable[[], object]) -> threading.Thread:
        def target() -> None:
            try:
                outcomes[name] = call()
            except BaseException as exc:  # reported to the test through outcomes
                outcomes[name] = exc

        thread = threading.Thread(target=target)
        thread.start()
        return thread

    threads = [run("interrupted", lambda: log.append_batch([event(0), event(1)]))]
    assert clock.entered.wait(10)
    threads += [run("queued", lambda: log.append(event(2)))]
    wait_until(lambda: len(log._pending) == 1)  # peeked only to know the call is queued
    clock.release.set()
    for thread in threads:
        thread.join(10)
    after = log.append(event(3))
    log.close()

    assert isinstance(outcomes["interrupted"], KeyboardInterrupt)
    queued = outcomes["queued"]
    assert isinstance(queued, AuditRecord)
    assert queued.seq == 0
    assert after.seq == 1
    assert numbers(log.path) == [2, 3]
    assert verify_path(log.path, signer).records == 2


# -- file modes ------------------------------------------------------------------------------


def test_the_log_and_a_quarantined_tail_are_readable_by_their_owner_only(
    tmp_path: Path, signer: Signer, loose_umask: None
) -> None:
    path = tmp_path / "audit.log"
    with AuditLog(path, signer) as log:
        log.append(event(1))
    with path.open("ab") as handle:
        handle.write(b'{"torn')

    with AuditLog(path, signer) as log:
        log.append(event(2))

    modes = {item.name[:13]: stat.S_IMODE(item.stat().st_mode) for item in tmp_path.iterdir()}
    assert modes == {"audit.log": 0o600, "audit.log.tor": 0o600}


def test_the_log_says_why_its_last_write_failed_until_a_write_works(
    audit_log: AuditLog,
) -> None:
    audit_log.append(event(1))
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (audit_log.path.stat().st_size, hard))
    try:
        with pytest.raises(AuditWriteError):
            audit_log.append(event(2))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
    failed = audit_log.last_failure

    audit_log.append(event(3))

    assert failed == f"{audit_log.path}: append failed: File too large"
    assert audit_log.last_failure is None
