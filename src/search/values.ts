/**
 * Value normalization shared by the index writer and the query side, so both compare the same
 * forms (https://hl7.org/fhir/R4/search.html#string, #date, #number).
 */

/**
 * Letters that Unicode does not decompose into a base letter and a mark, folded as a reader of
 * the language would search for them (Straße ~ strasse, Ærø ~ aero, Łódź ~ lodz).
 */
const FOLDED: Readonly<Record<string, string>> = { ß: 'ss', æ: 'ae', ø: 'o', ł: 'l', œ: 'oe', đ: 'd', ð: 'd', þ: 'th', ı: 'i' };
const UNDECOMPOSED = /[ßæøłœđðþı]/g;

/**
 * Case- and accent-insensitive form of a string (https://hl7.org/fhir/R4/search.html#string):
 * NFD, combining marks removed, lower case, and the letters above folded. Index rows hold this
 * form: after a change here, `kanplan reindex` brings rows written before it up to date.
 */
export function normalizeString(value: string): string {
  return value.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(UNDECOMPOSED, (c) => FOLDED[c] ?? c);
}

const DATE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * The implicit range [low, high) of a date, dateTime or instant at its precision
 * (https://hl7.org/fhir/R4/search.html#date): `2020` is all of 2020, `2020-03-04T10:00` one minute.
 * Values without a time zone are taken as UTC. Returns ISO strings, or undefined if malformed.
 */
export function dateRange(value: string): [string, string] | undefined {
  const m = DATE.exec(value.trim());
  if (!m) {
    return undefined;
  }
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  const year = Number(y);
  const month = mo ? Number(mo) - 1 : 0;
  const day = d ? Number(d) : 1;
  if (month > 11 || day < 1 || day > 31 || (h && (Number(h) > 23 || Number(mi) > 59)) || (s && Number(s) > 60)) {
    return undefined;
  }
  const ms = frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0;
  let offsetMinutes = 0;
  if (tz && tz !== 'Z') {
    const sign = tz[0] === '-' ? -1 : 1;
    offsetMinutes = sign * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4, 6)));
  }
  const start = new Date(Date.UTC(year, month, day, h ? Number(h) : 0, mi ? Number(mi) : 0, s ? Number(s) : 0, ms));
  start.setUTCFullYear(year); // years < 100
  const low = start.getTime() - offsetMinutes * 60_000;
  let high: number;
  if (!mo) {
    high = Date.UTC(year + 1, 0, 1) - offsetMinutes * 60_000;
  } else if (!d) {
    high = Date.UTC(year, month + 1, 1) - offsetMinutes * 60_000;
  } else if (!h) {
    high = low + 86_400_000;
  } else if (!s) {
    high = low + 60_000;
  } else if (!frac) {
    high = low + 1_000;
  } else {
    high = low + 1;
  }
  if (Number.isNaN(low) || Number.isNaN(high)) {
    return undefined;
  }
  return [new Date(low).toISOString(), new Date(high).toISOString()];
}

/**
 * The range a search number stands for at its precision (https://hl7.org/fhir/R4/search.html#number):
 * `100` is [99.5, 100.5), `100.00` is [99.995, 100.005), `1e2` is [95, 105). Decimal strings
 * keep exactness: the caller passes `value` and `half` as numeric parameters to SQL.
 */
export function numberRange(value: string): { value: string; half: string } | undefined {
  const m = /^([+-]?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(value.trim());
  if (!m) {
    return undefined;
  }
  const [, , int, frac = '', exp] = m;
  const exponent = exp ? Number(exp) : 0;
  // Half a unit of the last significant digit.
  let halfUnitExponent: number;
  if (exp) {
    const significant = (int.replace(/^0+/, '') + frac).length || 1;
    const leadExponent = (int.replace(/^0+/, '').length || 1) - 1 + exponent;
    halfUnitExponent = leadExponent - (significant - 1);
  } else {
    halfUnitExponent = -frac.length;
  }
  return { value: value.trim(), half: `5e${halfUnitExponent - 1}` };
}
