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
  for (const resource of resources) {
    if (!resource.id) {
      throw new Error(`Conformance resource ${resource.resourceType} has no id; every packaged artifact needs one.`);
    }
  }
  const key = (r: Resource): string => `${r.resourceType}/${r.id}`;
  return repo.transaction(async (tx) => {
    // Processes started together on one database (the scale-out path) install one at a time:
    // otherwise each sees a resource missing, creates it, and all but one fail at start with a
    // concurrent create. The later ones then find everything stored and write nothing.
    await tx.lock(['kanplan:install-conformance-resources']);
    // One query for the stored versions: this runs at every start.
    const stored = new Map(
      (await tx.readMany(resources.map((r) => ({ resourceType: r.resourceType, id: r.id as string })))).map((r) => [key(r), withoutMeta(r)]),
    );
    const changed = resources.filter((resource) => stored.get(key(resource)) !== withoutMeta(resource));
    for (const resource of changed) {
      await tx.update({ ...resource, id: resource.id as string });
    }
    return changed.length;
  });
}
