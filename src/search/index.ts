/** The search engine's contract with the REST layer (src/fhir/) and the CLI. */
export { createSearchIndexParticipant } from './index-writer.ts';
export { searchResources, findMatchingIds, type SearchInput } from './search.ts';
export { findMatchingIdsOfMany } from './conditional-matches.ts';
export { describeSearchParameters, registerSearchParameters } from './parameters.ts';
export { reindex, type ReindexProgress } from './reindex.ts';
