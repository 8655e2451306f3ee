-- Subscriptions (src/fhir/subscriptions/): the delivery lane of each rest-hook Subscription and
-- its outbox of events. Both are written by the subscription write participant in the statement
-- of the write itself, so a committed change always has its event and a rolled-back one never does.

-- One row per stored Subscription that is not deleted: its delivery state, claimed by one worker at
-- a time (FOR UPDATE SKIP LOCKED, then a lease), which keeps the order of its events.
CREATE TABLE subscription_lane (
  subscription_id    text PRIMARY KEY,
  -- Mirrors Subscription.status: requested (handshake due), active, error, off.
  status             text NOT NULL,
  -- scheme://host:port of channel.endpoint: deliveries to one endpoint are limited per process.
  endpoint_origin    text NOT NULL,
  -- Events numbered so far (Parameters.events-since-subscription-start).
  events_numbered    bigint NOT NULL DEFAULT 0,
  next_attempt_at    timestamptz NOT NULL DEFAULT now(),
  failures           integer NOT NULL DEFAULT 0,
  first_failure_at   timestamptz,
  last_error         text,
  last_sent_at       timestamptz,
  heartbeat_seconds  integer,
  -- Retries gave up (the retry window ran out): nothing is sent until the Subscription is set active again.
  parked             boolean NOT NULL DEFAULT false,
  worker             text,
  lease_until        timestamptz
);
CREATE INDEX subscription_lane_due ON subscription_lane (next_attempt_at) WHERE NOT parked;

-- One row per (subscription, triggering version). event_number is given by the delivery worker
-- when it first sees the row (numbering at write time would serialize every writer on the
-- subscription's counter); the order of numbers is the order of delivery.
CREATE TABLE subscription_event (
  seq             bigserial PRIMARY KEY,
  subscription_id text NOT NULL,
  resource_type   text NOT NULL,
  resource_id     text NOT NULL,
  version_id      integer NOT NULL,
  -- The interaction that triggered it: create, update or delete.
  interaction     text NOT NULL,
  occurred_at     timestamptz NOT NULL DEFAULT now(),
  event_number    bigint,
  delivered_at    timestamptz
);
CREATE INDEX subscription_event_pending ON subscription_event (subscription_id, seq) WHERE delivered_at IS NULL;
CREATE UNIQUE INDEX subscription_event_number ON subscription_event (subscription_id, event_number) WHERE event_number IS NOT NULL;
CREATE INDEX subscription_event_delivered ON subscription_event (delivered_at) WHERE delivered_at IS NOT NULL;
