import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, Parameters } from '@medplum/fhirtypes';
import { pino } from 'pino';
import { issueAccessToken, loadOrCreateSigningKey } from '../auth/signing-key.ts';
import type { Command } from '../cli.ts';
import { loadConfig } from '../config.ts';
import { startServer } from '../server/server.ts';
import { identifierSystem } from './canonical.ts';
import { parseDocumentText } from './check-document.ts';
import type { DocumentType } from './types.ts';

/**
 * `kanplan import FILE|DIR...` and `kanplan export --patient ID --type pcsp`. Both talk to a
 * kanplan server over HTTP: `--server URL` (token from `--token` or KANPLAN_TOKEN), or, without
 * it, an embedded server started for the command on the local database (DATA_DIR or
 * DATABASE_URL) with a token signed by the local key.
 */

interface Connection {
  readonly baseUrl: string;
  readonly token?: string;
  close(): Promise<void>;
}

function option(args: readonly string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

function positional(args: readonly string[], valued: readonly string[]): string[] {
  return args.filter((arg, index) => !arg.startsWith('--') && !valued.includes(args[index - 1] ?? ''));
}

async function connect(args: readonly string[]): Promise<Connection> {
  const server = option(args, '--server');
  if (server) {
    return { baseUrl: server.replace(/\/$/, ''), token: option(args, '--token') ?? process.env.KANPLAN_TOKEN, close: async () => undefined };
  }
  const config = loadConfig({ ...process.env, PORT: '0', HOST: '127.0.0.1', LOAD_DEMO_DATA: 'false' });
  // stdout carries the command's own output (the summary, or the exported document with no
  // --out), so the embedded server logs to stderr, and only warnings unless LOG_LEVEL says more.
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn', base: { service: 'kanplan' } }, pino.destination(2));
  const running = await startServer(config, { logger });
  const token =
    config.auth.mode === 'off'
      ? undefined
      : await issueAccessToken(await loadOrCreateSigningKey(config.auth.keyFile), {
          scope: 'system/*.cruds',
          subject: 'kanplan-cli',
          issuer: config.auth.issuer,
          audience: config.auth.audience,
          expiresIn: '1h',
        });
  return { baseUrl: running.url, token, close: () => running.close() };
}

async function request(connection: Connection, method: string, url: string, body?: string, contentType?: string): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = {};
  if (connection.token) headers.authorization = `Bearer ${connection.token}`;
  if (contentType) headers['content-type'] = contentType;
  const response = await fetch(`${connection.baseUrl}/${url}`, { method, headers, body });
  return { status: response.status, text: await response.text() };
}

/** Files named on the command line; directories contribute their .json/.yaml/.yml files. */
export function documentFiles(paths: readonly string[]): string[] {
  return paths.flatMap((p) =>
    statSync(p).isDirectory()
      ? readdirSync(p)
          .filter((f) => /\.(json|ya?ml)$/.test(f))
          .sort()
          .map((f) => path.join(p, f))
      : [p],
  );
}

const importOrder: Record<DocumentType, number> = { pcsp: 0, bsp: 1, isp: 2 };

/** PCSPs first: BSPs and ISPs refer to their PCSP, which must already be stored. */
function orderForImport(files: readonly string[]): { file: string; text: string; mediaType: string }[] {
  return files
    .map((file) => {
      const text = readFileSync(file, 'utf8');
      const mediaType = file.endsWith('.json') ? 'application/json' : 'application/yaml';
      let type: DocumentType | undefined;
      try {
        type = (parseDocumentText(text, mediaType) as { documentType?: DocumentType }).documentType;
      } catch {
        type = undefined;
      }
      return { file, text, mediaType, rank: type === undefined ? 3 : (importOrder[type] ?? 3) };
    })
    .sort((a, b) => a.rank - b.rank)
    .map(({ file, text, mediaType }) => ({ file, text, mediaType }));
}

