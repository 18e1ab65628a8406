-- Login identities: credentials for a site, sealed with the service's key, and the
-- browser session (Playwright storage state) their last LOGIN run saved, sealed too.
-- Neither is ever read back by the API: only workers open them.
CREATE TABLE identities (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    source_provider TEXT NOT NULL,
    login_workflow_id TEXT,
    -- JSON array of the credentials' names (the values are in sealed_credentials).
    credential_names TEXT NOT NULL,
    sealed_credentials TEXT NOT NULL,
    session_ttl_ms BIGINT NOT NULL,
    -- NONE, ACTIVE or FAILED; an ACTIVE session past session_expires_at reads as EXPIRED.
    session_status TEXT NOT NULL,
    sealed_session TEXT,
    session_saved_at BIGINT,
    session_expires_at BIGINT,
    -- Moves on whenever the session is forgotten (credentials rotated, session deleted):
    -- a login that started before cannot save its session over the change.
    session_generation BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX identities_by_name ON identities (org_id, name);
CREATE INDEX identities_by_org ON identities (org_id, seq);

-- The identity a run is pre-authenticated as, and the LOGIN run that made its session.
ALTER TABLE runs ADD COLUMN identity_id TEXT;
ALTER TABLE runs ADD COLUMN login_run_id TEXT;
CREATE INDEX runs_by_identity ON runs (identity_id, status);

-- Inputs a person supplies while the run waits (AWAITING_USER_INPUT): which ones, how
-- long the run waits, what it waits for now (JSON), and the answer (sealed) until its
-- worker takes it.
ALTER TABLE runs ADD COLUMN deferred_inputs TEXT;
ALTER TABLE runs ADD COLUMN input_timeout_ms BIGINT;
ALTER TABLE runs ADD COLUMN awaiting_input TEXT;
ALTER TABLE runs ADD COLUMN supplied_input TEXT;
