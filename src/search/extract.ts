import { evalFhirPathTyped, toTypedValue, type TypedValue } from '@medplum/core';
import type {
  Address,
  CodeableConcept,
  Coding,
  ContactPoint,
  HumanName,
  Identifier,
  Period,
  Quantity,
  Range,
  Reference,
  Resource,
  Timing,
} from '@medplum/fhirtypes';
import { dateRange, normalizeString } from './values.ts';
import { searchParamByUrl, searchParamsOf, RESOURCE_COLUMN_PARAMS, type CompositeComponent, type SearchParamDef } from './parameters.ts';

/** Index rows of one resource, per index table; each row starts with the parameter code. */
export interface IndexRows {
  token: [code: string, system: string | null, value: string | null, text: string | null][];
  string: [code: string, norm: string, value: string][];
  reference: [code: string, targetType: string | null, targetId: string | null, url: string | null][];
  date: [code: string, low: string, high: string][];
  number: [code: string, value: string][];
  quantity: [code: string, value: string, system: string | null, unitCode: string | null, unit: string | null][];
  uri: [code: string, value: string][];
  /** key = the key components joined by '$'; the rest is the final range component, if any. */
  composite: [
    code: string,
    key: string,
    num: string | null,
    system: string | null,
    unitCode: string | null,
    unit: string | null,
    low: string | null,
    high: string | null,
  ][];
}

export function emptyRows(): IndexRows {
  return { token: [], string: [], reference: [], date: [], number: [], quantity: [], uri: [], composite: [] };
}

/** Evaluates one parameter's FHIRPath on the resource (https://hl7.org/fhir/R4/searchparameter.html). */
function evaluate(def: SearchParamDef, typed: TypedValue, variables: Record<string, TypedValue>): TypedValue[] {
  if (!def.expression) {
    return [];
  }
  try {
    return evalFhirPathTyped(def.expression, [typed], variables);
  } catch {
    // An expression the FHIRPath engine cannot evaluate on this resource indexes nothing.
    return [];
  }
}

const LOCAL_REFERENCE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

/** Splits a literal reference into a local target or a URL (https://hl7.org/fhir/R4/references.html). */
export function parseReference(
  reference: string,
  baseUrl?: string,
): { targetType: string | null; targetId: string | null; url: string | null } {
  // An absolute URL on this server's base is a local reference (https://hl7.org/fhir/R4/search.html#reference).
  const base = baseUrl?.replace(/\/+$/, '');
  const relative = base && reference.startsWith(`${base}/`) ? reference.slice(base.length + 1) : reference;
  const local = LOCAL_REFERENCE.exec(relative);
  if (local) {
    return { targetType: local[1], targetId: local[2], url: null };
  }
  // Canonical references match without their |version suffix.
  return { targetType: null, targetId: null, url: reference.split('|')[0] };
}

function tokenRowsOf(code: string, tv: TypedValue, rows: IndexRows): void {
  const v = tv.value as unknown;
  switch (tv.type) {
    case 'Coding': {
      const c = v as Coding;
      rows.token.push([code, c.system ?? null, c.code ?? null, c.display ? normalizeString(c.display) : null]);
      return;
    }
    case 'CodeableConcept': {
      const cc = v as CodeableConcept;
      for (const c of cc.coding ?? []) {
        rows.token.push([code, c.system ?? null, c.code ?? null, c.display ? normalizeString(c.display) : null]);
      }
      if (cc.text) {
        rows.token.push([code, null, null, normalizeString(cc.text)]);
      }
      return;
    }
    case 'Identifier': {
      const id = v as Identifier;
      rows.token.push([code, id.system ?? null, id.value ?? null, id.type?.text ? normalizeString(id.type.text) : null]);
      // :of-type (https://hl7.org/fhir/R4/search.html#modifiers): type-system|type-code|value.
      for (const t of id.type?.coding ?? []) {
        rows.token.push([`${code}:of-type`, `${t.system ?? ''}|${t.code ?? ''}`, id.value ?? null, null]);
      }
      return;
    }
    case 'ContactPoint': {
      const cp = v as ContactPoint;
      rows.token.push([code, cp.system ?? null, cp.value ?? null, null]);
      return;
    }
    case 'Reference': {
      const ref = v as Reference;
      if (ref.identifier) {
        tokenRowsOf(code, { type: 'Identifier', value: ref.identifier }, rows);
      }
      return;
    }
    case 'boolean':
    case 'code':
    case 'string':
    case 'id':
    case 'uri':
    case 'url':
    case 'canonical':
    case 'oid':
    case 'uuid':
    case 'integer':
    case 'positiveInt':
    case 'unsignedInt':
      if (v !== undefined && v !== null) {
        rows.token.push([code, null, String(v), null]);
      }
      return;
    default:
      return;
  }
}

