import { readFileSync } from 'node:fs';
import type { Bundle, Goal, Parameters, Patient } from '@medplum/fhirtypes';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { accessOf } from '../../../src/auth/access.ts';
import { loadConfig } from '../../../src/config.ts';
import type { FhirContext } from '../../../src/fhir/context.ts';
import type { FhirRequest, FhirResponse } from '../../../src/fhir/request.ts';
import { dispatch } from '../../../src/fhir/router.ts';
import { createFhirContext } from '../../../src/server/server.ts';
import type { Database, SqlExecutor, SqlParam } from '../../../src/store/database.ts';
import { system } from '../../../src/workflow/kansas-workflow.ts';
import { openTestDatabase, testDatabases } from '../../harness.ts';

const BASE = 'http://example.org/fhir';

function request(method: FhirRequest['method'], path: string, body?: unknown, contentType = 'application/fhir+json'): FhirRequest {
  return { method, path, query: [], headers: {}, body, contentType };
}

interface Sent {
  readonly sql: string;
  readonly params: readonly SqlParam[];
}

/** Every statement sent, on the database and in its transactions (BEGIN and COMMIT as such). */
function recordingStatements(db: Database): Database & { sent: Sent[] } {
  const sent: Sent[] = [];
  const recording = (executor: SqlExecutor): SqlExecutor => ({
    query: (sql, params) => {
      sent.push({ sql, params: params ?? [] });
      return executor.query(sql, params);
    },
    exec: (sql) => {
      sent.push({ sql, params: [] });
      return executor.exec(sql);
    },
  });
  return {
    ...db,
    ...recording(db),
    sent,
    transaction: (fn) => {
      sent.push({ sql: 'BEGIN', params: [] });
      return db.transaction((tx) => fn(recording(tx)));
    },
  };
}

const writesOf = (sent: readonly Sent[]): Sent[] => sent.filter((s) => s.sql.startsWith('WITH v'));
const lockedReadsOf = (sent: readonly Sent[]): Sent[] => sent.filter((s) => /^SELECT .* FROM resource WHERE .*FOR UPDATE$/s.test(s.sql));
const planLookupsOf = (sent: readonly Sent[]): Sent[] => sent.filter((s) => s.params.includes(system.planId) && s.sql.startsWith('SELECT r.id'));

/**
 * The statements a write sends (bench/write-profile.ts counts them per import): the rules and
 * consequences of the workflow must not turn a create into a transaction or an import into one
 * statement per resource.
 */
