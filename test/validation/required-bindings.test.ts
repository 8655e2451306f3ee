import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { tryGetDataType } from '@medplum/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { listResourceTypes } from '../../src/conformance/base-definitions.ts';
import { loadConformance } from '../../src/conformance/conformance.ts';
import { createResourceValidator, type ResourceValidator } from '../../src/validation/validator.ts';

/**
 * Required bindings to core code systems on every resource type (issue 21), with the code systems'
 * content from the R4 definitions: every `code` element with a required binding, on every R4
 * resource type, refuses a code outside its value set.
 */

/** Value sets whose content is not enumerable locally (grammars, external systems): not checked, docs/validation.md. */
const NOT_ENUMERABLE = new Set([
  'http://hl7.org/fhir/ValueSet/mimetypes',
  'http://hl7.org/fhir/ValueSet/all-languages',
  'http://hl7.org/fhir/ValueSet/languages',
  'http://hl7.org/fhir/ValueSet/ucum-units',
  // SubscriptionStatus is the R4B/R5 backport type @medplum/core adds; its value set is not in R4.
  'http://hl7.org/fhir/ValueSet/subscription-notification-type',
]);

describe('required bindings on every R4 resource type', () => {
  let validator: ResourceValidator;
  beforeAll(() => {
    validator = createResourceValidator(loadConformance());
  });

  it('refuses a code outside the required value set of every code element with a required binding', () => {
    const unchecked: string[] = [];
    let checked = 0;
    for (const type of listResourceTypes()) {
      const schema = tryGetDataType(type);
      for (const [name, element] of Object.entries(schema?.elements ?? {})) {
        const binding = element.binding;
        if (binding?.strength !== 'required' || !binding.valueSet || element.type?.length !== 1 || element.type[0].code !== 'code' || name.includes('.')) {
          continue;
        }
        const valueSet = binding.valueSet.split('|')[0];
        const resource = { resourceType: type, [name]: element.isArray ? ['not-a-code-zz'] : 'not-a-code-zz' } as unknown as Resource;
        const path = `${type}.${name}${element.isArray ? '[0]' : ''}`;
        const issues: OperationOutcomeIssue[] = validator.validate(resource);
        const refused = issues.some((i) => i.severity === 'error' && i.code === 'code-invalid' && i.expression?.[0] === path);
        if (refused) {
          checked++;
        } else {
          unchecked.push(`${path} ${valueSet}`);
        }
      }
    }
    expect(unchecked.filter((u) => !NOT_ENUMERABLE.has(u.split(' ')[1]))).toEqual([]);
    expect(checked).toBeGreaterThan(180);
  });
});
