-- What the AI agent did: the code's error it recovered from, and the tokens it used.
ALTER TABLE segment_executions ADD COLUMN fallback_error TEXT;
ALTER TABLE segment_executions ADD COLUMN input_tokens BIGINT;
ALTER TABLE segment_executions ADD COLUMN output_tokens BIGINT;
ALTER TABLE runs ADD COLUMN ai_fallback BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN input_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN output_tokens BIGINT NOT NULL DEFAULT 0;
