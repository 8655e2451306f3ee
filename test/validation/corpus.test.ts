import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConformance } from '../../src/conformance/conformance.ts';
import { createResourceValidator, type ResourceValidator } from '../../src/validation/validator.ts';
import { http, startTestServer, testDatabases, type TestServer } from '../harness.ts';

/**
 * The validation corpus (issue 21, docs/validation.md): fictional resources per class of rule,
 * each with the elements where errors are expected (corpus/invalid), and valid R4 resources,
 * Synthea-shaped ones among them, that must pass (corpus/valid): never reject what the HL7
 * validator accepts.
 */

interface CorpusCase {
  readonly description: string;
  readonly resource: Record<string, unknown>;
  readonly errorsAt?: readonly string[];
}

const dir = join(import.meta.dirname, 'corpus');
const load = (kind: 'valid' | 'invalid'): [string, CorpusCase][] =>
  readdirSync(join(dir, kind))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(dir, kind, f), 'utf8')) as CorpusCase]);
const invalid = load('invalid');
const valid = load('valid');
const errorsAt = (issues: readonly OperationOutcomeIssue[]): (string | undefined)[] =>
  issues.filter((i) => i.severity === 'error' || i.severity === 'fatal').map((i) => i.expression?.[0]);

describe('validation corpus', () => {
  let validator: ResourceValidator;
  beforeAll(() => {
    validator = createResourceValidator(loadConformance());
  });

  it.each(invalid)('%s: errors exactly where expected', (_name, c) => {
    expect(errorsAt(validator.validate(c.resource as unknown as Resource))).toEqual(c.errorsAt);
  });

  it.each(valid)('%s: valid', (_name, c) => {
    expect(errorsAt(validator.validate(c.resource as unknown as Resource))).toEqual([]);
  });

  it('covers every class of issue 21 with at least two cases', () => {
    const classes = new Map<string, number>();
    for (const [name] of invalid) classes.set(name.split('-')[0], (classes.get(name.split('-')[0]) ?? 0) + 1);
    for (const c of ['structure', 'id', 'json', 'extension', 'binding', 'bundle', 'uri', 'attachment', 'conformance', 'narrative', 'canonical']) {
      expect(classes.get(c) ?? 0, c).toBeGreaterThanOrEqual(2);
    }
  });
});

describe.each(testDatabases)('validation corpus over HTTP (%s)', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('$validate finds the same errors as the validator for every invalid case, and none for the valid ones', async () => {
    for (const [name, c] of [...invalid, ...valid]) {
      const type = c.resource.resourceType as string;
      const res = await http(server, 'POST', `${type}/$validate`, { body: c.resource });
      expect(res.status, name).toBe(200);
      expect(errorsAt(res.body.issue), name).toEqual(c.errorsAt ?? []);
    }
  });

  it('stores the Synthea-shaped transaction, and refuses every invalid non-Bundle case on create with 400 or 422', async () => {
    const synthea = valid.find(([name]) => name === 'synthea-shaped-transaction')?.[1].resource;
    const stored = await http(server, 'POST', '', { body: synthea });
    expect(stored.status, stored.text.slice(0, 500)).toBe(200);
    // A create ignores the id it is sent (https://hl7.org/fhir/R4/http.html#create), so a bad root id is not refused there.
    const refusable = invalid.filter(([, c]) => c.resource.resourceType !== 'Bundle' && c.errorsAt?.join() !== `${String(c.resource.resourceType)}.id`);
    for (const [name, c] of refusable) {
      const res = await http(server, 'POST', c.resource.resourceType as string, { body: c.resource });
      expect([400, 422], name).toContain(res.status);
    }
  });
});
