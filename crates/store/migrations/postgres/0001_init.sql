-- segue schema, PostgreSQL flavour. Keep in step with migrations/sqlite.
-- Times are epoch milliseconds; JSON is stored as text; flags are 0/1 integers.

CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE workflows (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    source_provider TEXT,
    type TEXT NOT NULL,
    description TEXT,
    latest_version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX workflows_by_org ON workflows (org_id, seq);

CREATE TABLE workflow_versions (
    workflow_id TEXT NOT NULL REFERENCES workflows (id),
    version BIGINT NOT NULL,
    definition TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workflow_id, version)
);

CREATE TABLE workflow_drafts (
    workflow_id TEXT PRIMARY KEY REFERENCES workflows (id),
    definition TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE runs (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    workflow_id TEXT NOT NULL REFERENCES workflows (id),
    workflow_version BIGINT,
    definition TEXT NOT NULL,
    inputs TEXT NOT NULL,
    sealed_inputs TEXT NOT NULL,
    status TEXT NOT NULL,
    current_segment TEXT,
    outputs TEXT,
    error TEXT,
    test BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    max_attempts BIGINT NOT NULL,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    cancel_requested BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    completed_at BIGINT
);
CREATE INDEX runs_by_org ON runs (org_id, seq);
CREATE INDEX runs_by_workflow ON runs (org_id, workflow_id, seq);
CREATE INDEX runs_by_status ON runs (org_id, status, seq);
CREATE INDEX runs_by_test ON runs (org_id, test, seq);
CREATE INDEX runs_queue ON runs (status, seq);
CREATE INDEX runs_leases ON runs (status, lease_expires_at);

CREATE TABLE segment_executions (
    run_id TEXT NOT NULL REFERENCES runs (id),
    sequence BIGINT NOT NULL,
    segment_name TEXT NOT NULL,
    mode TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    error TEXT,
    logs TEXT NOT NULL,
    PRIMARY KEY (run_id, sequence)
);
