-- A run re-queued after its worker was lost runs again as a new attempt: its segment
-- executions are kept per attempt, so the second attempt's sequence 1 is not the first's.
-- SQLite cannot change a primary key in place: the table is rebuilt.
CREATE TABLE segment_executions_by_attempt (
    run_id TEXT NOT NULL REFERENCES runs (id),
    attempt BIGINT NOT NULL,
    sequence BIGINT NOT NULL,
    segment_name TEXT NOT NULL,
    mode TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    error TEXT,
    logs TEXT NOT NULL,
    fallback_error TEXT,
    input_tokens BIGINT,
    output_tokens BIGINT,
    PRIMARY KEY (run_id, attempt, sequence)
);
INSERT INTO segment_executions_by_attempt (run_id, attempt, sequence, segment_name, mode, status, started_at, duration_ms,
    error, logs, fallback_error, input_tokens, output_tokens)
SELECT run_id, 1, sequence, segment_name, mode, status, started_at, duration_ms, error, logs, fallback_error, input_tokens,
    output_tokens FROM segment_executions;
DROP TABLE segment_executions;
ALTER TABLE segment_executions_by_attempt RENAME TO segment_executions;

-- Time limits a caller chose for one run (NULL: the worker's own). Workers never exceed theirs.
ALTER TABLE runs ADD COLUMN segment_timeout_ms BIGINT;
ALTER TABLE runs ADD COLUMN run_timeout_ms BIGINT;
