import { badRequest, notAcceptable, unsupportedMediaType } from '../outcomes.ts';

/** Media types whose bodies are JSON (https://hl7.org/fhir/R4/http.html#mime-type). */
const JSON_TYPES = new Set(['application/fhir+json', 'application/json', 'application/json-patch+json']);
/** Bodies passed on as text: form-encoded search and YAML documents. */
const TEXT_TYPES = new Set(['application/x-www-form-urlencoded', 'application/yaml', 'application/x-yaml', 'text/yaml']);

export function mediaType(header: string | undefined): string | undefined {
  const type = header?.split(';')[0].trim().toLowerCase();
  return type || undefined;
}

/** Parses a request body by its Content-Type; malformed JSON is a 400 that says where. */
export function parseBody(raw: Buffer | undefined, contentType: string | undefined): unknown {
  if (!raw || raw.length === 0) {
    return undefined;
  }
  if (contentType === undefined) {
    throw unsupportedMediaType('The request has a body but no Content-Type; send Content-Type: application/fhir+json.');
  }
  if (contentType.includes('xml')) {
    throw unsupportedMediaType(`This server speaks FHIR JSON only; ${contentType} is not supported. Send application/fhir+json.`);
  }
  if (TEXT_TYPES.has(contentType)) {
    return raw.toString('utf8');
  }
  if (!JSON_TYPES.has(contentType)) {
    throw unsupportedMediaType(`Content-Type ${contentType} is not supported; send application/fhir+json.`);
  }
  const text = raw.toString('utf8');
  const depth = nestingDepth(text);
  if (depth > MAX_JSON_DEPTH) {
    throw badRequest(`The body nests objects and arrays ${depth} levels deep; at most ${MAX_JSON_DEPTH} are accepted (no FHIR resource needs more).`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const position = /position (\d+)/.exec(message)?.[1];
    const where = position === undefined ? '' : ` at ${lineAndColumn(text, Number(position))}`;
    throw badRequest(`The body is not valid JSON${where}: ${message}`);
  }
}

/**
 * Deepest nesting a body may have. The deepest R4 resources (a contained resource's extension of
 * an extension inside a Questionnaire item tree) stay far below it; a body nested thousands deep
 * would overflow the stack of the recursive walks that follow (validation, FHIRPath, indexing).
 */
export const MAX_JSON_DEPTH = 200;

/** The deepest nesting of objects and arrays in JSON text, by one scan that skips strings. */
function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c) i++; // backslash: skip the escaped character
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) inString = true;
    else if (char === 0x7b || char === 0x5b) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (char === 0x7d || char === 0x5d) depth--;
  }
  return deepest;
}

function lineAndColumn(text: string, position: number): string {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  return `line ${line}, column ${position - before.lastIndexOf('\n')}`;
}

const FORMAT_JSON = new Set(['json', 'application/json', 'application/fhir+json']);

/**
 * Checks that the client accepts JSON, from `_format` (which overrides Accept) or Accept
 * (https://hl7.org/fhir/R4/http.html#mime-type); XML and other formats are 406.
 */
export function assertAcceptsJson(accept: string | undefined, format: string | undefined, allowHtml = false): void {
  if (format !== undefined) {
    // An unescaped `+` in `_format=application/fhir+json` arrives as a space (form decoding);
    // parameters such as `;fhirVersion=4.0` don't change the format.
    const asked = format.split(';')[0].trim().toLowerCase().replace(/ /g, '+');
    if (!FORMAT_JSON.has(asked) && !(allowHtml && asked === 'html')) {
      throw notAcceptable(`_format=${format} is not supported; this server answers in JSON (_format=json).`, '_format');
    }
    return;
  }
  if (!accept) {
    return;
  }
  const types = accept.split(',').map((part) => part.split(';')[0].trim().toLowerCase());
  const ok = types.some(
    (type) =>
      type === '*/*' ||
      type === 'application/*' ||
      type.endsWith('json') ||
      (allowHtml && (type === 'text/html' || type === 'text/*')),
  );
  if (!ok) {
    throw notAcceptable(`Accept: ${accept} cannot be served; this server answers with application/fhir+json.`);
  }
}
