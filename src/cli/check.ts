import type { Resource } from '@medplum/fhirtypes';
import { loadConfig } from '../config.ts';
import { loadConformance } from '../conformance/conformance.ts';
import type { SearchParameterRegistry } from '../conformance/search-parameters.ts';
import { findIndexDrift, type IndexDrift } from '../search/index-check.ts';
import { openDatabase, type Database } from '../store/database.ts';
import { currentResourcesAfter, findBrokenVersionChains, type BrokenVersionChain } from '../store/integrity.ts';
import { UsageError, defineCommand, type CommandIo } from './command.ts';

export interface CheckReport {
  readonly checked: number;
  /** Indexed with other search parameters: `kanplan reindex` rebuilds them; not compared. */
  readonly stale: number;
  readonly brokenChains: readonly BrokenVersionChain[];
  readonly drift: readonly IndexDrift[];
}

/**
 * Verifies a database after a crash, a restore or a suspected bug: every version chain is intact
 * (store/integrity.ts) and the search index rows of every current resource are exactly those its
 * content gives (search/index-check.ts). Reads only; safe while the server runs (a write made
 * during the check may show as drift: check again).
 */
export async function checkDatabase(db: Database, parameters: SearchParameterRegistry, baseUrl: string, batchSize = 500): Promise<CheckReport> {
  const brokenChains = await findBrokenVersionChains(db);
  const drift: IndexDrift[] = [];
  let checked = 0;
  let stale = 0;
  let after: { resourceType: string; id: string } | undefined;
  for (;;) {
    const page = await currentResourcesAfter(db, after, batchSize);
    if (page.length === 0) break;
    after = page[page.length - 1];
    const current = page.filter((row) => row.indexHash === parameters.fingerprint);
    stale += page.length - current.length;
    const resources = current.map((row) => ({ ...(JSON.parse(row.content) as Resource), resourceType: row.resourceType, id: row.id }) as Resource & { id: string });
    drift.push(...(await findIndexDrift(db, parameters, resources, { baseUrl })));
    checked += current.length;
  }
  return { checked, stale, brokenChains, drift };
}

/** Writes the report; 0 when all is well, 1 on any drift or broken chain. */
export function reportCheck(report: CheckReport, io: CommandIo): number {
  for (const chain of report.brokenChains) io.stdout.write(`version chain  ${chain.resourceType}/${chain.id}: ${chain.problem}\n`);
  for (const d of report.drift) io.stdout.write(`index drift    ${d.resourceType}/${d.id} in ${d.table}: ${d.missing} missing, ${d.extra} extra rows\n`);
  const problems = report.brokenChains.length + report.drift.length;
  io.stderr.write(
    `Checked ${report.checked} resources: ${report.brokenChains.length} broken version chains, ${report.drift.length} index drifts${report.stale ? `; ${report.stale} indexed with other search parameters (run kanplan reindex)` : ''}.\n`,
  );
  if (problems) io.stderr.write('Drift found. `kanplan reindex --all` rebuilds every index row from the resources; a broken version chain needs a restore from backup.\n');
  return problems ? 1 : 0;
}

export const checkCommand = defineCommand({
  name: 'check',
  summary: 'Verify version chains and that search index rows agree with the resources (exit 1 on drift)',
  description: 'Reads the configured database (DATABASE_URL or DATA_DIR). Exit codes: 0 consistent, 1 drift or broken chains found, 2 misused.',
  options: {
    batch: { type: 'string', placeholder: 'N', default: '500', description: 'Resources compared per query' },
  },
  async run({ values }, io) {
    const batchSize = Number(values.batch);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError('--batch takes a positive whole number.');
    const config = loadConfig();
    const { searchParameters } = loadConformance();
    const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, sharedBuffersBytes: config.embeddedSharedBuffersBytes });
    try {
      return reportCheck(await checkDatabase(db, searchParameters, config.baseUrl, batchSize), io);
    } finally {
      await db.close();
    }
  },
});
