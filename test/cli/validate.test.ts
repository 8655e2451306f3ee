import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { afterAll, describe, expect, it } from 'vitest';
import { validateCommand } from '../../src/cli/validate.ts';
import { captureIo, runKanplan } from './command-io.ts';

const root = join(import.meta.dirname, '..', '..');
const examples = join(root, 'bundles', 'examples');
const scratch = mkdtempSync(join(tmpdir(), 'kanplan-validate-'));
/** The guide's valid examples (the folder grows as the guide does). */
const validExamples = readdirSync(join(examples, 'valid')).filter((name) => name.endsWith('.json')).sort();

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const capture = captureIo();
  const code = await validateCommand.run(args, capture.io);
  return { code, out: capture.out(), err: capture.err() };
}

describe('kanplan validate FILE...', () => {
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('exits 0 for a folder of valid resources', async () => {
    const { code, out } = await run(join(examples, 'valid'));
    expect(code).toBe(0);
    expect(out).toContain(`${validExamples.length} of ${validExamples.length} file(s) valid`);
  });

  it('exits 1 and prints each issue with its FHIRPath for an invalid resource', async () => {
    const { code, out } = await run(join(examples, 'invalid', 'ks-workflow-task-ane-not-stat.json'));
    expect(code).toBe(1);
    expect(out).toContain('ks-workflow-task-ane-not-stat.json: INVALID (resource, 1 issue(s))');
    expect(out).toContain('error   Task: Constraint ks-task-1 not met: An ANE report Task has priority stat');
  });

  it('validates every entry of a Bundle, located by entry index', async () => {
    const read = (name: string): Resource => JSON.parse(readFileSync(join(examples, name), 'utf8')) as Resource;
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ resource: read('valid/ks-goal.json') }, { resource: read('invalid/ks-goal-bad-status-no-text.json') }],
    };
    const file = join(scratch, 'bundle.json');
    writeFileSync(file, JSON.stringify(bundle));
    const { code, out } = await run('--format', 'json', file);
    expect(code).toBe(1);
    const outcome = JSON.parse(out.trim()) as OperationOutcome;
    expect(outcome.issue.map((i) => i.expression?.[0])).toEqual(['Bundle.entry[1].resource.description.text', 'Bundle.entry[1].resource.lifecycleStatus']);
  });

  it('checks a plan document and the resources it maps to', async () => {
    const { code, out } = await run(join(root, 'bundles', 'documents', 'avery-example.pcsp.json'));
    expect(code).toBe(0);
    expect(out).toContain('avery-example.pcsp.json: valid (document');
    const broken = join(scratch, 'broken.pcsp.json');
    writeFileSync(broken, JSON.stringify({ documentType: 'pcsp' }));
    const result = await run(broken);
    expect(result.code).toBe(1);
    expect(result.out).toContain('INVALID (document');
  });

  it('fails on warnings with --strict, on unreadable files, and exits 2 on usage errors', async () => {
    const warnOnly = join(scratch, 'warn.json');
    writeFileSync(warnOnly, JSON.stringify({ resourceType: 'Basic', code: { text: 'x' }, meta: { profile: ['https://example.org/unknown'] } }));
    expect((await run(warnOnly)).code).toBe(0);
    expect((await run('--strict', warnOnly)).code).toBe(1);
    const notJson = join(scratch, 'bad.json');
    writeFileSync(notJson, '{ nope');
    expect((await run(notJson)).code).toBe(1);
    expect((await run()).code).toBe(2);
    expect((await run(join(scratch, 'missing.json'))).code).toBe(2);
    expect((await run('--format', 'xml', warnOnly)).code).toBe(2);
    expect((await run('--format', warnOnly)).code).toBe(2);
  });

  it('shows progress on stderr for many files, none with --quiet, while stdout carries only the results', async () => {
    const shown = await run(join(examples, 'valid'));
    const quiet = await run('--quiet', join(examples, 'valid'));
    const n = validExamples.length;
    expect(shown.err).toContain(`0/${n} files (0%) ${validExamples[0]}\n`);
    expect(shown.err).toContain(`${n}/${n} files (100%)\n`);
    expect(quiet.err).toBe('');
    expect(shown.out).toBe(quiet.out);
  });

  it('gives the same exit codes as a process (`kanplan validate`), so scripts and CI can rely on them', () => {
    const kanplan = (...args: string[]): number | null => runKanplan(['validate', ...args]).status;
    expect(kanplan(join(examples, 'valid', 'ks-patient.json'))).toBe(0);
    expect(kanplan(join(examples, 'invalid', 'ks-patient-missing-medicaid-id.json'))).toBe(1);
    expect(kanplan()).toBe(2);
  }, 60_000);
});
