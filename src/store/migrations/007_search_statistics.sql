-- Extended statistics for the search-index tables. The planner multiplies the selectivities of
-- resource_type, code, system and value as if they were independent, so a common token such as
-- CarePlan category = pcsp (one row per plan) was estimated at one row, and the second
-- parameter of CarePlan?patient=…&category=… was probed by scanning all pcsp rows per
-- candidate instead of by resource id (10 ms instead of 1.5 ms with 1,000 members;
-- bench/RESULTS.md). MCV lists and functional dependencies over the columns a search filters on
-- together give the real frequencies (https://www.postgresql.org/docs/current/planner-stats.html#PLANNER-STATS-EXTENDED).
CREATE STATISTICS sp_token_value_stats (dependencies, mcv) ON resource_type, code, system, value FROM sp_token;
CREATE STATISTICS sp_reference_target_stats (dependencies, mcv) ON resource_type, code, target_type FROM sp_reference;
CREATE STATISTICS sp_string_code_stats (dependencies, mcv) ON resource_type, code, norm FROM sp_string;
-- They are filled by the next ANALYZE: autovacuum's, or kanplan's own where autovacuum is off
-- (src/store/planner-statistics.ts).
