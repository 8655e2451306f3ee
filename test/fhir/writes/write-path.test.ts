import { readFileSync } from 'node:fs';
import type { Bundle, Parameters, Patient, Resource, Task } from '@medplum/fhirtypes';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SYSTEM_ACCESS } from '../../../src/auth/access.ts';
import { loadConfig } from '../../../src/config.ts';
import type { FhirContext } from '../../../src/fhir/context.ts';
import type { FhirRequest, FhirResponse } from '../../../src/fhir/request.ts';
import { dispatch } from '../../../src/fhir/router.ts';
import type { ProposedWrite, WriteRule } from '../../../src/fhir/writes/write-rule.ts';
import { createFhirContext } from '../../../src/server/server.ts';
import type { Database } from '../../../src/store/database.ts';
import { countingStatements } from '../../search/db.ts';
import { openTestDatabase, testDatabases } from '../../harness.ts';

const BASE = 'http://example.org/fhir';
const CALLER = { subject: 'Practitioner/tcm-fictional-1', scopes: SYSTEM_ACCESS.scopes };

function request(method: FhirRequest['method'], path: string, body?: unknown, headers: FhirRequest['headers'] = {}, contentType = 'application/fhir+json'): FhirRequest {
  const [pathPart, search = ''] = path.split('?');
  return { method, path: pathPart, query: [...new URLSearchParams(search)], headers, body, contentType };
}

/** A rule that records what it is shown and refuses Tasks whose status is `rejected` by a caller. */
function recordingRule(seen: ProposedWrite[]): WriteRule {
  return {
    name: 'recording',
    check(write) {
      seen.push(write);
      const task = write.next as Task | undefined;
      if (task?.resourceType === 'Task' && task.status === 'rejected') {
        return { issues: [{ severity: 'error', code: 'forbidden', diagnostics: 'Task.status: only the owner may reject this Task.' }], rejectionStatus: 403 };
      }
      return { issues: [{ severity: 'information', code: 'informational', diagnostics: 'recorded' }] };
    },
  };
}

