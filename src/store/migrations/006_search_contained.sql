-- Contained resources (https://hl7.org/fhir/R4/search.html#contained) are searchable with
-- _contained=true|both. Their index rows live in the same tables, under the container's
-- (resource_type, resource_id) so that every existing delete of a resource's rows removes them
-- too, with contained_id = the contained resource's id (NULL on the container's own rows) and
-- code '<ContainedType>#<code>' (membership: '<ContainedType>#_id' in sp_token). No query for
-- a top-level parameter ever binds a code containing '#', so default searches keep their index
-- paths and never read these rows. A nullable column without default is a catalog-only change.
ALTER TABLE sp_token ADD COLUMN contained_id text COLLATE "C";
ALTER TABLE sp_string ADD COLUMN contained_id text COLLATE "C";
ALTER TABLE sp_reference ADD COLUMN contained_id text COLLATE "C";
ALTER TABLE sp_date ADD COLUMN contained_id text COLLATE "C";
ALTER TABLE sp_number ADD COLUMN contained_id text COLLATE "C";
ALTER TABLE sp_quantity ADD COLUMN contained_id text COLLATE "C";
ALTER TABLE sp_uri ADD COLUMN contained_id text COLLATE "C";
ALTER TABLE sp_composite ADD COLUMN contained_id text COLLATE "C";
