"""Bundle signatures as the store sees them: what counts towards the threshold, what is a
problem, and the development key that signs when no trusted keys are configured."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from gateway.audit.keys import Signer, init_keys
from gateway.audit.records import AuditEvent
from gateway.config import PolicyConfig
from gateway.errors import PolicyBundleError
from gateway.policy.bundle import bundle_digest
from gateway.policy.signatures import (
    MAX_SIGNATURE_FILE,
    SIGNATURE_DIR,
    sign_digest,
    signature_state,
    write_signature,
)
from gateway.policy.store import PolicyStore
from gateway.policy.trust import (
    BundleTrust,
    DevelopmentTrust,
    PolicyTrustError,
    TrustCheck,
    TrustedKey,
    open_trust,
)


def signed(bundle: Path, signer: Signer, name: str, digest: str | None = None) -> Path:
    return write_signature(bundle, sign_digest(signer, name, digest or bundle_digest(bundle)))


def clean(bundle: Path) -> Path:
    shutil.rmtree(bundle / SIGNATURE_DIR, ignore_errors=True)
    return bundle


@pytest.fixture
def unsigned(bundle_copy: Path) -> Path:
    return clean(bundle_copy)


def test_one_signer_with_two_signature_files_counts_once(unsigned: Path) -> None:
    alice = Signer.generate()
    signed(unsigned, alice, "alice")
    signed(unsigned, alice, "alice-again")
    trust = BundleTrust((TrustedKey("alice", alice.public_key),), threshold=2)

    check = trust.check(unsigned, bundle_digest(unsigned))

    assert (check.verdict, check.signers, check.missing) == ("under_signed", ("alice",), 1)
    assert check.describe() == "under-signed: 1 of 2 required signatures (alice)"


def test_a_met_threshold_describes_its_signers(unsigned: Path) -> None:
    alice, bob = Signer.generate(), Signer.generate()
    signed(unsigned, alice, "alice")
    signed(unsigned, bob, "bob")
    keys = (TrustedKey("alice", alice.public_key), TrustedKey("bob", bob.public_key))

    check = BundleTrust(keys, threshold=2).check(unsigned, bundle_digest(unsigned))

    assert check.ok
    assert check.missing == 0
    assert check.describe() == "signed by alice, bob (2/2)"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "file: Invalid JSON"),
        (json.dumps({"v": 2}), "v: Input should be 1"),
        ("x" * (MAX_SIGNATURE_FILE + 1), "signature file is too large"),
    ],
    ids=["not JSON", "another format version", "too large to be a signature"],
)
def test_a_malformed_signature_file_counts_for_nothing_and_is_named(
    unsigned: Path, content: str, problem: str
) -> None:
    (unsigned / SIGNATURE_DIR).mkdir(exist_ok=True)
    (unsigned / SIGNATURE_DIR / "bad.sig.json").write_text(content)
    trust = BundleTrust((TrustedKey("alice", Signer.generate().public_key),))

    check = trust.check(unsigned, bundle_digest(unsigned))

    assert check.verdict == "under_signed"
    assert problem in check.problems[0]
    assert "bad.sig.json" in check.problems[0]


def test_a_signature_that_does_not_verify_is_named(unsigned: Path) -> None:
    alice = Signer.generate()
    digest = bundle_digest(unsigned)
    other = sign_digest(alice, "alice", "sha256:" + "0" * 64).signature
    forged = sign_digest(alice, "alice", digest).model_copy(update={"signature": "!!"})
    write_signature(unsigned, forged)  # not base64
    write_signature(unsigned, forged.model_copy(update={"signer": "alice-2", "signature": other}))
    trust = BundleTrust((TrustedKey("alice", alice.public_key),))

    check = trust.check(unsigned, digest)

    assert check.verdict == "under_signed"
    assert sorted(check.problems) == [
        f"alice-2: signature does not verify with key {alice.key_id}",
        f"alice: signature does not verify with key {alice.key_id}",
    ]


def test_an_unreadable_signature_file_is_a_problem(unsigned: Path) -> None:
    (unsigned / SIGNATURE_DIR).mkdir(exist_ok=True)
    (unsigned / SIGNATURE_DIR / "gone.sig.json").symlink_to(unsigned / "nowhere")
    trust = BundleTrust((TrustedKey("alice", Signer.generate().public_key),))

    check = trust.check(unsigned, bundle_digest(unsigned))

    assert check.verdict == "under_signed"
    assert "gone.sig.json: cannot read" in check.problems[0]
    assert signature_state(unsigned) == ()  # a file that vanished has no state


def test_a_threshold_under_one_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="threshold must be at least 1"):
        BundleTrust((), threshold=0)


def test_a_signature_that_cannot_be_written_is_refused(unsigned: Path) -> None:
    (unsigned / SIGNATURE_DIR).write_text("a file where the folder should be")

    with pytest.raises(PolicyBundleError, match="cannot write the bundle signature"):
        signed(unsigned, Signer.generate(), "alice")


def test_the_development_key_signs_once_and_then_finds_its_signature(
    unsigned: Path, caplog: pytest.LogCaptureFixture
) -> None:
    trust = DevelopmentTrust(Signer.generate())
    digest = bundle_digest(unsigned)

    with caplog.at_level(logging.WARNING):
        first = trust.check(unsigned, digest)
        state = signature_state(unsigned)
        second = trust.check(unsigned, digest)

    assert first == second == TrustCheck(digest, "ok", ("development",), 1, development=True)
    assert signature_state(unsigned) == state  # not written again
    warnings = [m for m in caplog.messages if "under a development key" in m]
    assert len(warnings) == 2
    assert "(" not in warnings[0].split(":")[0]  # no key file named for a throwaway key


def test_a_bundle_the_development_key_cannot_sign_on_disk_is_signed_in_memory(
    unsigned: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (unsigned / SIGNATURE_DIR).write_text("not a folder")
    trust = DevelopmentTrust(Signer.generate(), key_path=Path("keys/dev.key"))

    with caplog.at_level(logging.WARNING):
        check = trust.check(unsigned, bundle_digest(unsigned))

    assert check.ok
    assert check.development
    assert any("development signature kept in memory only" in m for m in caplog.messages)
    assert any("(keys/dev.key)" in m for m in caplog.messages)


def test_open_trust_loads_the_trusted_keys_or_makes_the_development_key(tmp_path: Path) -> None:
    _, public, alice = init_keys(tmp_path / "signers", stem="alice")

    configured = open_trust([("alice", public)], 1, development_key=tmp_path / "dev.key")
    development = open_trust([], 1, development_key=tmp_path / "keys" / "policy-dev.key")

    assert not configured.development
    assert [(k.signer, k.key_id) for k in configured.keys] == [("alice", alice.key_id)]
    assert not (tmp_path / "dev.key").exists()
    assert development.development
    assert (tmp_path / "keys" / "policy-dev.key").is_file()
    assert (tmp_path / "keys" / "policy-dev.pub").is_file()


def test_a_store_refuses_an_untrusted_bundle_at_start_and_audits_it(unsigned: Path) -> None:
    events: list[AuditEvent] = []
    trust = BundleTrust((TrustedKey("alice", Signer.generate().public_key),))

    with pytest.raises(PolicyTrustError) as raised:
        PolicyStore(unsigned, audit=events.append, trust=trust)

    assert raised.value.check.verdict == "unsigned"
    assert raised.value.exit_code == 4
    (event,) = events
    assert (event.type, event.policy_digest) == ("policy.refused", None)
    assert event.payload["digest"] == bundle_digest(unsigned)


def test_a_store_puts_a_bundle_in_force_once_it_is_signed_enough(unsigned: Path) -> None:
    alice, bob = Signer.generate(), Signer.generate()
    keys = (TrustedKey("alice", alice.public_key), TrustedKey("bob", bob.public_key))
    signed(unsigned, alice, "alice")
    signed(unsigned, bob, "bob")
    store = PolicyStore(unsigned, trust=BundleTrust(keys, threshold=2))
    before = store.engine.digest
    (unsigned / "cedar" / "extra.cedar").write_text(
        '@id("x")\npermit (principal, action == Action::"kb.publish", resource);\n'
    )
    signed(unsigned, alice, "alice")

    refused = store.reload_if_changed()
    signed(unsigned, bob, "bob")
    accepted = store.reload_if_changed()

    assert store.engine.signers == ("alice", "bob")
    assert isinstance(refused.error, PolicyTrustError)
    assert refused.error.check.verdict == "under_signed"
    assert refused.digest == before
    assert accepted.changed
    assert accepted.digest == store.engine.digest != before


def test_a_signature_by_a_revoked_key_does_not_count_even_when_the_key_is_trusted(
    unsigned: Path,
) -> None:
    alice, bob = Signer.generate(), Signer.generate()
    signed(unsigned, alice, "alice")
    signed(unsigned, bob, "bob")
    keys = (TrustedKey("alice", alice.public_key), TrustedKey("bob", bob.public_key))

    check = BundleTrust(keys, 2, revoked=frozenset({alice.key_id})).check(
        unsigned, bundle_digest(unsigned)
    )

    assert (check.verdict, check.signers) == ("under_signed", ("bob",))
    assert f"alice: key {alice.key_id} is revoked" in check.problems


def test_a_revoked_key_is_named_by_its_key_id() -> None:
    with pytest.raises(ValueError, match="expected key ids of 16 hex digits, found 'alice'"):
        PolicyConfig(revoked_keys=["alice"])