describe.each(testDatabases)('the write path on %s', (kind) => {
  let db: Database & { statements: number };
  let ctx: FhirContext;
  const seen: ProposedWrite[] = [];
  const send = (req: FhirRequest): Promise<FhirResponse> => dispatch(ctx, req);

  beforeAll(async () => {
    db = countingStatements(await openTestDatabase(kind));
    const base = createFhirContext(loadConfig({}, { baseUrl: BASE, loadDemoData: false }), db, pino({ level: 'silent' }));
    ctx = { ...base, access: CALLER, writeRules: [recordingRule(seen), ...base.writeRules] };
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(() => {
    seen.length = 0;
  });

  it('shows every rule the previous and next version and the caller, for create, update, patch and delete', async () => {
    const created = (await send(request('POST', 'Patient', { resourceType: 'Patient', gender: 'female' }))).resource as Patient;
    const id = created.id as string;
    await send(request('PUT', `Patient/${id}`, { resourceType: 'Patient', id, gender: 'other' }));
    await send(request('PATCH', `Patient/${id}`, [{ op: 'replace', path: '/gender', value: 'male' }], {}, 'application/json-patch+json'));
    await send(request('DELETE', `Patient/${id}`));
    expect(seen.map((w) => [w.interaction, (w.previous as Patient | undefined)?.gender, (w.next as Patient | undefined)?.gender])).toEqual([
      ['create', undefined, 'female'],
      ['update', 'female', 'other'],
      ['patch', 'other', 'male'],
      ['delete', 'male', undefined],
    ]);
    expect(seen.every((w) => w.caller.subject === CALLER.subject && w.id === id && w.resourceType === 'Patient')).toBe(true);
  });

  it("returns the rules' notes in the response's OperationOutcome", async () => {
    const response = await send(request('POST', 'Patient', { resourceType: 'Patient' }));
    expect(response.outcome?.issue?.map((i) => i.diagnostics)).toContain('recorded');
  });

  it('passes each entry of a transaction, a conditional create and an update-as-create through the rules', async () => {
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:0e7c2a36-5d35-4f55-9d0e-6f1d3c7a0001', resource: { resourceType: 'Patient', identifier: [{ system: 'urn:example:wp', value: 'wp-1' }] }, request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn:example:wp|wp-1' } },
        { resource: { resourceType: 'Task', status: 'requested', intent: 'order', for: { reference: 'urn:uuid:0e7c2a36-5d35-4f55-9d0e-6f1d3c7a0001' } }, request: { method: 'POST', url: 'Task' } },
        { resource: { resourceType: 'Goal', id: 'wp-goal', lifecycleStatus: 'proposed', description: { text: 'Walk to the mailbox' }, subject: { reference: 'urn:uuid:0e7c2a36-5d35-4f55-9d0e-6f1d3c7a0001' } }, request: { method: 'PUT', url: 'Goal/wp-goal' } },
      ],
    };
    const response = await send(request('POST', '', bundle));
    expect((response.resource as Bundle).entry?.map((e) => e.response?.status)).toEqual(['201 Created', '201 Created', '201 Created']);
    expect(seen.map((w) => `${w.interaction} ${w.resourceType}`)).toEqual(['create Patient', 'create Task', 'update Goal']);
    const patientId = seen[0].id;
    // Placeholders are rewritten before the rules see the resource.
    expect((seen[1].next as Task).for?.reference).toBe(`Patient/${patientId}`);
  });

  it("rejects a write with the rule's status and issues, and a transaction with such an entry writes nothing", async () => {
    const before = await db.query<{ n: string }>('SELECT count(*) AS n FROM resource_history');
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Patient', gender: 'unknown' }, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Task', status: 'rejected', intent: 'order' }, request: { method: 'POST', url: 'Task' } },
      ],
    };
    await expect(send(request('POST', '', bundle))).rejects.toMatchObject({
      status: 403,
      outcome: { issue: [expect.objectContaining({ diagnostics: expect.stringContaining('Bundle.entry[1] (POST Task): Task.status: only the owner may reject this Task.') })] },
    });
    const after = await db.query<{ n: string }>('SELECT count(*) AS n FROM resource_history');
    expect(after[0].n).toBe(before[0].n);
  });

  it('runs the rules on every resource $import-document writes', async () => {
    const document = readFileSync(new URL('../../../bundles/documents/casey-fictional.pcsp.json', import.meta.url), 'utf8');
    const response = await send(request('POST', 'CarePlan/$import-document', JSON.parse(document), {}, 'application/json'));
    const written = (response.resource as Parameters).parameter?.find((p) => p.name === 'return')?.resource as Bundle;
    expect(written.entry?.length).toBeGreaterThan(3);
    // One rule check per entry of the import's transaction, the import's own Provenance included.
    expect(seen).toHaveLength(written.entry?.length as number);
    expect(seen.map((w) => w.resourceType)).toEqual(expect.arrayContaining(['CarePlan', 'Patient', 'Provenance']));
  });

  it('reads a patched resource once, under lock, and records the version as a PATCH in history', async () => {
    const created = (await send(request('POST', 'Patient', { resourceType: 'Patient', gender: 'female' }))).resource as Resource;
    const locks: string[] = [];
    const counted = db as Database & { statements: number };
    const transaction = counted.transaction.bind(counted);
    counted.transaction = (fn) =>
      transaction((tx) =>
        fn({
          ...tx,
          query: (sql, params) => {
            if (/FROM resource WHERE resource_type = \$1 AND id = \$2/.test(sql)) locks.push(sql);
            return tx.query(sql, params);
          },
        }),
      );
    try {
      await send(request('PATCH', `Patient/${created.id}`, [{ op: 'replace', path: '/gender', value: 'other' }], {}, 'application/json-patch+json'));
    } finally {
      counted.transaction = transaction;
    }
    expect(locks).toHaveLength(1);
    expect(locks[0]).toMatch(/FOR UPDATE$/);
    const history = (await send(request('GET', `Patient/${created.id}/_history`))).resource as Bundle;
    expect(history.entry?.map((e) => e.request?.method)).toEqual(['PATCH', 'POST']);
  });

  it('keeps the current version of an update that changes nothing, after the rules passed', async () => {
    const created = (await send(request('POST', 'Patient', { resourceType: 'Patient', gender: 'female' }))).resource as Patient;
    const again = await send(request('PUT', `Patient/${created.id}`, { ...created }));
    expect(again.status).toBe(200);
    expect(again.resource?.meta?.versionId).toBe('1');
    expect(seen.map((w) => w.interaction)).toEqual(['create', 'update']);
  });
});
