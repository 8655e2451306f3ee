-- Current version of every resource, all types in one table (see docs/architecture.md "Storage").
-- content is the resource JSON as text: reads ship it to the client as-is, with no jsonb decode.
-- tx is the number of the transaction that wrote the row (one per interaction or bundle), taken
-- from tx_seq: history and paging order by it, like Blaze's logical time t.
CREATE SEQUENCE tx_seq;

CREATE TABLE resource (
  resource_type text NOT NULL,
  id            text NOT NULL,
  version_id    integer NOT NULL,
  tx            bigint NOT NULL,
  last_updated  timestamptz NOT NULL,
  deleted       boolean NOT NULL DEFAULT false,
  content       text,
  -- Fingerprint of the search parameters the index rows were built with; `kanplan reindex`
  -- rebuilds the rows whose fingerprint differs from the current one.
  index_hash    text,
  PRIMARY KEY (resource_type, id)
);
CREATE INDEX resource_type_last_updated ON resource (resource_type, last_updated, id) WHERE NOT deleted;
CREATE INDEX resource_last_updated ON resource (last_updated, resource_type, id) WHERE NOT deleted;

-- Every version ever written, including deletes (content NULL). Never updated, only appended.
CREATE TABLE resource_history (
  resource_type text NOT NULL,
  id            text NOT NULL,
  version_id    integer NOT NULL,
  tx            bigint NOT NULL,
  last_updated  timestamptz NOT NULL,
  method        text NOT NULL,
  deleted       boolean NOT NULL DEFAULT false,
  content       text,
  PRIMARY KEY (resource_type, id, version_id)
);
CREATE INDEX resource_history_tx ON resource_history (tx);
CREATE INDEX resource_history_type_tx ON resource_history (resource_type, tx);
CREATE INDEX resource_history_last_updated ON resource_history (last_updated);
