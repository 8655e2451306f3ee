import { toTypedValue, type TypedValue } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { recordIndexRows } from './record-rows.ts';
import { RESOURCE_COLUMN_PARAMS, type SearchParamDef } from '../conformance/search-parameter-definition.ts';
import type { SearchParameterRegistry } from '../conformance/search-parameters.ts';
import { compositeRowsOf } from './composite-rows.ts';
import {
  dateRowsOf,
  dedupe,
  emptyRows,
  numberRowsOf,
  quantityRowsOf,
  referenceRowsOf,
  stringRowsOf,
  tokenRowsOf,
  uriRowsOf,
  type IndexRows,
} from './index-rows.ts';
import { ParameterEvaluation } from './parameter-evaluation.ts';
import { localizeReferences } from './references.ts';

export interface ExtractOptions {
  /** This server's base URL: absolute references under it are indexed as local ones. */
  readonly baseUrl?: string;
}

/** All index rows of a resource for every search parameter of its type. */
export function extractIndexRows(parameters: SearchParameterRegistry, original: Resource, options: ExtractOptions = {}): IndexRows {
  // The server's own records — an AuditEvent per request, a Provenance per write — are indexed
  // without FHIRPath (the same rows; record-rows.ts).
  const record = original.resourceType === 'AuditEvent' || original.resourceType === 'Provenance' ? recordIndexRows(parameters, original, options.baseUrl) : undefined;
  return record ?? extractIndexRowsWithFhirPath(parameters, original, options);
}

/** extractIndexRows by evaluating every parameter's FHIRPath expression. */
export function extractIndexRowsWithFhirPath(parameters: SearchParameterRegistry, original: Resource, options: ExtractOptions = {}): IndexRows {
  const rows = emptyRows();
  const resource = localizeReferences(original, options.baseUrl);
  const typed = toTypedValue(resource);
  const variables = { '%resource': typed, '%rootResource': typed };
  // Every parameter's FHIRPath (https://hl7.org/fhir/R4/searchparameter.html), sharing the walk.
  const evaluation = new ParameterEvaluation();
  // Once per parameter: a combination index's components are parameters evaluated on their own too.
  const values = new Map<SearchParamDef, TypedValue[]>();
  const evaluate = (def: SearchParamDef): TypedValue[] => {
    let found = values.get(def);
    if (!found) {
      found = def.expression ? evaluation.evaluate(def.expression, [typed], variables) : [];
      values.set(def, found);
    }
    return found;
  };
  for (const def of parameters.paramsOf(resource.resourceType).values()) {
    if (RESOURCE_COLUMN_PARAMS.has(def.code) || def.type === 'special') {
      continue;
    }
    if (def.combination) {
      compositeRowsOf(parameters, resource.resourceType, def, (_, componentDef) => evaluate(componentDef), rows);
      continue;
    }
    for (const tv of evaluate(def)) {
      switch (def.type) {
        case 'token':
          tokenRowsOf(def.code, tv, rows);
          break;
        case 'string':
          stringRowsOf(def.code, tv, rows);
          break;
        case 'reference':
          referenceRowsOf(def.code, tv, rows, options.baseUrl);
          break;
        case 'date':
          dateRowsOf(def.code, tv, rows);
          break;
        case 'number':
          numberRowsOf(def.code, tv, rows);
          break;
        case 'quantity':
          quantityRowsOf(def.code, tv, rows);
          break;
        case 'uri':
          uriRowsOf(def.code, tv, rows);
          break;
        case 'composite':
          compositeRowsOf(parameters, resource.resourceType, def, (component) => (component.expression ? evaluation.evaluate(component.expression, [tv]) : []), rows);
          break;
      }
    }
  }
  return dedupe(rows);
}

/**
 * The code under which a contained resource's parameter is indexed, under its container's key
 * (https://hl7.org/fhir/R4/search.html#contained): '<ContainedType>#<code>'. Parameter codes
 * never contain '#', so a search of top-level resources never reads these rows.
 */
export function containedCode(containedType: string, code: string): string {
  return `${containedType}#${code}`;
}

/** Index rows of a resource itself (containedId null) or of one of its contained resources. */
export interface IndexedPart {
  readonly containedId: string | null;
  readonly rows: IndexRows;
}

/**
 * Index rows of a resource and of each resource in `Resource.contained`, the latter under
 * `containedCode()` plus a membership row '<Type>#_id' = contained id in sp_token (a contained
 * resource with no indexed value is still found by `_contained=true`, and `_id` works on it).
 * Contained resources without an id cannot be addressed (`#id`) and are skipped; ids repeated
 * in one container (forbidden) are indexed once. dom-2: contained resources contain nothing.
 */
export function extractIndexParts(parameters: SearchParameterRegistry, resource: Resource, options: ExtractOptions = {}): IndexedPart[] {
  const parts: IndexedPart[] = [{ containedId: null, rows: extractIndexRows(parameters, resource, options) }];
  const seen = new Set<string>();
  for (const contained of (resource as { contained?: Resource[] }).contained ?? []) {
    if (!contained?.resourceType || !contained.id || seen.has(contained.id)) {
      continue;
    }
    seen.add(contained.id);
    const type = contained.resourceType;
    const own = extractIndexRows(parameters, contained, options);
    const rows = emptyRows();
    for (const key of Object.keys(own) as (keyof IndexRows)[]) {
      (rows[key] as unknown[]).push(...own[key].map(([code, ...rest]) => [containedCode(type, code), ...rest]));
    }
    rows.token.push([containedCode(type, '_id'), null, contained.id, null]);
    parts.push({ containedId: contained.id, rows });
  }
  return parts;
}

