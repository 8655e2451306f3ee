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
