import type { CarePlan, OperationOutcome, Parameters } from '@medplum/fhirtypes';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runValidateOperation } from '../../src/validation/validate-operation.ts';
import { loadConformance } from '../../src/conformance/conformance.ts';
import { createResourceValidator, type ResourceValidator } from '../../src/validation/validator.ts';

const examples = join(import.meta.dirname, '..', '..', 'bundles', 'examples');
const pcsp = JSON.parse(readFileSync(join(examples, 'valid', 'ks-pcsp-careplan.json'), 'utf8')) as CarePlan;
const bogus = JSON.parse(readFileSync(join(examples, 'invalid', 'ks-pcsp-careplan-bogus-status.json'), 'utf8')) as CarePlan;

function issues(result: { resource: unknown }): OperationOutcome['issue'] {
  return (result.resource as OperationOutcome).issue;
}

describe('$validate (pure)', () => {
  let validator: ResourceValidator;
  beforeAll(() => {
    validator = createResourceValidator(loadConformance());
  });

  it('type level with the resource as body: 200 and an informational outcome when valid', () => {
    const result = runValidateOperation(validator, { resourceType: 'CarePlan', body: pcsp });
    expect(result.status).toBe(200);
    expect(issues(result)).toEqual([{ severity: 'information', code: 'informational', details: { text: 'Validation successful: no issues' } }]);
  });

  it('returns the issues of an invalid resource (still 200: the operation ran)', () => {
    const result = runValidateOperation(validator, { resourceType: 'CarePlan', body: bogus });
    expect(result.status).toBe(200);
    expect(issues(result).map((i) => [i.severity, i.expression?.[0]])).toEqual([['error', 'CarePlan.status']]);
  });

  it('takes resource, mode and profile from Parameters; profile mode validates against that profile only', () => {
    const plain: CarePlan = { resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: 'Patient/x' } };
    const body: Parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'resource', resource: plain },
        { name: 'mode', valueCode: 'profile' },
        { name: 'profile', valueUri: 'https://kanplan.org/fhir/StructureDefinition/ks-isp-careplan' },
      ],
    };
    const result = runValidateOperation(validator, { resourceType: 'CarePlan', body });
    expect(issues(result).some((i) => i.severity === 'error' && i.details?.text === 'Missing required property')).toBe(true);
    const asQuery = runValidateOperation(validator, { resourceType: 'CarePlan', body: plain, query: [['profile', 'https://example.org/unknown']] });
    expect(issues(asQuery)).toEqual([expect.objectContaining({ severity: 'error', code: 'not-supported' })]);
  });

  it('instance level: validates the stored resource when no body is sent; delete mode needs the instance', () => {
    expect(runValidateOperation(validator, { resourceType: 'CarePlan', id: 'example-pcsp', existing: pcsp }).status).toBe(200);
    expect(runValidateOperation(validator, { resourceType: 'CarePlan', id: 'gone', query: [['mode', 'delete']] }).status).toBe(404);
    expect(runValidateOperation(validator, { resourceType: 'CarePlan', id: 'example-pcsp', existing: pcsp, query: [['mode', 'delete']] }).status).toBe(200);
  });

  it('400 for a request it cannot evaluate', () => {
    expect(runValidateOperation(validator, { resourceType: 'Goal', body: pcsp }).status).toBe(400);
    expect(runValidateOperation(validator, { resourceType: 'CarePlan', body: pcsp, query: [['mode', 'sideways']] }).status).toBe(400);
    expect(runValidateOperation(validator, { resourceType: 'CarePlan' }).status).toBe(400);
    expect(runValidateOperation(validator, { resourceType: 'CarePlan', id: 'other', body: pcsp, query: [['mode', 'update']] }).status).toBe(400);
  });
});
