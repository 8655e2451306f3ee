import type { FhirRequest } from '../fhir/request.ts';
import { badRequest } from '../outcomes.ts';

/**
 * U+0000 cannot be stored or compared in PostgreSQL text (it ends C strings), and FHIR strings
 * may not hold it (https://hl7.org/fhir/R4/datatypes.html#string: no characters below U+0020
 * other than tab, CR and LF). A NUL anywhere in a request is the client's error, answered 400
 * here at the edge, before it can reach a search, an id lookup or the store.
 */
export function refuseNulCharacters(request: FhirRequest, rawBody: Buffer | undefined): void {
  if (request.path.includes('\u0000')) throw badRequest('The URL path contains a NUL character (%00); ids and names cannot hold it.');
  for (const [name, value] of request.query) {
    if (name.includes('\u0000') || value.includes('\u0000')) {
      throw badRequest(`The search parameter ${JSON.stringify(name.replace(/\u0000/g, '\\u0000'))} contains a NUL character (%00); FHIR strings cannot hold it.`);
    }
  }
  for (const [name, value] of Object.entries(request.headers)) {
    if (typeof value === 'string' && value.includes('\u0000')) throw badRequest(`The ${name} header contains a NUL character.`);
  }
  if (!rawBody || rawBody.length === 0) return;
  // A literal NUL byte, or the JSON escape \u0000 (checked on the parsed value: "\\u0000" is text).
  const where = rawBody.includes(0) ? 'the body' : /\\u0000/i.test(rawBody.toString('latin1')) ? pathOfNul(request.body, '') : undefined;
  if (where !== undefined) throw badRequest(`The body contains a NUL character (U+0000)${where === 'the body' || where === '' ? '' : ` at ${where}`}; FHIR strings cannot hold it (https://hl7.org/fhir/R4/datatypes.html#string).`);
}

/** The JSON path of the first string (or key) holding U+0000, or undefined when there is none. */
function pathOfNul(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = pathOfNul(value[i], `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (key.includes('\u0000')) return `${path}.${key.replace(/\u0000/g, '\\u0000')}`;
      const found = pathOfNul(child, path ? `${path}.${key}` : key);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}
