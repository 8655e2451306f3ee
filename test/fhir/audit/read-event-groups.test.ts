import type { AuditEvent } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import type { AccessContext } from '../../../src/auth/access.ts';
import { auditEventOf, interactionOf } from '../../../src/fhir/audit/audit-event.ts';
import { MAX_REQUESTS_PER_EVENT, ReadEventGroups, type AuditedRead } from '../../../src/fhir/audit/read-event-groups.ts';
import type { FhirRequest, FhirResponse } from '../../../src/fhir/request.ts';

const BASE = 'http://127.0.0.1:8080/fhir';
const cc: AccessContext = { subject: 'user-fictional-cc', scopes: [], fhirUser: 'PractitionerRole/cc-fictional', clientId: 'care-app-fictional' };
const tcm: AccessContext = { subject: 'user-fictional-tcm', scopes: [], fhirUser: 'PractitionerRole/tcm-fictional', clientId: 'care-app-fictional' };

type Stored = AuditEvent & { id: string };
const request = (path: string, query: [string, string][] = []): FhirRequest => ({ method: 'GET', path, query, headers: {} });
function eventOf(req: FhirRequest, access: AccessContext, status: number, response?: FhirResponse): Stored {
  return auditEventOf(req, interactionOf(req) as NonNullable<ReturnType<typeof interactionOf>>, access, { status, response }, BASE);
}
const goalRead = (id: string, patient: string, access = cc): Stored =>
  eventOf(request(`Goal/${id}`), access, 200, { status: 200, etag: 'W/"1"', resourceJson: `{"resourceType":"Goal","id":"${id}","subject":{"reference":"Patient/${patient}"}}` });
const references = (event: AuditEvent): (string | undefined)[] => (event.entity ?? []).map((e) => e.what?.reference ?? `query ${e.description}`);
/** Requests an event records: its entities that are not the patient's (role 1). */
const requestsIn = (event: AuditEvent): number => (event.entity ?? []).filter((e) => e.role?.code !== '1').length;

