import type { BooleanOption, OutputStream } from './command.ts';

/**
 * The one progress display of the commands that work through many items (documents imported,
 * files validated, resources reindexed). On a terminal it is a single line redrawn in place; in a
 * log (stderr not a TTY) it is plain lines, one at the start and one per tenth done, so a run of
 * any size adds at most eleven lines; with --quiet it shows nothing. It writes to stderr so that
 * stdout carries only the command's results.
 */

/** The `--quiet` option of every command that shows progress. */
export const quietOption = { type: 'boolean', short: 'q', description: 'Show no progress' } as const satisfies BooleanOption;

export interface ProgressDisplay {
  /** `done` of `total` items finished; `detail` names the item at hand (a file name). */
  update(done: number, total: number, detail?: string): void;
  /** Writes a line of the command's own output without tearing a progress line drawn on a terminal. */
  print(stream: OutputStream, text: string): void;
  /** Ends the display (a terminal line gets its newline). */
  end(): void;
}

export interface ProgressOptions {
  /** What is counted, plural: `documents`, `files`, `resources`. */
  readonly unit: string;
  readonly quiet?: boolean;
}

const barWidth = 30;
/** Clears from the cursor to the end of the line (ECMA-48 EL, CSI K). */
const clearToEndOfLine = '\x1b[K';

function describe(done: number, total: number, unit: string, detail: string | undefined): { ratio: number; text: string } {
  const ratio = total > 0 ? Math.min(done / total, 1) : 1;
  return { ratio, text: `${done}/${total} ${unit} (${Math.round(ratio * 100)}%)${detail ? ` ${detail}` : ''}` };
}

function terminalDisplay(stream: OutputStream, unit: string): ProgressDisplay {
  let line = '';
  const draw = (): void => {
    stream.write(`\r${line}${clearToEndOfLine}`);
  };
  return {
    update(done, total, detail) {
      const { ratio, text } = describe(done, total, unit, detail);
      const filled = Math.round(ratio * barWidth);
      line = `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${text}`;
      // A line longer than the terminal would wrap, and `\r` would then redraw only its last row.
      if (stream.columns) line = line.slice(0, stream.columns - 1);
      draw();
    },
    print(target, text) {
      if (!line) {
        target.write(text);
        return;
      }
      stream.write(`\r${clearToEndOfLine}`);
      target.write(text);
      draw();
    },
    end() {
      if (line) stream.write('\n');
      line = '';
    },
  };
}

function logDisplay(stream: OutputStream, unit: string): ProgressDisplay {
  let lastTenth = -1;
  return {
    update(done, total, detail) {
      // One item is no run to follow.
      if (total <= 1) return;
      const { ratio, text } = describe(done, total, unit, detail);
      const tenth = Math.floor(ratio * 10);
      if (tenth === lastTenth) return;
      lastTenth = tenth;
      stream.write(`${text}\n`);
    },
    print(target, text) {
      target.write(text);
    },
    end() {},
  };
}

export function createProgressDisplay(stream: OutputStream, options: ProgressOptions): ProgressDisplay {
  if (options.quiet) {
    return { update() {}, print: (target, text) => target.write(text), end() {} };
  }
  return stream.isTTY ? terminalDisplay(stream, options.unit) : logDisplay(stream, options.unit);
}
