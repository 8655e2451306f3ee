import type { Parameters, ValueSet } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { expandValueSet, lookupCode } from '../../src/terminology/operations.ts';
import { loadKansasPackage } from '../../src/conformance/kansas-package.ts';
import { loadTerminology } from '../../src/conformance/terminology-content.ts';

/**
 * The Kansas codes issue 5 names, as the server's own $expand answers them: dropping or renaming
 * one of them in profiles/input/ fails here. Sources per code system in profiles/CATALOG.md.
 */

const KS = 'https://kanplan.org/fhir';
const ts = loadTerminology(loadKansasPackage());

function expand(id: string): string[] {
  const params: Parameters = { resourceType: 'Parameters', parameter: [{ name: 'url', valueUri: `${KS}/ValueSet/${id}` }] };
  const result = expandValueSet(ts, params);
  expect(result.status, id).toBe(200);
  return ((result.resource as ValueSet).expansion?.contains ?? []).map((c) => c.code as string);
}

describe('Kansas terminology named by issue 5', () => {
  it('plan types PCSP, BSP and ISP', () => {
    expect(expand('ks-plan-type')).toEqual(expect.arrayContaining(['pcsp', 'bsp', 'isp']));
  });

  it('exactly the seven 1915(c) HCBS waivers FE, PD, I/DD, SED, BI, TA, AU (domain.md §4a, KEESM 8200)', () => {
    expect(expand('ks-waiver-program').sort()).toEqual(['AU', 'BI', 'FE', 'IDD', 'PD', 'SED', 'TA']);
  });

  it('the KanCare MCOs of 2025-2027 and the historical ones (domain.md §3c)', () => {
    expect(expand('ks-mco').sort()).toEqual(['aetna-better-health-ks', 'amerigroup-ks', 'healthy-blue', 'sunflower', 'uhc-community-plan']);
  });

  it('roles (TCM, MCO care coordinator, provider, behavior specialist) and organization kinds (TCM agency, CDDO, MCO)', () => {
    expect(expand('ks-practitioner-role').sort()).toEqual(['behavior-specialist', 'hcbs-provider', 'mco-care-coordinator', 'targeted-case-manager']);
    expect(expand('ks-organization-type')).toEqual(expect.arrayContaining(['tcm-agency', 'cddo', 'mco']));
  });

  it('workflow task types, including the ANE report, IEP participation and informal-support linkage', () => {
    expect(expand('ks-task-type')).toEqual(
      expect.arrayContaining([
        'notify-change-of-needs',
        'update-isp',
        'plan-review-due',
        'referral',
        'ane-report',
        'iep-participation',
        'informal-support-linkage',
      ]),
    );
  });

  it('the four CMS TCM components (42 CFR 440.169(d)) and care-coordination categories with primary care case management', () => {
    expect(expand('ks-tcm-activity-category').sort()).toEqual(['assessment', 'monitoring-follow-up', 'referral-related-activities', 'service-plan-development']);
    expect(expand('ks-care-coordination-category')).toEqual(expect.arrayContaining(['primary-care-case-management']));
    expect(expand('ks-activity-category')).toHaveLength(expand('ks-tcm-activity-category').length + expand('ks-care-coordination-category').length);
  });

  it('HCBS service codes carry HCPCS and unit only where a Kansas source states them (T1017 per 15 minutes, KMAP bulletin 757b)', () => {
    const services = expand('ks-hcbs-service');
    expect(services).toEqual(expect.arrayContaining(['targeted-case-management', 'day-supports', 'residential-supports', 'personal-care', 'supported-employment']));
    const withHcpcs = services.filter((code) => {
      const params: Parameters = {
        resourceType: 'Parameters',
        parameter: [
          { name: 'system', valueUri: `${KS}/CodeSystem/ks-hcbs-service` },
          { name: 'code', valueCode: code },
          { name: 'property', valueCode: 'hcpcs' },
        ],
      };
      return ((lookupCode(ts, params).resource as Parameters).parameter ?? []).some((p) => p.name === 'property');
    });
    // domain.md §5b: T2016/T2021 for residential/day supports is an inference, not a Kansas table; keep it out.
    expect(withHcpcs).toEqual(['targeted-case-management']);
  });
});
