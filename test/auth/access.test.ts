import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseScopes } from '../../src/auth/scopes.ts';
import { http, issueTestToken, startTestServer, type TestServer } from '../harness.ts';

describe('SMART scopes', () => {
  test('parses v2 cruds, v1 read/write/*, v2 criteria, and no grant from launch or identity scopes', () => {
    const grants = parseScopes(
      'system/*.cruds user/CarePlan.rs patient/Goal.read user/Task.write launch launch/patient openid fhirUser offline_access system/Task.rs?status=active patient/Observation.rs?category=laboratory&status=final',
    );
    expect(grants.map((g) => `${g.context}/${g.resourceType}.${[...g.permissions].join('')}${g.criteria ? `?${g.criteria}` : ''}`)).toEqual([
      'system/*.cruds',
      'user/CarePlan.rs',
      'patient/Goal.rs',
      'user/Task.cud',
      'system/Task.rs?status=active',
      'patient/Observation.rs?category=laboratory&status=final',
    ]);
  });

  test('malformed scopes grant nothing: out-of-order letters, v1 with criteria, empty criteria, unknown context', () => {
    expect(parseScopes('user/Task.sr patient/Goal.read?status=active user/Task.rs? admin/Task.rs user/task.rs patient/*.')).toEqual([]);
  });
});

describe('authorization on every route but discovery', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('pglite');
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('the CapabilityStatement needs no token', async () => {
    expect((await http(server, 'GET', 'metadata', { headers: { authorization: '' } })).status).toBe(200);
  });

  test('no token is 401 with an OperationOutcome saying how to get one', async () => {
    const res = await http(server, 'GET', 'Patient/abc', { headers: { authorization: '' } });
    expect(res.status).toBe(401);
    expect(res.body.issue[0].code).toBe('login');
    expect(res.body.issue[0].diagnostics).toContain('Authorization: Bearer');
  });

  test('a forged, malformed or expired token is 401', async () => {
    const forged = `${server.token.slice(0, -4)}AAAA`;
    expect((await http(server, 'GET', 'Patient/abc', { headers: { authorization: `Bearer ${forged}` } })).status).toBe(401);
    expect((await http(server, 'GET', 'Patient/abc', { headers: { authorization: 'Bearer not-a-jwt' } })).status).toBe(401);
    const expired = await issueTestToken(server.server, 'system/*.cruds', '-1m');
    const res = await http(server, 'GET', 'Patient/abc', { headers: { authorization: `Bearer ${expired}` } });
    expect(res.status).toBe(401);
    expect(res.body.issue[0].diagnostics).toContain('expired');
  });

  test('scopes limit types and interactions: read-only tokens cannot write', async () => {
    const readOnly = await issueTestToken(server.server, 'user/Patient.rs');
    const headers = { authorization: `Bearer ${readOnly}` };
    const created = await http(server, 'POST', 'Patient', { body: { resourceType: 'Patient' } });
    expect((await http(server, 'GET', `Patient/${created.body.id}`, { headers })).status).toBe(200);
    const write = await http(server, 'POST', 'Patient', { body: { resourceType: 'Patient' }, headers });
    expect(write.status).toBe(403);
    expect(write.body.issue[0].diagnostics).toContain('does not allow create on Patient');
    expect((await http(server, 'GET', 'CarePlan/x', { headers })).status).toBe(403);
    expect((await http(server, 'GET', '_history', { headers })).status).toBe(403);
  });

  test('each transaction entry is checked; a forbidden entry fails the whole bundle', async () => {
    const token = await issueTestToken(server.server, 'user/Patient.cruds');
    const res = await http(server, 'POST', '', {
      headers: { authorization: `Bearer ${token}` },
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
          { resource: { resourceType: 'Basic', code: { text: 'x' } }, request: { method: 'POST', url: 'Basic' } },
        ],
      },
    });
    expect(res.status).toBe(403);
    expect(res.body.issue[0].diagnostics).toContain('Bundle.entry[1] (POST Basic)');
  });
});
