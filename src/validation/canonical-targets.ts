import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { Conformance } from '../conformance/conformance.ts';

/**
 * A canonical element names the resource types it may point to (its type's targetProfile:
 * `QuestionnaireResponse.questionnaire` is canonical(Questionnaire),
 * https://hl7.org/fhir/R4/references.html#canonical). When the URL is one of the definitions this
 * server itself holds (the R4, US Core and Kansas CodeSystems, ValueSets, StructureDefinitions,
 * SearchParameters ...) and none of them is of an allowed type, the reference is wrong: a
 * questionnaire that is a ValueSet. A URL the server does not hold is not judged (references are
 * not resolved by validation), so this can only refuse what is known to be wrong.
 */
export interface CanonicalDefinitions {
  /** The resource types of the definitions this server holds under `url` (no version), if any. */
  typesOf(url: string): readonly string[];
}

const STRUCTURE_DEFINITION = 'http://hl7.org/fhir/StructureDefinition/';

/** The definitions a Conformance holds, by canonical URL. */
export function compileCanonicalDefinitions(conformance: Conformance, isKnownStructureDefinition: (url: string) => boolean): CanonicalDefinitions {
  const byUrl = new Map<string, string[]>();
  const add = (url: string | undefined, type: string): void => {
    if (url) {
      const types = byUrl.get(url) ?? [];
      if (!types.includes(type)) {
        types.push(type);
      }
      byUrl.set(url, types);
    }
  };
  const kansas = conformance.kansas;
  for (const resource of [...kansas.resources, ...kansas.usCoreProfiles, ...kansas.usCoreTerminology]) {
    add(resource.url, resource.resourceType);
  }
  const terminology = conformance.terminology;
  return {
    typesOf(raw) {
      const bar = raw.indexOf('|');
      const url = bar < 0 ? raw : raw.slice(0, bar);
      const held = byUrl.get(url);
      const types = held ? [...held] : [];
      if (terminology.getValueSet(url) && !types.includes('ValueSet')) {
        types.push('ValueSet');
      }
      if (terminology.getCodeSystem(url) && !types.includes('CodeSystem')) {
        types.push('CodeSystem');
      }
      if (!types.includes('StructureDefinition') && isKnownStructureDefinition(url)) {
        types.push('StructureDefinition');
      }
      return types;
    },
  };
}

/** Checks one canonical value against the types its element allows (`targets`: targetProfile URLs). */
export function checkCanonicalTarget(value: string, targets: readonly string[] | undefined, path: string, definitions: CanonicalDefinitions, issues: OperationOutcomeIssue[]): void {
  if (!targets?.length || value.startsWith('#')) {
    return; // any type, or a contained resource (checked with the contained resources)
  }
  const allowed = targets.map((t) => (t.startsWith(STRUCTURE_DEFINITION) ? t.slice(STRUCTURE_DEFINITION.length) : t));
  if (allowed.includes('Resource') || allowed.includes('DomainResource')) {
    return;
  }
  const found = definitions.typesOf(value);
  if (found.length > 0 && !found.some((type) => allowed.includes(type))) {
    issues.push({
      severity: 'error',
      code: 'value',
      details: { text: `${path}: ${value} is a ${found.join(' and a ')} (a definition this server holds); this element refers to a ${allowed.join(' or ')}` },
      diagnostics: 'rule canonical-target (https://hl7.org/fhir/R4/references.html#canonical)',
      expression: [path],
    });
  }
}
