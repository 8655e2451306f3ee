import { describe, expect, test } from 'vitest';
import { commands, main } from '../../src/cli/main.ts';
import { captureIo, runKanplan as kanplan } from './command-io.ts';

describe('kanplan CLI', () => {
  test('--help lists the sub-commands and exits 0', () => {
    const result = kanplan(['--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: kanplan <command>');
    expect(result.stdout).toMatch(/^\s+serve\s+Serve the FHIR API/m);
  });

  test('lists every command with its summary, and `help COMMAND` shows that command\'s help', async () => {
    const help = captureIo();
    expect(await main(['--help'], help.io)).toBe(0);
    expect(commands.map((c) => c.name)).toEqual(['serve', 'token', 'client', 'user', 'launch', 'import', 'export', 'export-bulk', 'validate', 'reindex', 'check', 'backup', 'restore', 'subscriptions', 'template']);
    for (const command of commands) {
      expect(help.out()).toMatch(new RegExp(`^  ${command.name}\\s+${command.summary.replace(/[()*.]/g, '\\$&')}$`, 'm'));
    }
    const topic = captureIo();
    expect(await main(['help', 'reindex'], topic.io)).toBe(0);
    expect(topic.out()).toContain('Usage: kanplan reindex [--all] [--batch N] [--quiet]');
  });

  test('without a command prints the help and exits 1', async () => {
    const help = captureIo();
    expect(await main([], help.io)).toBe(1);
    expect(help.out()).toContain('Commands:');
  });

  test('an unknown command exits 2 and says so', () => {
    const result = kanplan(['frobnicate']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('Unknown command "frobnicate"');
  });

  test('an unknown option of a command exits 2 with its usage', () => {
    const result = kanplan(['token', '--scopes', 'x']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("kanplan token: Unknown option '--scopes'");
    expect(result.stderr).toContain('Usage: kanplan token [--scope SCOPES] [--subject NAME] [--expires SPAN]');
    expect(result.stdout).toBe('');
  });

  test('serve with a bad setting exits 2 with a message naming it', () => {
    const result = kanplan(['serve'], { PORT: 'abc' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('Configuration error: PORT=abc is not valid');
  });

  test('serve --port goes through the same check as PORT', () => {
    const result = kanplan(['serve', '--port', '99999']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('Configuration error: PORT=99999 is not valid');
  });
});
