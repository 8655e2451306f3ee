import { spawnSync } from 'node:child_process';
import type { CommandIo } from '../../src/cli/command.ts';

export interface CapturedIo {
  readonly io: CommandIo;
  /** Everything written to stdout so far. */
  out(): string;
  /** Everything written to stderr so far. */
  err(): string;
}

/** A CommandIo that keeps what a command writes; `tty` makes its stderr a terminal. */
export function captureIo(options: { tty?: boolean; columns?: number } = {}): CapturedIo {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: { write: (text: string) => (out += text) },
      stderr: { write: (text: string) => (err += text), isTTY: options.tty ?? false, columns: options.columns },
    },
    out: () => out,
    err: () => err,
  };
}

/** `kanplan ARGS...` in its own process, as bin/kanplan.js runs it (stdout and stderr are pipes). */
export function runKanplan(args: readonly string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['src/cli/main.ts', ...args], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'silent', ...env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