describe.each(testDatabases)('the statements of writes on %s', (kind) => {
  let db: Database & { sent: Sent[] };
  let ctx: FhirContext;
  let patient: string;
  const send = (req: FhirRequest): Promise<FhirResponse> => dispatch(ctx, req);

  beforeAll(async () => {
    db = recordingStatements(await openTestDatabase(kind));
    const base = createFhirContext(loadConfig({}, { baseUrl: BASE, loadDemoData: false }), db, pino({ level: 'silent' }));
    // The load benchmark's caller: a backend-services token without fhirUser.
    ctx = { ...base, access: accessOf({ sub: 'fictional-loader', scope: 'system/*.cruds' }) };
    patient = ((await send(request('POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Statementson' }] }))).resource as Patient).id as string;
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(() => {
    db.sent.length = 0;
  });

  it('creates a Goal that names no plan item in one statement, though a write consequence follows Goals', async () => {
    const goal: Goal = { resourceType: 'Goal', lifecycleStatus: 'active', description: { text: 'Walk to the park' }, subject: { reference: `Patient/${patient}` } };
    const response = await send(request('POST', 'Goal', goal));
    expect(response.status).toBe(201);
    expect(db.sent.map((s) => s.sql.slice(0, 6))).toEqual(['WITH v']);
    // The one statement holds the Goal and its Provenance.
    const target = `Goal/${response.resource?.id}/_history/1`;
    const provenance = await db.query<{ n: string }>(`SELECT count(*) AS n FROM resource WHERE resource_type = 'Provenance' AND content::jsonb -> 'target' -> 0 ->> 'reference' = $1`, [target]);
    expect(Number(provenance[0]?.n)).toBe(1);
  });

  it('creates a PCSP CarePlan on its own in one statement: a new plan is no change of needs', async () => {
    const pcsp = JSON.parse(readFileSync(new URL('../../../bundles/examples/valid/ks-pcsp-careplan.json', import.meta.url), 'utf8'));
    const { id: _id, ...body } = pcsp;
    const response = await send(request('POST', 'CarePlan', { ...body, subject: { reference: `Patient/${patient}` } }));
    expect(response.status).toBe(201);
    expect(db.sent.map((s) => s.sql.slice(0, 6))).toEqual(['WITH v']);
  });

  it("opens a transaction for a Goal that is a plan's item, so its change-of-needs consequence can write with it", async () => {
    const goal: Goal = {
      resourceType: 'Goal',
      identifier: [{ system: system.planItem, value: 'PCSP-FICTIONAL-STATEMENTS/goal/1' }],
      lifecycleStatus: 'active',
      description: { text: 'Cook a meal with support' },
      subject: { reference: `Patient/${patient}` },
    };
    expect((await send(request('POST', 'Goal', goal))).status).toBe(201);
    expect(db.sent[0]?.sql).toBe('BEGIN');
  });

  it('reads every resource a transaction updates under lock in one statement, and an update after it sees the earlier write', async () => {
    const created = await Promise.all(
      ['one', 'two', 'three'].map(async (text) => (await send(request('POST', 'Goal', { resourceType: 'Goal', lifecycleStatus: 'proposed', description: { text }, subject: { reference: `Patient/${patient}` } }))).resource as Goal & { id: string }),
    );
    db.sent.length = 0;
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: created.map((goal) => ({ resource: { ...goal, lifecycleStatus: 'active' }, request: { method: 'PUT', url: `Goal/${goal.id}` } })),
    };
    const response = (await send(request('POST', '', bundle))).resource as Bundle;
    expect(response.entry?.map((e) => e.response?.status)).toEqual(['200 OK', '200 OK', '200 OK']);
    const locked = lockedReadsOf(db.sent);
    expect(locked).toHaveLength(1);
    expect(locked[0]?.params[1]).toEqual(created.map((g) => g.id).sort());
    // The three updates and their Provenances go in one write statement.
    expect(writesOf(db.sent)).toHaveLength(1);
    // A second update in a later transaction reads the version the first wrote.
    const again: Bundle = { ...bundle, entry: created.map((goal) => ({ resource: { ...goal, lifecycleStatus: 'on-hold' }, request: { method: 'PUT', url: `Goal/${goal.id}` } })) };
    const second = (await send(request('POST', '', again))).resource as Bundle;
    expect(second.entry?.map((e) => e.response?.etag)).toEqual(['W/"3"', 'W/"3"', 'W/"3"']);
  });

  it("imports a document for a system token without looking up each written item's plan", async () => {
    const document = JSON.parse(readFileSync(new URL('../../../bundles/documents/casey-fictional.pcsp.json', import.meta.url), 'utf8'));
    const response = await send(request('POST', 'CarePlan/$import-document', document, 'application/json'));
    expect(response.status).toBe(201);
    const written = ((response.resource as Parameters).parameter?.find((p) => p.name === 'return')?.resource as Bundle).entry ?? [];
    expect(written.length).toBeGreaterThan(10);
    // The import's own lookup of a previous version of the plan, and nothing per item.
    expect(planLookupsOf(db.sent)).toHaveLength(1);
    // Every entry, the import's Provenance included, goes in one write statement.
    expect(writesOf(db.sent)).toHaveLength(1);
  });

  it("imports a document for a targeted case manager looking up no item's plan: the plan written first is known", async () => {
    const role = (await send(request('POST', 'PractitionerRole', {
      resourceType: 'PractitionerRole',
      active: true,
      code: [{ coding: [{ system: system.practitionerRole, code: 'targeted-case-manager' }] }],
    }))).resource?.id;
    const tcm: FhirContext = { ...ctx, access: accessOf({ sub: 'tcm-fictional', scope: 'user/*.cruds', fhirUser: `PractitionerRole/${role}` }) };
    const document = JSON.parse(readFileSync(new URL('../../../bundles/documents/sam-testperson.pcsp.json', import.meta.url), 'utf8'));
    db.sent.length = 0;
    const response = await dispatch(tcm, request('POST', 'CarePlan/$import-document', document, 'application/json'));
    expect(response.status).toBe(201);
    expect(planLookupsOf(db.sent)).toHaveLength(1);
    // Outside the import the item's plan is still looked up: a care coordinator may not add a PCSP goal.
    const cc = (await send(request('POST', 'PractitionerRole', {
      resourceType: 'PractitionerRole',
      active: true,
      code: [{ coding: [{ system: system.practitionerRole, code: 'mco-care-coordinator' }] }],
    }))).resource?.id;
    const coordinator: FhirContext = { ...ctx, access: accessOf({ sub: 'cc-fictional', scope: 'user/*.cruds', fhirUser: `PractitionerRole/${cc}` }) };
    const goal: Goal = {
      resourceType: 'Goal',
      identifier: [{ system: system.planItem, value: `${document.planId}/goal/G9` }],
      lifecycleStatus: 'proposed',
      description: { text: 'Visit my sister every month' },
      subject: { reference: `Patient/${patient}` },
    };
    await expect(dispatch(coordinator, request('POST', 'Goal', goal))).rejects.toMatchObject({
      status: 403,
      outcome: { issue: [expect.objectContaining({ diagnostics: expect.stringMatching(/^Rule ks-pcsp-bsp-author/) })] },
    });
  });
});