function stringRowsOf(code: string, tv: TypedValue, rows: IndexRows): void {
  const push = (s: string | undefined): void => {
    if (s) {
      rows.string.push([code, normalizeString(s), s]);
    }
  };
  const v = tv.value as unknown;
  switch (tv.type) {
    case 'HumanName': {
      const n = v as HumanName;
      push(n.family);
      n.given?.forEach(push);
      n.prefix?.forEach(push);
      n.suffix?.forEach(push);
      push(n.text);
      return;
    }
    case 'Address': {
      const a = v as Address;
      a.line?.forEach(push);
      push(a.city);
      push(a.district);
      push(a.state);
      push(a.postalCode);
      push(a.country);
      push(a.text);
      return;
    }
    case 'CodeableConcept':
      push((v as CodeableConcept).text);
      (v as CodeableConcept).coding?.forEach((c) => push(c.display));
      return;
    case 'Coding':
      push((v as Coding).display);
      return;
    case 'Identifier':
      push((v as Identifier).value);
      return;
    case 'Reference':
      push((v as Reference).display);
      return;
    default:
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
        push(String(v));
      }
  }
}

function referenceRowsOf(code: string, tv: TypedValue, rows: IndexRows, baseUrl?: string): void {
  const v = tv.value as unknown;
  if (tv.type === 'Reference') {
    const ref = v as Reference;
    if (ref.reference && !ref.reference.startsWith('#')) {
      const p = parseReference(ref.reference, baseUrl);
      rows.reference.push([code, p.targetType, p.targetId, p.url]);
    }
    if (ref.identifier) {
      tokenRowsOf(`${code}:identifier`, { type: 'Identifier', value: ref.identifier }, rows);
    }
  } else if (typeof v === 'string') {
    // canonical / uri used as a reference.
    const p = parseReference(v, baseUrl);
    rows.reference.push([code, p.targetType, p.targetId, p.url]);
  } else if (tv.type && typeof v === 'object' && v && 'resourceType' in v && 'id' in v) {
    // resolve() of a contained or literal target.
    const r = v as { resourceType: string; id: string };
    rows.reference.push([code, r.resourceType, r.id, null]);
  }
}

function dateRowsOf(code: string, tv: TypedValue, rows: IndexRows): void {
  const v = tv.value as unknown;
  const push = (range: [string, string] | undefined): void => {
    if (range) {
      rows.date.push([code, range[0], range[1]]);
    }
  };
  switch (tv.type) {
    case 'date':
    case 'dateTime':
    case 'instant':
      if (typeof v === 'string') {
        push(dateRange(v));
      }
      return;
    case 'Period': {
      const p = v as Period;
      if (p.start || p.end) {
        const low = p.start ? dateRange(p.start)?.[0] : '-infinity';
        const high = p.end ? dateRange(p.end)?.[1] : 'infinity';
        if (low && high) {
          push([low, high]);
        }
      }
      return;
    }
    case 'Timing': {
      const t = v as Timing;
      const ranges = (t.event ?? []).map(dateRange).filter((r): r is [string, string] => r !== undefined);
      const bounds = t.repeat?.boundsPeriod;
      if (bounds?.start || bounds?.end) {
        dateRowsOf(code, { type: 'Period', value: bounds }, rows);
      }
      if (ranges.length) {
        const lows = ranges.map((r) => r[0]).sort();
        const highs = ranges.map((r) => r[1]).sort();
        push([lows[0], highs[highs.length - 1]]);
      }
      return;
    }
    default:
      if (typeof v === 'string') {
        push(dateRange(v));
      }
  }
}

