import { loadConfig } from '../config.ts';
import { openDatabase } from '../store/database.ts';
import { migrate } from '../store/migrate.ts';
import { laneReports, type LaneReport } from '../store/subscription-store.ts';
import { defineCommand } from './command.ts';

/**
 * `kanplan subscriptions`: every Subscription's delivery as the outbox sees it — status, endpoint,
 * events numbered, queue depth, oldest undelivered event, failures, next attempt and last error —
 * read from the configured database (DATABASE_URL or DATA_DIR), so it works while servers run.
 */
export const subscriptionsCommand = defineCommand({
  name: 'subscriptions',
  summary: 'List Subscriptions with their delivery status, last error, queue depth and oldest undelivered event',
  options: {
    json: { type: 'boolean', description: 'One JSON object per subscription instead of a table' },
  },
  async run({ values }, io) {
    const config = loadConfig();
    const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, sharedBuffersBytes: config.embeddedSharedBuffersBytes });
    let reports: LaneReport[];
    try {
      await migrate(db);
      reports = await laneReports(db);
    } finally {
      await db.close();
    }
    if (values.json) {
      for (const report of reports) io.stdout.write(`${JSON.stringify(report)}\n`);
      return 0;
    }
    if (reports.length === 0) {
      io.stderr.write('No subscriptions.\n');
      return 0;
    }
    const rows = reports.map((r) => [
      r.subscriptionId,
      r.parked ? `${r.status} (parked)` : r.status,
      r.endpointOrigin,
      String(r.eventsNumbered),
      String(r.queueDepth),
      r.oldestUndelivered ?? '-',
      String(r.failures),
      r.queueDepth > 0 && !r.parked ? r.nextAttemptAt : '-',
      r.lastError ?? '',
    ]);
    const header = ['SUBSCRIPTION', 'STATUS', 'ENDPOINT', 'EVENTS', 'QUEUED', 'OLDEST UNDELIVERED', 'FAILURES', 'NEXT ATTEMPT', 'LAST ERROR'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
    for (const row of [header, ...rows]) io.stdout.write(`${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')}\n`);
    return 0;
  },
});
