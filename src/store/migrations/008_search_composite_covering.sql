-- Combination indexes (src/search/combination-index.ts) drive searches from sp_composite: the
-- key lookup yields the resource ids, so the index carries them and the lookup is an index-only
-- scan instead of one heap visit per matching row (Task?owner=&status=: 69 -> 3 buffer reads for
-- 67 Tasks; bench/RESULTS-search.md).
DROP INDEX sp_composite_value;
CREATE INDEX sp_composite_value ON sp_composite (resource_type, code, value) INCLUDE (resource_id);
