"""One valid configuration file per connector table, for the tests of loading and building
them: the TOML text, the table's name and its secret (named by ``<secret>_env``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

UNSET = "GATEWAY_TEST_UNSET_VARIABLE"


@dataclass(frozen=True)
class ConnectorTable:
    table: str  # e.g. "identity.okta"
    secret: str  # the secret's setting, e.g. "token"
    text: str  # a valid file whose last table is ``table``, its secret named by UNSET

    def with_line(self, line: str) -> tuple[str, int]:
        """The file with ``line`` appended to the table, and that line's number."""
        text = self.text + line + "\n"
        return text, text.count("\n")


TABLES = [
    ConnectorTable(
        "identity.ldap",
        "bind_password",
        f"""[identity]
sources = ["ldap"]

[identity.ldap]
urls = ["ldap://127.0.0.1:9"]
bind_dn = "cn=admin,dc=example,dc=com"
bind_password_env = "{UNSET}"
base_dn = "dc=example,dc=com"
""",
    ),
    ConnectorTable(
        "identity.okta",
        "token",
        f"""[identity]
sources = ["okta"]

[identity.okta]
base_url = "https://example.okta.com"
token_env = "{UNSET}"
""",
    ),
    ConnectorTable(
        "notifications.slack_webhook",
        "webhook_url",
        f"""[notifications]
channel = "slack_webhook"

[notifications.slack_webhook]
webhook_url_env = "{UNSET}"
""",
    ),
    ConnectorTable(
        "notifications.slack_bot",
        "token",
        f"""[notifications]
channel = "slack_bot"

[notifications.slack_bot]
token_env = "{UNSET}"
""",
    ),
    ConnectorTable(
        "notifications.teams",
        "webhook_url",
        f"""[notifications]
channel = "teams"

[notifications.teams]
webhook_url_env = "{UNSET}"
""",
    ),
    ConnectorTable(
        "notifications.smtp",
        "password",
        f"""[notifications]
channel = "smtp"

[notifications.smtp]
host = "127.0.0.1"
sender = "gateway@example.com"
username = "gateway"
password_env = "{UNSET}"
""",
    ),
    ConnectorTable(
        "selfservice.snipeit",
        "token",
        f"""[selfservice.snipeit]
base_url = "https://assets.example.com"
token_env = "{UNSET}"
""",
    ),
    ConnectorTable(
        "tickets.servicenow",
        "password",
        f"""[tickets.servicenow]
instance_url = "https://example.service-now.com"
username = "svc-gateway"
password_env = "{UNSET}"
""",
    ),
    ConnectorTable(
        "tickets.jira",
        "api_token",
        f"""[tickets.jira]
base_url = "https://example.atlassian.net"
email = "svc-gateway@example.com"
api_token_env = "{UNSET}"
""",
    ),
    ConnectorTable(
        "knowledge.servicenow",
        "token",
        f"""[knowledge.servicenow]
instance_url = "https://example.service-now.com"
knowledge_base = "kb1"
token_env = "{UNSET}"
""",
    ),
    ConnectorTable(
        "knowledge.confluence",
        "token",
        f"""[knowledge.confluence]
base_url = "https://example.atlassian.net/wiki"
space_key = "IT"
username = "gateway@example.com"
token_env = "{UNSET}"
""",
    ),
]


def write_table(folder: Path, table: str, values: dict[str, str]) -> Path:
    """A configuration file holding ``[table]`` with ``values`` (strings)."""
    lines = [f"[{table}]", *(f"{key} = {json.dumps(value)}" for key, value in values.items())]
    path = folder / "gateway.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
