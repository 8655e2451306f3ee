import type { AuditEvent, Bundle, Provenance } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import type { AccessContext } from '../../src/auth/access.ts';
import { loadConformance } from '../../src/conformance/conformance.ts';
import { auditEventOf, interactionOf } from '../../src/fhir/audit/audit-event.ts';
import { ReadEventGroups } from '../../src/fhir/audit/read-event-groups.ts';
import type { FhirRequest, FhirResponse } from '../../src/fhir/request.ts';
import { DocumentProvenance, provenanceOf, writeAgents } from '../../src/fhir/writes/provenance.ts';
import { auditEventIndexRows, provenanceIndexRows } from '../../src/search/record-rows.ts';
import { extractIndexRows, extractIndexRowsWithFhirPath } from '../../src/search/extract.ts';
import type { IndexRows } from '../../src/search/index-rows.ts';

const BASE = 'http://127.0.0.1:8080/fhir';
const conformance = loadConformance();
const user: AccessContext = { subject: 'user-fictional-cc', scopes: [], fhirUser: 'PractitionerRole/cc-fictional', clientId: 'care-app-fictional' };
const system: AccessContext = { subject: 'mco-system-fictional', scopes: [] };

const request = (method: FhirRequest['method'], path: string, query: [string, string][] = [], body?: unknown): FhirRequest => ({ method, path, query, headers: {}, body });

function eventOf(req: FhirRequest, access: AccessContext | undefined, status: number, response?: FhirResponse): AuditEvent {
  return auditEventOf(req, interactionOf(req) as NonNullable<ReturnType<typeof interactionOf>>, access, { status, response, diagnostics: status >= 400 ? 'refused' : undefined }, BASE);
}

const sorted = (rows: IndexRows): Record<string, string[]> =>
  Object.fromEntries(Object.entries(rows).map(([table, list]) => [table, (list as unknown[]).map((row) => JSON.stringify(row)).sort()]));

const transactionResponse: Bundle = {
  resourceType: 'Bundle',
  type: 'transaction-response',
  entry: [{ response: { status: '201 Created', location: `${BASE}/Goal/g-1/_history/1` } }, { response: { status: '200 OK', location: `${BASE}/Patient/p-2/_history/3` } }],
};

const events: [string, AuditEvent][] = [
  ['a read of a Goal with its patient', eventOf(request('GET', 'Goal/g-1'), user, 200, { status: 200, etag: 'W/"2"', resourceJson: '{"resourceType":"Goal","id":"g-1","subject":{"reference":"Patient/p-1"}}' })],
  ['a read of a Patient', eventOf(request('GET', 'Patient/p-1'), user, 200, { status: 200, etag: 'W/"1"', resourceJson: '{"resourceType":"Patient","id":"p-1"}' })],
  ['a search with a query', eventOf(request('GET', 'CarePlan', [['patient', 'Patient/p-1'], ['category', 'pcsp']]), user, 200)],
  ['a create by a system token', eventOf(request('POST', 'Observation'), system, 201, { status: 201, location: `${BASE}/Observation/o-1/_history/1`, resource: { resourceType: 'Observation', id: 'o-1', status: 'final', code: {}, subject: { reference: 'Patient/p-1' } } })],
  ['a refused request without a token', eventOf(request('GET', 'Patient/p-9'), undefined, 401)],
  ['a forbidden delete', eventOf(request('DELETE', 'Goal/g-1'), user, 403)],
  ['a transaction', eventOf(request('POST', '', [], { resourceType: 'Bundle', type: 'transaction' }), user, 200, { status: 200, resource: transactionResponse })],
  ['an operation', eventOf(request('GET', 'Patient/p-1/$everything'), user, 200)],
];
// The grouped read events (AUDIT_READ_GROUPING): a period and one entity per request.
const groups = new ReadEventGroups();
for (const [, event] of events.slice(0, 3)) groups.add({ ...event, id: 'x' } as AuditEvent & { id: string });
events.push(...groups.take().map((event, n): [string, AuditEvent] => [`grouped reads ${n + 1}`, event]));

describe('AuditEvent index rows without FHIRPath', () => {
  it.each(events)('are the FHIRPath rows for %s', (_, event) => {
    const fast = auditEventIndexRows(conformance.searchParameters, event, BASE);
    expect(fast).toBeDefined();
    expect(sorted(fast as IndexRows)).toEqual(sorted(extractIndexRowsWithFhirPath(conformance.searchParameters, event, { baseUrl: BASE })));
  });

  it('leave an AuditEvent with other elements (one a client sent) to FHIRPath', () => {
    const sent: AuditEvent = { ...(events[0][1] as AuditEvent), purposeOfEvent: [{ text: 'treatment' }], agent: [{ requestor: true, role: [{ text: 'nurse' }], who: { reference: 'Practitioner/x' } }] };
    expect(auditEventIndexRows(conformance.searchParameters, sent, BASE)).toBeUndefined();
    expect(sorted(extractIndexRows(conformance.searchParameters, sent, { baseUrl: BASE }))).toEqual(sorted(extractIndexRowsWithFhirPath(conformance.searchParameters, sent, { baseUrl: BASE })));
  });
});

const documentProvenance = new DocumentProvenance();
documentProvenance.note({ resourceType: 'CarePlan', id: 'cp-1', versionId: 3 });
documentProvenance.note({ resourceType: 'Patient', id: 'p-1', versionId: 2 });
const provenances: [string, Provenance][] = [
  ['a create by a user with a client app, on behalf of an organization', provenanceOf({ resourceType: 'Goal', id: 'g-1', versionId: 1 }, 'create', writeAgents(user, { reference: 'Organization/o-1' }))],
  ['an update of a Patient by a system token', provenanceOf({ resourceType: 'Patient', id: 'p-1', versionId: 4 }, 'update', writeAgents(system, undefined))],
  ['a delete', provenanceOf({ resourceType: 'Task', id: 't-1', versionId: 3 }, 'delete', writeAgents(user, undefined))],
  [
    "a document import's",
    documentProvenance.complete(
      {
        resourceType: 'Provenance',
        id: 'import-1',
        target: [{ reference: 'CarePlan/cp-1' }, { reference: 'Patient/p-1' }],
        recorded: '2026-12-06T10:00:00Z',
        activity: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation', code: 'UPDATE' }] },
        agent: [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code: 'author' }] }, who: { display: 'Fictional Author' } }],
        entity: [{ role: 'source', what: { display: 'PCSP document KS-PCSP-0001' } }],
      },
      writeAgents(user, { reference: 'Organization/o-1' }, 'enterer'),
    ),
  ],
];

describe('Provenance index rows without FHIRPath', () => {
  it.each(provenances)('are the FHIRPath rows for %s', (_, provenance) => {
    const fast = provenanceIndexRows(conformance.searchParameters, provenance, BASE);
    expect(fast).toBeDefined();
    expect(sorted(fast as IndexRows)).toEqual(sorted(extractIndexRowsWithFhirPath(conformance.searchParameters, provenance, { baseUrl: BASE })));
  });

  it('leave a Provenance with other elements to FHIRPath', () => {
    const signed: Provenance = { ...provenances[0][1], signature: [{ type: [{ code: '1.2.840.10065.1.12.1.1' }], when: '2026-12-06T10:00:00Z', who: { reference: 'Practitioner/x' } }] };
    expect(provenanceIndexRows(conformance.searchParameters, signed, BASE)).toBeUndefined();
  });
});
