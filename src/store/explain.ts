import type { SqlExecutor, SqlParam } from './database.ts';

/** Statement names for the embedded database's EXPLAIN EXECUTE, unique in the process. */
let explained = 0;

/** A parameter value as an SQL literal of unknown type, which the prepared statement's parameter type takes. */
function literal(value: SqlParam): string {
  if (value === null) return 'NULL';
  if (value instanceof Date) return quote(value.toISOString());
  if (Array.isArray(value)) {
    const items = (value as readonly (string | number | null)[]).map((v) => (v === null ? 'NULL' : `"${String(v).replace(/["\\]/g, (c) => `\\${c}`)}"`));
    return quote(`{${items.join(',')}}`);
  }
  return quote(String(value));
}

function quote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * The plan a statement runs on, as EXPLAIN text (tests and benchmarks check plan shapes). On
 * PostgreSQL node-postgres sends each statement unnamed, so it is planned for its values:
 * EXPLAIN with the parameters is that plan. The embedded database runs statements prepared on
 * their generic plan (pglite.ts, pglite-statements.ts), planned without the values; EXPLAIN with
 * parameters would show a plan for the values instead, so here the statement is prepared in
 * the same session (same setting) and its EXECUTE explained. `sql`: the repository's executor, so
 * that inside a transaction it runs in that transaction.
 */
export async function explainAsRun(sql: SqlExecutor, driver: 'pglite' | 'postgres', statement: string, params: readonly SqlParam[], analyze = false): Promise<string> {
  const options = analyze ? '(ANALYZE, BUFFERS) ' : '';
  if (driver !== 'pglite') {
    const rows = await sql.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${options}${statement}`, params);
    return rows.map((row) => row['QUERY PLAN']).join('\n');
  }
  // The session already runs with plan_cache_mode = force_generic_plan (pglite.ts).
  const name = `kanplan_explain_${++explained}`;
  await sql.exec(`PREPARE ${name} AS ${statement}`);
  try {
    const args = params.length ? `(${params.map(literal).join(', ')})` : '';
    const rows = await sql.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${options}EXECUTE ${name}${args}`);
    return rows.map((row) => row['QUERY PLAN']).join('\n');
  } finally {
    await sql.exec(`DEALLOCATE ${name}`);
  }
}