function quantityRowsOf(code: string, tv: TypedValue, rows: IndexRows): void {
  const v = tv.value as unknown;
  if (tv.type === 'Quantity' || tv.type === 'Age' || tv.type === 'Duration' || tv.type === 'Distance' || tv.type === 'Count' || tv.type === 'Money' || tv.type === 'SimpleQuantity') {
    const q = v as Quantity & { currency?: string };
    if (typeof q.value === 'number') {
      rows.quantity.push([code, String(q.value), q.system ?? (q.currency ? 'urn:iso:std:iso:4217' : null), q.code ?? q.currency ?? null, q.unit ?? null]);
    }
  } else if (tv.type === 'Range') {
    const r = v as Range;
    for (const q of [r.low, r.high]) {
      if (q) {
        quantityRowsOf(code, { type: 'Quantity', value: q }, rows);
      }
    }
  } else if (typeof v === 'number') {
    rows.quantity.push([code, String(v), null, null, null]);
  }
}

function numberRowsOf(code: string, tv: TypedValue, rows: IndexRows): void {
  const v = tv.value as unknown;
  if (typeof v === 'number' && Number.isFinite(v)) {
    rows.number.push([code, String(v)]);
  } else if (tv.type === 'Quantity' && typeof (v as Quantity).value === 'number') {
    rows.number.push([code, String((v as Quantity).value)]);
  }
}

function uriRowsOf(code: string, tv: TypedValue, rows: IndexRows): void {
  const v = tv.value as unknown;
  if (typeof v === 'string' && v) {
    rows.uri.push([code, v]);
  }
}

/** A component's expression on one value of its composite's expression. */
function evaluateComponent(component: CompositeComponent, tv: TypedValue): TypedValue[] {
  if (!component.expression) {
    return [];
  }
  try {
    return evalFhirPathTyped(component.expression, [tv]);
  } catch {
    return [];
  }
}

/** Component types that form the '$'-joined key of a composite row. */
export const COMPOSITE_KEY_TYPES = new Set(['token', 'string', 'reference', 'uri']);
/** Component types allowed as the last component, stored in the row's range columns. */
export const COMPOSITE_RANGE_TYPES = new Set(['quantity', 'number', 'date']);

/** The search-form strings of one key component value, as the composite query side builds them. */
function componentKeys(def: SearchParamDef, tv: TypedValue): string[] {
  const rows = emptyRows();
  switch (def.type) {
    case 'token':
      tokenRowsOf('c', tv, rows);
      return rows.token.flatMap(([, system, value]) => (value === null ? [] : [value, `${system ?? ''}|${value}`]));
    case 'string':
      stringRowsOf('c', tv, rows);
      return rows.string.map(([, norm]) => norm);
    case 'reference':
      referenceRowsOf('c', tv, rows);
      return rows.reference.map(([, t, id, url]) => (t ? `${t}/${id}` : (url ?? '')));
    case 'uri':
      uriRowsOf('c', tv, rows);
      return rows.uri.map(([, v]) => v);
    default:
      return [];
  }
}

type RangeColumns = [num: string | null, system: string | null, unitCode: string | null, unit: string | null, low: string | null, high: string | null];

/** The range columns of the last component's values (quantity, number or date). */
function componentRanges(def: SearchParamDef, tv: TypedValue): RangeColumns[] {
  const rows = emptyRows();
  switch (def.type) {
    case 'quantity':
      quantityRowsOf('c', tv, rows);
      return rows.quantity.map(([, value, system, unitCode, unit]) => [value, system, unitCode, unit, null, null]);
    case 'number':
      numberRowsOf('c', tv, rows);
      return rows.number.map(([, value]) => [value, null, null, null, null, null]);
    case 'date':
      dateRowsOf('c', tv, rows);
      return rows.date.map(([, low, high]) => [null, null, null, null, low, high]);
    default:
      return [];
  }
}

/** The values of one component of a composite: its own parameter's definition and the typed values. */
type ComponentValues = (component: CompositeComponent, componentDef: SearchParamDef) => TypedValue[];

/**
 * Composite rows (https://hl7.org/fhir/R4/search.html#composite): every combination of the key
 * components' values, times the values of a final quantity/number/date component if there is one.
 * Components are evaluated on each value of the composite's own expression, so they pair up
 * within one element (e.g. one Observation.component); the components of a combination index
 * are evaluated with their own parameters' expressions on the whole resource instead, so its rows
 * hold exactly the values the separate parameters index.
 */
