import { badRequest } from '../outcomes.ts';
import { SqlBuilder, escapeLike, splitUnescaped, unescapeValue } from './sql.ts';
import { dateRange, normalizeString, numberRange } from './values.ts';

/**
 * Per-type predicates on one index row `a` for one search value (after the comma split).
 * https://hl7.org/fhir/R4/search.html#ptypes. Each returns SQL over the row alias.
 */

export type Prefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';
const PREFIXES = new Set<string>(['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap']);

/** Splits an optional comparison prefix off a date, number or quantity value (search.html#prefix). */
export function splitPrefix(value: string): { prefix: Prefix; rest: string } {
  const head = value.slice(0, 2);
  if (PREFIXES.has(head) && value.length > 2 && !/^[a-z]/.test(value.slice(2, 3))) {
    return { prefix: head as Prefix, rest: value.slice(2) };
  }
  return { prefix: 'eq', rest: value };
}

/**
 * Token value forms: code, system|code, |code, system| (search.html#token). `impliedBy`: the
 * system a `code`-typed element implies (search/token-terminology.ts); its rows are indexed
 * without one, so `system|code` with that system matches them too.
 */
export function tokenPredicate(q: SqlBuilder, a: string, param: string, raw: string, impliedBy?: string): string {
  const parts = splitUnescaped(raw, '|');
  if (parts.length > 2) {
    throw badRequest(`Search parameter '${param}': token value '${raw}' has more than one unescaped '|'; use system|code.`, param);
  }
  if (parts.length === 1) {
    return `${a}.value = ${q.bind(unescapeValue(parts[0]))}`;
  }
  const [system, code] = parts.map(unescapeValue);
  if (system === '' && code === '') {
    throw badRequest(`Search parameter '${param}': token value '|' needs a system, a code or both.`, param);
  }
  if (system === '') {
    return `(${a}.system IS NULL AND ${a}.value = ${q.bind(code)})`;
  }
  const systemMatch = system === impliedBy ? `(${a}.system = ${q.bind(system)} OR ${a}.system IS NULL)` : `${a}.system = ${q.bind(system)}`;
  if (code === '') {
    return systemMatch;
  }
  return `(${systemMatch} AND ${a}.value = ${q.bind(code)})`;
}

/** Identifier :of-type — type-system|type-code|value (search.html#modifiers). */
export function ofTypePredicate(q: SqlBuilder, a: string, param: string, raw: string): string {
  const parts = splitUnescaped(raw, '|').map(unescapeValue);
  if (parts.length !== 3 || !parts[1] || !parts[2]) {
    throw badRequest(`Search parameter '${param}:of-type' takes type-system|type-code|value, not '${raw}'.`, param);
  }
  return `(${a}.system = ${q.bind(`${parts[0]}|${parts[1]}`)} AND ${a}.value = ${q.bind(parts[2])})`;
}

/**
 * :text on a token (search.html#modifiers: "searches text associated with the code/value"): each
 * word of the value starts a word anywhere in the display / text, in any order, case- and
 * accent-insensitively — `pressure blood` finds "Blood pressure (systolic)", `systolic` too. A
 * word starts at the beginning or after any character that is not a letter or digit.
 */
export function tokenTextPredicate(q: SqlBuilder, a: string, raw: string): string {
  const words = normalizeString(unescapeValue(raw)).split(/\s+/).filter(Boolean);
  if (!words.length) {
    return 'false';
  }
  return words
    .map((word) => `(${a}.text LIKE ${q.bind(`${escapeLike(word)}%`)} OR ${a}.text ~ ${q.bind(`[^[:alnum:]]${escapeRegex(word)}`)})`)
    .join(' AND ');
}

/** Escapes POSIX regular expression metacharacters so a user value matches literally. */
function escapeRegex(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, (c) => `\\${c}`);
}

/** string: starts-with by default, :exact, :contains (search.html#string). */
export function stringPredicate(q: SqlBuilder, a: string, modifier: string | undefined, raw: string): string {
  const value = unescapeValue(raw);
  if (modifier === 'exact') {
    return `${a}.value = ${q.bind(value)}`;
  }
  const norm = escapeLike(normalizeString(value));
  return `${a}.norm LIKE ${q.bind(modifier === 'contains' ? `%${norm}%` : `${norm}%`)}`;
}

/** uri: exact, :below (prefix of the stored value), :above (stored value is a prefix) — search.html#uri. */
export function uriPredicate(q: SqlBuilder, a: string, modifier: string | undefined, raw: string): string {
  const value = unescapeValue(raw);
  if (modifier === 'below') {
    return `${a}.value LIKE ${q.bind(`${escapeLike(value)}%`)}`;
  }
  if (modifier === 'above') {
    return `starts_with(${q.bind(value)}::text, ${a}.value)`;
  }
  return `${a}.value = ${q.bind(value)}`;
}

