"""The shipped actions against the embedded directory and device manager, and what each
declares to the executor (permission, resource, target, context, undo)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.config import EMBEDDED_DIRECTORY
from gateway.devices.embedded import EmbeddedDeviceManager
from gateway.errors import ActionFailedError, TargetUnavailableError
from gateway.identity.embedded_actions import EmbeddedDirectoryActions
from gateway.identity.static import StaticDirectory
from gateway.notify.model import Notification
from gateway.runtime.actions import ActionCall, ActionOutput, ActionRegistry, ActionSpec
from gateway.runtime.builtin import (
    directory_actions,
    generate_password,
    notification_actions,
    software_actions,
)
from tests.identity.directories import Directory

SYMBOLS = set("-_.!@#%+=")


class Outbox:
    """A notification channel that keeps what it was given."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def send(self, notification: Notification) -> None:
        self.sent.append(notification)


@pytest.fixture
def systems(tmp_path: Path) -> Iterator[tuple[ActionRegistry, EmbeddedDirectoryActions, Outbox]]:
    directory = StaticDirectory.load(EMBEDDED_DIRECTORY)
    changes = EmbeddedDirectoryActions(tmp_path / "directory.db", directory)
    devices = EmbeddedDeviceManager(tmp_path / "devices.db")
    outbox = Outbox()
    registry = ActionRegistry(
        [
            *directory_actions(directory, changes),
            *software_actions(devices),
            *notification_actions(outbox),
        ]
    )
    yield registry, changes, outbox
    changes.close()
    devices.close()


def call(registry: ActionRegistry, name: str, **parameters: object) -> ActionOutput:
    action = registry.get(name)
    assert action is not None
    plain, secrets = action.parameter_set.validate(parameters)
    return action.run(ActionCall("e-1", "step", "elena", plain, secrets))


def spec(registry: ActionRegistry, name: str) -> ActionSpec:
    action = registry.get(name)
    assert action is not None
    return action


Systems = tuple[ActionRegistry, EmbeddedDirectoryActions, Outbox]


def test_a_generated_password_has_every_kind_of_character() -> None:
    for length in (20, *[4] * 30):
        text = generate_password(length).get_secret_value()
        assert len(text) == length
        assert any(c.islower() for c in text)
        assert any(c.isupper() for c in text)
        assert any(c.isdigit() for c in text)
        assert SYMBOLS.intersection(text)
    assert generate_password() != generate_password()


def test_the_shipped_actions_are_registered_with_their_compensations(systems: Systems) -> None:
    registry, _, _ = systems

    registry.check_compensations()
    assert registry.names() == [
        "access.grant",
        "access.revoke",
        "account.unlock",
        "directory.lookup",
        "notify.user",
        "password.reset",
        "software.install",
        "software.uninstall",
    ]
    assert [n for n in registry.names() if spec(registry, n).privileged] == [
        "access.grant",
        "access.revoke",
        "account.unlock",
        "password.reset",
        "software.install",
        "software.uninstall",
    ]


def test_a_lookup_reads_the_users_facts(systems: Systems) -> None:
    registry, _, _ = systems

    output = call(registry, "directory.lookup", user="tom")

    assert output.values == {
        "user": "tom",
        "display_name": "Tom Becker",
        "email": "tom@example.com",
        "status": "active",
        "privileged": False,
        "manager": "priya",
        "mfa_enrolled": True,
    }
    assert not output.changed


def test_a_reset_seals_its_password_and_never_returns_it_in_clear(systems: Systems) -> None:
    registry, changes, _ = systems

    output = call(registry, "password.reset", user="tom", must_change="false")

    password = output.secrets["temporary_password"].get_secret_value()
    assert output.values == {"changed": True, "must_change": False}
    assert output.detail == "password of tom reset"
    assert password not in repr(output)
    assert changes.state("tom")["must_change"] is False


