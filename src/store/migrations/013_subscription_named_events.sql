-- Named subscription events (src/fhir/subscriptions/expiring-authorizations.ts): an event that is
-- no write, such as a service authorization about to expire, is recorded once per resource version
-- here, in the statement that queues its outbox rows, so a recurring check that runs again (or in
-- two processes at once, or after the delivered events were pruned) never notifies it twice.
CREATE TABLE subscription_named_event (
  event         text NOT NULL,
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  version_id    integer NOT NULL,
  recorded_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (event, resource_type, resource_id, version_id)
);
