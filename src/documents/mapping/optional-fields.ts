/**
 * Optional fields of a document read back from FHIR: absent, never `undefined` and never an empty
 * list, as the schemas require (the round-trip conventions in plan-document.ts).
 */

/** Drops keys whose value is undefined, so optional document fields stay absent. */
export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export function nonEmpty<T>(items: T[]): T[] | undefined {
  return items.length > 0 ? items : undefined;
}

/**
 * A mapped resource without empty lists and objects: R4 JSON forbids both
 * (https://hl7.org/fhir/R4/json.html), and a plan without activities maps to `activity: []`.
 */
export function withoutEmptyElements<T>(value: T): T {
  if (Array.isArray(value)) {
    return value.map(withoutEmptyElements) as T;
  }
  if (typeof value !== 'object' || value === null) {
    return value;
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const kept = withoutEmptyElements(v);
    const empty = Array.isArray(kept) ? kept.length === 0 : typeof kept === 'object' && kept !== null && Object.keys(kept).length === 0;
    if (!empty && kept !== undefined) {
      out[key] = kept;
    }
  }
  return out as T;
}
