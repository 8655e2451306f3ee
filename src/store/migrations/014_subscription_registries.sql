-- Which server processes match writes against Subscriptions, and which requested Subscription
-- versions each one's registry holds (src/fhir/subscriptions/subscription-registry.ts): a
-- Subscription turns active only when every live process has acknowledged its requested version,
-- so a write in any process after activation is matched (docs/architecture.md, "Subscriptions").
-- Unlogged: renewed every refresh tick, so its commit must not wait for a WAL flush; after a crash
-- of the database it is empty, and each process records itself afresh at its next tick and
-- acknowledges again what it matches (SubscriptionRegistry, `newlyAlive`).
CREATE UNLOGGED TABLE subscription_process (
  process_id text PRIMARY KEY,
  -- Renewed on every registry refresh, by the database's clock (no skew between hosts).
  alive_at   timestamptz NOT NULL DEFAULT now(),
  -- The process's SUBSCRIPTION_REFRESH_MS: it is live while alive_at is within a few of these.
  refresh_ms integer NOT NULL
);

CREATE TABLE subscription_acknowledgement (
  subscription_id text NOT NULL,
  version_id      integer NOT NULL,
  process_id      text NOT NULL,
  PRIMARY KEY (subscription_id, version_id, process_id)
);
