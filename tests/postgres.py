"""A throwaway PostgreSQL server for the tests (Debian's ``postgresql`` package).

``PostgresServer`` runs ``initdb`` in a fresh temporary directory (trust authentication,
no durability: the data is thrown away), then ``postgres`` on a free loopback port with
its Unix socket in the same directory.  PostgreSQL refuses to run as root, so when the
tests run as root the server runs as the ``postgres`` system user (created with
``useradd`` when missing).  One server per pytest-xdist worker: the session fixture in
``tests/conftest.py`` starts it the first time a test asks for it.

Run the PostgreSQL tests alone with ``pytest -m postgresql``; outside CI (``CI=true``)
they are skipped when the binaries are missing, with the command that installs them.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from gateway.errors import GatewayError
from gateway.storage import Schema
from gateway.storage.postgres import PostgresBackend, PostgresDatabase

INSTALL_HINT = "install PostgreSQL: apt-get install postgresql (or run make servers)"
SERVER_USER = "postgres"


def binaries() -> Path | None:
    """The newest installed ``bin`` folder of Debian's PostgreSQL, or ``None``."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else None


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _server_user() -> str | None:
    """The user the server runs as: ``None`` (this one) unless this is root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVER_USER,
            ],
            check=True,
            capture_output=True,
        )
    return SERVER_USER


@dataclass
class PostgresServer:
    """One ``postgres`` process over a fresh cluster; ``dsn`` reaches it as superuser."""

    bin: Path
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="gateway-pg-")))
    port: int = 0
    user: str | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres connect_timeout=5"

    def _run_as(self) -> dict[str, object]:
        if self.user is None:
            return {}
        entry = pwd.getpwnam(self.user)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def init(self) -> None:
        self.user = _server_user()
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            [
                str(self.bin / "initdb"),
                "--pgdata",
                str(self.root / "data"),
                "--username",
                "postgres",
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            cwd=self.root,
            **self._run_as(),  # type: ignore[call-overload]
        )
        self.port = free_port()

    def start(self, timeout: float = 30.0) -> None:
        self.process = subprocess.Popen(  # type: ignore[call-overload]
            [
                str(self.bin / "postgres"),
                "-D",
                str(self.root / "data"),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={self.root}",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=self.root,
            **self._run_as(),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"postgres exited with {self.process.returncode}: {error}")
            ready = subprocess.run(
                [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"],
                check=False,
                capture_output=True,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError(f"postgres did not answer on port {self.port} within {timeout} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # "fast" shutdown: clients cut off
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None


def running_postgres(bin_dir: Path) -> Iterator[PostgresServer]:
    """Initialise, start, yield and finally stop a server (the body of a pytest fixture)."""
    server = PostgresServer(bin_dir)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


class FreshSchemas:
    """The shared pool, with each store in a schema of its own for one test."""

    name = "postgresql"

    def __init__(self, shared: PostgresBackend) -> None:
        self.shared = shared
        self.prefix = new_prefix()
        self.namespaces: set[str] = set()

    def open(
        self, schema: Schema, path: Path, *, what: str, error: type[GatewayError]
    ) -> PostgresDatabase:
        self.namespaces.add(f"{self.prefix}{schema.component}")
        return PostgresDatabase(
            self.shared.pool, f"{self.prefix}{schema.component}", schema, what=what, error=error
        )

    def close(self) -> None:
        with self.shared.pool.connection() as db:
            for namespace in sorted(self.namespaces):
                db.execute(f'DROP SCHEMA IF EXISTS "{namespace}" CASCADE')


def restart(server: PostgresServer) -> None:
    """Stop the server (a fast shutdown: every client connection is cut) and start it
    again on the same port and data."""
    server.stop()
    server.start()


@contextmanager
def fresh_database(server: PostgresServer) -> Iterator[str]:
    """A database no other test uses, on ``server``: yields its connection string; the
    database is dropped afterwards (its sessions cut)."""
    name = f"t{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.dsn.replace("dbname=postgres", f"dbname={name}")
    finally:
        with psycopg.connect(server.dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def new_prefix() -> str:
    """A schema prefix no other test uses."""
    return f"t{uuid.uuid4().hex[:12]}_"


def drop_schemas(shared: PostgresBackend, prefix: str) -> None:
    """Drop every schema whose name starts with ``prefix`` (a test's stores)."""
    with shared.pool.connection() as db:
        rows = db.execute(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (prefix,)
        ).fetchall()
        for (namespace,) in rows:
            db.execute(f'DROP SCHEMA IF EXISTS "{namespace}" CASCADE')


def storage_toml(prefix: str, dsn_env: str, *, pool_size: int = 4, **more: object) -> str:
    """A ``[storage]`` section for the tests' PostgreSQL: the connection string in the
    environment variable ``dsn_env``, the stores under ``prefix``, and ``more`` settings."""
    lines = [
        "[storage]",
        'backend = "postgresql"',
        f'dsn_env = "{dsn_env}"',
        f'schema_prefix = "{prefix}"',
        f"pool_size = {pool_size}",
        *(f"{name} = {value}" for name, value in more.items()),
    ]
    return "\n".join(lines) + "\n"


def start_together(
    commands: Sequence[Sequence[str]],
    *,
    cwd: Path,
    timeout: float = 300,
    env: dict[str, str] | None = None,
) -> list[Any]:
    """Start one process per command, wait until each prints ``ready``, write ``go`` to
    all of them so they start together, and return the JSON each prints last (each must
    exit 0); processes still running at the end are killed."""
    processes = [
        subprocess.Popen(
            list(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env=env,
        )
        for command in commands
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        seen = []
        for process in processes:
            out, _ = process.communicate(timeout=timeout)
            assert process.returncode == 0
            seen.append(json.loads(out.strip().splitlines()[-1]))
        return seen
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
