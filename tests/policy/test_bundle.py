"""Loading a policy bundle: its digest, its files, and every problem with file and line."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from gateway.errors import PolicyBundleError, SourceProblem
from gateway.policy.bundle import load_bundle

POLICIES = Path(__file__).resolve().parents[2] / "policies"
PERMIT = '@id("{id}") permit (principal, action, resource);\n'


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """A copy of the repository's policy bundle that a test may change."""
    root = tmp_path / "bundle"
    shutil.copytree(POLICIES, root)
    return root


def documented_files(root: Path) -> list[Path]:
    """The bundle's files as the bundle format documents them, in digest order."""
    found = [
        path
        for path in root.rglob("*")
        if path.suffix in {".conf", ".csv", ".cedarschema", ".cedar"}
        and "tests" not in path.relative_to(root).parts[:-1]
    ]
    return sorted(found, key=lambda path: path.relative_to(root).as_posix().encode())


def documented_digest(root: Path) -> str:
    """The digest as the bundle format documents it, computed independently."""
    digest = hashlib.sha256()
    for path in documented_files(root):
        content = path.read_bytes()
        name = path.relative_to(root).as_posix().encode()
        digest.update(name + b"\0" + str(len(content)).encode() + b"\0" + content)
    return f"sha256:{digest.hexdigest()}"


def load_problems(root: Path) -> tuple[SourceProblem, ...]:
    with pytest.raises(PolicyBundleError) as caught:
        load_bundle(root)
    assert caught.value.summary == "policy bundle is invalid"
    return caught.value.problems


def test_the_repository_bundle_loads(bundle: Path) -> None:
    loaded = load_bundle(bundle)

    assert loaded.root == bundle
    assert loaded.files == tuple(
        path.relative_to(bundle).as_posix() for path in documented_files(bundle)
    )
    assert loaded.digest == documented_digest(bundle)
    assert loaded.casbin.policies
    assert loaded.casbin.groupings
    assert loaded.policies
    assert len({policy.id for policy in loaded.policies}) == len(loaded.policies)
    assert all(
        policy.file.startswith(str(bundle)) and policy.line >= 1 for policy in loaded.policies
    )


