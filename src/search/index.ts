/** The search engine's contract with the server (src/server/search-engine.ts), the CLI, tests and benchmarks. */
export { createSearchIndexParticipant } from './index-writer.ts';
export { searchResources } from './searchset.ts';
export { explainSearch } from './page-query.ts';
export { findMatchingIds, findMatchingIdsOfMany, type MatchCriteria } from './conditional-matches.ts';
export type { AccessPermission, GrantReach, SearchAccess, SearchInput, TypeAccess } from './search-request.ts';
export { grantedResources, reachesResource } from './granted-resources.ts';
export { reindex, type ReindexProgress } from './reindex.ts';
export { everythingPage, EVERYTHING_REFERENCED_TYPES, type EverythingPosition, type EverythingQuery, type EverythingRow } from './patient-everything.ts';
export { exportBatch, exportBatchStatement, typeFilterParams, type AssociatedProvenance, type ExportBatchQuery } from './export-batch.ts';
export { matchesContent, parseContentCriteria, type ContentCriteria } from './content-match.ts';
export { extractIndexRows } from './extract.ts';
export type { IndexRows } from './index-rows.ts';
