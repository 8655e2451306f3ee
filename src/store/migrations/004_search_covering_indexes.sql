-- The per-resource indexes of the search tables also carry the compared values, so the EXISTS
-- probe of each additional search parameter ("does this candidate have status=requested?") is
-- an index-only scan instead of an index scan plus a heap visit (bench/RESULTS.md).
DROP INDEX sp_token_resource;
CREATE INDEX sp_token_resource ON sp_token (resource_type, resource_id, code, value, system);
DROP INDEX sp_string_resource;
CREATE INDEX sp_string_resource ON sp_string (resource_type, resource_id, code, norm);
DROP INDEX sp_reference_resource;
CREATE INDEX sp_reference_resource ON sp_reference (resource_type, resource_id, code, target_type, target_id);
DROP INDEX sp_date_resource;
CREATE INDEX sp_date_resource ON sp_date (resource_type, resource_id, code, low, high);
DROP INDEX sp_uri_resource;
CREATE INDEX sp_uri_resource ON sp_uri (resource_type, resource_id, code, value);
DROP INDEX sp_number_resource;
CREATE INDEX sp_number_resource ON sp_number (resource_type, resource_id, code, value);
