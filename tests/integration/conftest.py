"""A real OpenLDAP server (Debian's slapd) for the whole integration session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gateway.identity.ldap import LdapDirectory
from gateway.identity.ldap_settings import LdapSettings
from tests.integration.prometheus import INSTALL_HINT as PROMETHEUS_INSTALL_HINT
from tests.integration.prometheus import PrometheusServer, running_prometheus
from tests.integration.prometheus import missing as missing_prometheus
from tests.integration.slapd import (
    ADMIN_DN,
    ADMIN_PASSWORD,
    BASE_DN,
    GROUPS,
    INSTALL_HINT,
    PEOPLE,
    Slapd,
    in_ci,
    missing,
    running_slapd,
)


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    binary = missing()
    if binary is not None:
        if in_ci():
            pytest.fail(
                f"{binary} not found: the LDAP integration tests need it in CI; {INSTALL_HINT}"
            )
        pytest.skip(INSTALL_HINT)
    yield from running_slapd(tmp_path_factory.mktemp("slapd"))


@pytest.fixture(scope="session")
def prometheus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """A real Prometheus scraping a local exporter (``tests/integration/prometheus.py``)."""
    binary = missing_prometheus()
    if binary is not None:
        if in_ci():
            pytest.fail(
                f"{binary} not found: the Prometheus integration tests need it in CI; "
                f"{PROMETHEUS_INSTALL_HINT}"
            )
        pytest.skip(PROMETHEUS_INSTALL_HINT)
    yield from running_prometheus(tmp_path_factory.mktemp("prometheus"))


def ldap_settings(server: Slapd, **overrides: Any) -> LdapSettings:
    """Settings for the test server, as an administrator, with ppolicy's ``pwdReset``."""
    data: dict[str, Any] = {
        "urls": [server.url],
        "flavor": "openldap",
        "bind_dn": ADMIN_DN,
        "bind_password": ADMIN_PASSWORD,
        "base_dn": BASE_DN,
        "user_base": PEOPLE,
        "group_base": GROUPS,
        "privileged_groups": ["domain-admins"],
        "timeout_seconds": 5,
        "page_size": 500,
        "attributes": {"must_change": "pwdReset"},
    }
    return LdapSettings.load(data | overrides)


@pytest.fixture(scope="session")
def directory(slapd: Slapd) -> Iterator[LdapDirectory]:
    connector = LdapDirectory(ldap_settings(slapd))
    yield connector
    connector.close()


@pytest.fixture
def connect(slapd: Slapd) -> Iterator[Callable[..., LdapDirectory]]:
    """Make directories with settings overrides; each is closed after the test."""
    made: list[LdapDirectory] = []

    def make(**overrides: Any) -> LdapDirectory:
        made.append(LdapDirectory(ldap_settings(slapd, **overrides)))
        return made[-1]

    yield make
    for connector in made:
        connector.close()
