"""Connector tables are typed by the connectors' own settings models: a bad value is refused
when the file loads, naming the file, the line and the field; secrets stay out of the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import load_config
from gateway.errors import ConfigError
from tests.connector_tables import TABLES, UNSET, ConnectorTable

# a value each table refuses, and pydantic's message for it
BAD_VALUES = {
    "identity.ldap": ("timeout_seconds = 0", "Input should be greater than or equal to 1"),
    "identity.okta": ("page_size = 500", "Input should be less than or equal to 200"),
    "notifications.slack_webhook": ("timeout_seconds = 0", "Input should be greater than 0"),
    "notifications.slack_bot": ("channel = 5", "Input should be a valid string"),
    "notifications.teams": ("card = 'fancy'", "Input should be 'adaptive' or 'message'"),
    "notifications.smtp": ("port = 0", "Input should be greater than or equal to 1"),
    "selfservice.snipeit": ("page_size = 0", "Input should be greater than or equal to 1"),
    "tickets.servicenow": ("page_size = 0", "Input should be greater than or equal to 1"),
    "tickets.jira": ("edition = 'server'", "Input should be 'cloud', 'datacenter' or 'auto'"),
    "knowledge.servicenow": (
        "workflow_state = 'gone'",
        "Input should be 'draft', 'review' or 'published'",
    ),
    "knowledge.confluence": (
        "parent_page = 'home'",
        "String should match pattern '^[0-9]{1,32}$'",
    ),
}


def by_table(tables: list[ConnectorTable]) -> list[object]:
    return [pytest.param(table, id=table.table) for table in tables]


def test_every_connector_table_has_a_bad_value_case() -> None:
    assert sorted(BAD_VALUES) == sorted(table.table for table in TABLES)


@pytest.mark.parametrize("table", by_table(TABLES))
def test_a_valid_table_loads_as_its_settings_without_reading_the_secret(
    tmp_path: Path, table: ConnectorTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(UNSET, raising=False)
    path = tmp_path / "gateway.toml"
    path.write_text(table.text, encoding="utf-8")

    config = load_config(path)

    section, name = table.table.split(".")
    settings = getattr(getattr(config, section), name)
    assert getattr(settings, f"{table.secret}_env") == UNSET
    assert getattr(settings, table.secret) is None


@pytest.mark.parametrize("table", by_table(TABLES))
def test_a_bad_value_is_refused_at_load_naming_the_file_line_and_field(
    tmp_path: Path, table: ConnectorTable
) -> None:
    line, message = BAD_VALUES[table.table]
    text, number = table.with_line(line)
    path = tmp_path / "gateway.toml"
    path.write_text(text, encoding="utf-8")
    key = line.split(" =")[0]

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert str(caught.value) == (
        f"{path}:{number}: invalid configuration: {table.table}.{key}: {message}"
    )


@pytest.mark.parametrize("table", by_table(TABLES))
def test_a_secret_written_in_the_file_is_refused_without_showing_it(
    tmp_path: Path, table: ConnectorTable
) -> None:
    text, number = table.with_line(f'{table.secret} = "s3cr3t-value"')
    path = tmp_path / "gateway.toml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert str(caught.value) == (
        f"{path}:{number}: invalid configuration: {table.table}.{table.secret}: Value error, "
        "secrets never go in the configuration file; put it in an environment variable and "
        f"name it in {table.secret}_env"
    )
    assert "s3cr3t" not in str(caught.value)


@pytest.mark.parametrize(
    ("table", "secret"),
    [
        ("identity.okta", "token"),
        ("notifications.teams", "webhook_url"),
        ("selfservice.snipeit", "token"),
        ("knowledge.confluence", "token"),
    ],
)
def test_a_required_secret_must_be_named(tmp_path: Path, table: str, secret: str) -> None:
    [connector] = [t for t in TABLES if t.table == table]
    text = connector.text.replace(f'{secret}_env = "{UNSET}"\n', "")
    path = tmp_path / "gateway.toml"
    path.write_text(text, encoding="utf-8")
    header = text.splitlines().index(f"[{table}]") + 1

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert str(caught.value) == (
        f"{path}:{header}: invalid configuration: {table}: Value error, {secret}_env: name the "
        f"environment variable holding {secret}"
    )


def test_a_notification_channel_needs_its_table(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text('[notifications]\nchannel = "smtp"\n', encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert str(caught.value) == (
        f"{path}:1: invalid configuration: notifications: Value error, channel 'smtp' needs a "
        "[notifications.smtp] table"
    )