function progress(done: number, total: number, file: string): void {
  if (!process.stderr.isTTY) {
    return;
  }
  const width = 30;
  const filled = Math.round((done / total) * width);
  process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${path.basename(file).slice(0, 40).padEnd(40)}`);
}

/** A proxy or gateway may answer with HTML; its status still says what happened. */
function jsonOrEmpty(text: string): unknown {
  try {
    return JSON.parse(text || '{}');
  } catch {
    return {};
  }
}

function count(parameters: Parameters, name: string): number {
  return parameters.parameter?.find((p) => p.name === name)?.valueInteger ?? 0;
}

export interface ImportTally {
  created: number;
  updated: number;
  unchanged: number;
  failed: { file: string; reason: string }[];
}

/** `kanplan import FILE|DIR... [--server URL] [--token T]`; exit code 0 only if every file imported. */
export async function runImportCommand(args: string[]): Promise<number> {
  const paths = positional(args, ['--server', '--token']);
  if (paths.length === 0) {
    process.stderr.write(`Usage: ${importCommand.usage}\n`);
    return 2;
  }
  const documents = orderForImport(documentFiles(paths));
  const connection = await connect(args);
  const tally: ImportTally = { created: 0, updated: 0, unchanged: 0, failed: [] };
  try {
    for (const [index, doc] of documents.entries()) {
      progress(index, documents.length, doc.file);
      let response: { status: number; text: string };
      try {
        response = await request(connection, 'POST', 'CarePlan/$import-document', doc.text, doc.mediaType);
      } catch (err) {
        // One unreachable server or dropped connection is a failed document, not a crash.
        tally.failed.push({ file: doc.file, reason: `cannot reach ${connection.baseUrl}: ${(err as Error).message}` });
        continue;
      }
      const body = jsonOrEmpty(response.text) as Parameters & { issue?: { diagnostics?: string }[] };
      if (response.status >= 300) {
        tally.failed.push({ file: doc.file, reason: (body.issue ?? []).map((i) => i.diagnostics).join(' | ') || `HTTP ${response.status}` });
        continue;
      }
      // One outcome per document: created if its plan is new (201), updated if anything changed.
      if (response.status === 201) tally.created += 1;
      else if (count(body, 'created') > 0 || count(body, 'updated') > 0) tally.updated += 1;
      else tally.unchanged += 1;
    }
    progress(documents.length, documents.length, '');
  } finally {
    await connection.close();
  }
  if (process.stderr.isTTY) process.stderr.write('\n');
  process.stdout.write(`${documents.length} document(s): ${tally.created} created, ${tally.updated} updated, ${tally.unchanged} unchanged, ${tally.failed.length} failed\n`);
  for (const failure of tally.failed) {
    process.stdout.write(`  FAILED ${failure.file}: ${failure.reason}\n`);
  }
  return tally.failed.length === 0 ? 0 : 1;
}

async function patientIdOf(connection: Connection, patient: string): Promise<string | undefined> {
  const direct = await request(connection, 'GET', `Patient/${encodeURIComponent(patient)}`);
  if (direct.status === 200) {
    return patient;
  }
  // Not a resource id: try it as the Kansas Medicaid ID.
  const search = await request(connection, 'GET', `Patient?identifier=${encodeURIComponent(`${identifierSystem.medicaidId}|${patient}`)}`);
  const bundle = JSON.parse(search.text || '{}') as Bundle;
  return bundle.entry?.[0]?.resource?.id;
}

/** `kanplan export --patient ID --type pcsp|bsp|isp [--out FILE] [--server URL] [--token T]`. */
export async function runExportCommand(args: string[]): Promise<number> {
  const patient = option(args, '--patient');
  const type = option(args, '--type') ?? 'pcsp';
  if (!patient || !['pcsp', 'bsp', 'isp'].includes(type)) {
    process.stderr.write(`Usage: ${exportCommand.usage}\n`);
    return 2;
  }
  const connection = await connect(args);
  try {
    const patientId = await patientIdOf(connection, patient);
    if (!patientId) {
      process.stderr.write(`No Patient with id or Medicaid ID ${patient}.\n`);
      return 1;
    }
    const search = await request(connection, 'GET', `CarePlan?subject=Patient/${encodeURIComponent(patientId)}&plan-type=${type}&_sort=-_lastUpdated`);
    const plans = (JSON.parse(search.text || '{}') as Bundle).entry ?? [];
    const planId = plans[0]?.resource?.id;
    if (search.status !== 200 || !planId) {
      process.stderr.write(`Patient/${patientId} has no ${type.toUpperCase()} (HTTP ${search.status}).\n`);
      return 1;
    }
    if (plans.length > 1) {
      process.stderr.write(`Patient/${patientId} has ${plans.length} ${type.toUpperCase()} plans; exporting the most recently updated, CarePlan/${planId}.\n`);
    }
    const document = await request(connection, 'GET', `CarePlan/${planId}/$document`);
    if (document.status !== 200) {
      process.stderr.write(`CarePlan/${planId}/$document failed (HTTP ${document.status}): ${document.text}\n`);
      return 1;
    }
    const out = option(args, '--out');
    if (out) {
      writeFileSync(out, document.text);
    } else {
      process.stdout.write(document.text);
    }
    return 0;
  } finally {
    await connection.close();
  }
}

export const importCommand: Command = {
  summary: 'Import PCSP, BSP and ISP documents (JSON or YAML files, or directories of them)',
  usage: 'kanplan import FILE|DIR... [--server URL] [--token TOKEN]',
  run: runImportCommand,
};

export const exportCommand: Command = {
  summary: "Write a person's PCSP, BSP or ISP document back out",
  usage: 'kanplan export --patient ID|MEDICAID-ID --type pcsp|bsp|isp [--out FILE] [--server URL] [--token TOKEN]',
  run: runExportCommand,
};
