import fc from 'fast-check';

/**
 * Generated bad requests for the FHIR API (issue 20, "Bad input"): every route and method, with
 * malformed and truncated JSON, wrong types, huge and negative numbers, deep nesting, long
 * strings, odd Unicode (NUL, lone surrogates, right-to-left marks), duplicate keys, unknown and
 * malformed search parameters, modifiers, prefixes and dates, absurd _count/_include chains, bad
 * If-Match/Prefer/Accept/Content-Type headers, bundles whose references form a cycle, oversized
 * bodies. Write targets are ids that do not exist and bodies that are never valid resources, so a
 * correct server writes nothing.
 */
export interface FuzzRequest {
  readonly method: string;
  /** Path below the FHIR base, already percent-encoded where needed. */
  readonly path: string;
  readonly query: readonly (readonly [string, string])[];
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** Ids of the seeded resources, which reads may hit but writes never target. */
export const SEEDED = { patient: 'fz-seed-patient', carePlan: 'fz-seed-careplan' };

const oddText = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('\u0000', '\ud800', '\udfff', 'a\u202eb', '\u200f\u05d0', '\ufeff', '💥', "'; DROP TABLE resource;--", '$(id)', '../../etc/passwd', '%00', '\\', '"', '{{x}}', '${x}', 'x'.repeat(5000)),
);

const oddNumber = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: false }),
  fc.constantFrom(-1, 0, 1e308, -1e308, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER, 1e-320),
);

const resourceType = fc.constantFrom('Patient', 'CarePlan', 'Observation', 'Task', 'Goal', 'ServiceRequest', 'Bundle', 'Subscription', 'ValueSet', 'Foo', 'patient', '', 'Patient%20', 'OperationOutcome');
const freshId = fc.oneof(fc.stringMatching(/^fz-new-[a-z0-9]{1,8}$/), oddText.map((text) => `fz-${text}`));
const anyId = fc.oneof(freshId, fc.constantFrom(SEEDED.patient, SEEDED.carePlan));

function encodePathSegment(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    // A lone surrogate cannot be UTF-8 encoded: send a broken escape instead.
    return '%ZZ';
  }
}

const readPath = fc.oneof(
  fc.constantFrom('', 'metadata', '_history', '$export', 'Patient/$export', 'Group/kancare-mco-x/$export'),
  resourceType,
  fc.tuple(resourceType, anyId).map(([type, id]) => `${type}/${encodePathSegment(id)}`),
  fc.tuple(resourceType, anyId, fc.oneof(fc.constant('_history'), fc.constantFrom('_history/1', '_history/0', '_history/-1', '_history/99999999999999999999', '_history/abc'))).map(
    ([type, id, tail]) => `${type}/${encodePathSegment(id)}/${tail}`,
  ),
  fc.constantFrom(
    `CarePlan/${SEEDED.carePlan}/$render`,
    `CarePlan/${SEEDED.carePlan}/$document`,
    `Patient/${SEEDED.patient}/$everything`,
    'ValueSet/$expand',
    'CodeSystem/$lookup',
    'ValueSet/$validate-code',
    'Subscription/fz-none/$status',
    'Subscription/fz-none/$events',
    'Patient/$nope',
    '%E0%A4%A',
    'Patient/%',
    'a/b/c/d/e',
  ),
);

