import type { SqlParam } from '../store/database.ts';

/**
 * Accumulates positional parameters while SQL text is assembled: every value goes through
 * `bind`, so no value is ever written into SQL text. Identifiers come from fixed whitelists.
 */
export class SqlBuilder {
  readonly params: SqlParam[] = [];
  private aliasCounter = 0;

  bind(value: SqlParam): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  /** A fresh table alias for a nested subquery. */
  alias(prefix: string): string {
    this.aliasCounter++;
    return `${prefix}${this.aliasCounter}`;
  }
}

/** Escapes LIKE wildcards so a user value matches literally (with the default `\` escape). */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * Splits a parameter value on unescaped commas (OR) — https://hl7.org/fhir/R4/search.html#escaping.
 * Escapes are kept; `unescapeValue` removes them after the value's own `|` / `$` split.
 */
export function splitUnescaped(value: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && i + 1 < value.length) {
      current += c + value[i + 1];
      i++;
    } else if (c === separator) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

export function unescapeValue(value: string): string {
  return value.replace(/\\([\\,|$])/g, '$1');
}
