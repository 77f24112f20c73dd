"""A throwaway OpenLDAP server for the integration tests.

``Slapd`` writes a ``slapd.conf`` into a temporary directory (mdb backend, the core,
cosine, inetorgperson and nis schemas, the memberof and ppolicy overlays when their
modules are installed), loads a generated directory offline with ``slapadd`` (10,000
users in nested groups take about a second), then runs ``slapd`` on a free loopback
port.  ``stop`` and ``start`` simulate an outage on the same port.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SLAPD = Path("/usr/sbin/slapd")
SLAPADD = Path("/usr/sbin/slapadd")
SCHEMAS = Path("/etc/ldap/schema")
MODULES = Path("/usr/lib/ldap")
INSTALL_HINT = "install slapd and ldap-utils: apt-get install slapd ldap-utils"

BASE_DN = "dc=example,dc=test"
ADMIN_DN = f"cn=admin,{BASE_DN}"
ADMIN_PASSWORD = "admin-Secret-9f3b"
PEOPLE = f"ou=people,{BASE_DN}"
GROUPS = f"ou=groups,{BASE_DN}"
GENERATED_USERS = 10_000
TEAMS = 50


def user_dn(uid: str, ou: str = PEOPLE) -> str:
    return f"uid={uid},{ou}"


def group_dn(cn: str) -> str:
    return f"cn={cn},{GROUPS}"


def missing() -> str | None:
    """The missing binary, or ``None`` when the server can run here."""
    return next((str(binary) for binary in (SLAPD, SLAPADD) if not binary.exists()), None)


def _entry(dn: str, *attributes: tuple[str, str]) -> str:
    lines = [f"dn: {dn}", *(f"{name}: {value}" for name, value in attributes)]
    return "\n".join(lines) + "\n\n"


def _person(uid: str, ou: str = PEOPLE, *extra: tuple[str, str]) -> str:
    return _entry(
        user_dn(uid, ou),
        ("objectClass", "inetOrgPerson"),
        ("objectClass", "shadowAccount"),
        ("uid", uid),
        ("cn", uid),
        ("sn", uid),
        *extra,
    )


def _group(cn: str, members: list[str]) -> str:
    return _entry(
        group_dn(cn),
        ("objectClass", "groupOfNames"),
        ("cn", cn),
        *(("member", member) for member in members),
    )


def generated_uid(number: int) -> str:
    return f"user{number:05d}"


def directory_ldif() -> str:
    """The test directory: named users for the scenarios and 10,000 generated ones."""
    parts = [
        _entry(
            BASE_DN,
            ("objectClass", "dcObject"),
            ("objectClass", "organization"),
            ("dc", "example"),
            ("o", "Example"),
        ),
        _entry(PEOPLE, ("objectClass", "organizationalUnit"), ("ou", "people")),
        _entry(
            f"ou=contractors,{PEOPLE}", ("objectClass", "organizationalUnit"), ("ou", "contractors")
        ),
        _entry(GROUPS, ("objectClass", "organizationalUnit"), ("ou", "groups")),
        _person(
            "elena",
            PEOPLE,
            ("cn", "Elena Ruiz"),
            ("displayName", "Elena Ruiz"),
            ("mail", "Elena@Example.test"),
            ("departmentNumber", "IT"),
            ("title", "Support Specialist"),
            ("manager", user_dn("omar")),
            ("l", "Lisbon"),
            ("employeeType", "employee"),
            ("userPassword", "elena-Old-pw1"),
        ),
        _person(
            "omar",
            PEOPLE,
            ("mail", "omar@example.test"),
            ("employeeType", "contractor"),
            ("pwdAccountLockedTime", "20240101000000Z"),
            ("ou", "Security"),
        ),
        _person("dora", PEOPLE, ("mail", "dora@example.test"), ("shadowExpire", "1")),
        _person("ringo", PEOPLE, ("manager", f"uid=ghost,{PEOPLE}")),
        _person("deep", PEOPLE),
        _person("twin", PEOPLE, ("mail", "twin@example.test")),
        _person("twin", f"ou=contractors,{PEOPLE}", ("mail", "twin@example.test")),
        _person("bob", PEOPLE, ("mail", "bob@example.test"), ("userPassword", "bob-Old-pw1")),
        _person(
            "walter",
            PEOPLE,
            ("mail", "walter@example.test"),
            ("pwdAccountLockedTime", "20240101000000Z"),
        ),
        _person("o(brien*)", PEOPLE, ("mail", "obrien@example.test")),
        _group("staff", [group_dn("it"), *(group_dn(f"dept-{dept}") for dept in range(10))]),
        _group("it", [group_dn("helpdesk"), group_dn("domain-admins")]),
        _group("helpdesk", [user_dn("elena")]),
        _group("domain-admins", [group_dn("tier0")]),
        _group("tier0", [user_dn("omar")]),
        _group("ring-a", [user_dn("ringo"), group_dn("ring-b")]),
        _group("ring-b", [group_dn("ring-a")]),
        _group("printers", [ADMIN_DN]),
        _group("vpn-users", [ADMIN_DN, user_dn("bob")]),
    ]
    parts.extend(
        _group(f"chain-{level}", [group_dn(f"chain-{level - 1}") if level else user_dn("deep")])
        for level in range(12)
    )
    teams: list[list[str]] = [[] for _ in range(TEAMS)]
    for number in range(GENERATED_USERS):
        uid = generated_uid(number)
        teams[number % TEAMS].append(user_dn(uid))
        manager = generated_uid(number - number % 100)
        parts.append(
            _person(
                uid,
                PEOPLE,
                ("mail", f"{uid}@example.test"),
                ("departmentNumber", f"D{number % 10}"),
                ("title", "Engineer"),
                ("l", "Porto"),
                ("employeeType", "employee"),
                *([("manager", user_dn(manager))] if manager != uid else []),
            )
        )
    parts.extend(_group(f"team-{team}", members) for team, members in enumerate(teams))
    parts.extend(
        _group(f"dept-{dept}", [group_dn(f"team-{team}") for team in range(dept, TEAMS, 10)])
        for dept in range(10)
    )
    return "".join(parts)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _config(root: Path) -> str:
    modules = [
        name for name in ("back_mdb", "memberof", "ppolicy") if (MODULES / f"{name}.la").exists()
    ]
    overlays = [name for name in ("memberof", "ppolicy") if name in modules]
    lines = [
        *(
            f"include {SCHEMAS / name}.schema"
            for name in ("core", "cosine", "inetorgperson", "nis")
        ),
        f"pidfile {root / 'slapd.pid'}",
        f"argsfile {root / 'slapd.args'}",
        *([f"modulepath {MODULES}"] if modules else []),
        *(f"moduleload {name}" for name in modules),
        "database mdb",
        "maxsize 1073741824",
        f'suffix "{BASE_DN}"',
        f'rootdn "{ADMIN_DN}"',
        f"rootpw {ADMIN_PASSWORD}",
        f"directory {root / 'db'}",
        "index objectClass eq",
        "index uid,mail,cn eq",
        "index member eq",
        *(f"overlay {name}" for name in overlays),
        "access to attrs=userPassword by self write by anonymous auth by * none",
        "access to * by * read",
    ]
    return "\n".join(lines) + "\n"


@dataclass
class Slapd:
    """One slapd process over a directory loaded with ``directory_ldif()``."""

    root: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def load(self) -> None:
        (self.root / "db").mkdir(parents=True)
        conf = self.root / "slapd.conf"
        conf.write_text(_config(self.root), encoding="utf-8")
        ldif = self.root / "directory.ldif"
        ldif.write_text(directory_ldif(), encoding="utf-8")
        subprocess.run(
            [str(SLAPADD), "-q", "-f", str(conf), "-l", str(ldif)],
            check=True,
            capture_output=True,
        )
        self.port = free_port()

    def start(self, timeout: float = 10.0) -> None:
        self.process = subprocess.Popen(
            [str(SLAPD), "-f", str(self.root / "slapd.conf"), "-h", f"{self.url}/", "-d", "0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"slapd exited with {self.process.returncode}: {error}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"slapd did not answer on {self.url} within {timeout} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None


def running_slapd(root: Path) -> Iterator[Slapd]:
    """Load, start, yield and finally stop a server (the body of a pytest fixture)."""
    server = Slapd(root)
    server.load()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"
