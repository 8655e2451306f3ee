import type { SearchService } from '../fhir/context.ts';
import { createSearchIndexParticipant, describeSearchParameters, findMatchingIds, findMatchingIdsOfMany, searchResources } from '../search/index.ts';
import type { WriteParticipant } from '../store/write-participant.ts';

/** The search engine the server runs with (src/search/), and the index it keeps in step with every write. */
export function searchEngine(baseUrl?: string): SearchService & { indexParticipant: WriteParticipant } {
  return {
    indexParticipant: createSearchIndexParticipant({ baseUrl }),
    searchResources,
    findMatchingIds,
    findMatchingIdsOfMany,
    describeSearchParameters,
  };
}
