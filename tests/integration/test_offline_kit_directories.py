"""``gateway offline prepare`` with the directory in force: the site's people from a real
OpenLDAP server (slapd) and from the Okta stand-in (``okta_server``, Okta's Users API),
least data only, and the kit then decides offline with them."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gateway.cli import cli
from tests.integration.okta_server import OktaServer
from tests.integration.slapd import ADMIN_DN, ADMIN_PASSWORD, BASE_DN, GROUPS, PEOPLE, Slapd

REPO = Path(__file__).resolve().parents[2]
PASSWORD_ENV = "OFFLINE_KIT_LDAP_PASSWORD"
TOKEN_ENV = "OFFLINE_KIT_OKTA_TOKEN"
TOKEN = "00Offline-Kit-Token-7qW"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="gateway")
    return result.exit_code, result.stdout, result.stderr


def central(folder: Path, identity: str) -> Path:
    shutil.copytree(REPO / "policies", folder / "policies")
    shutil.copytree(REPO / "automations", folder / "automations")
    (folder / "gateway.toml").write_text(
        "[runtime]\nworkflows = 'automations/workflows'\n"
        "[troubleshooting]\ntrees = 'automations/troubleshooting'\n"
        "[selfservice]\ncatalog = 'automations/catalog'\n" + identity
    )
    return folder


def prepare(technician: str, site: str) -> tuple[dict[str, Any], dict[str, Any]]:
    code, out, err = invoke(
        "offline", "prepare", "--technician", technician, "--site", site, "--json"
    )
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    kit: dict[str, Any] = json.loads(Path(result["kit"]).read_text())["kit"]
    return result, kit


def test_a_kit_takes_the_site_s_people_from_ldap(
    slapd: Slapd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, ADMIN_PASSWORD)
    central(
        tmp_path,
        '[identity]\nsources = ["ldap"]\nprivileged_groups = ["domain-admins"]\n'
        f"[identity.ldap]\nurls = [{json.dumps(slapd.url)}]\nbind_dn = {json.dumps(ADMIN_DN)}\n"
        f"bind_password_env = {json.dumps(PASSWORD_ENV)}\nbase_dn = {json.dumps(BASE_DN)}\n"
        f"user_base = {json.dumps(PEOPLE)}\ngroup_base = {json.dumps(GROUPS)}\n",
    )
    monkeypatch.chdir(tmp_path)

    result, kit = prepare("elena", "Lisbon")  # l: Lisbon; the 10,000 others are in Porto

    directory = kit["facts"]["directory"]
    users = directory["users"]
    assert set(users) == {"elena", "omar"}  # the site's people, and their manager as a stub
    assert users["elena"]["location"] == "Lisbon"
    assert users["elena"]["email"] == "Elena@Example.test"
    assert users["elena"]["manager"] == "omar"
    assert sorted(users["elena"]["groups"]) == ["helpdesk", "it", "staff"]
    assert users["omar"] == {
        "status": "locked",
        "groups": ["domain-admins", "it", "staff", "tier0"],
        "department": "Security",
        "title": "",
        "employee_type": "contractor",
    }
    assert directory["privileged_groups"] == ["domain-admins"]
    assert set(directory["groups"]) == {"domain-admins", "helpdesk", "it", "staff", "tier0"}
    assert result["people"] == 1
    kit_path = str(result["kit"])
    code, out, err = invoke(
        "--offline", kit_path, "authorize",
        "--actor", "elena", "--action", "diagnostics.run", "--resource", "host:pc-1",
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith("ALLOW")
    code, out, _ = invoke(
        "--offline", kit_path, "authorize",
        "--actor", "user00001", "--action", "diagnostics.run", "--resource", "host:pc-1",
    )  # fmt: skip
    assert code == 3
    assert "unknown actor 'user00001'" in out


@pytest.fixture
def org() -> Iterator[OktaServer]:
    server = OktaServer(TOKEN)
    helpdesk, staff, admins = (server.add_group(n) for n in ("helpdesk", "staff", "it-admins"))
    priya = server.add_user("priya@example.com", city="HQ", department="IT", title="Manager")
    elena = server.add_user("elena@example.com", city="HQ", managerId=priya)
    tom = server.add_user("tom@example.com", city="branch-7", managerId=priya)
    lena = server.add_user("lena@example.com", city="Branch-7", status="SUSPENDED")
    server.add_user("sam@example.com", city="branch-8")
    for group, user in ((helpdesk, elena), (staff, elena), (staff, tom), (admins, priya)):
        server.add_member(group, user)
    server.add_member(staff, lena)
    server.add_factor(tom, "token:software:totp")
    server.start()
    yield server
    server.stop()


def test_a_kit_takes_the_site_s_people_from_okta_with_one_search(
    org: OktaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    central(
        tmp_path,
        f'[identity]\nsources = ["okta"]\n[identity.okta]\nbase_url = "{org.base_url}"\n'
        f'token_env = "{TOKEN_ENV}"\nmax_retries = 0\n',
    )
    monkeypatch.chdir(tmp_path)

    result, kit = prepare("elena@example.com", "branch-7")

    users = kit["facts"]["directory"]["users"]
    assert set(users) == {"elena@example.com", "tom@example.com", "lena@example.com",
                          "priya@example.com"}  # fmt: skip
    assert users["tom@example.com"]["location"] == "branch-7"
    assert users["tom@example.com"]["mfa"] == ["token:software:totp"]
    assert users["tom@example.com"]["manager"] == "priya@example.com"
    assert users["lena@example.com"]["status"] == "suspended"
    assert set(users["priya@example.com"]) == {
        "status", "groups", "department", "title", "employee_type",
    }  # fmt: skip
    assert result["people"] == 3
    searches = [r for r in org.requests if r.path == "/api/v1/users" and r.method == "GET"]
    assert {r.query["search"][0] for r in searches} == {'profile.city eq "branch-7"'}
    assert all("sam" not in json.dumps(user) for user in users.values())
