import { getDataType } from '@medplum/core';
import type { Coding, Resource } from '@medplum/fhirtypes';

/** meta.tag marking a resource that is not complete (https://hl7.org/fhir/R4/search.html#summary). */
export const SUBSETTED: Coding = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  code: 'SUBSETTED',
  display: 'Resource encoded in summary mode',
};

export type SummaryMode = 'true' | 'text' | 'data' | 'count' | 'false';

function markSubsetted(resource: Record<string, unknown>): void {
  const meta = { ...(resource.meta as Resource['meta']) };
  meta.tag = [...(meta.tag ?? []).filter((t) => t.code !== 'SUBSETTED'), SUBSETTED];
  resource.meta = meta;
}

function keep(resource: Resource, wanted: (key: string) => boolean): Resource {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) {
    if (key === 'resourceType' || key === 'id' || key === 'meta' || wanted(key.replace(/^_/, ''))) {
      out[key] = value;
    }
  }
  markSubsetted(out);
  return out as unknown as Resource;
}

/** Applies _summary (https://hl7.org/fhir/R4/search.html#summary) to one resource. */
export function applySummary(resource: Resource, mode: SummaryMode): Resource {
  if (mode === 'false' || mode === 'count') {
    return resource;
  }
  const schema = getDataType(resource.resourceType);
  const summary = schema.summaryProperties ?? new Set<string>();
  const mandatory = schema.mandatoryProperties ?? new Set<string>();
  const isSummary = (key: string): boolean => summary.has(key) || [...summary].some((s) => s.endsWith('[x]') && key.startsWith(s.slice(0, -3)));
  switch (mode) {
    case 'true':
      return keep(resource, (key) => isSummary(key) || mandatory.has(key));
    case 'text':
      return keep(resource, (key) => key === 'text' || mandatory.has(key));
    case 'data':
      return keep(resource, (key) => key !== 'text');
  }
}

/** Applies _elements (https://hl7.org/fhir/R4/search.html#elements): listed top-level elements plus mandatory ones. */
export function applyElements(resource: Resource, elements: readonly string[]): Resource {
  const mandatory = getDataType(resource.resourceType).mandatoryProperties ?? new Set<string>();
  const wanted = new Set(elements);
  return keep(resource, (key) => wanted.has(key) || mandatory.has(key) || [...wanted].some((e) => key.startsWith(e) && e.length > 0 && /^[A-Z]/.test(key.slice(e.length))));
}
