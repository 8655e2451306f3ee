import type { CodeSystemConcept } from '@medplum/fhirtypes';
import type { TerminologyService } from './terminology-service.ts';

/**
 * Subsumption in a local CodeSystem's hierarchy of nested concepts
 * (https://hl7.org/fhir/R4/codesystem.html#hierarchy), for token `:below` and `:above`
 * (https://hl7.org/fhir/R4/search.html#modifiers). The R4, v2, v3, US Core and Kansas code
 * systems held locally express their hierarchies by nesting; no `subsumedBy` property is read.
 */

/** The path of concepts from the root down to `code`, or undefined when it is not in `concepts`. */
function pathTo(concepts: readonly CodeSystemConcept[] | undefined, code: string): CodeSystemConcept[] | undefined {
  for (const concept of concepts ?? []) {
    if (concept.code === code) {
      return [concept];
    }
    const inner = pathTo(concept.concept, code);
    if (inner) {
      return [concept, ...inner];
    }
  }
  return undefined;
}

function below(concept: CodeSystemConcept, out: string[]): string[] {
  out.push(concept.code as string);
  for (const child of concept.concept ?? []) {
    below(child, out);
  }
  return out;
}

/**
 * `code` and the codes it subsumes (`below`) or that subsume it (`above`) in `system`; undefined
 * when the system is not held locally with its content or does not define the code.
 */
export function subsumptionCodes(terminology: TerminologyService, system: string, code: string, direction: 'below' | 'above'): string[] | undefined {
  const cs = terminology.getCodeSystem(system);
  if (!cs?.concept || (cs.content !== undefined && cs.content !== 'complete')) {
    return undefined;
  }
  const path = pathTo(cs.concept, code);
  if (!path) {
    return undefined;
  }
  return direction === 'above' ? path.map((c) => c.code as string) : below(path[path.length - 1], []);
}
