-- Drafts written by self-healing: why, from which run, and whether they ran without AI.
ALTER TABLE workflow_drafts ADD COLUMN heal_notes TEXT;
ALTER TABLE workflow_drafts ADD COLUMN healed_from_run TEXT;
ALTER TABLE workflow_drafts ADD COLUMN check_status TEXT;
ALTER TABLE workflow_drafts ADD COLUMN check_message TEXT;
ALTER TABLE runs ADD COLUMN healed_draft BIGINT NOT NULL DEFAULT 0;