describe('grouped read AuditEvents', () => {
  it('make one event of the reads of one user on one patient, with the patient once and one entity per read, repeats kept', () => {
    const groups = new ReadEventGroups();
    const first = goalRead('g-1', 'p-1');
    for (const event of [first, goalRead('g-2', 'p-1'), goalRead('g-1', 'p-1')]) expect(groups.add(event)).toBe(true);
    expect(groups.add(eventOf(request('Patient/p-1'), cc, 200, { status: 200, etag: 'W/"4"', resourceJson: '{"resourceType":"Patient","id":"p-1"}' }))).toBe(true);
    const [event, ...others] = groups.take();
    expect(others).toEqual([]);
    expect(references(event as AuditEvent)).toEqual(['Patient/p-1', 'Goal/g-1/_history/1', 'Goal/g-2/_history/1', 'Goal/g-1/_history/1', 'Patient/p-1/_history/4']);
    expect(requestsIn(event as AuditEvent)).toBe(4);
    // The read of the Patient is its data entity (BALP PatientRead), the first entity is the patient.
    expect(event?.entity?.[4]).toMatchObject({ type: { code: '2' }, role: { code: '4' } });
    expect(event).toMatchObject({ action: 'R', outcome: '0', subtype: first.subtype, agent: first.agent, period: { start: first.recorded } });
    expect(event?.period?.end).toBe(event?.recorded);
    expect(event?.id).not.toBe(first.id);
    expect(groups.size).toBe(0);
  });

  it('keep apart other users, other patients, searches and reads, and events without a patient', () => {
    const groups = new ReadEventGroups();
    groups.add(goalRead('g-1', 'p-1'));
    groups.add(goalRead('g-1', 'p-1', tcm));
    groups.add(goalRead('g-3', 'p-2'));
    groups.add(eventOf(request('Goal', [['patient', 'p-1']]), cc, 200));
    groups.add(eventOf(request('Goal', [['patient', 'p-1'], ['lifecycle-status', 'active']]), cc, 200));
    groups.add(eventOf(request('Organization/o-1'), cc, 200, { status: 200, etag: 'W/"1"', resourceJson: '{"resourceType":"Organization","id":"o-1"}' }));
    const events = groups.take();
    expect(events.map(references)).toEqual([
      ['Patient/p-1', 'Goal/g-1/_history/1'],
      ['Patient/p-1', 'Goal/g-1/_history/1'],
      ['Patient/p-2', 'Goal/g-3/_history/1'],
      ['Patient/p-1', 'query Goal?patient=p-1', 'query Goal?patient=p-1&lifecycle-status=active'],
      ['Organization/o-1/_history/1'],
    ]);
  });

  it('leave refused reads and reads without one entity of their own to be recorded one by one', () => {
    const groups = new ReadEventGroups();
    expect(groups.add(eventOf(request('Goal/g-9'), cc, 404))).toBe(false);
    expect(groups.add(eventOf(request('_history'), cc, 200))).toBe(false);
    expect(groups.size).toBe(0);
  });

  it(`start another event after ${MAX_REQUESTS_PER_EVENT} requests`, () => {
    const groups = new ReadEventGroups();
    for (let n = 0; n < MAX_REQUESTS_PER_EVENT + 1; n++) groups.add(goalRead(`g-${n}`, 'p-1'));
    expect(groups.take().map(requestsIn)).toEqual([MAX_REQUESTS_PER_EVENT, 1]);
  });

  it('from requests alone (no event per request) make the same events as from the requests\' own events', () => {
    const patientRead = (id: string) => ({ status: 200, etag: 'W/"2"', resourceJson: `{"resourceType":"Patient","id":"${id}"}` });
    const goalResponse = (id: string, patient: string) => ({ status: 200, etag: 'W/"1"', resourceJson: `{"resourceType":"Goal","id":"${id}","subject":{"reference":"Patient/${patient}"}}` });
    const requests: [FhirRequest, AccessContext, number, FhirResponse | undefined][] = [
      [request('Goal/g-1'), cc, 200, goalResponse('g-1', 'p-1')],
      [request('Patient/p-1'), cc, 200, patientRead('p-1')],
      [request('Goal/g-1'), tcm, 200, goalResponse('g-1', 'p-1')],
      [request('Goal', [['patient', 'p-1']]), cc, 200, undefined],
      [request('Goal/g-2'), cc, 200, goalResponse('g-2', 'p-1')],
      [request('Organization/o-1'), cc, 200, { status: 200, etag: 'W/"1"', resourceJson: '{"resourceType":"Organization","id":"o-1"}' }],
      [request('Goal/g-9'), cc, 404, undefined],
    ];
    const fromEvents = new ReadEventGroups();
    const fromReads = new ReadEventGroups();
    const ungrouped: boolean[] = [];
    for (const [req, access, status, response] of requests) {
      const read: AuditedRead = { request: req, interaction: interactionOf(req) as NonNullable<ReturnType<typeof interactionOf>>, access, result: { status, response }, baseUrl: BASE };
      const grouped = fromReads.addRead(read);
      expect(fromEvents.add(eventOf(req, access, status, response))).toBe(grouped);
      ungrouped.push(!grouped);
    }
    expect(ungrouped).toEqual([false, false, false, false, false, false, true]);
    const shape = (event: AuditEvent) => ({ ...event, id: undefined, recorded: undefined, period: undefined });
    const viaReads = fromReads.take();
    expect(viaReads.map(shape)).toEqual(fromEvents.take().map(shape));
    expect(viaReads.map(references)).toEqual([
      ['Patient/p-1', 'Goal/g-1/_history/1', 'Patient/p-1/_history/2', 'Goal/g-2/_history/1'],
      ['Patient/p-1', 'Goal/g-1/_history/1'],
      ['Patient/p-1', 'query Goal?patient=p-1'],
      ['Organization/o-1/_history/1'],
    ]);
    for (const event of viaReads) expect(event.period?.start && event.period.start <= (event.recorded as string)).toBe(true);
  });
});
