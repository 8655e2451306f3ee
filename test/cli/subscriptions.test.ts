import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.ts';
import { migrate } from '../../src/store/migrate.ts';
import { runKanplan } from './command-io.ts';

describe('kanplan subscriptions', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(`${tmpdir()}/kanplan-subscriptions-`);
    const db = await openDatabase({ dataDir });
    try {
      await migrate(db);
      await db.query("INSERT INTO subscription_lane (subscription_id, status, endpoint_origin, failures, last_error) VALUES ('kp-cli-sub', 'error', 'https://mco.example.org', 4, 'https://mco.example.org/hook answered 503 Service Unavailable')");
      await db.query("INSERT INTO subscription_event (subscription_id, resource_type, resource_id, version_id, interaction, occurred_at) VALUES ('kp-cli-sub', 'Task', 't1', 1, 'create', '2030-01-02T03:04:05Z'), ('kp-cli-sub', 'Task', 't2', 1, 'create', '2030-01-02T03:05:00Z')");
    } finally {
      await db.close();
    }
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('lists each subscription with its status, last error, queue depth and oldest undelivered event', () => {
    const env = { DATA_DIR: dataDir, DATABASE_URL: '', BASE_URL: 'http://localhost:8080/fhir' };
    const table = runKanplan(['subscriptions'], env);
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/^SUBSCRIPTION +STATUS +ENDPOINT +EVENTS +QUEUED +OLDEST UNDELIVERED/);
    expect(table.stdout).toContain('kp-cli-sub');
    expect(table.stdout).toContain('503 Service Unavailable');
    const json = runKanplan(['subscriptions', '--json'], env);
    expect(JSON.parse(json.stdout.trim())).toMatchObject({ subscriptionId: 'kp-cli-sub', status: 'error', queueDepth: 2, failures: 4, oldestUndelivered: '2030-01-02T03:04:05.000Z' });
  });
});