/** Columns holding a date range [low, high); `instant` when high is implicitly low + 1 ms. */
export interface DateColumns {
  readonly low: string;
  readonly high: string;
  readonly instant: boolean;
}

/**
 * date with prefixes against the range of the stored value (search.html#date, #prefix):
 * the parameter value stands for [pl, ph) at its precision.
 */
export function datePredicate(q: SqlBuilder, col: DateColumns, param: string, raw: string): string {
  const { prefix, rest } = splitPrefix(raw);
  const range = dateRange(rest);
  if (!range) {
    throw badRequest(
      `Search parameter '${param}': '${raw}' is not a date; use [prefix]YYYY[-MM[-DD[Thh:mm[:ss][Z|+hh:mm]]]], e.g. ge2024-01-31.`,
      param,
    );
  }
  // Bound only when used: PostgreSQL rejects parameters that appear nowhere in the statement.
  let plRef: string | undefined;
  let phRef: string | undefined;
  const lazy = {
    get pl(): string {
      plRef ??= `${q.bind(range[0])}::timestamptz`;
      return plRef;
    },
    get ph(): string {
      phRef ??= `${q.bind(range[1])}::timestamptz`;
      return phRef;
    },
  };
  // high > x and high <= x; for instants (high = low + 1 ms, x whole ms) written on low for index use.
  const highGt = (x: string): string => (col.instant ? `${col.low} >= ${x}` : `${col.high} > ${x}`);
  const highLe = (x: string): string => (col.instant ? `${col.low} < ${x}` : `${col.high} <= ${x}`);
  const within = (): string => `(${col.low} >= ${lazy.pl} AND ${highLe(lazy.ph)})`;
  switch (prefix) {
    case 'eq':
      return within();
    case 'ne':
      return `NOT ${within()}`;
    case 'gt':
      return highGt(lazy.ph);
    case 'lt':
      return `${col.low} < ${lazy.pl}`;
    case 'ge':
      return highGt(lazy.pl);
    case 'le':
      return `${col.low} < ${lazy.ph}`;
    case 'sa':
      return `${col.low} >= ${lazy.ph}`;
    case 'eb':
      return highLe(lazy.pl);
    case 'ap': {
      // Approximately: within 10% of the distance between the value and now (search.html#prefix).
      const lowMs = Date.parse(range[0]);
      const delta = Math.max(Math.abs(Date.now() - lowMs) * 0.1, 86_400_000);
      const apLow = `${q.bind(new Date(lowMs - delta).toISOString())}::timestamptz`;
      const apHigh = `${q.bind(new Date(Date.parse(range[1]) + delta).toISOString())}::timestamptz`;
      return `(${col.low} < ${apHigh} AND ${highGt(apLow)})`;
    }
  }
}

/** number (and the number part of quantity) with prefixes and implicit precision (search.html#number). */
export function numberPredicate(q: SqlBuilder, column: string, param: string, raw: string): string {
  const { prefix, rest } = splitPrefix(raw);
  const range = numberRange(rest);
  if (!range) {
    throw badRequest(`Search parameter '${param}': '${raw}' is not a number; use [prefix]decimal, e.g. gt5.4 or 1e2.`, param);
  }
  const v = `${q.bind(range.value)}::numeric`;
  const eq = (): string => {
    const half = `${q.bind(range.half)}::numeric`;
    return `(${column} >= ${v} - ${half} AND ${column} < ${v} + ${half})`;
  };
  switch (prefix) {
    case 'eq':
      return eq();
    case 'ne':
      return `NOT ${eq()}`;
    case 'gt':
    case 'sa':
      return `${column} > ${v}`;
    case 'lt':
    case 'eb':
      return `${column} < ${v}`;
    case 'ge':
      return `${column} >= ${v}`;
    case 'le':
      return `${column} <= ${v}`;
    case 'ap':
      return `(${column} >= ${v} - abs(${v}) * 0.1 AND ${column} <= ${v} + abs(${v}) * 0.1)`;
  }
}

/** quantity: [prefix]number|system|code, number||code (search.html#quantity). No unit conversion. */
export function quantityPredicate(q: SqlBuilder, a: string, param: string, raw: string, valueColumn = `${a}.value`): string {
  const parts = splitUnescaped(raw, '|').map(unescapeValue);
  if (parts.length !== 1 && parts.length !== 3) {
    throw badRequest(`Search parameter '${param}': quantity '${raw}' must be [prefix]number or [prefix]number|system|code.`, param);
  }
  const conditions = [numberPredicate(q, valueColumn, param, parts[0])];
  if (parts.length === 3) {
    const [, system, code] = parts;
    if (system) {
      conditions.push(`${a}.system = ${q.bind(system)}`);
      if (code) {
        conditions.push(`${a}.unit_code = ${q.bind(code)}`);
      }
    } else if (code) {
      conditions.push(`(${a}.unit_code = ${q.bind(code)} OR ${a}.unit = ${q.bind(code)})`);
    }
  }
  return `(${conditions.join(' AND ')})`;
}
