-- "This workflow's failed runs" is a common question; answer it from one index.
CREATE INDEX runs_by_workflow_status ON runs (org_id, workflow_id, status, seq);
