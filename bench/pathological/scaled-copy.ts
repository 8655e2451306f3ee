/**
 * A large PostgreSQL database for the pathological-search benchmark, made in minutes instead of
 * hours: a freshly migrated schema filled with `copies` copies of a loaded benchmark schema's
 * members (bench:export's `bench_export_<size>`, read in one snapshot and never written). Copy k
 * suffixes every id of a member's resources with `-k{k}`, and the reference index rows that
 * point at member resources likewise, so each copy is a separate set of members whose includes
 * and chains stay inside it. The resources' JSON is shared (its references name copy 0): the
 * benchmark measures search cost, which the index rows decide. Conformance resources are copied
 * once. Secondary indexes are dropped for the load and rebuilt after (faster than maintaining
 * them row by row).
 */
import { openDatabase, type SqlExecutor } from '../../src/store/database.ts';
import { migrate } from '../../src/store/migrate.ts';

/** Resource types installed by the server itself, copied once. */
const CONFORMANCE = ['StructureDefinition', 'ValueSet', 'CodeSystem', 'SearchParameter', 'OperationDefinition', 'ImplementationGuide', 'CapabilityStatement', 'NamingSystem', 'ConceptMap'];
const INDEX_TABLES = ['sp_composite', 'sp_date', 'sp_number', 'sp_quantity', 'sp_string', 'sp_token', 'sp_uri'];

export interface ScaledCopy {
  readonly resources: number;
  readonly copies: number;
  readonly seconds: number;
}

const columnsOf = async (db: SqlExecutor, schema: string, table: string): Promise<string[]> =>
  (await db.query<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, [schema, table])).map((r) => r.column_name);

/** Builds `target` (dropped first) from `source` so that it holds about `resources` resources. */
export async function buildScaledCopy(url: string, source: string, target: string, resources: number, log: (line: string) => void): Promise<ScaledCopy> {
  const started = performance.now();
  const admin = await openDatabase({ databaseUrl: url, maxConnections: 1 });
  await admin.exec(`DROP SCHEMA IF EXISTS ${target} CASCADE; CREATE SCHEMA ${target}`);
  await admin.close();
  const db = await openDatabase({ databaseUrl: url, schema: target, maxConnections: 1 });
  try {
    await migrate(db);
    const clinical = `resource_type <> ALL(ARRAY[${CONFORMANCE.map((t) => `'${t}'`).join(',')}])`;
    const indexes = await db.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename IN ('resource', 'sp_reference', ${INDEX_TABLES.map((t) => `'${t}'`).join(',')}) AND indexname NOT LIKE '%pkey'`,
      [target],
    );
    for (const index of indexes) await db.exec(`DROP INDEX ${target}.${index.indexname}`);
    const copies = await db.transaction(async (tx) => {
      // One snapshot of a source that may still be loading.
      await tx.exec('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      const [{ n }] = await tx.query<{ n: string }>(`SELECT count(*) AS n FROM ${source}.resource WHERE ${clinical}`);
      const copies = Math.max(1, Math.ceil(resources / Number(n)));
      log(`source ${source}: ${n} member resources; ${copies} copies`);
      const ks = `generate_series(0, ${copies - 1}) AS k`;
      const suffixed = (column: string) => `CASE WHEN k = 0 THEN ${column} ELSE ${column} || '-k' || k END`;
      await tx.exec(`DELETE FROM resource WHERE NOT ${clinical}`);
      const resourceColumns = await columnsOf(tx, target, 'resource');
      const pick = (columns: string[], replace: Record<string, string>) => columns.map((c) => replace[c] ?? c).join(', ');
      await tx.exec(`INSERT INTO resource (${resourceColumns.join(', ')}) SELECT ${pick(resourceColumns, {})} FROM ${source}.resource WHERE NOT ${clinical}`);
      await tx.exec(`INSERT INTO resource (${resourceColumns.join(', ')}) SELECT ${pick(resourceColumns, { id: suffixed('id') })} FROM ${source}.resource, ${ks} WHERE ${clinical}`);
      log(`resource rows copied (${Math.round((performance.now() - started) / 1000)} s)`);
      // History: copy 0 only (the benchmark reads current versions).
      const historyColumns = await columnsOf(tx, target, 'resource_history');
      await tx.exec(`INSERT INTO resource_history (${historyColumns.join(', ')}) SELECT ${historyColumns.join(', ')} FROM ${source}.resource_history`);
      for (const table of [...INDEX_TABLES, 'sp_reference']) {
        const columns = await columnsOf(tx, target, table);
        const replace: Record<string, string> = { resource_id: `CASE WHEN ${clinical} THEN ${suffixed('resource_id')} ELSE resource_id END` };
        if (table === 'sp_reference') {
          replace.target_id = `CASE WHEN target_id IS NULL OR target_type = ANY(ARRAY[${CONFORMANCE.map((t) => `'${t}'`).join(',')}]) THEN target_id ELSE ${suffixed('target_id')} END`;
        }
        await tx.exec(`INSERT INTO ${table} (${columns.join(', ')}) SELECT ${pick(columns, replace)} FROM ${source}.${table}, ${ks} WHERE k = 0 OR ${clinical}`);
        log(`${table} copied (${Math.round((performance.now() - started) / 1000)} s)`);
      }
      await tx.exec(`SELECT setval('tx_seq', (SELECT last_value FROM ${source}.tx_seq))`);
      await tx.exec(`INSERT INTO transaction_point SELECT * FROM ${source}.transaction_point`);
      return copies;
    });
    for (const index of indexes) await db.exec(index.indexdef);
    log(`indexes rebuilt (${Math.round((performance.now() - started) / 1000)} s)`);
    await db.exec('ANALYZE');
    const [{ n }] = await db.query<{ n: string }>('SELECT count(*) AS n FROM resource');
    return { resources: Number(n), copies, seconds: Math.round((performance.now() - started) / 1000) };
  } finally {
    await db.close();
  }
}
