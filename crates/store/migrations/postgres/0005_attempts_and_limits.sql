-- A run re-queued after its worker was lost runs again as a new attempt: its segment
-- executions are kept per attempt, so the second attempt's sequence 1 is not the first's.
ALTER TABLE segment_executions ADD COLUMN attempt BIGINT NOT NULL DEFAULT 1;
ALTER TABLE segment_executions ALTER COLUMN attempt DROP DEFAULT;
ALTER TABLE segment_executions DROP CONSTRAINT segment_executions_pkey;
ALTER TABLE segment_executions ADD PRIMARY KEY (run_id, attempt, sequence);

-- Time limits a caller chose for one run (NULL: the worker's own). Workers never exceed theirs.
ALTER TABLE runs ADD COLUMN segment_timeout_ms BIGINT;
ALTER TABLE runs ADD COLUMN run_timeout_ms BIGINT;
