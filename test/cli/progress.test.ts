import { describe, expect, test } from 'vitest';
import { createProgressDisplay } from '../../src/cli/progress.ts';
import { captureIo } from './command-io.ts';

function run(display: ReturnType<typeof createProgressDisplay>, total: number): void {
  for (let done = 0; done <= total; done++) display.update(done, total, done < total ? `item-${done}.json` : undefined);
  display.end();
}

describe('progress display', () => {
  test('on a terminal: one line redrawn in place, with a bar, the count and the item at hand, ended by a newline', () => {
    const capture = captureIo({ tty: true });
    run(createProgressDisplay(capture.io.stderr, { unit: 'files' }), 4);
    expect(capture.err()).toBe(
      [
        `\r[${'.'.repeat(30)}] 0/4 files (0%) item-0.json\x1b[K`,
        `\r[${'#'.repeat(8)}${'.'.repeat(22)}] 1/4 files (25%) item-1.json\x1b[K`,
        `\r[${'#'.repeat(15)}${'.'.repeat(15)}] 2/4 files (50%) item-2.json\x1b[K`,
        `\r[${'#'.repeat(23)}${'.'.repeat(7)}] 3/4 files (75%) item-3.json\x1b[K`,
        `\r[${'#'.repeat(30)}] 4/4 files (100%)\x1b[K`,
        '\n',
      ].join(''),
    );
    expect(capture.out()).toBe('');
  });

  test('on a terminal the line fits its width, so that it never wraps', () => {
    const capture = captureIo({ tty: true, columns: 40 });
    const display = createProgressDisplay(capture.io.stderr, { unit: 'documents' });
    display.update(1, 3, 'a-very-long-file-name.pcsp.json');
    expect(capture.err()).toBe(`\r[${'#'.repeat(10)}${'.'.repeat(20)}] 1/3 do\x1b[K`);
  });

  test("on a terminal the command's own lines print above the progress line, which is drawn again", () => {
    const capture = captureIo({ tty: true });
    const display = createProgressDisplay(capture.io.stderr, { unit: 'files' });
    display.print(capture.io.stdout, 'before any progress\n');
    display.update(0, 2, 'a.json');
    display.print(capture.io.stdout, 'a.json: valid\n');
    expect(capture.out()).toBe('before any progress\na.json: valid\n');
    expect(capture.err()).toBe(`\r[${'.'.repeat(30)}] 0/2 files (0%) a.json\x1b[K\r\x1b[K\r[${'.'.repeat(30)}] 0/2 files (0%) a.json\x1b[K`);
  });

  test('in a log: plain lines at the start and at each tenth, at most eleven for any run', () => {
    const capture = captureIo();
    run(createProgressDisplay(capture.io.stderr, { unit: 'resources' }), 1000);
    const lines = capture.err().trimEnd().split('\n');
    expect(lines.length).toBe(11);
    expect(lines[0]).toBe('0/1000 resources (0%) item-0.json');
    expect(lines[1]).toBe('100/1000 resources (10%) item-100.json');
    expect(lines[10]).toBe('1000/1000 resources (100%)');
    expect(capture.err()).not.toContain('\r');
  });

  test('in a log: a run of one item or none prints nothing', () => {
    const capture = captureIo();
    run(createProgressDisplay(capture.io.stderr, { unit: 'files' }), 1);
    run(createProgressDisplay(capture.io.stderr, { unit: 'files' }), 0);
    expect(capture.err()).toBe('');
  });

  test('with --quiet: nothing, on a terminal or not, while the command\'s own lines still print', () => {
    const capture = captureIo({ tty: true });
    const display = createProgressDisplay(capture.io.stderr, { unit: 'files', quiet: true });
    display.update(0, 5, 'a.json');
    display.print(capture.io.stdout, 'a.json: valid\n');
    run(display, 5);
    expect(capture.err()).toBe('');
    expect(capture.out()).toBe('a.json: valid\n');
  });
});
