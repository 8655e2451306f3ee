import type { TypedValue } from '@medplum/core';
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
  Timing,
} from '@medplum/fhirtypes';
import { parseReference } from './references.ts';
import { dateRange, normalizeString } from './values.ts';

/**
 * The index rows of one value per parameter type, in the comparable form each index table holds
 * (https://hl7.org/fhir/R4/search.html#ptypes): what extract.ts writes and the query side compares.
 */

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

export function tokenRowsOf(code: string, tv: TypedValue, rows: IndexRows): void {
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

export function stringRowsOf(code: string, tv: TypedValue, rows: IndexRows): void {
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

export function referenceRowsOf(code: string, tv: TypedValue, rows: IndexRows, baseUrl?: string): void {
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
    if (p.url !== null && p.url !== v) {
      // A versioned canonical `url|version` is found by its url alone (any version) and by
      // `url|version` (that version): https://hl7.org/fhir/R4/search.html#versions.
      rows.reference.push([code, null, null, v]);
    }
  } else if (tv.type && typeof v === 'object' && v && 'resourceType' in v && 'id' in v) {
    // resolve() of a contained or literal target.
    const r = v as { resourceType: string; id: string };
    rows.reference.push([code, r.resourceType, r.id, null]);
  }
}

export function dateRowsOf(code: string, tv: TypedValue, rows: IndexRows): void {
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

export function quantityRowsOf(code: string, tv: TypedValue, rows: IndexRows): void {
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

export function numberRowsOf(code: string, tv: TypedValue, rows: IndexRows): void {
  const v = tv.value as unknown;
  if (typeof v === 'number' && Number.isFinite(v)) {
    rows.number.push([code, String(v)]);
  } else if (tv.type === 'Quantity' && typeof (v as Quantity).value === 'number') {
    rows.number.push([code, String((v as Quantity).value)]);
  }
}

export function uriRowsOf(code: string, tv: TypedValue, rows: IndexRows): void {
  const v = tv.value as unknown;
  if (typeof v === 'string' && v) {
    rows.uri.push([code, v]);
  }
}

/** The rows without repeats: a value reached by two paths of an expression is indexed once. */
export function dedupe(rows: IndexRows): IndexRows {
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
