-- Composite parameters whose last component is a quantity, number or date (Observation
-- code-value-quantity, code-value-date, context-type-quantity, ...): the key of the other
-- components stays in `value`, the last component's value goes into these range columns and is
-- compared with the prefixes of its own type (https://hl7.org/fhir/R4/search.html#composite).
ALTER TABLE sp_composite
  ADD COLUMN num numeric,
  ADD COLUMN system text COLLATE "C",
  ADD COLUMN unit_code text COLLATE "C",
  ADD COLUMN unit text COLLATE "C",
  ADD COLUMN low timestamptz,
  ADD COLUMN high timestamptz;
