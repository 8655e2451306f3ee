import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startTestServer, testDatabases, type TestServer } from '../harness.ts';

/**
 * Any JSON a client sends is answered with an OperationOutcome, never a 500 (issue 21: a
 * `meta.profile` string and a `_status` string crashed validation). Valid resources are bent at
 * a random place into a random JSON shape and sent to $validate, create, update and a transaction.
 */

const examples = join(import.meta.dirname, '..', '..', 'bundles', 'examples', 'valid');
const example = (name: string): Record<string, unknown> => {
  const { id: _id, ...rest } = JSON.parse(readFileSync(join(examples, `${name}.json`), 'utf8')) as Record<string, unknown>;
  return rest;
};

const seeds: Record<string, unknown>[] = [
  example('ks-pcsp-careplan'),
  example('ks-patient'),
  example('ks-workflow-task'),
  example('ks-goal'),
  {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
    subject: { reference: 'Patient/example-fictional' },
    valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
    component: [{ code: { text: 'x' }, valueString: 'y' }],
    _status: { extension: [{ url: 'http://example.org/fhir/StructureDefinition/note', valueString: 'n' }] },
  },
  {
    resourceType: 'Bundle',
    type: 'collection',
    entry: [
      { fullUrl: 'urn:uuid:7d0f1d8e-3c55-4b8e-9d4e-1f2a3b4c5d6e', resource: { resourceType: 'Patient', name: [{ family: 'Testperson', given: ['Ada'] }] } },
      { fullUrl: 'https://example.org/fhir/Organization/org-fictional-1', resource: { resourceType: 'Organization', name: 'Fictional Home Care' } },
    ],
  },
  {
    resourceType: 'Questionnaire',
    status: 'draft',
    item: [{ linkId: '1', type: 'group', item: [{ linkId: '1.1', type: 'string', text: 'Name', _text: { extension: [] } }] }],
  },
];

type Json = unknown;
interface Slot {
  readonly parent: Record<string, Json> | Json[];
  readonly key: string | number;
}

function slots(value: Json, out: Slot[] = []): Slot[] {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push({ parent: value, key: i });
      slots(v, out);
    });
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (k !== 'resourceType' || out.length > 0) {
        out.push({ parent: value as Record<string, Json>, key: k });
      }
      slots(v, out);
    }
  }
  return out;
}

type Mutation = 'replace' | 'underscore' | 'wrap' | 'add';

function mutate(seed: Record<string, unknown>, pick: number, mode: Mutation, value: Json, name: string): Record<string, unknown> {
  const copy = structuredClone(seed);
  const all = slots(copy);
  const slot = all[pick % all.length];
  const parent = slot.parent as Record<string | number, Json>;
  if (mode === 'replace') {
    parent[slot.key] = value;
  } else if (mode === 'wrap') {
    parent[slot.key] = Array.isArray(parent[slot.key]) ? (parent[slot.key] as Json[])[0] ?? null : [parent[slot.key]];
  } else {
    const host = Array.isArray(parent) ? parent[slot.key] : parent;
    if (typeof host === 'object' && host !== null && !Array.isArray(host)) {
      const key = mode === 'underscore' ? `_${typeof slot.key === 'string' ? slot.key : name}` : name;
      (host as Record<string, Json>)[key] = value;
    }
  }
  return copy;
}

const mutation = fc.record({
  pick: fc.nat(),
  mode: fc.constantFrom<Mutation>('replace', 'underscore', 'wrap', 'add'),
  value: fc.jsonValue({ maxDepth: 3 }),
  name: fc.constantFrom('status', 'id', 'meta', 'profile', 'extension', 'contained', 'text', 'value', 'code', 'reference', 'x'),
});

describe.each(testDatabases)('no JSON shape crashes validation or a write (%s)', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers meta.profile as a string and a primitive _element that is not an object with 400 and the element path', async () => {
    const patient = { resourceType: 'Patient', meta: { profile: 'http://example.org/fhir/StructureDefinition/p' } };
    for (const path of ['Patient', 'Patient/$validate']) {
      const res = await http(server, 'POST', path, { body: patient });
      expect(res.status, path).toBe(path === 'Patient' ? 400 : 200);
      expect(res.body.issue[0].expression).toEqual(['Patient.meta.profile']);
    }
    const task = { ...seeds[2], _status: 'draft' };
    const created = await http(server, 'POST', 'Task', { body: task });
    expect(created.status).toBe(400);
    expect(created.body.issue[0].expression).toEqual(['Task.status']);
    expect(created.body.issue[0].details.text).toContain('_status must be an object');
  });

  it('refuses bad ids (contained, in a Bundle) and empty arrays on create and in $validate, naming the element', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['Patient', { resourceType: 'Patient', contained: [{ resourceType: 'Organization', id: 'bad_1', name: 'Fictional Org' }] }, 'Patient.contained[0].id'],
      ['Patient', { resourceType: 'Patient', name: [], gender: 'female' }, 'Patient.name'],
      ['Bundle', { resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'urn:uuid:0b8f0a54-2d0c-4f39-8a43-5b7f0f7c2d11', resource: { resourceType: 'Patient', id: 'a=b' } }] }, 'Bundle.entry[0].resource.id'],
    ];
    for (const [type, body, path] of cases) {
      const created = await http(server, 'POST', type, { body });
      expect(created.status, path).toBe(400);
      expect(created.body.issue.map((i: { expression?: string[] }) => i.expression?.[0])).toContain(path);
      const validated = await http(server, 'POST', `${type}/$validate`, { body });
      expect(validated.status).toBe(200);
      expect(validated.body.issue.filter((i: { severity: string }) => i.severity === 'error').map((i: { expression?: string[] }) => i.expression?.[0])).toContain(path);
    }
  });

  it('answers every random reshaping of a valid resource without a 500 ($validate, create, update, transaction)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: seeds.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 3 }), async (seed, mutations) => {
        const body = mutations.reduce((r, m) => mutate(r, m.pick, m.mode, m.value, m.name), seeds[seed]);
        const type = typeof body.resourceType === 'string' && /^[A-Za-z]+$/.test(body.resourceType) ? body.resourceType : 'Patient';
        const results = [
          await http(server, 'POST', `${type}/$validate`, { body }),
          await http(server, 'POST', `${type}/$validate`, { body: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: body }, { name: 'mode', valueCode: 'create' }] } }),
          await http(server, 'POST', type, { body }),
          await http(server, 'PUT', `${type}/shape-1`, { body: { ...body, id: 'shape-1' } }),
          await http(server, 'POST', '', {
            body: { resourceType: 'Bundle', type: 'transaction', entry: [{ fullUrl: 'urn:uuid:2f1a7d2c-54c1-4d6e-9a3f-0b6c1e7d9a10', resource: body, request: { method: 'POST', url: type } }] },
          }),
        ];
        for (const r of results) {
          if (r.status >= 500) {
            throw new Error(`${r.status} for ${JSON.stringify(body).slice(0, 400)}: ${r.text.slice(0, 400)}`);
          }
        }
      }),
      { numRuns: Number(process.env.SHAPE_RUNS ?? 120), seed: Number(process.env.SHAPE_SEED ?? 21) },
    );
  }, 120_000);
});
