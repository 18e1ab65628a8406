-- What runs left behind: one row per file, the bytes in the artifact store under `object_key`.
-- Rows outlive their workflow (deleting one keeps its runs and artifacts readable);
-- retention deletes old ones, bytes first.
CREATE TABLE artifacts (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    run_id TEXT NOT NULL REFERENCES runs (id),
    workflow_id TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    segment_name TEXT,
    object_key TEXT NOT NULL,
    test BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX artifacts_by_run ON artifacts (org_id, run_id, seq);
CREATE INDEX artifacts_by_workflow ON artifacts (org_id, workflow_id, seq);
CREATE INDEX artifacts_by_age ON artifacts (created_at);

-- What a run asked to leave behind (`{"screenshots": "end", "trace": "off"}`), read by its worker.
ALTER TABLE runs ADD COLUMN artifacts TEXT;
