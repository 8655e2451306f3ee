-- sp_reference.target_type / target_id join resource.resource_type / id (default collation) in
-- _include, _revinclude, chaining and _has. With COLLATE "C" on one side PostgreSQL cannot use
-- resource's primary key for that join (it chose a sequential scan of resource for _include), so
-- these two columns take the default collation like the resource key they point at.
ALTER TABLE sp_reference
  ALTER COLUMN target_type TYPE text COLLATE "default",
  ALTER COLUMN target_id TYPE text COLLATE "default";