function compositeRowsOf(resourceType: string, def: SearchParamDef, valuesOf: ComponentValues, rows: IndexRows): void {
  let combos: string[] = [''];
  let ranges: RangeColumns[] = [[null, null, null, null, null, null]];
  for (const [i, component] of def.components.entries()) {
    const componentDef = searchParamByUrl(resourceType, component.definition);
    if (!componentDef) {
      return;
    }
    const values = valuesOf(component, componentDef);
    const last = i === def.components.length - 1;
    if (last && COMPOSITE_RANGE_TYPES.has(componentDef.type)) {
      ranges = values.flatMap((value) => componentRanges(componentDef, value));
    } else if (COMPOSITE_KEY_TYPES.has(componentDef.type)) {
      const keys = [...new Set(values.flatMap((value) => componentKeys(componentDef, value)))];
      combos = combos.flatMap((prefix) => keys.map((k) => (prefix ? `${prefix}$${k}` : k)));
    } else {
      return; // e.g. MolecularSequence token$number$number: not indexed (and rejected when searched)
    }
  }
  for (const combo of combos) {
    for (const range of ranges) {
      rows.composite.push([def.code, combo, ...range]);
    }
  }
}

export interface ExtractOptions {
  /** This server's base URL: absolute references under it are indexed as local ones. */
  readonly baseUrl?: string;
}

/** All index rows of a resource for every search parameter of its type. */
export function extractIndexRows(original: Resource, options: ExtractOptions = {}): IndexRows {
  const rows = emptyRows();
  const resource = localizeReferences(original, options.baseUrl);
  const typed = toTypedValue(resource);
  const variables = { '%resource': typed, '%rootResource': typed };
  for (const def of searchParamsOf(resource.resourceType).values()) {
    if (RESOURCE_COLUMN_PARAMS.has(def.code) || def.type === 'special') {
      continue;
    }
    if (def.combination) {
      compositeRowsOf(resource.resourceType, def, (_, componentDef) => evaluate(componentDef, typed, variables), rows);
      continue;
    }
    for (const tv of evaluate(def, typed, variables)) {
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
          compositeRowsOf(resource.resourceType, def, (component) => evaluateComponent(component, tv), rows);
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
export function extractIndexParts(resource: Resource, options: ExtractOptions = {}): IndexedPart[] {
  const parts: IndexedPart[] = [{ containedId: null, rows: extractIndexRows(resource, options) }];
  const seen = new Set<string>();
  for (const contained of (resource as { contained?: Resource[] }).contained ?? []) {
    if (!contained?.resourceType || !contained.id || seen.has(contained.id)) {
      continue;
    }
    seen.add(contained.id);
    const type = contained.resourceType;
    const own = extractIndexRows(contained, options);
    const rows = emptyRows();
    for (const key of Object.keys(own) as (keyof IndexRows)[]) {
      (rows[key] as unknown[]).push(...own[key].map(([code, ...rest]) => [containedCode(type, code), ...rest]));
    }
    rows.token.push([containedCode(type, '_id'), null, contained.id, null]);
    parts.push({ containedId: contained.id, rows });
  }
  return parts;
}

/**
 * Rewrites absolute references to this server (`<base>/Patient/1`) to relative ones, so that
 * expressions such as `subject.where(resolve() is Patient)` see their type. Only when present.
 */
function localizeReferences(resource: Resource, baseUrl: string | undefined): Resource {
  const base = baseUrl?.replace(/\/+$/, '');
  if (!base) {
    return resource;
  }
  const json = JSON.stringify(resource);
  const needle = JSON.stringify(`${base}/`).slice(0, -1);
  return json.includes(needle) ? (JSON.parse(json.replaceAll(needle, '"')) as Resource) : resource;
}

function dedupe(rows: IndexRows): IndexRows {
  const out = emptyRows();
  for (const key of Object.keys(rows) as (keyof IndexRows)[]) {
    const seen = new Set<string>();
    for (const row of rows[key]) {
      const k = JSON.stringify(row);
      if (!seen.has(k)) {
        seen.add(k);
        (out[key] as unknown[]).push(row);
      }
    }
  }
  return out;
}
