-- Webhooks: where an organization wants to hear of what its runs, job runs and
-- identities do. `events` is a JSON array of event types ("*": all). The signing
-- secret is sealed; after a rotation the previous one keeps signing until
-- `previous_secret_expires_at`.
CREATE TABLE webhooks (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    description TEXT,
    enabled BIGINT NOT NULL,
    sealed_secret TEXT NOT NULL,
    sealed_previous_secret TEXT,
    previous_secret_expires_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX webhooks_by_org ON webhooks (org_id, seq);

-- The outbox: one row per event and subscribed webhook, written in the
-- transaction that made the change the event tells of. `body` is fixed at the
-- first attempt, so every retry sends the same bytes under the same `event_id`.
-- A deliverer leases a due row (`lease_owner`, `lease_expires_at`) while it sends.
CREATE TABLE webhook_deliveries (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    org_id TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    test BIGINT NOT NULL,
    occurred_at BIGINT NOT NULL,
    body TEXT,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT,
    last_attempt_at BIGINT,
    last_status_code BIGINT,
    last_error TEXT,
    response_snippet TEXT,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, seq);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_lease ON webhook_deliveries (lease_owner);
