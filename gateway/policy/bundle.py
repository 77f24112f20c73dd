"""A policy bundle: the versioned policy files that decide every request.

Layout under the bundle directory (sub-folders are free; ``tests/`` is skipped)::

    *.conf          the Casbin model (exactly one)
    *.csv           Casbin rules: ``p`` permissions and ``g`` role assignments
    *.cedarschema   the Cedar schema (exactly one)
    *.cedar         Cedar policies, each with a unique @id

The bundle digest is ``sha256:`` + hex SHA-256 over, for each file in byte order of its
path relative to the bundle directory: the path (UTF-8), a NUL byte, the length of the
content in decimal, a NUL byte, then the content.  Policy tests do not change it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import cedarpy

from gateway.errors import PolicyBundleError, SourceProblem
from gateway.policy.casbin_rules import CasbinRules, load_casbin_model, parse_casbin_rules
from gateway.policy.cedar_source import CedarPolicy, load_cedar_schema, parse_cedar_file

__all__ = [
    "BUNDLE_SUFFIXES",
    "PolicyBundle",
    "bundle_digest",
    "bundle_files",
    "compute_digest",
    "load_bundle",
]

BUNDLE_SUFFIXES = (".conf", ".csv", ".cedarschema", ".cedar")


@dataclass(frozen=True)
class PolicyBundle:
    """A loaded and fully validated bundle."""

    root: Path
    digest: str
    files: tuple[str, ...]
    casbin: CasbinRules
    schema: cedarpy.Schema
    policies: tuple[CedarPolicy, ...]


def bundle_files(root: Path) -> list[Path]:
    """The bundle's files in digest order (policy tests excluded)."""
    found = [
        path
        for path in root.rglob("*")
        if path.suffix in BUNDLE_SUFFIXES
        and path.is_file()
        and "tests" not in path.relative_to(root).parts[:-1]
    ]
    return sorted(found, key=lambda path: path.relative_to(root).as_posix().encode())


def compute_digest(contents: list[tuple[str, bytes]]) -> str:
    """The bundle digest over (relative path, content) pairs already in digest order."""
    digest = hashlib.sha256()
    for name, content in contents:
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(str(len(content)).encode())
        digest.update(b"\0")
        digest.update(content)
    return f"sha256:{digest.hexdigest()}"


def _read(root: Path) -> tuple[list[tuple[Path, str]], str]:
    if not root.is_dir():
        raise PolicyBundleError.single("policy bundle not found", root, 0, "no such directory")
    texts: list[tuple[Path, str]] = []
    contents: list[tuple[str, bytes]] = []
    problems: list[SourceProblem] = []
    for path in bundle_files(root):
        try:
            raw = path.read_bytes()
            texts.append((path, raw.decode("utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(SourceProblem(str(path), 0, f"cannot read: {type(exc).__name__}"))
            continue
        contents.append((path.relative_to(root).as_posix(), raw))
    if problems:
        raise PolicyBundleError("policy bundle is invalid", problems)
    return texts, compute_digest(contents)


def bundle_digest(root: Path) -> str:
    """The digest of the bundle's files as they are now, without validating them."""
    return _read(root)[1]


def _exactly_one(
    texts: list[tuple[Path, str]], suffix: str, root: Path, problems: list[SourceProblem]
) -> tuple[Path, str] | None:
    chosen = [item for item in texts if item[0].suffix == suffix]
    if len(chosen) != 1:
        names = ", ".join(str(path) for path, _ in chosen) or "none"
        problems.append(
            SourceProblem(str(root), 0, f"expected exactly one {suffix} file, found {names}")
        )
        return None
    return chosen[0]


def load_bundle(root: Path) -> PolicyBundle:
    """Load and validate every file of the bundle; raise ``PolicyBundleError`` listing all
    problems, each with file and line."""
    texts, digest = _read(root)
    problems: list[SourceProblem] = []

    casbin_rules: CasbinRules | None = None
    model_file = _exactly_one(texts, ".conf", root, problems)
    if model_file is not None:
        model, model_problems = load_casbin_model(*model_file)
        problems.extend(model_problems)
        if model is not None:
            rule_files = [item for item in texts if item[0].suffix == ".csv"]
            policies, groupings, rule_problems = parse_casbin_rules(model, rule_files)
            problems.extend(rule_problems)
            casbin_rules = CasbinRules(model_file[1], model, tuple(policies), tuple(groupings))

    schema: cedarpy.Schema | None = None
    schema_file = _exactly_one(texts, ".cedarschema", root, problems)
    if schema_file is not None:
        schema, schema_problems = load_cedar_schema(*schema_file)
        problems.extend(schema_problems)

    cedar_policies: list[CedarPolicy] = []
    first_seen: dict[str, CedarPolicy] = {}
    for path, text in texts:
        if path.suffix != ".cedar":
            continue
        parsed, file_problems = parse_cedar_file(path, text, schema)
        problems.extend(file_problems)
        for policy in parsed:
            earlier = first_seen.setdefault(policy.id, policy)
            if earlier is not policy:
                problems.append(
                    SourceProblem(
                        policy.file,
                        policy.line,
                        f"duplicate @id {policy.id!r} (first used at {earlier.location})",
                    )
                )
            cedar_policies.append(policy)

    if problems or casbin_rules is None or schema is None:
        raise PolicyBundleError("policy bundle is invalid", problems)
    return PolicyBundle(
        root=root,
        digest=digest,
        files=tuple(path.relative_to(root).as_posix() for path, _ in texts),
        casbin=casbin_rules,
        schema=schema,
        policies=tuple(cedar_policies),
    )
