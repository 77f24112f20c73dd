"""The PostgreSQL the tests start themselves: a real server, not run as root."""

from __future__ import annotations

import psycopg
import pytest

from tests.postgres import PostgresServer

pytestmark = pytest.mark.postgresql


def test_the_tests_reach_a_real_postgresql_run_by_an_unprivileged_user(
    postgres_server: PostgresServer,
) -> None:
    with psycopg.connect(postgres_server.dsn) as db:
        (version,) = db.execute("SHOW server_version_num").fetchone() or ("0",)
        assert int(version) >= 150000
        (data_dir,) = db.execute("SHOW data_directory").fetchone() or ("",)
        assert data_dir == str(postgres_server.root / "data")
    assert postgres_server.process is not None
    owner = (postgres_server.root / "data" / "postmaster.pid").stat().st_uid
    assert owner != 0
