"""The embedded directory's changes: kept in SQLite, never a password, only known users."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from gateway.config import EMBEDDED_DIRECTORY
from gateway.errors import DirectoryActionError, DirectoryUnavailableError
from gateway.identity.directory import ActionResult, DirectoryActions
from gateway.identity.embedded_actions import EmbeddedDirectoryActions
from gateway.identity.static import StaticDirectory
from tests.identity.directories import Directory

PASSWORD = SecretStr("Tmp-Passw0rd-7x!")


@pytest.fixture
def changes(tmp_path: Path) -> Iterator[EmbeddedDirectoryActions]:
    actions = EmbeddedDirectoryActions(
        tmp_path / "directory.db", StaticDirectory.load(EMBEDDED_DIRECTORY)
    )
    yield actions
    actions.close()


def test_an_untouched_account_is_active_unlocked_and_in_no_granted_group(
    changes: EmbeddedDirectoryActions,
) -> None:
    assert changes.state("tom") == {
        "locked": False,
        "enabled": True,
        "password_set_at": None,
        "must_change": False,
        "granted_groups": [],
    }


def test_a_reset_records_when_but_never_the_password(
    changes: EmbeddedDirectoryActions, tmp_path: Path
) -> None:
    actions: DirectoryActions = changes

    forced = actions.reset_password("tom", PASSWORD)
    free = actions.reset_password("priya", PASSWORD, must_change=False)

    assert forced == ActionResult(
        changed=True, detail="password of tom reset (change required at next logon)"
    )
    assert free == ActionResult(changed=True, detail="password of priya reset")
    assert changes.state("tom")["must_change"] is True
    assert changes.state("tom")["password_set_at"] is not None
    assert changes.state("priya")["must_change"] is False
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("directory.db*"))
    assert PASSWORD.get_secret_value().encode() not in stored


def test_an_empty_password_is_refused(changes: EmbeddedDirectoryActions) -> None:
    with pytest.raises(
        DirectoryActionError, match=r"^reset_password 'tom': the new password is empty$"
    ):
        changes.reset_password("tom", SecretStr(""))


def test_lock_and_unlock_say_whether_anything_changed(changes: EmbeddedDirectoryActions) -> None:
    not_locked = changes.unlock_account("tom")
    locked = changes.lock_account("tom")
    locked_again = changes.lock_account("tom")
    assert changes.state("tom")["locked"] is True
    unlocked = changes.unlock_account("tom")

    assert not_locked == ActionResult(changed=False, detail="account tom was not locked")
    assert locked == ActionResult(changed=True, detail="account tom locked")
    assert not locked_again.changed
    assert unlocked == ActionResult(changed=True, detail="account tom unlocked")
    assert changes.state("tom")["locked"] is False


def test_disabling_and_enabling_say_whether_anything_changed(
    changes: EmbeddedDirectoryActions,
) -> None:
    disabled = changes.set_enabled("tom", False)
    disabled_again = changes.set_enabled("tom", False)
    assert changes.state("tom")["enabled"] is False
    enabled = changes.set_enabled("tom", True)

    assert disabled == ActionResult(changed=True, detail="account tom disabled")
    assert not disabled_again.changed
    assert enabled == ActionResult(changed=True, detail="account tom enabled")


def test_group_grants_are_added_and_removed_once(changes: EmbeddedDirectoryActions) -> None:
    added = changes.add_to_group("tom", "access-crm")
    added_again = changes.add_to_group("tom", "access-crm")
    changes.add_to_group("tom", "access-billing")
    assert changes.state("tom")["granted_groups"] == ["access-billing", "access-crm"]
    removed = changes.remove_from_group("tom", "access-crm")
    removed_again = changes.remove_from_group("tom", "access-crm")

    assert added == ActionResult(changed=True, detail="tom added to access-crm")
    assert added_again == ActionResult(changed=False, detail="tom was already in access-crm")
    assert removed == ActionResult(changed=True, detail="tom removed from access-crm")
    assert removed_again == ActionResult(changed=False, detail="tom was not in access-crm")
    assert changes.state("tom")["granted_groups"] == ["access-billing"]


@pytest.mark.parametrize(
    ("change", "what"),
    [
        pytest.param(
            lambda c: c.reset_password("nobody", PASSWORD),
            "reset_password",
            id="resetting their password",
        ),
        pytest.param(
            lambda c: c.unlock_account("nobody"), "unlock_account", id="unlocking their account"
        ),
        pytest.param(
            lambda c: c.lock_account("nobody"), "lock_account", id="locking their account"
        ),
        pytest.param(
            lambda c: c.set_enabled("nobody", False), "set_enabled", id="disabling their account"
        ),
        pytest.param(
            lambda c: c.add_to_group("nobody", "g"), "add_to_group", id="adding them to a group"
        ),
        pytest.param(
            lambda c: c.remove_from_group("nobody", "g"),
            "remove_from_group",
            id="removing them from a group",
        ),
    ],
)
def test_a_change_to_a_user_the_directory_does_not_know_is_refused(
    changes: EmbeddedDirectoryActions, change: object, what: str
) -> None:
    with pytest.raises(DirectoryActionError, match=f"^{what} 'nobody': no such user$"):
        change(changes)  # type: ignore[operator]
    assert changes.state("nobody")["granted_groups"] == []


def test_a_directory_that_cannot_be_reached_changes_nothing(tmp_path: Path) -> None:
    ldap = Directory("ldap", {"tom": {}}, down=True)
    changes = EmbeddedDirectoryActions(tmp_path / "directory.db", ldap)

    with pytest.raises(DirectoryUnavailableError, match="ldap: connection refused"):
        changes.add_to_group("tom", "access-crm")
    assert changes.state("tom")["granted_groups"] == []
    changes.close()


def test_a_store_that_cannot_be_opened_is_an_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "directory.db").mkdir()

    with pytest.raises(
        DirectoryActionError, match=r"directory\.db: cannot open embedded directory"
    ):
        EmbeddedDirectoryActions(
            tmp_path / "directory.db", StaticDirectory.load(EMBEDDED_DIRECTORY)
        )
