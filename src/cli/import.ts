import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Parameters } from '@medplum/fhirtypes';
import { declaredDocumentType, orderForImport } from '../documents/import-order.ts';
import { defineCommand, type CommandIo } from './command.ts';
import { listInputFiles, mediaTypeOf } from './input-files.ts';
import { createProgressDisplay, quietOption } from './progress.ts';
import { connectToServer, requestServer, serverOptions, type ServerConnection } from './server-connection.ts';

/**
 * `kanplan import FILE|DIR...`: posts each plan document to `CarePlan/$import-document`, PCSPs
 * first, and counts what happened to each. Exit code 0 only if every file imported.
 */

interface ImportTally {
  created: number;
  updated: number;
  unchanged: number;
  failed: { file: string; reason: string }[];
}

interface DocumentFile {
  readonly file: string;
  readonly text: string;
  readonly mediaType: string;
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

async function importOne(connection: ServerConnection, doc: DocumentFile, tally: ImportTally): Promise<void> {
  let response: { status: number; text: string };
  try {
    response = await requestServer(connection, 'POST', 'CarePlan/$import-document', doc.text, doc.mediaType);
  } catch (err) {
    // One unreachable server or dropped connection is a failed document, not a crash.
    tally.failed.push({ file: doc.file, reason: `cannot reach ${connection.baseUrl}: ${(err as Error).message}` });
    return;
  }
  const body = jsonOrEmpty(response.text) as Parameters & { issue?: { diagnostics?: string }[] };
  if (response.status >= 300) {
    tally.failed.push({ file: doc.file, reason: (body.issue ?? []).map((i) => i.diagnostics).join(' | ') || `HTTP ${response.status}` });
    return;
  }
  // One outcome per document: created if its plan is new (201), updated if anything changed.
  if (response.status === 201) tally.created += 1;
  else if (count(body, 'created') > 0 || count(body, 'updated') > 0) tally.updated += 1;
  else tally.unchanged += 1;
}

function report(io: CommandIo, total: number, tally: ImportTally): void {
  io.stdout.write(`${total} document(s): ${tally.created} created, ${tally.updated} updated, ${tally.unchanged} unchanged, ${tally.failed.length} failed\n`);
  for (const failure of tally.failed) {
    io.stdout.write(`  FAILED ${failure.file}: ${failure.reason}\n`);
  }
}

export const importCommand = defineCommand({
  name: 'import',
  summary: 'Import PCSP, BSP and ISP documents (JSON or YAML files, or directories of them)',
  description: 'PCSPs import first (BSPs and ISPs refer to them). Exit code 0 if every document imported, 1 if any failed.',
  operands: { placeholder: 'FILE|DIR', description: 'Plan documents, or directories of .json/.yaml/.yml documents', required: true },
  options: { ...serverOptions, quiet: quietOption },
  async run({ values, operands }, io) {
    const documents = orderForImport(
      listInputFiles(operands).map((file): DocumentFile => ({ file, text: readFileSync(file, 'utf8'), mediaType: mediaTypeOf(file) })),
      (doc) => declaredDocumentType(doc.text, doc.mediaType),
    );
    const connection = await connectToServer(values);
    const tally: ImportTally = { created: 0, updated: 0, unchanged: 0, failed: [] };
    const progress = createProgressDisplay(io.stderr, { unit: 'documents', quiet: values.quiet });
    try {
      for (const [index, doc] of documents.entries()) {
        progress.update(index, documents.length, path.basename(doc.file));
        await importOne(connection, doc, tally);
      }
      progress.update(documents.length, documents.length);
    } finally {
      progress.end();
      await connection.close();
    }
    report(io, documents.length, tally);
    return tally.failed.length === 0 ? 0 : 1;
  },
});
