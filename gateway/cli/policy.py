"""``gateway policy check|test``: validate the bundle and run its policy tests."""

from __future__ import annotations

import json
from pathlib import Path

import click

from gateway.config import GatewayConfig
from gateway.errors import ExitCode, PolicyBundleError
from gateway.policy.bundle import PolicyBundle, load_bundle
from gateway.policy.decision_point import PolicyDecisionPoint
from gateway.policy.engine import PolicyEngine
from gateway.policy.rbac import CompiledRbac
from gateway.policy.testing import discover_test_files, run_policy_tests, untested_policies

__all__ = ["policy"]

_POLICIES = click.option(
    "--policies",
    "policies_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Policy bundle directory (default: [policy] dir of the configuration).",
)
_JSON = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


@click.group()
def policy() -> None:
    """Validate and test the policy bundle."""


def _load(config: GatewayConfig, policies_dir: Path | None, as_json: bool) -> PolicyBundle:
    try:
        return load_bundle(policies_dir or config.policy.dir)
    except PolicyBundleError as exc:
        if as_json:
            problems = [
                {"file": p.file, "line": p.line, "message": p.message} for p in exc.problems
            ]
            click.echo(json.dumps({"valid": False, "problems": problems}, indent=2))
        else:
            click.echo(exc.diagnostics(), err=True)
        raise click.exceptions.Exit(int(ExitCode.FAILED)) from exc


@policy.command()
@_POLICIES
@_JSON
@click.pass_obj
def check(config: GatewayConfig, policies_dir: Path | None, as_json: bool) -> None:
    """Validate every file of the bundle. Exit 0 when valid, 1 otherwise."""
    bundle = _load(config, policies_dir, as_json)
    engine = PolicyEngine(bundle)
    summary = {
        "valid": True,
        "digest": bundle.digest,
        "files": list(bundle.files),
        "casbin_permissions": len(bundle.casbin.policies),
        "casbin_role_assignments": len(bundle.casbin.groupings),
        "cedar_policies": len(bundle.policies),
        "rbac": "compiled" if isinstance(engine.rbac, CompiledRbac) else "enforcer",
    }
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"policy bundle {bundle.root} is valid")
    click.echo(f"  digest  {bundle.digest}")
    click.echo(
        f"  casbin  {summary['casbin_permissions']} permissions, "
        f"{summary['casbin_role_assignments']} role assignments ({summary['rbac']} checks)"
    )
    click.echo(f"  cedar   {summary['cedar_policies']} policies")


@policy.command(name="test")
@_POLICIES
@_JSON
@click.pass_obj
def test_command(config: GatewayConfig, policies_dir: Path | None, as_json: bool) -> None:
    """Run the bundle's policy tests. Exit 0 when all pass, 1 otherwise."""
    bundle = _load(config, policies_dir, as_json)
    engine = PolicyEngine(bundle)
    files = discover_test_files(bundle.root)
    results = run_policy_tests(PolicyDecisionPoint(lambda: engine), files)
    failed = [result for result in results if not result.passed]
    untested = untested_policies([policy.id for policy in bundle.policies], results)
    if as_json:
        report = [
            {
                "name": result.name,
                "file": result.file,
                "line": result.line,
                "passed": result.passed,
                "differences": list(result.differences),
            }
            for result in results
        ]
        summary = {"passed": not failed and bool(results), "untested_policies": untested}
        click.echo(json.dumps({**summary, "cases": report}, indent=2))
    else:
        for result in results:
            if result.passed:
                click.echo(f"{click.style('ok  ', fg='green')} {result.name}")
            else:
                click.echo(
                    f"{click.style('FAIL', fg='red')} {result.name} ({result.file}:{result.line})"
                )
                for difference in result.differences:
                    click.echo(f"       {difference}")
        click.echo(f"{len(results) - len(failed)} policy cases passed, {len(failed)} failed")
        if untested:
            click.echo(f"warning: no case is decided by {', '.join(untested)}", err=True)
    if failed or not results:
        if not results and not as_json:
            click.echo(f"no policy tests found under {bundle.root / 'tests'}", err=True)
        raise click.exceptions.Exit(int(ExitCode.FAILED))
