-- Search index tables (see docs/architecture.md "Search"). One generic table per search
-- parameter type, like HAPI's HFJ_SPIDX_* tables: rows are keyed by (resource_type, resource_id,
-- code), replaced by the SearchIndexWriter inside the transaction that writes the resource, and
-- removed when it is deleted. Text columns use the "C" collation so prefix LIKE can use btrees.

-- token: Coding, CodeableConcept, Identifier, ContactPoint, code, boolean, id, string.
-- system NULL = no system. text = normalized display/text for :text. Identifier.type codings are
-- stored under code '<code>:of-type' with system = 'type-system|type-code'; Reference.identifier
-- values under '<code>:identifier'.
CREATE TABLE sp_token (
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  code          text COLLATE "C" NOT NULL,
  system        text COLLATE "C",
  value         text COLLATE "C",
  text          text COLLATE "C"
);
CREATE INDEX sp_token_value ON sp_token (resource_type, code, value, system);
CREATE INDEX sp_token_system ON sp_token (resource_type, code, system) WHERE value IS NULL;
CREATE INDEX sp_token_text ON sp_token (resource_type, code, text) WHERE text IS NOT NULL;
CREATE INDEX sp_token_resource ON sp_token (resource_type, resource_id, code);

-- string: norm = lower case without accents (default starts-with, :contains); value = as written (:exact).
CREATE TABLE sp_string (
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  code          text COLLATE "C" NOT NULL,
  norm          text COLLATE "C" NOT NULL,
  value         text COLLATE "C" NOT NULL
);
CREATE INDEX sp_string_norm ON sp_string (resource_type, code, norm);
CREATE INDEX sp_string_resource ON sp_string (resource_type, resource_id, code);

-- reference: target_type/target_id for local (relative) references; url = the reference as
-- written (absolute URLs, canonicals without |version, logical references).
CREATE TABLE sp_reference (
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  code          text COLLATE "C" NOT NULL,
  target_type   text COLLATE "C",
  target_id     text COLLATE "C",
  url           text COLLATE "C"
);
CREATE INDEX sp_reference_target ON sp_reference (target_id, target_type, code, resource_type) INCLUDE (resource_id);
CREATE INDEX sp_reference_url ON sp_reference (resource_type, code, url) WHERE url IS NOT NULL;
CREATE INDEX sp_reference_resource ON sp_reference (resource_type, resource_id, code);

-- date: every value as the range [low, high) it stands for (precision, Period, Timing bounds).
CREATE TABLE sp_date (
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  code          text COLLATE "C" NOT NULL,
  low           timestamptz NOT NULL,
  high          timestamptz NOT NULL
);
CREATE INDEX sp_date_low ON sp_date (resource_type, code, low);
CREATE INDEX sp_date_high ON sp_date (resource_type, code, high);
CREATE INDEX sp_date_resource ON sp_date (resource_type, resource_id, code);

CREATE TABLE sp_number (
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  code          text COLLATE "C" NOT NULL,
  value         numeric NOT NULL
);
CREATE INDEX sp_number_value ON sp_number (resource_type, code, value);
CREATE INDEX sp_number_resource ON sp_number (resource_type, resource_id, code);

CREATE TABLE sp_quantity (
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  code          text COLLATE "C" NOT NULL,
  value         numeric NOT NULL,
  system        text COLLATE "C",
  unit_code     text COLLATE "C",
  unit          text COLLATE "C"
);
CREATE INDEX sp_quantity_value ON sp_quantity (resource_type, code, value);
CREATE INDEX sp_quantity_resource ON sp_quantity (resource_type, resource_id, code);

CREATE TABLE sp_uri (
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  code          text COLLATE "C" NOT NULL,
  value         text COLLATE "C" NOT NULL
);
CREATE INDEX sp_uri_value ON sp_uri (resource_type, code, value);
CREATE INDEX sp_uri_resource ON sp_uri (resource_type, resource_id, code);

-- composite: one row per combination of component values, components joined by '$' in the
-- normalized form the query side builds (token components as system|code and code alone).
CREATE TABLE sp_composite (
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  code          text COLLATE "C" NOT NULL,
  value         text COLLATE "C" NOT NULL
);
CREATE INDEX sp_composite_value ON sp_composite (resource_type, code, value);
CREATE INDEX sp_composite_resource ON sp_composite (resource_type, resource_id, code);

-- Finds rows still indexed with an older parameter set (kanplan reindex).
CREATE INDEX resource_index_hash ON resource (index_hash, resource_type, id) WHERE NOT deleted;
