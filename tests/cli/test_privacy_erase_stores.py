"""``gateway privacy erase`` takes a person's personal data out of the stores (on SQLite and
on PostgreSQL): the rows stay, so counts, quotas and usage still add up, but what the
person typed or what was written about them reads ``(erased)``; the login stays as the
pseudonymous identifier."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gateway.app import Gateway
from gateway.cli import cli
from gateway.config import load_config
from gateway.notify import Notification, NotificationKind, Outbox
from gateway.storage import open_backend
from gateway.storage.settings import StorageSettings

REPO = Path(__file__).resolve().parents[2]
ERASED = "(erased)"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def workdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, storage_settings: StorageSettings
) -> Path:
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "automations", tmp_path / "automations")
    monkeypatch.chdir(tmp_path)
    config = ""
    if storage_settings.backend == "postgresql":
        assert storage_settings.dsn is not None
        monkeypatch.setenv("PRIVACY_TEST_DSN", storage_settings.dsn.get_secret_value())
        config = (
            '[storage]\nbackend = "postgresql"\ndsn_env = "PRIVACY_TEST_DSN"\n'
            f'schema_prefix = "{storage_settings.schema_prefix}"\npool_size = 4\n'
        )
    (tmp_path / "gateway.toml").write_text(config)
    return tmp_path


def export(person: str = "tom") -> dict[str, Any]:
    code, out, err = invoke("privacy", "export", "--person", person, "--by", "grace", "--json")
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


def erase(person: str = "tom") -> dict[str, Any]:
    code, out, err = invoke("privacy", "erase", "--person", person, "--by", "grace", "--json")
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


def erased_record(workdir: Path) -> dict[str, Any]:
    gateway = Gateway.from_config(load_config(workdir / "gateway.toml"))
    try:
        assert gateway.audit is not None
        lines = list(gateway.audit.lines())  # the file, or the table on PostgreSQL
    finally:
        gateway.close()
    records = [json.loads(line) for line in lines]
    record: dict[str, Any] = [r for r in records if r["type"] == "privacy.erased"][-1]
    return record


def test_erasure_takes_the_parameters_and_status_out_of_self_service_runs(
    workdir: Path,
) -> None:
    code, _, err = invoke(
        "catalog", "run", "install-software", "--actor", "tom",
        "-p", "title=7zip", "-p", "devices=tom-laptop",
    )  # fmt: skip
    assert code == 0, err
    (run,) = export()["sources"]["selfservice_runs"]
    assert run["parameters"]["devices"] == ["tom-laptop"]

    result = erase()

    assert result["sources"]["selfservice_runs"] == 1
    assert erased_record(workdir)["payload"]["sources"]["selfservice_runs"] == 1
    (run,) = export()["sources"]["selfservice_runs"]
    assert run["parameters"] == {"devices": ERASED, "title": ERASED}
    assert run["status"] == ERASED
    assert run["actor"] == "tom"  # the login stays, as a pseudonymous identifier
    assert run["state"] == "succeeded"  # and the row: usage and quotas still add up
    code, out, _ = invoke("catalog", "usage", "--json")
    assert code == 0
    assert '"install-software"' in out
    assert erase()["sources"]["selfservice_runs"] == 0  # nothing left the second time


def _session_about_tom() -> str:
    code, out, err = invoke(
        "tree", "start", "email", "--technician", "elena",
        "--fact", "user=tom", "--fact", "client=outlook", "--json",
    )  # fmt: skip
    assert code == 0, err
    session_id: str = json.loads(out)["id"]
    for answer in ("not_receiving", "true"):
        code, out, err = invoke("tree", "answer", session_id, answer, "--json")
        assert code == 0, err
    assert json.loads(out)["status"] == "resolved"
    return session_id


def test_erasure_takes_the_answers_out_of_troubleshooting_sessions_about_the_person(
    workdir: Path,
) -> None:
    session_id = _session_about_tom()
    (session,) = export()["sources"]["troubleshooting_sessions"]
    assert session["facts"]["symptom"] == "not_receiving"

    result = erase()

    assert result["sources"]["troubleshooting_sessions"] == 1
    assert erased_record(workdir)["payload"]["sources"]["troubleshooting_sessions"] == 1
    (session,) = export()["sources"]["troubleshooting_sessions"]
    assert session["id"] == session_id
    assert session["facts"]["user"] == "tom"  # the pseudonymous identifier stays
    assert session["facts"]["symptom"] == ERASED
    assert session["facts"]["client"] == ERASED
    answers = [s for s in session["steps"] if s["kind"] == "answered"]
    assert [s["value"] for s in answers] == [ERASED, ERASED]
    assert all(v == ERASED for s in answers for k, v in s["facts_before"].items() if k != "user")
    assert session["outcome"]["summary"] == ERASED
    assert session["outcome"]["result"] == "resolved"  # reports still count it
    assert session["status"] == "resolved"
    assert erase()["sources"]["troubleshooting_sessions"] == 0


def test_an_unfinished_session_keeps_its_answers_until_it_finishes(workdir: Path) -> None:
    code, _, err = invoke(
        "tree", "start", "email", "--technician", "elena", "--fact", "user=tom", "--json"
    )
    assert code == 0, err
    assert erase()["sources"]["troubleshooting_sessions"] == 0
    (session,) = export()["sources"]["troubleshooting_sessions"]
    assert session["status"] == "active"
    assert session["facts"]["user"] == "tom"


def test_export_lists_the_tickets_the_person_reported_and_erasure_takes_their_texts_out(
    workdir: Path,
) -> None:
    code, _, err = invoke("tickets", "replay", "automations/samples/tickets.jsonl")
    assert code == 0, err
    tickets = export()["sources"]["tickets"]
    assert [t["number"] for t in tickets] == ["T-1001", "T-1002"]  # not priya's T-1003
    assert tickets[1]["description"].startswith("I need 7-Zip installed on tom-laptop")
    assert tickets[1]["entries"][-1]["kind"] == "resolve"

    result = erase()

    assert result["sources"]["tickets"] == 2
    assert erased_record(workdir)["payload"]["sources"]["tickets"] == 2
    tickets = export()["sources"]["tickets"]
    assert [t["number"] for t in tickets] == ["T-1001", "T-1002"]
    for ticket in tickets:
        assert ticket["subject"] == ticket["description"] == ERASED
        assert ticket["requester_email"] == ERASED
        assert ticket["requester_username"] == "tom"
        assert {entry["text"] for entry in ticket["entries"]} == {ERASED}
    assert tickets[1]["state"] == "resolved"
    priya = export("priya")["sources"]["tickets"]
    assert priya[0]["description"].startswith("The projector in meeting room 4")
    assert erase()["sources"]["tickets"] == 0


def _grant_for_tom(approve: bool) -> str:
    code, out, err = invoke(
        "approvals", "request", "--actor", "omar", "--action", "access.grant",
        "--resource", "account:tom", "--context", "system=payroll",
        "--context", "ticket=INC0042 Tom Becker closes the quarter", "--json",
    )  # fmt: skip
    assert code == 0, err
    opened = json.loads(out)
    if approve:
        code, _, err = invoke(
            "approvals", "approve", opened["id"], "--approver", "priya", "--digest",
            opened["digest"],
        )  # fmt: skip
        assert code == 0, err
    return str(opened["id"])


def test_erasure_takes_the_free_text_out_of_finished_approvals_about_the_person(
    workdir: Path,
) -> None:
    finished = _grant_for_tom(approve=True)
    pending = _grant_for_tom(approve=False)
    before = {item["id"]: item for item in export()["sources"]["approvals"]}
    assert before[finished]["context"]["ticket"] == "INC0042 Tom Becker closes the quarter"

    result = erase()

    assert result["sources"]["approvals"] == 1
    assert erased_record(workdir)["payload"]["sources"]["approvals"] == 1
    after = {item["id"]: item for item in export()["sources"]["approvals"]}
    assert after[finished]["context"] == {"system": ERASED, "ticket": ERASED}
    assert after[finished]["state"] == "approved"
    assert after[finished]["target"] == "tom"
    # a pending request keeps what its approvers must read until it is decided
    assert after[pending]["context"] == before[pending]["context"]
    code, out, err = invoke("approvals", "show", finished, "--json")
    assert code == 0, err
    assert "Tom Becker" not in out
    assert erase()["sources"]["approvals"] == 0


def test_approvals_kept_for_legal_reasons_keep_their_context(workdir: Path) -> None:
    config = workdir / "gateway.toml"
    config.write_text(config.read_text() + '[privacy]\nkeep_on_erasure = ["approval.approved"]\n')
    finished = _grant_for_tom(approve=True)

    result = erase()

    assert result["sources"]["approvals"] == 0
    assert result["kept_for_legal_reasons"] == ["approval.approved"]
    (item,) = export()["sources"]["approvals"]
    assert item["id"] == finished
    assert item["context"]["ticket"] == "INC0042 Tom Becker closes the quarter"


def test_erasure_takes_the_texts_out_of_notifications_not_yet_delivered_to_the_person(
    workdir: Path, storage_settings: StorageSettings
) -> None:
    backend = open_backend(storage_settings)  # the outbox the gateway uses, file or database
    outbox = Outbox(workdir / "var" / "notify-outbox.sqlite3", backend=backend)
    outbox.add(
        Notification(kind=NotificationKind.EXECUTION, title="Your new laptop",
                     text="Tom Becker, your laptop is ready at desk 4.12",
                     recipients=("tom@example.com",))
    )  # fmt: skip
    outbox.close()
    backend.close()
    code, _, err = invoke(
        "authorize", "--actor", "tom", "--action", "password.reset", "--resource", "account:tom"
    )
    assert code == 0, err
    (pending,) = export()["sources"]["notifications"]
    assert pending["text"] == "Tom Becker, your laptop is ready at desk 4.12"

    result = erase()

    assert result["sources"]["notifications"] == 1
    assert erased_record(workdir)["payload"]["sources"]["notifications"] == 1
    (pending,) = export()["sources"]["notifications"]
    assert (pending["title"], pending["text"]) == (ERASED, ERASED)
    assert pending["recipients"] == ["tom@example.com"]


def test_without_a_notification_outbox_there_is_nothing_to_erase(workdir: Path) -> None:
    code, _, err = invoke(
        "authorize", "--actor", "tom", "--action", "password.reset", "--resource", "account:tom"
    )
    assert code == 0, err
    assert not (workdir / "var" / "notify-outbox.sqlite3").exists()
    assert export()["sources"]["notifications"] == []
    assert erase()["sources"]["notifications"] == 0
