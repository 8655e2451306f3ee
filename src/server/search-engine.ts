import type { SearchService } from '../fhir/context.ts';
import { createSearchIndexWriter, describeSearchParameters, findMatchingIds, findMatchingIdsOfMany, searchResources } from '../search/index.ts';
import type { SearchIndexWriter } from '../store/repository.ts';

/** The search engine the server runs with (src/search/). */
export function searchEngine(baseUrl?: string): SearchService & { indexWriter: SearchIndexWriter } {
  return {
    indexWriter: createSearchIndexWriter({ baseUrl }),
    searchResources,
    findMatchingIds,
    findMatchingIdsOfMany,
    describeSearchParameters,
  };
}
