-- Jobs: workflows in a set order. `steps` is the order as the API shows it (fixed
-- inputs of secret parameters masked); `sealed_steps` the same with every value, sealed.
CREATE TABLE jobs (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    source_provider TEXT,
    description TEXT,
    identity_id TEXT,
    steps TEXT NOT NULL,
    sealed_steps TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX jobs_by_org ON jobs (org_id, seq);

-- A job run: the job's definition as it was when it was created, one step per
-- workflow. `revision` moves on with every change, for its event stream.
CREATE TABLE job_runs (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    job_id TEXT NOT NULL,
    status TEXT NOT NULL,
    test BIGINT NOT NULL,
    trigger TEXT NOT NULL,
    schedule_id TEXT,
    identity_id TEXT,
    inputs TEXT NOT NULL,
    error TEXT,
    revision BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT
);
CREATE INDEX job_runs_by_org ON job_runs (org_id, seq);
CREATE INDEX job_runs_by_job ON job_runs (job_id, seq);
CREATE INDEX job_runs_by_schedule ON job_runs (schedule_id, status);

-- The workflow runs of a job run, in order. `run_spec` is the run to queue when the
-- step before it completes (JSON: definition, sealed inputs, settings); `run_id` is
-- that run once queued.
CREATE TABLE job_run_steps (
    job_run_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    workflow_id TEXT NOT NULL,
    run_spec TEXT NOT NULL,
    run_id TEXT,
    PRIMARY KEY (job_run_id, position)
);

ALTER TABLE runs ADD COLUMN job_run_id TEXT;
CREATE INDEX runs_by_job_run ON runs (job_run_id);

-- Schedules start job runs at the due times of a cron expression in a time zone.
CREATE TABLE schedules (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    job_id TEXT NOT NULL,
    cron TEXT NOT NULL,
    timezone TEXT NOT NULL,
    inputs TEXT NOT NULL,
    sealed_inputs TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    overlap TEXT NOT NULL,
    next_run_at BIGINT,
    last_run_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX schedules_by_job ON schedules (job_id, seq);
CREATE INDEX schedules_due ON schedules (enabled, next_run_at);

-- One row per schedule and due time: a due time fires once however many servers
-- look at it.
CREATE TABLE schedule_firings (
    schedule_id TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    job_run_id TEXT,
    fired_at BIGINT NOT NULL,
    PRIMARY KEY (schedule_id, due_at)
);