const searchName = fc.oneof(
  fc.constantFrom('_id', 'name', 'family', 'birthdate', 'gender', 'identifier', '_lastUpdated', 'subject', 'patient', 'status', 'date', 'code', 'value-quantity', 'category', '_tag', '_profile', '_text', '_content', '_has', '_list', '_type', 'url', 'version'),
  fc.string({ maxLength: 12 }),
);
const modifier = fc.constantFrom('', ':exact', ':contains', ':missing', ':not', ':above', ':below', ':in', ':not-in', ':text', ':identifier', ':of-type', ':Patient', ':Patient.name', ':iterate', ':bogus', ':', '::');
const searchValue = fc.oneof(
  oddText,
  oddNumber.map(String),
  fc.tuple(fc.constantFrom('eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap', 'zz', ''), fc.constantFrom('2024', '2024-13-45', '2024-02-30T25:61:00Z', '-0001', '99999-01-01', '1e400', 'NaN', '5||mg', '5|http://unitsofmeasure.org|', ',,,', '\\,', 'T')).map(([a, b]) => `${a}${b}`),
  fc.constantFrom('Patient/x', 'http://x/Patient/1', 'urn:uuid:1', 'a|b|c', '|', 'system|', '|code', 'Patient.name', 'name:Patient.birthdate'),
);
const specialParameter = fc.oneof(
  oddNumber.map((n) => ['_count', String(n)] as const),
  fc.constantFrom('-1', '0', '100000000', 'abc', '1.5', '').map((v) => ['_count', v] as const),
  fc.constantFrom('*', 'Patient:*', 'CarePlan:subject', 'CarePlan:subject:Patient', 'Foo:bar', ':', 'Patient:link:Patient:link').map((v) => ['_include', v] as const),
  fc.constantFrom('*', 'Observation:subject', 'CarePlan:patient:Patient').map((v) => ['_revinclude:iterate', v] as const),
  fc.constantFrom('name', '-birthdate', '_lastUpdated', 'nope', '-', ',', 'name,,-name', "name;select 1", 'value-quantity').map((v) => ['_sort', v] as const),
  fc.constantFrom('true', 'false', 'count', 'text', 'data', 'bogus').map((v) => ['_summary', v] as const),
  fc.constantFrom('id', 'name,birthDate', '', 'x.y.z', '*').map((v) => ['_elements', v] as const),
  fc.constantFrom('1', '-5', 'abc', '999999999999999999999').map((v) => ['_offset', v] as const),
  fc.constantFrom('json', 'xml', 'text/turtle', '').map((v) => ['_format', v] as const),
  fc.constantFrom('true', 'nope').map((v) => ['_pretty', v] as const),
  fc.constantFrom('Patient', 'Patient,Foo', '').map((v) => ['_type', v] as const),
  fc.constantFrom('2020', 'bogus').map((v) => ['_since', v] as const),
);
const query = fc.array(
  fc.oneof(
    fc.tuple(searchName, modifier, searchValue).map(([name, mod, value]) => [`${name}${mod}`, value] as const),
    specialParameter,
  ),
  { maxLength: 5 },
);

/** Mostly well-formed headers, so requests get past the edge; 0–2 odd ones each time. */
const oddHeader = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom('application/fhir+json', 'application/json', 'application/fhir+xml', 'text/html', '*/*', 'image/png', '', ';;;', 'application/fhir+json; fhirVersion=3.0').map((v) => ['accept', v] as const) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom('application/json', 'application/json-patch+json', 'application/fhir+xml', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/yaml', '', 'application/fhir+json; charset=latin1')
      .map((v) => ['content-type', v] as const),
  },
  { weight: 3, arbitrary: fc.oneof(fc.constantFrom('W/"1"', 'W/"0"', 'W/"-1"', '"1"', 'W/"abc"', '*', 'W/"99999999999999999999"', 'W/'), fc.string({ maxLength: 20 }).filter((text) => /^[\x20-\x7e]*$/.test(text))).map((v) => ['if-match', v] as const) },
  { weight: 1, arbitrary: fc.constantFrom('*', 'W/"1"', 'garbage').map((v) => ['if-none-match', v] as const) },
  { weight: 2, arbitrary: fc.constantFrom('name=x', '_id=fz-none', 'bogus-param=1', '=', '&&', 'identifier=|', '_count=-1').map((v) => ['if-none-exist', v] as const) },
  { weight: 1, arbitrary: fc.constantFrom('Mon, 01 Jan 2024 00:00:00 GMT', 'yesterday', '').map((v) => ['if-modified-since', v] as const) },
  { weight: 3, arbitrary: fc.constantFrom('return=minimal', 'return=representation', 'return=OperationOutcome', 'return=bogus', 'handling=strict', 'handling=lenient', 'respond-async', ';;', 'return=').map((v) => ['prefer', v] as const) },
  { weight: 1, arbitrary: fc.constantFrom('Bearer not-a-token', 'Basic Zm9vOmJhcg==', 'Bearer ', 'Bearer a.b.c').map((v) => ['authorization', v] as const) },
);
const headers = fc.array(oddHeader, { maxLength: 2 }).map((entries) => ({ accept: 'application/fhir+json', 'content-type': 'application/fhir+json', ...Object.fromEntries(entries) }) as Record<string, string>);

function deepNesting(depth: number): string {
  return `{"resourceType":"Patient","extension":${'['.repeat(depth)}${']'.repeat(depth)}}`;
}

