import type { Resource } from '@medplum/fhirtypes';
import type { SearchParameterRegistry } from '../conformance/search-parameters.ts';
import { extractIndexRows, type ExtractOptions } from './extract.ts';
import type { IndexRows } from './index-rows.ts';
import { splitUnescaped, unescapeValue } from './sql.ts';
import { normalizeString } from './values.ts';

/**
 * Search criteria judged on one resource's index rows instead of in SQL: how a subscription's
 * criteria and filters are matched against the version being written, in the write's own
 * statement, before that version's rows are visible to any query
 * (https://hl7.org/fhir/R4/subscription.html#criteria). A subset of search: `_id`, token (`code`,
 * `system|code`, `|code`, `system|`, `:not`), reference (`Type/id`, `id`), string (starts-with,
 * `:exact`, `:contains`) and uri parameters, values ORed by commas, parameters ANDed. Criteria
 * outside it are refused when the subscription is written (`unsupportedCriteria`), never guessed.
 */
export interface ContentCriteria {
  readonly resourceType: string;
  readonly conditions: readonly ContentCondition[];
}

interface ContentCondition {
  readonly code: string;
  readonly type: 'id' | 'token' | 'reference' | 'string' | 'uri';
  readonly modifier?: 'not' | 'exact' | 'contains';
  readonly values: readonly string[];
}

const MODIFIERS: Readonly<Record<ContentCondition['type'], readonly string[]>> = {
  id: [],
  token: ['not'],
  reference: [],
  string: ['exact', 'contains'],
  uri: [],
};

/** The criteria parsed, or the reason they cannot be judged on content (a message for the client). */
export function parseContentCriteria(parameters: SearchParameterRegistry, resourceType: string, query: string): ContentCriteria | string {
  const conditions: ContentCondition[] = [];
  for (const [name, value] of new URLSearchParams(query)) {
    const [code, modifier, ...rest] = name.split(':');
    if (rest.length > 0 || code.includes('.')) {
      return `${name} is not supported in subscription criteria (no chains)`;
    }
    const type = code === '_id' ? 'id' : parameters.param(resourceType, code)?.type;
    if (type === undefined) {
      return `${resourceType} has no search parameter ${code}`;
    }
    if (!(type in MODIFIERS)) {
      return `${code} is a ${type} parameter; subscription criteria support token, reference, string, uri and _id parameters`;
    }
    const kind = type as ContentCondition['type'];
    if (modifier !== undefined && !MODIFIERS[kind].includes(modifier)) {
      return `modifier :${modifier} of ${code} is not supported in subscription criteria`;
    }
    const values = splitUnescaped(value, ',').map(unescapeValue);
    conditions.push({ code, type: kind, modifier: modifier as ContentCondition['modifier'], values });
  }
  return { resourceType, conditions };
}

/** Whether `resource` (a version about to be written, or read back) matches `criteria`. */
export function matchesContent(parameters: SearchParameterRegistry, criteria: ContentCriteria, resource: Resource & { id: string }, options: ExtractOptions = {}, rows?: IndexRows): boolean {
  if (resource.resourceType !== criteria.resourceType) return false;
  if (criteria.conditions.length === 0) return true;
  const indexed = rows ?? extractIndexRows(parameters, resource, options);
  return criteria.conditions.every((condition) => conditionHolds(indexed, resource.id, condition));
}

function conditionHolds(rows: IndexRows, id: string, condition: ContentCondition): boolean {
  const { code, values } = condition;
  switch (condition.type) {
    case 'id':
      return values.includes(id);
    case 'token': {
      const any = values.some((v) => tokenMatches(rows, code, v));
      return condition.modifier === 'not' ? !any : any;
    }
    case 'reference':
      return values.some((v) => referenceMatches(rows, code, v));
    case 'string':
      return values.some((v) => stringMatches(rows, code, v, condition.modifier));
    case 'uri':
      return values.some((v) => rows.uri.some(([c, u]) => c === code && u === v));
  }
}

function tokenMatches(rows: IndexRows, code: string, value: string): boolean {
  const bar = value.indexOf('|');
  const system = bar < 0 ? undefined : value.slice(0, bar);
  const wanted = bar < 0 ? value : value.slice(bar + 1);
  return rows.token.some(([c, s, v]) => c === code && (system === undefined || (system === '' ? s === null : s === system)) && (wanted === '' || v === wanted));
}

function referenceMatches(rows: IndexRows, code: string, value: string): boolean {
  const parts = value.split('/');
  const [type, id] = parts.length >= 2 ? parts.slice(-2) : [undefined, value];
  return rows.reference.some(([c, t, i]) => c === code && i === id && (type === undefined || t === type));
}

function stringMatches(rows: IndexRows, code: string, value: string, modifier: ContentCondition['modifier']): boolean {
  if (modifier === 'exact') return rows.string.some(([c, , v]) => c === code && v === value);
  const wanted = normalizeString(value);
  return rows.string.some(([c, norm]) => c === code && (modifier === 'contains' ? norm.includes(wanted) : norm.startsWith(wanted)));
}
