import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { defineCommand } from './command.ts';
import { createProgressDisplay, quietOption } from './progress.ts';
import { connectToServer, serverOptions, type ServerConnection } from './server-connection.ts';

/**
 * `kanplan export-bulk --out DIR [--group ID] [--type T,…] [--since INSTANT] [--provenance latest|relevant]`: a FHIR Bulk Data
 * client (https://hl7.org/fhir/uv/bulkdata/STU2/export.html) — kicks off, polls the status URL as
 * Retry-After says, downloads every file into DIR (streamed, never held whole) and writes the
 * manifest as DIR/manifest.json; its transactionTime is the next run's --since.
 */

interface Manifest {
  readonly transactionTime: string;
  readonly output: readonly { readonly type: string; readonly url: string; readonly count: number }[];
  readonly error: readonly { readonly url: string }[];
}

function headersOf(connection: ServerConnection, extra: Record<string, string> = {}): Record<string, string> {
  return connection.token ? { authorization: `Bearer ${connection.token}`, ...extra } : extra;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** --provenance → includeAssociatedData (https://hl7.org/fhir/uv/bulkdata/STU2/export.html#query-parameters). */
const ASSOCIATED_DATA: Readonly<Record<string, string>> = { latest: 'LatestProvenanceResources', relevant: 'RelevantProvenanceResources' };

export const exportBulkCommand = defineCommand({
  name: 'export-bulk',
  summary: 'Bulk Data export (NDJSON files) of the server, all patients or a Group',
  description: 'Exit code 1 when the server refuses or the export fails. DIR/manifest.json holds transactionTime for the next --since.',
  options: {
    out: { type: 'string', placeholder: 'DIR', required: true, description: 'Directory for the NDJSON files and manifest.json' },
    group: { type: 'string', placeholder: 'ID', description: 'Export this Group\'s members (e.g. ks-mco-sunflower)' },
    patients: { type: 'boolean', description: 'Export all patients (Patient/$export) instead of the whole server' },
    type: { type: 'string', placeholder: 'TYPES', description: 'Comma-separated resource types (_type)' },
    since: { type: 'string', placeholder: 'INSTANT', description: 'Only what changed after this instant (_since; a previous manifest\'s transactionTime continues exactly)' },
    provenance: { type: 'string', placeholder: 'latest|relevant', description: 'Add the exported resources\' Provenance: each one\'s latest, or all (includeAssociatedData)' },
    quiet: quietOption,
    ...serverOptions,
  },
  async run({ values }, io) {
    const connection = await connectToServer(values);
    try {
      const query = new URLSearchParams();
      if (values.type) query.set('_type', values.type);
      if (values.since) query.set('_since', values.since);
      // Any other value goes to the server as given, which names what it accepts.
      if (values.provenance) query.set('includeAssociatedData', ASSOCIATED_DATA[values.provenance] ?? values.provenance);
      const level = values.group ? `Group/${encodeURIComponent(values.group)}/` : values.patients ? 'Patient/' : '';
      const kickOff = await fetch(`${connection.baseUrl}/${level}$export${query.size ? `?${query}` : ''}`, {
        headers: headersOf(connection, { accept: 'application/fhir+json', prefer: 'respond-async' }),
      });
      const statusUrl = kickOff.headers.get('content-location');
      if (kickOff.status !== 202 || !statusUrl) {
        io.stderr.write(`Export refused (HTTP ${kickOff.status}): ${await kickOff.text()}\n`);
        return 1;
      }
      const progress = createProgressDisplay(io.stderr, { unit: 'types', quiet: values.quiet });
      let manifest: Manifest | undefined;
      while (!manifest) {
        const status = await fetch(statusUrl, { headers: headersOf(connection) });
        if (status.status === 200) {
          manifest = (await status.json()) as Manifest;
        } else if (status.status === 202) {
          const state = status.headers.get('x-progress') ?? '';
          const [, done, total] = /type (\d+) of (\d+)/.exec(state) ?? [];
          if (total) progress.update(Number(done) - 1, Number(total), state);
          await sleep(Math.min(Number(status.headers.get('retry-after') ?? 1), 10) * 1000);
        } else {
          progress.end();
          io.stderr.write(`Export failed (HTTP ${status.status}): ${await status.text()}\n`);
          return 1;
        }
      }
      progress.end();
      mkdirSync(values.out, { recursive: true });
      const files = createProgressDisplay(io.stderr, { unit: 'files', quiet: values.quiet });
      const all = [...manifest.output, ...manifest.error];
      for (const [i, file] of all.entries()) {
        const response = await fetch(file.url, { headers: headersOf(connection, { accept: 'application/fhir+ndjson' }) });
        if (response.status !== 200 || !response.body) {
          files.end();
          io.stderr.write(`Download of ${file.url} failed (HTTP ${response.status}).\n`);
          return 1;
        }
        const name = 'type' in file ? `${file.type}-${path.basename(new URL(file.url).pathname)}` : `error-${path.basename(new URL(file.url).pathname)}`;
        await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), createWriteStream(path.join(values.out, name)));
        files.update(i + 1, all.length);
      }
      files.end();
      writeFileSync(path.join(values.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      const resources = manifest.output.reduce((sum, file) => sum + file.count, 0);
      io.stdout.write(`${resources} resources in ${manifest.output.length} file(s) to ${values.out}; transactionTime ${manifest.transactionTime} (next --since)\n`);
      return 0;
    } finally {
      await connection.close();
    }
  },
});
