import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { openDatabase } from '../../src/store/database.ts';
import { DatabaseInUseError } from '../../src/store/pglite.ts';

describe('embedded database lock', () => {
  test('a second process cannot open a data directory a live process holds', async () => {
    const dataDir = fs.mkdtempSync(path.join(tmpdir(), 'kanplan-lock-'));
    const holder = spawn('sleep', ['30']);
    try {
      fs.writeFileSync(path.join(dataDir, 'kanplan.lock'), String(holder.pid));
      const opening = openDatabase({ dataDir });
      await expect(opening).rejects.toThrow(DatabaseInUseError);
      await expect(opening).rejects.toThrow(`in use by process ${holder.pid}`);
    } finally {
      holder.kill();
    }
  });

  test('a lock left by a process that no longer runs is taken over, and released on close', async () => {
    const dataDir = fs.mkdtempSync(path.join(tmpdir(), 'kanplan-lock-'));
    const gone = spawn('true');
    await new Promise((resolve) => gone.once('exit', resolve));
    fs.writeFileSync(path.join(dataDir, 'kanplan.lock'), String(gone.pid));
    const db = await openDatabase({ dataDir });
    expect(fs.readFileSync(path.join(dataDir, 'kanplan.lock'), 'utf8')).toBe(String(process.pid));
    await db.close();
    expect(fs.existsSync(path.join(dataDir, 'kanplan.lock'))).toBe(false);
  });
});
