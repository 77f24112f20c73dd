"""The actions the shipped workflows call, bound to the configured outside systems.

Privileged actions name the permission the decision point is asked and what it is asked
about; their outside failures become ``TargetUnavailableError`` (retried later) or
``ActionFailedError`` (rolled back).  A new password is generated here, sealed for the
actor to read once, and never returned as a plain output.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import SecretStr

from gateway.devices.installer import SoftwareInstaller
from gateway.errors import (
    ActionFailedError,
    DirectoryActionError,
    DirectoryUnavailableError,
    TargetUnavailableError,
    UnknownActorError,
)
from gateway.identity.directory import ActionResult, DirectoryActions, DirectoryConnector
from gateway.notify.model import Notification, NotificationKind
from gateway.notify.notifier import Notifier
from gateway.runtime.actions import ActionCall, ActionOutput, ActionSpec
from gateway.runtime.parameters import ParameterSpec, Values

__all__ = ["directory_actions", "generate_password", "notification_actions", "software_actions"]

T = TypeVar("T")

_USER = ParameterSpec(pattern=r"[A-Za-z0-9][A-Za-z0-9._@-]{0,127}", max_length=128)
_SYSTEM = ParameterSpec(pattern=r"[a-z][a-z0-9-]{0,63}", max_length=64)
_DEVICE = ParameterSpec(pattern=r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", max_length=128)
_TITLE = ParameterSpec(pattern=r"[a-z0-9][a-z0-9._+-]{0,127}", max_length=128)
_REASON = ParameterSpec(enum=["requested", "grant_expired", "compensation"], default="requested")
# The change class a workflow declares (not the caller): catalog installs are standard.
_CHANGE = ParameterSpec(enum=["standard", "normal", "emergency"], default="normal")
_SYMBOLS = "-_.!@#%+="


def generate_password(length: int = 20) -> SecretStr:
    """A random password with upper and lower case letters, digits and a symbol."""
    alphabet = string.ascii_letters + string.digits + _SYMBOLS
    while True:
        text = "".join(secrets.choice(alphabet) for _ in range(length))
        if (
            any(c.islower() for c in text)
            and any(c.isupper() for c in text)
            and any(c.isdigit() for c in text)
            and any(c in _SYMBOLS for c in text)
        ):
            return SecretStr(text)


def _outside(system: str, work: Callable[[], T]) -> T:
    """Run ``work``; its failures in the runtime's terms, never with a secret."""
    try:
        return work()
    except DirectoryUnavailableError as exc:
        raise TargetUnavailableError(system, str(exc)) from None
    except (DirectoryActionError, UnknownActorError) as exc:
        raise ActionFailedError(str(exc)) from None


def _account(params: Values) -> str:
    return f"account:{params['user']}"


def _where(result: ActionResult) -> dict[str, Any]:
    """Which directory acted and, when it was not the usual one, why (kept and audited)."""
    where = {"acted_in": result.acted_in, "routing": result.routing}
    return {name: value for name, value in where.items() if value is not None}


