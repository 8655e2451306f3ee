import { expect, test } from 'vitest';
import { http } from '../harness.ts';

export interface Api {
  readonly url: string;
  readonly token: string;
}

/**
 * The scale-out cases of issue 20: several kanplan servers on one database, requests spread over
 * them round-robin and sent at once. No lost update, no duplicate, deadlocks answered 409 (or
 * avoided), never a 500. `apis()` gives the servers once they run; `writers` is how many
 * requests race in each case; `prefix` keeps ids apart between suites sharing a database.
 */
export function concurrentWriterTests(apis: () => readonly Api[], writers: number, prefix: string): void {
  const on = (i: number): Api => apis()[i % apis().length];

  test('concurrent updates of one resource without If-Match: each acknowledged version is in the history with what it wrote', async () => {
    const id = `${prefix}-a`;
    await http(on(0), 'PUT', `Patient/${id}`, { body: { resourceType: 'Patient', id } });
    const results = await Promise.all(
      Array.from({ length: writers }, (_, i) => http(on(i), 'PUT', `Patient/${id}`, { body: { resourceType: 'Patient', id, name: [{ family: `Writer${i}` }] } })),
    );
    expect(results.map((r) => r.status).filter((s) => s !== 200 && s !== 409), results.map((r) => r.text).join('\n')).toEqual([]);
    const acknowledged = results.filter((r) => r.status === 200);
    expect(acknowledged.length).toBeGreaterThan(0);
    const history = await http(on(1), 'GET', `Patient/${id}/_history?_count=100`);
    const versions = new Map<string, string>(history.body.entry.map((e: { resource: { meta: { versionId: string }; name?: { family: string }[] } }) => [e.resource.meta.versionId, e.resource.name?.[0]?.family ?? '']));
    expect(versions.size).toBe(acknowledged.length + 1);
    for (const r of acknowledged) expect(versions.get(r.body.meta.versionId)).toBe(r.body.name[0].family);
  });

  test('concurrent updates with the same If-Match: exactly one wins, the others get 412', async () => {
    const id = `${prefix}-b`;
    const created = await http(on(0), 'PUT', `Patient/${id}`, { body: { resourceType: 'Patient', id } });
    const etag = `W/"${created.body.meta.versionId}"`;
    const results = await Promise.all(
      Array.from({ length: writers }, (_, i) => http(on(i), 'PUT', `Patient/${id}`, { body: { resourceType: 'Patient', id, name: [{ family: `Racer${i}` }] }, headers: { 'if-match': etag } })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s !== 200 && s !== 412 && s !== 409), results.map((r) => r.text).join('\n')).toEqual([]);
    const current = await http(on(1), 'GET', `Patient/${id}`);
    expect(current.body.meta.versionId).toBe('2');
    expect(current.body.name[0].family).toBe(results.find((r) => r.status === 200)?.body.name[0].family);
  });

  test('concurrent conditional creates with the same criteria create one resource', async () => {
    const identifier = { system: 'https://kanplan.test/scale-out', value: `${prefix}-same-person` };
    const results = await Promise.all(
      Array.from({ length: writers }, (_, i) =>
        http(on(i), 'POST', 'Patient', { body: { resourceType: 'Patient', identifier: [identifier] }, headers: { 'if-none-exist': `identifier=${identifier.system}|${identifier.value}` } }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s !== 201 && s !== 200 && s !== 409), results.map((r) => r.text).join('\n')).toEqual([]);
    // Every 200 points at the one resource that was created.
    const createdId = results.find((r) => r.status === 201)?.body.id;
    for (const r of results.filter((r) => r.status === 200)) expect(r.body.id).toBe(createdId);
    const found = await http(on(1), 'GET', `Patient?identifier=${identifier.system}|${identifier.value}&_total=accurate`);
    expect(found.body.total).toBe(1);
  });

  test('transactions updating the same two resources in opposite orders: each commits whole or answers 409, never a 500', async () => {
    const [x, y] = [`${prefix}-x`, `${prefix}-y`];
    for (const id of [x, y]) await http(on(0), 'PUT', `Patient/${id}`, { body: { resourceType: 'Patient', id } });
    const entry = (id: string, family: string) => ({ resource: { resourceType: 'Patient', id, name: [{ family }] }, request: { method: 'PUT', url: `Patient/${id}` } });
    const results = await Promise.all(
      Array.from({ length: writers }, (_, i) => {
        const ids = i % 2 === 0 ? [x, y] : [y, x];
        return http(on(i), 'POST', '', { body: { resourceType: 'Bundle', type: 'transaction', entry: ids.map((id) => entry(id, `Batch${i}`)) } });
      }),
    );
    expect(results.map((r) => r.status).filter((s) => s !== 200 && s !== 409), results.map((r) => r.text).join('\n')).toEqual([]);
    const committed = results.filter((r) => r.status === 200).length;
    expect(committed).toBeGreaterThan(0);
    const [current, other] = await Promise.all([x, y].map((id) => http(on(1), 'GET', `Patient/${id}`)));
    // Every committed transaction wrote both, once: both are at version 1 + committed, written by the same one.
    expect([current.body.meta.versionId, other.body.meta.versionId]).toEqual([String(1 + committed), String(1 + committed)]);
    expect(current.body.name[0].family).toBe(other.body.name[0].family);
  });
}
