import type { Resource } from '@medplum/fhirtypes';
import type { Repository } from '../store/repository.ts';

function withoutMeta(resource: Resource): string {
  const { meta: _meta, ...rest } = resource;
  return JSON.stringify(rest);
}

/**
 * Stores the server's own conformance resources (the Kansas StructureDefinitions, ValueSets,
 * CodeSystems, SearchParameters, OperationDefinitions, ImplementationGuide) under their ids, so
 * clients read and search them like any resource (`GET /fhir/StructureDefinition?url=...`).
 * Runs at every start in one transaction; an unchanged resource is not written again, so its
 * version only moves when the package changes.
 */
export async function installConformanceResources(repo: Repository, resources: readonly Resource[]): Promise<number> {
  return repo.transaction(async (tx) => {
    let written = 0;
    for (const resource of resources) {
      if (!resource.id) {
        throw new Error(`Conformance resource ${resource.resourceType} has no id; every packaged artifact needs one.`);
      }
      const current = await tx.readCurrent(resource.resourceType, resource.id, true);
      if (current?.resource && !current.deleted && withoutMeta(current.resource) === withoutMeta(resource)) {
        continue;
      }
      await tx.update({ ...resource, id: resource.id }, { current });
      written++;
    }
    return written;
  });
}
