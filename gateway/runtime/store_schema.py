"""The tables of the execution store, as numbered migrations (``gateway.storage.Schema``).

Two invariants live in the schema itself, so no race between processes can break them:

- one execution per (actor, idempotency key): a repeated request finds the first one
  (``executions_idempotency``);
- one unfinished execution per target: a second request on the same account or access
  while one is in flight is refused as a conflict (``executions_active_target``).
"""

from __future__ import annotations

from gateway.storage import Migration, Schema

__all__ = ["SCHEMA"]

_TABLES = """
CREATE TABLE IF NOT EXISTS executions (
    id TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    workflow_version INTEGER NOT NULL,
    workflow_digest TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    actor TEXT NOT NULL,
    parameters TEXT NOT NULL,
    channel TEXT NOT NULL,
    ticket TEXT,
    idempotency_key TEXT,
    request_digest TEXT NOT NULL,
    target TEXT,
    state TEXT NOT NULL,
    waiting TEXT,
    error TEXT,
    parent TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT,
    wake_at TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS executions_idempotency
    ON executions(actor, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS executions_active_target
    ON executions(target) WHERE target IS NOT NULL AND finished_at IS NULL;
CREATE INDEX IF NOT EXISTS executions_unfinished ON executions(state) WHERE finished_at IS NULL;
CREATE TABLE IF NOT EXISTS execution_changes (
    execution_id TEXT PRIMARY KEY REFERENCES executions(id),
    number TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS change_notes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id TEXT NOT NULL,
    number TEXT NOT NULL,
    text TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TEXT NOT NULL,
    error TEXT
);
CREATE TABLE IF NOT EXISTS steps (
    execution_id TEXT NOT NULL REFERENCES executions(id),
    step_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    decision_id TEXT,
    approval_id TEXT,
    digest TEXT,
    parameters TEXT NOT NULL DEFAULT '{}',
    output TEXT NOT NULL DEFAULT '{}',
    sealed TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    started_at TEXT,
    finished_at TEXT,
    next_attempt_at TEXT,
    owner TEXT,
    PRIMARY KEY (execution_id, step_id)
);
CREATE INDEX IF NOT EXISTS steps_started ON steps(state) WHERE state = 'started';
CREATE INDEX IF NOT EXISTS steps_approval ON steps(approval_id) WHERE approval_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS timers (
    id TEXT PRIMARY KEY,
    due_at TEXT NOT NULL,
    workflow TEXT NOT NULL,
    parameters TEXT NOT NULL,
    parent TEXT NOT NULL,
    started TEXT
);
CREATE INDEX IF NOT EXISTS timers_due ON timers(due_at) WHERE started IS NULL;
CREATE TABLE IF NOT EXISTS sealed_outputs (
    execution_id TEXT NOT NULL,
    name TEXT NOT NULL,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (execution_id, name)
);
CREATE TABLE IF NOT EXISTS unrecorded (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id TEXT NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS unrecorded_execution ON unrecorded(execution_id);
"""
SCHEMA = Schema(
    "runtime",
    (
        _TABLES,
        Migration(
            sqlite="ALTER TABLE executions ADD COLUMN number INTEGER;"
            " UPDATE executions SET number = rowid;",
            postgresql="ALTER TABLE executions ADD COLUMN number BIGINT;",
        ),
    ),
)
