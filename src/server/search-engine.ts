import type { Conformance } from '../conformance/conformance.ts';
import type { SearchService } from '../fhir/context.ts';
import { createSearchIndexParticipant, everythingPage, exportBatch, exportBatchStatement, findMatchingIds, findMatchingIdsOfMany, grantedResources, reachesResource, searchResources } from '../search/index.ts';
import type { WriteParticipant } from '../store/write-participant.ts';

/**
 * The search engine the server runs with (src/search/), and the index it keeps in step with every
 * write, bound to the conformance's search parameters once: the participant writes the index rows
 * that the searches read.
 */
export function createSearchEngine(conformance: Conformance, baseUrl?: string): SearchService & { indexParticipant: WriteParticipant } {
  const parameters = conformance.searchParameters;
  return {
    indexParticipant: createSearchIndexParticipant(parameters, { baseUrl }),
    searchResources: (repo, input) => searchResources(conformance, repo, input),
    findMatchingIds: (repo, resourceType, query, limit, access) => findMatchingIds(conformance, repo, resourceType, query, limit, access),
    findMatchingIdsOfMany: (repo, criteria, limit, access) => findMatchingIdsOfMany(conformance, repo, criteria, limit, access),
    grantedResources: (repo, keys, access, permission) => grantedResources(conformance, repo, keys, access, permission),
    reachesResource: (resource, reach) => reachesResource(parameters, resource, reach, baseUrl),
    describeSearchParameters: (resourceType) => parameters.describe(resourceType),
    everythingPage: (repo, query) => everythingPage(conformance, repo, query),
    exportBatch: (repo, query) => exportBatch(conformance, repo, query),
    exportBatchStatement: (query) => exportBatchStatement(conformance, query),
  };
}
