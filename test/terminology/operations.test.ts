import type { OperationOutcome, Parameters, ValueSet } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { expandValueSet, lookupCode, validateCode } from '../../src/terminology/operations.ts';
import { loadKansasPackage } from '../../src/conformance/kansas-package.ts';
import { loadTerminology } from '../../src/conformance/terminology-content.ts';

const KS = 'https://kanplan.org/fhir';
const ts = loadTerminology(loadKansasPackage());

function params(values: Record<string, string>): Parameters {
  return { resourceType: 'Parameters', parameter: Object.entries(values).map(([name, valueString]) => ({ name, valueString })) };
}

function outParam(result: { resource: unknown }, name: string): unknown {
  const p = (result.resource as Parameters).parameter?.find((x) => x.name === name);
  return p?.valueBoolean ?? p?.valueString;
}

describe('ValueSet/$expand', () => {
  it('expands a Kansas value set with all codes and displays', () => {
    const result = expandValueSet(ts, params({ url: `${KS}/ValueSet/ks-waiver-program` }));
    expect(result.status).toBe(200);
    const vs = result.resource as ValueSet;
    expect(vs.expansion?.total).toBe(7);
    expect(vs.expansion?.contains?.map((c) => c.code)).toEqual(['FE', 'PD', 'IDD', 'SED', 'BI', 'TA', 'AU']);
  });

  it('filters on code or display, case-insensitively, and pages with offset/count', () => {
    const filtered = expandValueSet(ts, params({ url: `${KS}/ValueSet/ks-task-type`, filter: 'ISP' })).resource as ValueSet;
    expect(filtered.expansion?.contains?.map((c) => c.code)).toEqual(['update-isp']);
    expect(filtered.expansion?.parameter).toEqual([{ name: 'filter', valueString: 'ISP' }]);
    const page = expandValueSet(ts, params({ url: `${KS}/ValueSet/ks-waiver-program`, offset: '2', count: '2' })).resource as ValueSet;
    expect(page.expansion?.total).toBe(7);
    expect(page.expansion?.offset).toBe(2);
    expect(page.expansion?.contains?.map((c) => c.code)).toEqual(['IDD', 'SED']);
  });

  it('expands a union value set and an R4 value set', () => {
    const union = expandValueSet(ts, params({ url: `${KS}/ValueSet/ks-activity-category` })).resource as ValueSet;
    expect(union.expansion?.total).toBe(8);
    const r4 = expandValueSet(ts, undefined, 'http://hl7.org/fhir/ValueSet/request-status').resource as ValueSet;
    expect(r4.expansion?.contains?.map((c) => c.code)).toContain('entered-in-error');
  });

  it('refuses what it cannot expand locally and what it does not know', () => {
    const hcpcs = expandValueSet(ts, params({ url: `${KS}/ValueSet/ks-hcbs-service-code` }));
    expect(hcpcs.status).toBe(422);
    expect((hcpcs.resource as OperationOutcome).issue[0].code).toBe('too-costly');
    // The message a client shows is in diagnostics, like every other OperationOutcome of the server.
    expect((hcpcs.resource as OperationOutcome).issue[0].diagnostics).toMatch(/\S/);
    expect(expandValueSet(ts, params({ url: 'https://example.org/ValueSet/none' })).status).toBe(404);
    expect(expandValueSet(ts, params({})).status).toBe(400);
    expect(expandValueSet(ts, params({ url: `${KS}/ValueSet/ks-mco`, count: 'ten' })).status).toBe(400);
  });
});

describe('ValueSet/$validate-code', () => {
  it('says true with the display for a member code', () => {
    const result = validateCode(ts, params({ url: `${KS}/ValueSet/ks-mco`, system: `${KS}/CodeSystem/ks-mco`, code: 'healthy-blue' }));
    expect(outParam(result, 'result')).toBe(true);
    expect(outParam(result, 'display')).toBe('Healthy Blue');
  });

  it('says false with a message for a non-member', () => {
    const result = validateCode(ts, params({ url: `${KS}/ValueSet/ks-mco`, system: `${KS}/CodeSystem/ks-mco`, code: 'caresource' }));
    expect(outParam(result, 'result')).toBe(false);
    expect(outParam(result, 'message')).toBe(`${KS}/CodeSystem/ks-mco|caresource is not in the value set ${KS}/ValueSet/ks-mco`);
  });

  it('accepts a codeableConcept where one coding is a member, and any HCPCS code for the HCBS service set', () => {
    const cc: Parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'url', valueUri: `${KS}/ValueSet/ks-hcbs-service-code` },
        { name: 'codeableConcept', valueCodeableConcept: { coding: [{ system: 'http://example.org/x', code: 'a' }, { system: 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'T2021' }] } },
      ],
    };
    expect(outParam(validateCode(ts, cc), 'result')).toBe(true);
  });

  it('reports a display mismatch and refuses an undecidable value set', () => {
    const result = validateCode(ts, params({ url: `${KS}/ValueSet/ks-plan-type`, system: `${KS}/CodeSystem/ks-plan-type`, code: 'pcsp', display: 'PCP' }));
    expect(outParam(result, 'result')).toBe(true);
    expect(outParam(result, 'message')).toContain('"PCP"');
    expect(validateCode(ts, params({ url: 'http://hl7.org/fhir/ValueSet/condition-code', system: 'http://snomed.info/sct', code: '1' })).status).toBe(422);
  });
});

describe('CodeSystem/$lookup', () => {
  it('returns name, display, definition and properties (HCPCS and unit of a Kansas service)', () => {
    const result = lookupCode(ts, params({ system: `${KS}/CodeSystem/ks-hcbs-service`, code: 'targeted-case-management' }));
    expect(result.status).toBe(200);
    const out = (result.resource as Parameters).parameter ?? [];
    expect(out.find((p) => p.name === 'name')?.valueString).toBe('KSHcbsService');
    expect(out.find((p) => p.name === 'display')?.valueString).toBe('Targeted case management');
    const properties = out.filter((p) => p.name === 'property').map((p) => [p.part?.[0].valueCode, p.part?.[1].valueString ?? p.part?.[1].valueCode]);
    expect(properties).toEqual([['hcpcs', 'T1017'], ['unit', '15-min'], ['waiver', 'IDD']]);
  });

  it('filters properties and answers 404 for unknown codes or systems', () => {
    const only: Parameters = { resourceType: 'Parameters', parameter: [{ name: 'coding', valueCoding: { system: `${KS}/CodeSystem/ks-hcbs-service`, code: 'targeted-case-management' } }, { name: 'property', valueCode: 'hcpcs' }] };
    expect(((lookupCode(ts, only).resource as Parameters).parameter ?? []).filter((p) => p.name === 'property')).toHaveLength(1);
    expect(lookupCode(ts, params({ system: `${KS}/CodeSystem/ks-mco`, code: 'nope' })).status).toBe(404);
    expect(lookupCode(ts, params({ system: 'https://example.org/cs', code: 'x' })).status).toBe(404);
    expect(lookupCode(ts, params({ code: 'x' })).status).toBe(400);
  });

  it('looks up R4 and v3 codes', () => {
    const result = lookupCode(ts, params({ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }));
    expect(result.status).toBe(200);
  });
});