def directory_actions(
    directory: DirectoryConnector, changes: DirectoryActions, *, system: str = "directory"
) -> list[ActionSpec]:
    """Look-up, password reset, unlock, access grant and revoke against a directory."""

    def lookup(call: ActionCall) -> ActionOutput:
        user = _outside(system, lambda: directory.get_user(call.parameters["user"]))
        return ActionOutput(
            values={
                "user": user.id,
                "display_name": user.display_name,
                "email": user.email,
                "status": str(user.status),
                "privileged": user.privileged,
                "manager": user.manager,
                "mfa_enrolled": user.mfa_enrolled,
                **({"notes": dict(user.notes)} if user.notes else {}),
            },
            changed=False,
        )

    def reset(call: ActionCall) -> ActionOutput:
        password = generate_password()
        user, must_change = call.parameters["user"], call.parameters["must_change"]
        result = _outside(
            system, lambda: changes.reset_password(user, password, must_change=must_change)
        )
        return ActionOutput(
            values={"changed": result.changed, "must_change": must_change, **_where(result)},
            secrets={"temporary_password": password},
            detail=result.detail,
        )

    def unlock(call: ActionCall) -> ActionOutput:
        result = _outside(system, lambda: changes.unlock_account(call.parameters["user"]))
        return ActionOutput(
            values={"changed": result.changed, **_where(result)},
            changed=result.changed,
            detail=result.detail,
        )

    def grant(call: ActionCall) -> ActionOutput:
        group = f"access-{call.parameters['system']}"
        result = _outside(system, lambda: changes.add_to_group(call.parameters["user"], group))
        return ActionOutput(
            values={"group": group, "changed": result.changed, **_where(result)},
            changed=result.changed,
            detail=result.detail,
        )

    def revoke(call: ActionCall) -> ActionOutput:
        group = f"access-{call.parameters['system']}"
        result = _outside(system, lambda: changes.remove_from_group(call.parameters["user"], group))
        return ActionOutput(
            values={"group": group, "changed": result.changed, **_where(result)},
            changed=result.changed,
            detail=result.detail,
        )

    def access_context(params: Values) -> dict[str, Any]:
        context: dict[str, Any] = {"system": params["system"]}
        for name in ("duration_hours", "reason"):
            if params.get(name) is not None:
                context[name] = params[name]
        return context

    def access_target(params: Values) -> str:
        return f"access:{params['user']}:{params['system']}"

    return [
        ActionSpec(
            name="directory.lookup",
            description="read a user's directory facts",
            run=lookup,
            parameters={"user": _USER},
            idempotent=True,
            system=system,
        ),
        ActionSpec(
            name="password.reset",
            description="set a new random password, sealed for the requester to read once",
            run=reset,
            parameters={"user": _USER, "must_change": ParameterSpec(type="boolean", default=True)},
            permission="password.reset",
            resource=_account,
            target=_account,
            idempotent=True,  # running it again only issues another temporary password
            system=system,
        ),
        ActionSpec(
            name="account.unlock",
            description="unlock a locked account",
            run=unlock,
            parameters={"user": _USER},
            permission="account.unlock",
            resource=_account,
            target=_account,
            idempotent=True,
            system=system,
        ),
        ActionSpec(
            name="access.grant",
            description="add the account to the system's access group",
            run=grant,
            parameters={
                "user": _USER,
                "system": _SYSTEM,
                "duration_hours": ParameterSpec(type="integer", required=False, minimum=1),
            },
            permission="access.grant",
            resource=_account,
            context=access_context,
            target=access_target,
            idempotent=True,
            compensation="access.revoke",
            undo=lambda params, _: {
                "user": params["user"],
                "system": params["system"],
                "reason": "compensation",
            },
            system=system,
        ),
        ActionSpec(
            name="access.revoke",
            description="remove the account from the system's access group",
            run=revoke,
            parameters={"user": _USER, "system": _SYSTEM, "reason": _REASON},
            permission="access.revoke",
            resource=_account,
            context=access_context,
            target=access_target,
            idempotent=True,
            system=system,
        ),
    ]


def software_actions(installer: SoftwareInstaller) -> list[ActionSpec]:
    """Install and uninstall catalog titles on a device."""

    def install(call: ActionCall) -> ActionOutput:
        result = installer.install(call.parameters["device"], call.parameters["title"])
        return ActionOutput(
            values={"changed": result.changed}, changed=result.changed, detail=result.detail
        )

    def uninstall(call: ActionCall) -> ActionOutput:
        result = installer.uninstall(call.parameters["device"], call.parameters["title"])
        return ActionOutput(
            values={"changed": result.changed}, changed=result.changed, detail=result.detail
        )

    def device_context(params: Values) -> dict[str, Any]:
        context: dict[str, Any] = {"device": params["device"]}
        for name in ("reason", "change"):
            if params.get(name) is not None:
                context[name] = params[name]
        return context

    def software(params: Values) -> str:
        return f"software:{params['title']}"

    def device(params: Values) -> str:
        return f"device:{params['device']}:{params['title']}"

    return [
        ActionSpec(
            name="software.install",
            description="install a catalog title on a managed device",
            run=install,
            parameters={"title": _TITLE, "device": _DEVICE, "change": _CHANGE},
            permission="software.install",
            resource=software,
            context=device_context,
            target=device,
            idempotent=True,
            timeout_seconds=300.0,
            compensation="software.uninstall",
            undo=lambda params, _: {
                "title": params["title"],
                "device": params["device"],
                "reason": "compensation",
            },
            system=installer.name,
        ),
        ActionSpec(
            name="software.uninstall",
            description="remove a title from a managed device",
            run=uninstall,
            parameters={"title": _TITLE, "device": _DEVICE, "reason": _REASON},
            permission="software.uninstall",
            resource=software,
            context=device_context,
            target=device,
            idempotent=True,
            timeout_seconds=300.0,
            system=installer.name,
        ),
    ]


def notification_actions(notifier: Notifier) -> list[ActionSpec]:
    """Tell a person something (never a secret: the notification model refuses one)."""

    def notify(call: ActionCall) -> ActionOutput:
        notifier.send(
            Notification(
                kind=NotificationKind.EXECUTION,
                title=call.parameters["subject"],
                text=call.parameters["message"],
                recipients=(call.parameters["user"],),
                fields={"execution": call.execution_id},
            )
        )
        return ActionOutput(values={"sent_to": call.parameters["user"]})

    return [
        ActionSpec(
            name="notify.user",
            description="send a person a message on the configured channel",
            run=notify,
            parameters={
                "user": _USER,
                "subject": ParameterSpec(max_length=200, min_length=1),
                "message": ParameterSpec(max_length=4000, min_length=1),
            },
            idempotent=False,
            system="notifications",
        )
    ]
