import type { SearchService } from '../fhir/context.ts';
import { notSupported } from '../fhir/outcomes.ts';
import type { SearchIndexWriter } from '../store/repository.ts';

/** The search engine the server runs with (src/search/). */
export function searchEngine(): SearchService & { indexWriter: SearchIndexWriter } {
  return {
    indexWriter: { fingerprint: 'none', index: async () => undefined, remove: async () => undefined },
    searchResources: async () => {
      throw notSupported('Search is not available yet.');
    },
    findMatchingIds: async () => {
      throw notSupported('Search is not available yet.');
    },
    describeSearchParameters: () => [],
  };
}
