import { describe, expect, it } from 'vitest';
import { loadConformance } from '../../src/conformance/conformance.ts';

const KS = 'https://kanplan.org/fhir';

describe('loadConformance', () => {
  it('builds its own terminology each time, over R4, US Core and Kansas content (no process-wide service)', () => {
    const first = loadConformance();
    const second = loadConformance();
    expect(first.terminology).not.toBe(second.terminology);
    for (const { terminology } of [first, second]) {
      expect(terminology.membership(`${KS}/ValueSet/ks-plan-type`, `${KS}/CodeSystem/ks-plan-type`, 'pcsp')).toBe('member');
      expect(terminology.membership('http://hl7.org/fhir/ValueSet/request-status', 'http://hl7.org/fhir/request-status', 'bogus')).toBe('not-member');
      expect(terminology.getCodeSystem('http://hl7.org/fhir/us/core/CodeSystem/careplan-category')?.url).toBeDefined();
    }
  });

  it('names the code systems a value set draws from (what a required binding identifies a Kansas profile by)', () => {
    const { terminology } = loadConformance();
    expect([...terminology.systemsOf(`${KS}/ValueSet/ks-task-type|0.1.0`)]).toEqual([`${KS}/CodeSystem/ks-task-type`]);
    expect(terminology.systemsOf('https://example.org/ValueSet/unknown').size).toBe(0);
  });
});
