import { describe, expect, test } from 'vitest';
import { UsageError, defineCommand, type ParsedArguments } from '../../src/cli/command.ts';
import { captureIo } from './command-io.ts';

const options = {
  batch: { type: 'string', placeholder: 'N', default: '500', description: 'Resources per transaction' },
  kind: { type: 'string', placeholder: 'KIND', choices: ['pcsp', 'bsp'], description: 'Which plan' },
  name: { type: 'string', placeholder: 'NAME', required: true, description: 'Who' },
  out: { type: 'string', placeholder: 'FILE', description: 'Where' },
  all: { type: 'boolean', description: 'Everything' },
  quiet: { type: 'boolean', short: 'q', description: 'Show no progress' },
} as const;

/** A command that records what it was given, or fails the way its run decides. */
function recorder(operands?: { required?: boolean }): { command: ReturnType<typeof defineCommand>; seen: ParsedArguments<typeof options>[] } {
  const seen: ParsedArguments<typeof options>[] = [];
  const command = defineCommand({
    name: 'sample',
    summary: 'A sample command',
    description: 'Exit code 3 when asked to.',
    operands: operands && { placeholder: 'FILE', description: 'Input files', required: operands.required },
    options,
    async run(args) {
      seen.push(args);
      if (args.values.out === 'usage') throw new UsageError('--out may not be "usage"');
      return 3;
    },
  });
  return { command, seen };
}

describe('command options (util.parseArgs)', () => {
  test('gives each option its typed value: defaults, choices, booleans false when absent', async () => {
    const { command, seen } = recorder({ required: false });
    expect(await command.run(['--name', 'avery', '--kind=bsp', '-q', 'a.json', 'b.json'], captureIo().io)).toBe(3);
    expect(seen[0].values).toEqual({ batch: '500', kind: 'bsp', name: 'avery', out: undefined, all: false, quiet: true });
    expect(seen[0].operands).toEqual(['a.json', 'b.json']);
    // The types follow the definitions (a compile-time check as much as a runtime one).
    const batch: string = seen[0].values.batch;
    const kind: 'pcsp' | 'bsp' | undefined = seen[0].values.kind;
    const all: boolean = seen[0].values.all;
    expect([batch, kind, all]).toEqual(['500', 'bsp', false]);
  });

  test.each([
    [['--name', 'a', '--everything'], "Unknown option '--everything'"],
    [['--name', 'a', '-x'], "Unknown option '-x'"],
    [['--name', 'a', '--batch'], "Option '--batch <value>' argument missing"],
    [['--batch', '--name', 'a'], "Option '--batch' argument is ambiguous"],
    [['--name', 'a', '--all=yes'], "Option '--all' does not take an argument"],
    [['--batch', '2'], "Option '--name NAME' is required"],
    [['--name', 'a', '--kind', 'isp'], 'Option \'--kind\' takes pcsp, bsp, not "isp"'],
    [['--name', 'a', 'stray'], "Unexpected argument 'stray'"],
    [['--name', 'a', '--out', 'usage'], '--out may not be "usage"'],
  ])('%j is a usage error: exit code 2, the reason and the usage on stderr', async (args, reason) => {
    const { command, seen } = recorder();
    const capture = captureIo();
    expect(await command.run(args, capture.io)).toBe(2);
    expect(capture.err()).toContain(`kanplan sample: ${reason}`);
    expect(capture.err()).toContain(`Usage: ${command.usage}`);
    expect(capture.out()).toBe('');
    expect(seen.length).toBe(args.includes('usage') ? 1 : 0);
  });

  test('a command whose operands are required needs at least one', async () => {
    const { command } = recorder({ required: true });
    const capture = captureIo();
    expect(await command.run(['--name', 'a'], capture.io)).toBe(2);
    expect(capture.err()).toContain('kanplan sample: At least one FILE is needed');
  });

  test('operands after `--` may start with a dash', async () => {
    const { command, seen } = recorder({ required: true });
    expect(await command.run(['--name', 'a', '--', '--help', '-q'], captureIo().io)).toBe(3);
    expect(seen[0].operands).toEqual(['--help', '-q']);
    expect(seen[0].values.quiet).toBe(false);
  });

  test('--help (or -h) prints help generated from the definitions and exits 0, even beside a bad option', async () => {
    const { command, seen } = recorder({ required: true });
    const capture = captureIo();
    expect(await command.run(['--bogus', '-h'], capture.io)).toBe(0);
    expect(seen).toEqual([]);
    expect(command.usage).toBe('kanplan sample FILE... [--batch N] [--kind pcsp|bsp] --name NAME [--out FILE] [--all] [--quiet]');
    expect(capture.out()).toBe(
      [
        'A sample command',
        '',
        `Usage: ${command.usage}`,
        '',
        'Exit code 3 when asked to.',
        '',
        'Arguments:',
        '  FILE             Input files',
        '',
        'Options:',
        '  --batch N        Resources per transaction (default: 500)',
        '  --kind pcsp|bsp  Which plan',
        '  --name NAME      Who',
        '  --out FILE       Where',
        '  --all            Everything',
        '  -q, --quiet      Show no progress',
        '  -h, --help       Show this help',
        '',
      ].join('\n'),
    );
    expect(await command.run(['--help'], captureIo().io)).toBe(0);
  });
});
