import { describe, expect, it } from 'vitest';
import { checkDocument, parseDocumentText, problemsToOutcome, DocumentSyntaxError } from '../../src/documents/check-document.ts';
import { documentSchemas } from '../../src/documents/schema-validation.ts';
import type { BspDocument } from '../../src/documents/bsp/bsp-types.ts';
import type { IspDocument } from '../../src/documents/isp/isp-types.ts';
import type { PcspDocument } from '../../src/documents/pcsp/pcsp-types.ts';
import { exampleFiles, readExample } from './examples.ts';

describe('document schemas', () => {
  it('are JSON Schema 2020-12 documents with kanplan ids', () => {
    for (const type of ['pcsp', 'bsp', 'isp'] as const) {
      expect(documentSchemas[type].$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(documentSchemas[type].$id).toBe(`https://kanplan.org/fhir/documents/${type}.schema.json`);
    }
  });

  it.each([...exampleFiles(), ...exampleFiles('updates/')])('accepts the valid example %s', (file) => {
    const check = checkDocument(readExample(file));
    expect(check.ok ? [] : check.problems).toEqual([]);
  });

  it('covers the five example people and all three document types', () => {
    const documents = [...exampleFiles(), ...exampleFiles('updates/')].map(readExample);
    expect(new Set(documents.map((d) => d.person.medicaidId)).size).toBeGreaterThanOrEqual(5);
    expect(new Set(documents.map((d) => d.documentType))).toEqual(new Set(['pcsp', 'bsp', 'isp']));
  });
});

describe('the example people cover what issue 6 asks for', () => {
  const years = (from: string, to: string): number => Number(to.slice(0, 4)) - Number(from.slice(0, 4)) - (to.slice(5) < from.slice(5) ? 1 : 0);

  it('an adult on the I/DD waiver with PCSP, BSP (committee-approved restrictive intervention) and ISP', () => {
    const pcsp = readExample('avery-example.pcsp.json') as PcspDocument;
    const bsp = readExample('avery-example.bsp.json') as BspDocument;
    const isp = readExample('avery-example.isp.json') as IspDocument;
    expect(pcsp.waiver).toBe('IDD');
    expect(years(pcsp.person.birthDate, pcsp.effectivePeriod.start)).toBeGreaterThanOrEqual(18);
    expect(bsp.pcspPlanId).toBe(pcsp.planId);
    expect(bsp.restrictiveInterventions?.[0]?.committeeApproval.committee).toMatch(/Behavioral Management Committee/);
    expect([isp.pcspPlanId, isp.bspPlanId]).toEqual([pcsp.planId, bsp.planId]);
  });

  it('a youth on the SED waiver with IEP participation', () => {
    const jordan = readExample('jordan-sample.pcsp.json') as PcspDocument;
    expect(jordan.waiver).toBe('SED');
    expect(years(jordan.person.birthDate, jordan.effectivePeriod.start)).toBeLessThan(18);
    expect(jordan.iepParticipation).toBeDefined();
  });

  it('an adult with a chronic mental illness on mental-health TCM (no waiver)', () => {
    const riley = readExample('riley-placeholder.pcsp.yaml') as PcspDocument;
    expect(riley.waiver).toBeUndefined();
    expect(riley.supportPlanner.role).toBe('targeted-case-manager');
    expect(years(riley.person.birthDate, riley.effectivePeriod.start)).toBeGreaterThanOrEqual(18);
  });

  it('an update of the same plan that changes needs and services', () => {
    const original = readExample('avery-example.pcsp.json') as PcspDocument;
    const update = readExample('updates/avery-example.pcsp.update-1.json') as PcspDocument;
    expect(update.planId).toBe(original.planId);
    expect(update.assessedNeeds.map((n) => n.id)).not.toEqual(original.assessedNeeds.map((n) => n.id));
    expect(update.services.map((s) => s.id)).not.toEqual(original.services.map((s) => s.id));
  });

  it('every example person is obviously fictional (test Medicaid IDs)', () => {
    const documents = [...exampleFiles(), ...exampleFiles('updates/')].map(readExample);
    expect(documents.every((d) => d.person.medicaidId.startsWith('KS-TEST-'))).toBe(true);
  });
});

/** One invalid document per rule family: file → the rule and JSON pointer of its first problem. */
const invalidExamples: Record<string, { rule: string; pointer: string }> = {
  'additionalProperties.unknown-field.pcsp.json': { rule: 'additionalProperties', pointer: '/person/nickname' },
  'assessment-result.no-result.pcsp.json': { rule: 'assessment-result', pointer: '/functionalAssessment' },
  'const.schema-version.pcsp.json': { rule: 'const', pointer: '/schemaVersion' },
  'decision-maker.consent-without-decision-maker.pcsp.json': { rule: 'decision-maker', pointer: '/informedConsent/givenBy' },
  'enum.unknown-mco.isp.json': { rule: 'enum', pointer: '/mco' },
  'format.date-not-iso.pcsp.json': { rule: 'format', pointer: '/effectivePeriod/start' },
  'maxLength.goal-description-too-long.pcsp.json': { rule: 'maxLength', pointer: '/goals/0/description' },
  'minItems.no-strengths.pcsp.json': { rule: 'minItems', pointer: '/strengths' },
  'minLength.blank-backup-plan.pcsp.json': { rule: 'minLength', pointer: '/backupPlan' },
  'pattern.service-code-not-hcpcs.pcsp.json': { rule: 'pattern', pointer: '/services/0/serviceCode' },
  'period-order.plan-ends-before-start.pcsp.json': { rule: 'period-order', pointer: '/effectivePeriod/end' },
  'range.tier-above-5.pcsp.json': { rule: 'range', pointer: '/functionalAssessment/tier' },
  'reference.service-for-unknown-goal.pcsp.json': { rule: 'reference', pointer: '/services/0/goals/0' },
  'reference.support-for-unknown-behavior.bsp.json': { rule: 'reference', pointer: '/positiveSupports/0/behaviors/0' },
  'required.goal-without-description.pcsp.json': { rule: 'required', pointer: '/goals/0/description' },
  'required.restrictive-intervention-without-committee-approval.bsp.json': { rule: 'required', pointer: '/restrictiveInterventions/0/committeeApproval' },
  'required.rights-modification-missing-element.pcsp.json': { rule: 'required', pointer: '/rightsModifications/0/lessIntrusiveMethodsTried' },
  'review-interval.review-after-12-months.pcsp.json': { rule: 'review-interval', pointer: '/nextReviewDate' },
  'time-limit.review-before-approval.bsp.json': { rule: 'time-limit', pointer: '/restrictiveInterventions/0/reviewBy' },
  'type.self-directed-not-boolean.pcsp.json': { rule: 'type', pointer: '/services/0/selfDirected' },
  'unique-id.duplicate-goal-id.pcsp.json': { rule: 'unique-id', pointer: '/goals/1/id' },
  'uniqueItems.repeated-flag.isp.json': { rule: 'uniqueItems', pointer: '/primaryCare/highRiskFlags' },
};

describe('invalid example documents', () => {
  it('has an expectation for every file in bundles/documents/invalid/', () => {
    expect(exampleFiles('invalid/').map((f) => f.slice('invalid/'.length))).toEqual(Object.keys(invalidExamples).sort());
  });

  it.each(Object.entries(invalidExamples))('%s fails its rule at its pointer', (file, expected) => {
    const check = checkDocument(readExample(`invalid/${file}`));
    expect(check.ok).toBe(false);
    const problems = check.ok ? [] : check.problems;
    expect(problems[0]).toMatchObject(expected);
    expect(problems[0]!.message).toContain(expected.pointer);
  });

  it('reports every schema error, not just the first', () => {
    const doc = readExample('avery-example.pcsp.json') as unknown as Record<string, unknown>;
    const broken = { ...doc, status: 'finished', nextReviewDate: 'soon', planId: '' };
    const check = checkDocument(broken);
    expect(check.ok ? [] : check.problems.map((p) => [p.pointer, p.rule])).toEqual(
      expect.arrayContaining([
        ['/status', 'enum'],
        ['/nextReviewDate', 'format'],
        ['/planId', 'pattern'],
      ]),
    );
  });

  it('turns problems into an OperationOutcome with one issue per problem, located by JSON pointer', () => {
    const check = checkDocument(readExample('invalid/required.goal-without-description.pcsp.json'));
    const outcome = problemsToOutcome(check.ok ? [] : check.problems);
    expect(outcome).toEqual({
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'required',
          location: ['/goals/0/description'],
          diagnostics: '/goals/0/description is required but missing.',
          details: { text: '/goals/0/description is required but missing.' },
        },
      ],
    });
  });

  it('rejects control characters in free text at the field, since FHIR strings cannot hold them', () => {
    const doc = readExample('avery-example.pcsp.json') as PcspDocument;
    const bell = { ...doc, goals: [{ ...doc.goals[0]!, description: 'Cook\u0007 dinner' }, ...doc.goals.slice(1)], backupPlan: 'Call\u0000 Pat' };
    const check = checkDocument(bell);
    expect(check.ok ? [] : check.problems.map((p) => [p.pointer, p.rule])).toEqual([
      ['/goals/0/description', 'pattern'],
      ['/backupPlan', 'pattern'],
    ]);
    expect(check.ok ? '' : check.problems[0]!.message).toContain('no control characters other than tab and line breaks');
    // Tabs, line breaks and any other Unicode stay allowed.
    expect(checkDocument({ ...doc, backupPlan: 'Call Pat\n\t(mother) \u00a0 😀' }).ok).toBe(true);
  });

  it('names the missing or unknown document type', () => {
    expect(checkDocument({ planId: 'X' })).toMatchObject({ ok: false, problems: [{ pointer: '/documentType', rule: 'required' }] });
    expect(checkDocument({ documentType: 'iep' })).toMatchObject({ ok: false, problems: [{ pointer: '/documentType', rule: 'enum' }] });
    expect(checkDocument([1, 2])).toMatchObject({ ok: false, problems: [{ pointer: '', rule: 'type' }] });
  });

  it('uses the configured review interval instead of a hard-coded one', () => {
    const doc = readExample('avery-example.pcsp.json');
    expect(checkDocument(doc, { maxReviewIntervalMonths: 6 })).toMatchObject({ ok: false, problems: [{ rule: 'review-interval', pointer: '/nextReviewDate' }] });
  });
});

describe('parsing document text', () => {
  it('reads YAML and JSON to the same document', () => {
    const json = JSON.stringify(readExample('avery-example.isp.json'));
    expect(parseDocumentText(json, 'application/yaml')).toEqual(parseDocumentText(json, 'application/json'));
  });

  it('keeps YAML dates as strings', () => {
    expect(parseDocumentText('date: 2026-01-31\n', 'application/yaml')).toEqual({ date: '2026-01-31' });
  });

  it('reports syntax errors as DocumentSyntaxError', () => {
    expect(() => parseDocumentText('{"a":', 'application/json')).toThrow(DocumentSyntaxError);
    expect(() => parseDocumentText('a: [1, 2', 'application/yaml')).toThrow(DocumentSyntaxError);
  });
});
