"""``gateway approvals``: ask for, list, vote on and expire approval requests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from gateway.app import Services
from gateway.approvals.model import ApprovalRequest, ApprovalState, Verdict
from gateway.approvals.notices import approval_notice, approvers_to_ask
from gateway.approvals.service import ApprovalService
from gateway.cli.authorize import build_request
from gateway.cli.output import emit, json_option
from gateway.cli.pairs import KeyValue
from gateway.cli.render import print_decision
from gateway.config import GatewayConfig
from gateway.errors import ConfigError, ExitCode
from gateway.notify.model import NotificationKind
from gateway.policy.decision import ApprovalObligation

__all__ = ["approvals"]


def _describe(item: ApprovalRequest) -> dict[str, Any]:
    request = item.request
    return {
        "id": item.id,
        "state": str(item.state),
        "action": request.action,
        "resource": str(request.resource),
        "requester": item.requester,
        "digest": item.digest,
        "expires_at": item.expires_at.isoformat(),
        "obligations": [
            {
                "approvers": list(obligation.approvers),
                "quorum": obligation.quorum,
                "approved_by": sorted(item.voters(index, Verdict.APPROVE)),
                "met": item.met(index),
            }
            for index, obligation in enumerate(item.obligations)
        ],
    }


def _print(described: dict[str, Any]) -> None:
    click.echo(
        f"{described['id']}  {described['state']}  {described['action']} {described['resource']}"
    )
    click.echo(f"  requested by {described['requester']}, expires {described['expires_at']}")
    click.echo(f"  digest {described['digest']}")
    for obligation in described["obligations"]:
        done = "met" if obligation["met"] else "open"
        who = ", ".join(obligation["approvers"])
        by = ", ".join(obligation["approved_by"]) or "nobody yet"
        click.echo(f"  {done}: {obligation['quorum']} of [{who}]; approved by {by}")


def _show(item: ApprovalRequest, as_json: bool) -> None:
    emit(_describe(item), as_json, human=_print)


class _Session:
    """The gateway, its approval service and the notifier for one command."""

    def __init__(self, config: GatewayConfig) -> None:
        self.parts = Services(config)
        self.gateway = self.parts.gateway
        if self.gateway.approvals is None:
            self.parts.close()
            raise ConfigError("approvals are disabled ([approvals] enabled = false)")
        self.service: ApprovalService = self.gateway.approvals

    def notify(
        self, kind: NotificationKind, item: ApprovalRequest, recipients: tuple[str, ...]
    ) -> None:
        """Tell people; a failure stays in the outbox for ``tick`` to retry, never in the way."""
        self.parts.notifier.send(approval_notice(kind, item, recipients))

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *_: object) -> None:
        self.parts.close()


@click.group()
def approvals() -> None:
    """Approval requests that policies attach to privileged actions."""


@approvals.command()
@click.option("--actor", required=True, help="Who asks (a directory user id).")
@click.option("--action", required=True, help="What they want to do.")
@click.option("--resource", required=True, help="On what, as TYPE:ID.")
@click.option(
    "--context",
    "context_pairs",
    multiple=True,
    type=KeyValue(json_values=True),
    help="Request context, repeatable; JSON values keep their type.",
)
@json_option
@click.pass_obj
def request(
    config: GatewayConfig,
    actor: str,
    action: str,
    resource: str,
    context_pairs: tuple[tuple[str, Any], ...],
    as_json: bool,
) -> None:
    """Decide a request and, when policies demand approvals, open an approval request.
    Exit 0 with its id (or when none is needed), 3 when the decision is deny.  With
    --json: the approval request, or the decision when it is deny or needs no approval."""
    access = build_request(actor, action, resource, dict(context_pairs))
    with _Session(config) as session:
        decision = session.gateway.authorize(access)
        needed = [o for o in decision.obligations if isinstance(o, ApprovalObligation)]
        if not decision.allowed:
            emit(decision, as_json, human=print_decision)
            raise click.exceptions.Exit(int(ExitCode.DENIED))
        if not needed:
            emit(decision, as_json, human=lambda _: click.echo("allowed; no approval needed"))
            return
        item = session.service.open(access, decision, needed, requester=actor)
        session.notify(NotificationKind.APPROVAL_REQUESTED, item, approvers_to_ask(item))
        _show(item, as_json)


@approvals.command(name="list")
@click.option("--approver", required=True, help="Whose pending votes to list.")
@json_option
@click.pass_obj
def list_command(config: GatewayConfig, approver: str, as_json: bool) -> None:
    """Pending requests APPROVER may vote on."""
    with _Session(config) as session:
        pending = session.service.list_pending(approver)

    def human(described: list[dict[str, Any]]) -> None:
        for entry in described:
            _print(entry)
        if not described:
            click.echo(f"nothing waits for {approver}")

    emit([_describe(item) for item in pending], as_json, human=human)


@approvals.command()
@click.argument("request_id")
@json_option
@click.pass_obj
def show(config: GatewayConfig, request_id: str, as_json: bool) -> None:
    """One approval request and its votes."""
    with _Session(config) as session:
        _show(session.service.get(request_id), as_json)


_OUTCOME = {"approved": NotificationKind.APPROVED, "rejected": NotificationKind.DENIED}


def _vote(
    config: GatewayConfig, request_id: str, approver: str, digest: str, approve: bool, as_json: bool
) -> None:
    with _Session(config) as session:
        service = session.service
        vote = service.approve if approve else service.reject
        item = vote(request_id, approver, digest=digest)
        outcome = _OUTCOME.get(str(item.state))
        if outcome is not None and item.finished_by == approver:
            session.notify(outcome, item, (item.requester,))
        _show(item, as_json)
    if item.state is not ApprovalState.PENDING:
        from gateway.cli.executions import resume_waiting  # the runtime loads on use only

        resume_waiting(config, item.id, quiet=as_json)


_VOTE_OPTIONS: list[Callable[[Any], Any]] = [
    click.argument("request_id"),
    click.option("--approver", required=True, help="Who votes."),
    click.option(
        "--digest",
        required=True,
        help="The request digest shown by `show`: what you approve is what runs.",
    ),
    json_option,
    click.pass_obj,
]


def _with_vote_options(function: Any) -> Any:
    for option in reversed(_VOTE_OPTIONS):
        function = option(function)
    return function


@approvals.command()
@_with_vote_options
def approve(
    config: GatewayConfig, request_id: str, approver: str, digest: str, as_json: bool
) -> None:
    """Approve REQUEST_ID. Refused (exit 3) for the requester, the target, people the
    obligations do not name, a changed digest, or a finished request."""
    _vote(config, request_id, approver, digest, True, as_json)


@approvals.command()
@_with_vote_options
def reject(
    config: GatewayConfig, request_id: str, approver: str, digest: str, as_json: bool
) -> None:
    """Reject REQUEST_ID (by default one rejection rejects it)."""
    _vote(config, request_id, approver, digest, False, as_json)


@approvals.command()
@click.argument("request_id")
@click.option("--by", "person", required=True, help="The requester cancelling it.")
@json_option
@click.pass_obj
def cancel(config: GatewayConfig, request_id: str, person: str, as_json: bool) -> None:
    """Cancel a pending request (only its requester may)."""
    with _Session(config) as session:
        _show(session.service.cancel(request_id, person), as_json)


@approvals.command()
@json_option
@click.pass_obj
def tick(config: GatewayConfig, as_json: bool) -> None:
    """Expire overdue requests, fire due escalations (notifying the people concerned) and
    retry undelivered notifications; run it on a schedule."""
    with _Session(config) as session:
        changes = session.service.tick()
        for change in changes:
            if change.kind == "escalated":
                session.notify(NotificationKind.ESCALATED, change.request, change.notify)
            else:
                session.notify(
                    NotificationKind.EXPIRED, change.request, (change.request.requester,)
                )
        session.parts.notifier.flush()
    result = [
        {"kind": change.kind, "id": change.request.id, "notify": list(change.notify)}
        for change in changes
    ]
    emit(result, as_json, human=_print_changes)


def _print_changes(result: list[dict[str, Any]]) -> None:
    for entry in result:
        notify = f" -> ask {', '.join(entry['notify'])}" if entry["notify"] else ""
        click.echo(f"{entry['kind']}: {entry['id']}{notify}")
    click.echo(f"{len(result)} change(s)")


@approvals.command()
@click.argument("request_id")
@json_option
@click.pass_obj
def confirm(config: GatewayConfig, request_id: str, as_json: bool) -> None:
    """Just before the action runs: decide the approved request again with current facts
    and policies. Exit 0 when the approvals still suffice, 3 (with the reason) when not."""
    with _Session(config) as session:
        decision = session.gateway.confirm_approved(request_id)
    emit(decision, as_json, human=print_decision)
    if not decision.allowed:
        raise click.exceptions.Exit(int(ExitCode.DENIED))
