import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CarePlan, PractitionerRole, Resource, ServiceRequest, StructureDefinition, Task } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConformance, type Conformance } from '../../src/conformance/conformance.ts';
import { compileKansasProfileDetection, IDENTIFYING_ELEMENT_EXTENSION, type KansasProfileDetection } from '../../src/validation/profile-detection.ts';
import { compileProfileRegistry, type ProfileRegistry } from '../../src/validation/profile-registry.ts';

/**
 * Which Kansas profile a resource without meta.profile belongs to is read from the profiles: the
 * element each names with ks-identifying-element, and that element's slice, pattern or binding.
 */

const KS = 'https://kanplan.org/fhir';
const SD = `${KS}/StructureDefinition/`;
const CS = `${KS}/CodeSystem/`;

function carePlan(planTypes: string[]): CarePlan {
  return {
    resourceType: 'CarePlan',
    status: 'active',
    intent: 'plan',
    subject: { reference: 'Patient/example' },
    category: planTypes.map((code) => ({ coding: [{ system: `${CS}ks-plan-type`, code }] })),
  };
}

describe('Kansas profile detection from the profiles\' identifying elements', () => {
  let conformance: Conformance;
  let registry: ProfileRegistry;
  let detection: KansasProfileDetection;
  const profile = (id: string): StructureDefinition => conformance.kansas.profiles.find((sd) => sd.id === id) as StructureDefinition;

  beforeAll(() => {
    conformance = loadConformance();
    registry = compileProfileRegistry(conformance);
    detection = compileKansasProfileDetection(conformance.kansas.profiles, registry);
  });

  it('detects the Kansas profile from content for every valid CarePlan, Task, functional assessment and authorized service example', () => {
    const dir = join(import.meta.dirname, '..', '..', 'bundles', 'examples', 'valid');
    const detectable = new Set(['CarePlan', 'Task']);
    const detected: Record<string, string | undefined> = {};
    let detectableExamples = 0;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
      const { meta, ...resource } = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Resource;
      const claimed = meta?.profile?.[0];
      detected[file] = detection.detect(resource as Resource);
      if (detectable.has(resource.resourceType) || claimed?.endsWith('/ks-functional-assessment') || claimed?.endsWith('/ks-authorized-service')) {
        expect(detected[file], file).toBe(claimed);
        detectableExamples++;
      } else {
        expect(detected[file], file).toBeUndefined();
      }
    }
    expect(detectableExamples).toBeGreaterThanOrEqual(8); // at least 4 CarePlans, 2 Tasks, 1 Observation, 1 ServiceRequest
    expect(Object.values(detected).filter(Boolean)).toHaveLength(detectableExamples);
  });

  it('names the identifying element in the profile data of exactly the seven detectable profiles', () => {
    const marked = conformance.kansas.profiles
      .filter((sd) => sd.extension?.some((e) => e.url === IDENTIFYING_ELEMENT_EXTENSION))
      .map((sd) => sd.id)
      .sort();
    expect(marked).toEqual([
      'ks-authorized-service',
      'ks-backup-plan-careplan',
      'ks-bsp-careplan',
      'ks-functional-assessment',
      'ks-isp-careplan',
      'ks-pcsp-careplan',
      'ks-workflow-task',
    ]);
  });

  it('matches a CarePlan by the plan-type pattern of its ksPlanType slice, each plan type to its profile', () => {
    expect(detection.detect(carePlan(['pcsp']))).toBe(`${SD}ks-pcsp-careplan`);
    expect(detection.detect(carePlan(['bsp']))).toBe(`${SD}ks-bsp-careplan`);
    expect(detection.detect(carePlan(['isp']))).toBe(`${SD}ks-isp-careplan`);
    expect(detection.detect(carePlan(['backup-plan']))).toBe(`${SD}ks-backup-plan-careplan`);
    expect(detection.detect(carePlan(['not-a-plan-type']))).toBeUndefined();
    // Two plan types (invalid under every plan profile, invariant ks-plan-1): the first one decides.
    expect(detection.detect(carePlan(['isp', 'pcsp']))).toBe(`${SD}ks-isp-careplan`);
  });

  it('matches a Task by the code system of its required Task.code binding, even for a code not in it', () => {
    const task = (code: string): Task => ({ resourceType: 'Task', status: 'requested', intent: 'order', code: { coding: [{ system: `${CS}ks-task-type`, code }] } });
    expect(detection.detect(task('ane-report'))).toBe(`${SD}ks-workflow-task`);
    expect(detection.detect(task('no-such-task-type'))).toBe(`${SD}ks-workflow-task`);
    expect(detection.detect({ resourceType: 'Task', status: 'requested', intent: 'order', code: { text: 'call back' } })).toBeUndefined();
  });

  it('matches a ServiceRequest by the identifier type of its authorizationNumber slice', () => {
    const request = (code: string): ServiceRequest => ({
      resourceType: 'ServiceRequest',
      status: 'active',
      intent: 'order',
      subject: { reference: 'Patient/example' },
      identifier: [{ type: { coding: [{ system: `${CS}ks-identifier-type`, code }] }, value: 'A-1' }],
    });
    expect(detection.detect(request('authorization-number'))).toBe(`${SD}ks-authorized-service`);
    expect(detection.detect(request('other'))).toBeUndefined();
  });

  it('does not apply a profile that names no identifying element (KS PractitionerRole), whatever Kansas codes the resource carries', () => {
    const role: PractitionerRole = { resourceType: 'PractitionerRole', code: [{ coding: [{ system: `${CS}ks-practitioner-role`, code: 'targeted-case-manager' }] }] };
    expect(detection.detect(role)).toBeUndefined();
  });

  it('reads the knowledge from the StructureDefinition: without its ks-identifying-element the PCSP is no longer detected', () => {
    const { extension: _marker, ...unmarked } = profile('ks-pcsp-careplan');
    const withoutPcsp = compileKansasProfileDetection(
      conformance.kansas.profiles.map((sd) => (sd.id === 'ks-pcsp-careplan' ? unmarked : sd)),
      registry,
    );
    expect(withoutPcsp.detect(carePlan(['pcsp']))).toBeUndefined();
    expect(withoutPcsp.detect(carePlan(['isp']))).toBe(`${SD}ks-isp-careplan`);
  });

  it('refuses profile data that names an element it cannot identify by (absent, or with nothing to match)', () => {
    const marked = (elementId: string): StructureDefinition => ({
      ...profile('ks-pcsp-careplan'),
      extension: [{ url: IDENTIFYING_ELEMENT_EXTENSION, valueString: elementId }],
    });
    expect(() => compileKansasProfileDetection([marked('CarePlan.category:noSuchSlice')], registry)).toThrow(/is not in its snapshot/);
    expect(() => compileKansasProfileDetection([marked('CarePlan.subject')], registry)).toThrow(/has no slice discriminator, fixed\[x\], pattern\[x\]/);
  });
});
