"""``gateway policy check|test|fmt`` (and ``sign|verify|history`` from
``gateway.cli.policy_signing``): validate, test, format and sign the bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gateway.cli.output import emit, json_option
from gateway.cli.policy_impact import impact
from gateway.cli.policy_signing import history, sign, verify
from gateway.config import GatewayConfig
from gateway.errors import ExitCode, PolicyBundleError
from gateway.policy.bundle import PolicyBundle, load_bundle
from gateway.policy.decision_point import PolicyDecisionPoint
from gateway.policy.engine import PolicyEngine
from gateway.policy.formatting import format_bundle
from gateway.policy.rbac import CompiledRbac
from gateway.policy.reports import Coverage, junit_xml, policy_coverage
from gateway.policy.testing import discover_test_files, run_policy_tests, untested_policies

__all__ = ["policy"]

_POLICIES = click.option(
    "--policies",
    "policies_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Policy bundle directory (default: [policy] dir of the configuration).",
)


@click.group()
def policy() -> None:
    """Validate, test, format and sign the policy bundle."""


policy.add_command(sign)
policy.add_command(verify)
policy.add_command(history)
policy.add_command(impact)


def _load(config: GatewayConfig, policies_dir: Path | None, as_json: bool) -> PolicyBundle:
    try:
        return load_bundle(policies_dir or config.policy.dir)
    except PolicyBundleError as exc:
        problems = [{"file": p.file, "line": p.line, "message": p.message} for p in exc.problems]
        failure = {"valid": False, "problems": problems}
        diagnostics = exc.diagnostics()
        emit(failure, as_json, human=lambda _: click.echo(diagnostics, err=True))
        raise click.exceptions.Exit(int(ExitCode.FAILED)) from exc


@policy.command()
@_POLICIES
@json_option
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
    emit(summary, as_json, human=lambda _: _print_check(bundle.root, summary))


def _print_check(root: Path, summary: dict[str, Any]) -> None:
    click.echo(f"policy bundle {root} is valid")
    click.echo(f"  digest  {summary['digest']}")
    click.echo(
        f"  casbin  {summary['casbin_permissions']} permissions, "
        f"{summary['casbin_role_assignments']} role assignments ({summary['rbac']} checks)"
    )
    click.echo(f"  cedar   {summary['cedar_policies']} policies")


@policy.command(name="test")
@_POLICIES
@click.option(
    "--junit",
    "junit_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the results as JUnit XML to this file (for CI).",
)
@click.option(
    "--coverage", is_flag=True, help="Report which Cedar policies and Casbin rules were exercised."
)
@click.option(
    "--fail-under",
    type=click.FloatRange(0, 100),
    default=None,
    metavar="PCT",
    help="With --coverage: exit 1 when under PCT percent of the rules are exercised.",
)
@json_option
@click.pass_obj
def test_command(
    config: GatewayConfig,
    policies_dir: Path | None,
    junit_path: Path | None,
    coverage: bool,
    fail_under: float | None,
    as_json: bool,
) -> None:
    """Run the bundle's policy tests. Exit 0 when all pass (and coverage is not under
    --fail-under), 1 otherwise."""
    bundle = _load(config, policies_dir, as_json)
    engine = PolicyEngine(bundle)
    files = discover_test_files(bundle.root)
    results = run_policy_tests(PolicyDecisionPoint(lambda: engine), files)
    failed = [result for result in results if not result.passed]
    untested = untested_policies([policy.id for policy in bundle.policies], results)
    if junit_path is not None:
        junit_path.write_bytes(junit_xml(results))
    covered = policy_coverage(bundle, results) if coverage or fail_under is not None else None
    under = covered is not None and fail_under is not None and covered.percent < fail_under
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
    summary: dict[str, Any] = {
        "passed": not failed and bool(results) and not under,
        "untested_policies": untested,
    }
    if covered is not None:
        summary["coverage"] = covered

    def human(_: object) -> None:
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
        if covered is not None:
            _print_coverage(covered, fail_under)

    emit({**summary, "cases": report}, as_json, human=human)
    if failed or not results or under:
        if not results and not as_json:
            click.echo(f"no policy tests found under {bundle.root / 'tests'}", err=True)
        raise click.exceptions.Exit(int(ExitCode.FAILED))


def _print_coverage(covered: Coverage, fail_under: float | None) -> None:
    data = covered.as_json()
    click.echo(
        f"coverage {data['percent']}% of {data['total']} rules "
        f"(cedar {data['cedar_percent']}%, casbin {data['casbin_percent']}%)"
    )
    for rule in covered.rules:
        if not rule.exercised:
            click.echo(f"  not exercised: {rule.engine} {rule.rule} ({rule.location})")
    if fail_under is not None and covered.percent < fail_under:
        click.echo(f"coverage {covered.percent}% is under {fail_under}%", err=True)


@policy.command()
@_POLICIES
@click.option("--check", is_flag=True, help="Change nothing; exit 1 when a file is unformatted.")
@json_option
@click.pass_obj
def fmt(config: GatewayConfig, policies_dir: Path | None, check: bool, as_json: bool) -> None:
    """Format the bundle's .cedar files with Cedar's formatter (cedarpy). A formatted
    bundle has a new digest: sign it again."""
    result = format_bundle(policies_dir or config.policy.dir, write=not check)

    def human(_: object) -> None:
        verb = "would reformat" if check else "reformatted"
        for path in result.unformatted:
            click.echo(f"{verb} {path}")
        click.echo(f"{len(result.checked)} files checked, {len(result.unformatted)} {verb}")

    emit({"checked": result.checked, "unformatted": result.unformatted}, as_json, human=human)
    if check and result.unformatted:
        raise click.exceptions.Exit(int(ExitCode.FAILED))