def test_grant_and_revoke_change_the_systems_access_group(systems: Systems) -> None:
    registry, changes, _ = systems

    granted = call(registry, "access.grant", user="tom", system="crm", duration_hours=8)
    again = call(registry, "access.grant", user="tom", system="crm")
    assert changes.state("tom")["granted_groups"] == ["access-crm"]
    revoked = call(registry, "access.revoke", user="tom", system="crm")
    unlocked = call(registry, "account.unlock", user="tom")

    assert granted.values == {"group": "access-crm", "changed": True}
    assert again.values == {"group": "access-crm", "changed": False}
    assert revoked.values == {"group": "access-crm", "changed": True}
    assert unlocked.values == {"changed": False}
    assert changes.state("tom")["granted_groups"] == []


def test_what_an_access_grant_asks_the_policies_about(systems: Systems) -> None:
    registry, _, _ = systems
    grant = spec(registry, "access.grant")
    params = {"user": "tom", "system": "crm", "duration_hours": 8}

    assert grant.resource is not None
    assert grant.target is not None
    assert grant.undo is not None
    assert grant.resource(params) == "account:tom"
    assert grant.target(params) == "access:tom:crm"
    assert grant.context(params) == {"system": "crm", "duration_hours": 8}
    assert grant.context({"user": "tom", "system": "crm"}) == {"system": "crm"}
    assert grant.undo(params, {}) == {"user": "tom", "system": "crm", "reason": "compensation"}
    assert spec(registry, "access.revoke").context(
        {"user": "tom", "system": "crm", "reason": "grant_expired"}
    ) == {"system": "crm", "reason": "grant_expired"}


def test_software_is_installed_and_removed_on_a_device(systems: Systems) -> None:
    registry, _, _ = systems
    install = spec(registry, "software.install")
    params = {"title": "7zip", "device": "tom-laptop"}

    first = call(registry, "software.install", **params)
    second = call(registry, "software.install", **params)
    removed = call(registry, "software.uninstall", reason="compensation", **params)

    assert (first.values, first.detail) == ({"changed": True}, "7zip installed on tom-laptop")
    assert second.values == {"changed": False}
    assert removed.detail == "7zip removed from tom-laptop"
    assert install.resource is not None
    assert install.target is not None
    assert install.undo is not None
    assert install.resource(params) == "software:7zip"
    assert install.target(params) == "device:tom-laptop:7zip"
    assert install.context(params) == {"device": "tom-laptop"}
    assert install.undo(params, {}) == {**params, "reason": "compensation"}
    assert spec(registry, "software.uninstall").context({**params, "reason": "compensation"}) == {
        "device": "tom-laptop",
        "reason": "compensation",
    }
    assert install.system == "embedded device manager"


def test_a_notification_names_the_execution_it_comes_from(systems: Systems) -> None:
    registry, _, outbox = systems

    output = call(registry, "notify.user", user="tom", subject="Hello", message="All done.")

    assert output.values == {"sent_to": "tom"}
    (sent,) = outbox.sent
    assert (sent.title, sent.text, sent.recipients) == ("Hello", "All done.", ("tom",))
    assert sent.fields == {"execution": "e-1"}


def test_a_user_the_directory_does_not_know_is_a_refusal(systems: Systems) -> None:
    registry, _, _ = systems

    with pytest.raises(ActionFailedError, match="unknown user 'nobody'"):
        call(registry, "directory.lookup", user="nobody")
    with pytest.raises(ActionFailedError, match=r"^unlock_account 'nobody': no such user$"):
        call(registry, "account.unlock", user="nobody")


def test_a_directory_that_cannot_be_reached_is_unavailable_not_refused(tmp_path: Path) -> None:
    ldap = Directory("ldap", {"tom": {}}, down=True)
    changes = EmbeddedDirectoryActions(tmp_path / "directory.db", ldap)
    registry = ActionRegistry(directory_actions(ldap, changes, system="ldap"))

    with pytest.raises(TargetUnavailableError) as caught:
        call(registry, "directory.lookup", user="tom")

    assert str(caught.value) == "ldap is unavailable: ldap: connection refused"
    assert caught.value.system == "ldap"
    changes.close()
