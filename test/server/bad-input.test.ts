import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { http, startTestServer, testDatabases, type TestServer } from '../harness.ts';

/** Regressions found by the fuzzer (test/server/fuzz.test.ts): each was a 500. */
describe.each(testDatabases)('bad input the fuzzer found (%s)', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('a NUL character in a search value, an id, a header or the body is 400 naming where, not a database error', async () => {
    const answers = [
      await http(server, 'DELETE', 'Task?_id=%00'),
      await http(server, 'GET', 'Patient?name=a%00b'),
      await http(server, 'GET', 'Patient/a%00b'),
      await http(server, 'POST', 'Patient', { raw: '{"resourceType":"Patient","name":[{"family":"Nul\\u0000person"}]}', headers: { 'content-type': 'application/fhir+json' } }),
      await http(server, 'POST', 'CarePlan/$import-document', { raw: 'documentType: pcsp\nplanId: "a\u0000b"\n', headers: { 'content-type': 'application/yaml' } }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([400, 400, 400, 400, 400]);
    for (const answer of answers) expect(answer.body.issue[0].diagnostics).toMatch(/NUL character/);
    expect(answers[3].body.issue[0].diagnostics).toContain('at name[0].family');
    // An escaped backslash followed by u0000 is text, not a NUL.
    const text = await http(server, 'POST', 'Patient', { raw: '{"resourceType":"Patient","name":[{"family":"Back\\\\u0000slash"}]}', headers: { 'content-type': 'application/fhir+json' } });
    expect(text.status).toBe(201);
  });

  test('a body nested thousands of levels deep is 400 naming the depth, for writes and operations alike', async () => {
    const deep = `{"resourceType":"Patient","extension":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    for (const path of ['Patient', 'Patient/$validate']) {
      const answer = await http(server, 'POST', path, { raw: deep, headers: { 'content-type': 'application/fhir+json' } });
      expect(answer.status).toBe(400);
      expect(answer.body.issue[0].diagnostics).toMatch(/nests objects and arrays 5001 levels deep; at most 200/);
    }
    // Brackets inside strings do not count.
    const inString = await http(server, 'POST', 'Patient/$validate', { raw: `{"resourceType":"Patient","name":[{"family":"${'['.repeat(5000)}"}]}`, headers: { 'content-type': 'application/fhir+json' } });
    expect(inString.status).toBe(200);
  });
});
