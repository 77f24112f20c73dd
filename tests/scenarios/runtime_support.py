"""What the runtime reliability scenarios share: the gateway's files and audit log, the
command line, a runtime to open and close, a child gateway to kill, and the settings and
people of the test directory server."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ldap3  # type: ignore[import-untyped]
import pyotp
import pytest
from click.testing import CliRunner

from gateway.app import Gateway, open_runtime
from gateway.audit.checkpoints import verify_log_file
from gateway.audit.keys import load_public_key
from gateway.audit.log import read_lines
from gateway.audit.records import AuditRecord, parse_record
from gateway.cli import cli
from gateway.config import load_config
from gateway.identity.resolver import IdentityResolver
from gateway.privacy.keystore import DataKeyStore
from gateway.privacy.sealer import open_record
from gateway.runtime.executor import Executor
from gateway.runtime.model import Execution
from tests.integration.slapd import ADMIN_DN, BASE_DN, GROUPS, PEOPLE, Slapd, user_dn
from tests.scenarios.runtime_child import runs_file

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"
SHIPPED_WORKFLOWS = REPO / "automations" / "workflows"
PATIENCE_SECONDS = 60.0  # the most any wait for another process may take
CHILD = [sys.executable, "-m", "tests.scenarios.runtime_child"]
LDAP_PASSWORD_ENV = "RELIABILITY_LDAP_BIND_PASSWORD"


def write_config(
    folder: Path,
    name: str = "gateway.toml",
    *,
    workflows: Path = SHIPPED_WORKFLOWS,
    audit_log: Path | None = None,
    extra: str = "",
) -> Path:
    """A configuration in ``folder``; state, keys and the audit log live beside it."""
    lines = [
        "[policy]",
        f"dir = {json.dumps(str(POLICIES))}",
        "[runtime]",
        f"workflows = {json.dumps(str(workflows))}",
        "backoff_seconds = 0.05",
    ]
    if audit_log is not None:
        lines += ["[audit]", f"log = {json.dumps(str(audit_log))}"]
    path = folder / name
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


def audit_records(folder: Path) -> list[AuditRecord]:
    """The records as the auditor sees them: sealed personal fields opened."""
    log = folder / "var" / "audit.log"
    with DataKeyStore(folder / "var" / "privacy" / "data-keys.sqlite") as keys:
        return [
            open_record(parse_record(line, index), keys)
            for index, line in enumerate(read_lines(log))
        ]


def verify_audit(folder: Path) -> int:
    """Verify the log with the public key alone; the number of records."""
    public_key = load_public_key(folder / "keys" / "audit-signing.pub")
    verified = verify_log_file(folder / "var" / "audit.log", public_key)
    return verified.report.records


def step_records(records: list[AuditRecord], execution_id: str, step: str) -> list[str]:
    """The types of the records about one step of one execution, in order."""
    return [
        record.type
        for record in records
        if record.payload.get("execution") == execution_id and record.payload.get("step") == step
    ]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


def sleep_until(moment: datetime | None) -> None:
    """Let the executor's next try come due."""
    if moment is not None:
        time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 0.01)


@dataclass
class Runtime:
    gateway: Gateway
    executor: Executor

    def close(self) -> None:
        self.executor.close()
        self.executor.store.close()
        self.gateway.close()
        if isinstance(self.gateway.directory, IdentityResolver):
            for source in self.gateway.directory.sources:
                source.close()  # type: ignore[attr-defined]


def open_gateway(config_path: Path) -> Runtime:
    config = load_config(config_path)
    gateway = Gateway.from_config(config)
    return Runtime(gateway, open_runtime(config, gateway))


# -- a child gateway -------------------------------------------------------------------


def step_state(database: Path, execution_id: str, step: str) -> str | None:
    """The step's state, read from the store file without writing to it."""
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        row = db.execute(
            "SELECT state FROM steps WHERE execution_id = ? AND step_id = ?", (execution_id, step)
        ).fetchone()
    return None if row is None else str(row[0])


def kill_while_waiting(config_path: Path, workflow: str, device: str) -> tuple[str, int]:
    """Run ``workflow`` in a child gateway, SIGKILL it once its ``wait`` step is started;
    the execution id and the child's pid."""
    child = subprocess.Popen(
        [*CHILD, "wait", str(config_path), workflow, device],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        execution_id = child.stdout.readline().strip() if child.stdout else ""
        deadline = time.monotonic() + PATIENCE_SECONDS
        database = config_path.parent / "var" / "runtime.db"
        while execution_id and step_state(database, execution_id, "wait") != "started":
            if child.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        started = bool(execution_id) and step_state(database, execution_id, "wait") == "started"
    finally:
        child.send_signal(signal.SIGKILL)
        _, errors = child.communicate()
    if not started:
        pytest.fail(f"the child never started its wait step: {errors.strip()[-2000:]}")
    return execution_id, child.pid


def runs(config_path: Path) -> list[tuple[int, str, int]]:
    lines = runs_file(config_path).read_text(encoding="utf-8").split()
    return [(int(lines[i]), lines[i + 1], int(lines[i + 2])) for i in range(0, len(lines), 3)]


# -- the directory server -------------------------------------------------------------


def ldap_identity(server: Slapd) -> str:
    """The [identity] tables for the server, as an administrator would write them."""
    table: dict[str, Any] = {
        "urls": [server.url],
        "flavor": "openldap",
        "bind_dn": ADMIN_DN,
        "bind_password_env": LDAP_PASSWORD_ENV,
        "base_dn": BASE_DN,
        "user_base": PEOPLE,
        "group_base": GROUPS,
        "privileged_groups": ["domain-admins"],
        "timeout_seconds": 2,
    }
    lines = ["[identity]", 'sources = ["ldap"]', 'privileged_groups = ["domain-admins"]']
    lines.append("cooldown_seconds = 0")  # try the directory again at once when it is back
    lines.append("[identity.ldap]")
    lines += [f"{key} = {json.dumps(value)}" for key, value in table.items()]
    lines.append('attributes = {must_change = "pwdReset"}')
    return "\n".join(lines) + "\n"


def binds(server: Slapd, uid: str, password: str) -> bool:
    connection = ldap3.Connection(server.url, user=user_dn(uid), password=password)
    try:
        return bool(connection.bind())
    finally:
        connection.unbind()


def step_up(runtime: Runtime, user: str, execution: Execution) -> None:
    """The user enrols and steps up for what the execution waits for."""
    stepup = runtime.gateway.stepup
    if stepup is None or execution.waiting is None:
        pytest.fail("the execution does not wait for a step-up")
    enrolment = stepup.enrol(user)
    code = pyotp.TOTP(enrolment.seed.get_secret_value()).now()
    stepup.verify(user, code, bound_to=str(execution.waiting["digest"]))
