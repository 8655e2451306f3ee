import type { CodeSystem } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { installConformanceResources } from '../../src/server/conformance-install.ts';
import type { Database } from '../../src/store/database.ts';
import type { Repository } from '../../src/store/repository.ts';
import { SqlRepository } from '../../src/store/sql-repository.ts';
import { loadConformance } from '../../src/conformance/conformance.ts';
import { createSearchIndexParticipant } from '../../src/search/index.ts';
import { loadBaseDefinitions } from '../../src/conformance/base-definitions.ts';
import { openTestDatabase, testDatabases } from '../harness.ts';

const codeSystem: CodeSystem = {
  resourceType: 'CodeSystem',
  id: 'ks-test-install',
  url: 'https://kanplan.org/fhir/CodeSystem/ks-test-install',
  status: 'draft',
  content: 'complete',
  concept: [{ code: 'a', display: 'A' }],
};

describe.each(testDatabases)('conformance resource installation on %s', (kind) => {
  let db: Database;
  let repo: Repository;
  beforeAll(async () => {
    loadBaseDefinitions();
    db = await openTestDatabase(kind);
    repo = new SqlRepository(db, { participants: [createSearchIndexParticipant(loadConformance().searchParameters)] });
  });
  afterAll(async () => {
    await db?.close();
  });

  test('writes new and changed artifacts only, so versions move only when the package changes', async () => {
    expect(await installConformanceResources(repo, [codeSystem])).toBe(1);
    expect(await installConformanceResources(repo, [codeSystem])).toBe(0);
    expect((await repo.readCurrent('CodeSystem', 'ks-test-install'))?.versionId).toBe(1);
    const changed = { ...codeSystem, concept: [...(codeSystem.concept ?? []), { code: 'b', display: 'B' }] };
    expect(await installConformanceResources(repo, [changed])).toBe(1);
    expect((await repo.readCurrent('CodeSystem', 'ks-test-install'))?.versionId).toBe(2);
  });
});
