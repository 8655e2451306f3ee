import { describe, expect, test } from 'vitest';
import { openDatabase } from '../../src/store/database.ts';
import { loadConfig } from '../../src/config.ts';

describe('embedded database settings', () => {
  test('shared_buffers follow EMBEDDED_SHARED_BUFFERS, 32 MB by default', async () => {
    for (const [env, expected] of [[{}, '32MB'], [{ EMBEDDED_SHARED_BUFFERS: '16mb' }, '16MB']] as const) {
      const db = await openDatabase({ sharedBuffersBytes: loadConfig(env).embeddedSharedBuffersBytes });
      try {
        const [row] = await db.query<{ shared_buffers: string }>('SHOW shared_buffers');
        expect(row.shared_buffers).toBe(expected);
      } finally {
        await db.close();
      }
    }
  });
});