function cyclicTransaction(): string {
  const a = 'urn:uuid:00000000-0000-4000-8000-00000000000a';
  const b = 'urn:uuid:00000000-0000-4000-8000-00000000000b';
  // Each entry refers to the other, and both carry an element no Patient has: never valid.
  const entry = (self: string, other: string) => ({
    fullUrl: self,
    resource: { resourceType: 'Patient', link: [{ other: { reference: other }, type: 'seealso' }], fuzzUnknownElement: true },
    request: { method: 'POST', url: 'Patient' },
  });
  return JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [entry(a, b), entry(b, a)] });
}

/** A resource-shaped body that cannot be valid: an element of the wrong type or one no resource has. */
const brokenResource = fc
  .tuple(resourceType, fc.constantFrom('gender', 'birthDate', 'active', 'name', 'meta', 'id', 'status', 'subject', 'fuzzUnknown'), fc.oneof(oddNumber, oddText, fc.json().map((text) => JSON.parse(text) as unknown)))
  .map(([type, element, value]) => {
    const resource: Record<string, unknown> = { resourceType: type, fuzzNeverAnElement: true };
    resource[element] = value;
    return JSON.stringify(resource);
  });

const body = fc.oneof(
  { weight: 3, arbitrary: brokenResource },
  { weight: 2, arbitrary: brokenResource.chain((text) => fc.integer({ min: 0, max: Math.max(0, text.length - 1) }).map((cut) => text.slice(0, cut))) },
  { weight: 2, arbitrary: fc.json({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{"resourceType":"Patient","resourceType":"Observation","fuzzUnknown":1}',
      '{"resourceType":"Patient","gender":"female","gender":12}',
      '{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"Patient?bogus-param=1"}},{"resource":{"resourceType":"Patient","gender":1},"request":{"method":"POST","url":"Patient"}}]}',
      '{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient?_count=-1"}},{"request":{"method":"PUT","url":"Patient/fz-nope"},"resource":{"resourceType":"Patient","id":"other"}}]}',
      '{"resourceType":"Bundle","type":"transaction","entry":"not-an-array"}',
      '[{"op":"replace","path":"/gender","value":12}]',
      '[{"op":"bogus"}]',
      '[{"op":"add","path":"/a/b/c/d","value":1}]',
      '{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient","gender":12}}]}',
      '\u0000\u0000',
      '{"a":"\\ud800"}',
      'null',
      '[]',
      '""',
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 20_000 }).map(deepNesting) },
  { weight: 1, arbitrary: fc.constant(cyclicTransaction()) },
  { weight: 1, arbitrary: fc.constantFrom(`{"resourceType":"Patient","text":{"div":"${'x'.repeat(200_000)}"},"fuzzUnknown":1}`, `{"resourceType":"Patient","fuzzUnknown":"${'\u202e'.repeat(30_000)}"}`) },
);

// Not Bundle: the batch and transaction bodies below are valid Bundles, which POST /Bundle would store.
const writeType = resourceType.filter((type) => type !== 'Bundle');
const writePath = fc.oneof(
  writeType,
  fc.tuple(writeType, freshId).map(([type, id]) => `${type}/${encodePathSegment(id)}`),
  fc.constantFrom('', 'CarePlan/$import-document', 'Patient/$validate', `Patient/${SEEDED.patient}`, `CarePlan/${SEEDED.carePlan}`),
);

export const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc.oneof(
  fc.record({ method: fc.constantFrom('GET', 'GET', 'GET', 'GET', 'HEAD', 'OPTIONS', 'PROPFIND', 'get'), path: readPath, query, headers, body: fc.constant(undefined) }),
  fc.record({ method: fc.constantFrom('POST', 'PUT', 'PATCH'), path: writePath, query, headers, body }),
  // Deletes only of ids that do not exist, or conditional deletes whose criteria are broken.
  fc.record({
    method: fc.constant('DELETE'),
    path: fc.oneof(fc.tuple(resourceType, freshId).map(([type, id]) => `${type}/${encodePathSegment(id)}`), resourceType),
    query: fc.array(fc.tuple(fc.constantFrom('bogus-param', '_id', 'name:bogus', '_count'), fc.constantFrom('fz-none', '', '-1', '\u0000')), { maxLength: 2 }),
    headers,
    body: fc.constant(undefined),
  }),
);
