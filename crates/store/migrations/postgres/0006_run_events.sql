-- One append-only feed of what happened to each run, written in the same transaction
-- as the change it describes: live progress (SSE) reads it, and so will webhooks.
-- `seq` counts per run across attempts, so "everything after seq N" is a range of the key.
CREATE TABLE run_events (
    run_id TEXT NOT NULL REFERENCES runs (id),
    seq BIGINT NOT NULL,
    org_id TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    type TEXT NOT NULL,
    payload TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- Runs older than the feed get their creation and, when over, their end (without the
-- error, which the run itself still shows), so every stream of a finished run ends.
INSERT INTO run_events (run_id, seq, org_id, attempt, type, payload, at)
SELECT id, 1, org_id, attempts, 'run.created', '{"status":"PENDING"}', created_at FROM runs;
INSERT INTO run_events (run_id, seq, org_id, attempt, type, payload, at)
SELECT id, 2, org_id, attempts, 'run.finished', '{"status":"' || status || '"}', COALESCE(completed_at, created_at)
FROM runs WHERE status NOT IN ('PENDING', 'IN_PROGRESS');
