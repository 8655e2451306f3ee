import { runInNewContext } from 'node:vm';
import { expect, test } from 'vitest';
import { collectStartupGarbage } from '../../src/server/startup-garbage.ts';

test('start-up garbage is collected once, without leaving gc exposed', () => {
  let garbage: string[] | undefined = Array.from({ length: 200_000 }, (_, i) => `start-up garbage ${i} `.repeat(10));
  const withGarbage = process.memoryUsage().heapUsed;
  garbage = undefined;
  collectStartupGarbage();
  expect(garbage).toBeUndefined();
  // 200,000 strings of ~200 characters: tens of MB that a full collection must free.
  expect(withGarbage - process.memoryUsage().heapUsed).toBeGreaterThan(20 * 1024 * 1024);
  expect(runInNewContext('typeof gc')).toBe('undefined');
  expect(typeof (globalThis as { gc?: unknown }).gc).toBe('undefined');
});