def test_the_digest_depends_on_content_not_on_where_the_bundle_lives(
    bundle: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere" / "policies"
    shutil.copytree(bundle, elsewhere)

    first = load_bundle(bundle).digest

    assert first.startswith("sha256:")
    assert load_bundle(bundle).digest == first
    assert load_bundle(elsewhere).digest == first


def test_the_digest_changes_when_a_policy_file_changes(bundle: Path) -> None:
    before = load_bundle(bundle).digest
    rules = bundle / "casbin" / "roles.csv"
    rules.write_text(rules.read_text(encoding="utf-8") + "# reviewed\n", encoding="utf-8")

    after = load_bundle(bundle)

    assert after.digest != before
    assert after.digest == documented_digest(bundle)


def test_the_digest_changes_when_a_policy_file_is_added(bundle: Path) -> None:
    before = load_bundle(bundle).digest
    (bundle / "cedar" / "extra").mkdir()
    (bundle / "cedar" / "extra" / "extra.cedar").write_text(
        PERMIT.format(id="extra-test-policy"), encoding="utf-8"
    )

    after = load_bundle(bundle)

    assert after.digest != before
    assert "cedar/extra/extra.cedar" in after.files


def test_policy_tests_and_other_files_do_not_change_the_digest(bundle: Path) -> None:
    before = load_bundle(bundle)
    for folder in (bundle / "tests", bundle / "cedar" / "tests"):
        folder.mkdir(exist_ok=True)
        (folder / "scenario.cedar").write_text("this is not Cedar;\n", encoding="utf-8")
        (folder / "model.conf").write_text("not a model\n", encoding="utf-8")
    (bundle / "README.md").write_text("# Policies\n", encoding="utf-8")
    (bundle / "cedar" / "folder.cedar").mkdir()

    after = load_bundle(bundle)

    assert after.digest == before.digest
    assert after.files == before.files


def test_a_missing_directory_is_not_a_bundle(tmp_path: Path) -> None:
    root = tmp_path / "missing"

    with pytest.raises(PolicyBundleError) as caught:
        load_bundle(root)

    assert caught.value.summary == "policy bundle not found"
    assert caught.value.problems == (SourceProblem(str(root), 0, "no such directory"),)


def test_a_file_is_not_a_bundle(bundle: Path) -> None:
    root = bundle / "casbin" / "model.conf"

    with pytest.raises(PolicyBundleError) as caught:
        load_bundle(root)

    assert caught.value.problems == (SourceProblem(str(root), 0, "no such directory"),)


def test_a_file_that_is_not_utf8_is_reported(bundle: Path) -> None:
    broken = bundle / "casbin" / "broken.csv"
    broken.write_bytes(b"p, role:caf\xe9, account, password.reset\n")

    assert load_problems(bundle) == (
        SourceProblem(str(broken), 0, "cannot read: UnicodeDecodeError"),
    )


def test_a_bundle_without_model_and_schema_names_what_is_missing(bundle: Path) -> None:
    (bundle / "casbin" / "model.conf").unlink()
    (bundle / "cedar" / "gateway.cedarschema").unlink()

    assert load_problems(bundle) == (
        SourceProblem(str(bundle), 0, "expected exactly one .conf file, found none"),
        SourceProblem(str(bundle), 0, "expected exactly one .cedarschema file, found none"),
    )


def test_a_bundle_with_two_models_and_two_schemas_names_them_all(bundle: Path) -> None:
    model = bundle / "casbin" / "model.conf"
    schema = bundle / "cedar" / "gateway.cedarschema"
    second_model = bundle / "casbin" / "z-model.conf"
    second_schema = bundle / "another.cedarschema"
    shutil.copy(model, second_model)
    shutil.copy(schema, second_schema)

    assert load_problems(bundle) == (
        SourceProblem(
            str(bundle), 0, f"expected exactly one .conf file, found {model}, {second_model}"
        ),
        SourceProblem(
            str(bundle),
            0,
            f"expected exactly one .cedarschema file, found {second_schema}, {schema}",
        ),
    )


def test_a_duplicate_id_names_both_locations(bundle: Path) -> None:
    first = bundle / "cedar" / "a-first.cedar"
    second = bundle / "cedar" / "z-second.cedar"
    first.write_text(PERMIT.format(id="duplicate-test-policy"), encoding="utf-8")
    second.write_text(
        "// The same id again.\n\n" + PERMIT.format(id="duplicate-test-policy"), encoding="utf-8"
    )

    assert load_problems(bundle) == (
        SourceProblem(
            str(second), 3, f"duplicate @id 'duplicate-test-policy' (first used at {first}:1)"
        ),
    )


def test_every_problem_of_every_file_is_reported_with_file_and_line(bundle: Path) -> None:
    rules = bundle / "casbin" / "zz-extra.csv"
    rules.write_text("# Extra rules.\np, role:helpdesk, account\nq, alice\n", encoding="utf-8")
    policies = bundle / "cedar" / "zz-extra.cedar"
    policies.write_text(
        "permit (principal, action, resource);\n"
        '@id("extra-typo") permit (principal, action, resource)\n'
        "  when { principal.no_such_attribute };\n"
        '@id("extra-forbid") @step_up("max_age=1m") forbid (principal, action, resource);\n',
        encoding="utf-8",
    )

    problems = load_problems(bundle)

    assert [(problem.file, problem.line) for problem in problems] == [
        (str(rules), 2),
        (str(rules), 3),
        (str(policies), 1),
        (str(policies), 2),
        (str(policies), 4),
    ]
    assert problems[0].message == "rule 'p' expects 3 values, found 2"
    assert problems[1].message == "unknown rule type 'q'"
    assert problems[2].message == 'policy has no @id("...") annotation'
    assert problems[3].message.startswith("policy extra-typo: ")
    assert "no_such_attribute" in problems[3].message
    assert problems[4].message == (
        "policy extra-forbid: obligations belong on permit policies, not forbid"
    )


def test_an_invalid_model_and_schema_are_reported_and_policies_still_checked(
    bundle: Path,
) -> None:
    model = bundle / "casbin" / "model.conf"
    model.write_text("[request_definition]\nr = sub, obj, act\nbroken\n", encoding="utf-8")
    schema = bundle / "cedar" / "gateway.cedarschema"
    schema.write_text("entity User {\n  manager: Nobody,\n};\n", encoding="utf-8")
    policies = bundle / "cedar" / "zz-extra.cedar"
    policies.write_text("permit (principal, action, resource);\n", encoding="utf-8")

    assert load_problems(bundle) == (
        SourceProblem(
            str(model), 3, "invalid model: parse the content error : line 3 , broken = ?"
        ),
        SourceProblem(str(schema), 2, "schema: failed to resolve type: Nobody"),
        SourceProblem(str(policies), 1, 'policy has no @id("...") annotation'),
    )


def test_the_error_lists_every_problem_for_the_command_line(bundle: Path) -> None:
    (bundle / "casbin" / "model.conf").unlink()
    (bundle / "cedar" / "gateway.cedarschema").unlink()

    with pytest.raises(PolicyBundleError) as caught:
        load_bundle(bundle)

    assert caught.value.diagnostics() == (
        "policy bundle is invalid:\n"
        f"  {bundle}: expected exactly one .conf file, found none\n"
        f"  {bundle}: expected exactly one .cedarschema file, found none"
    )
