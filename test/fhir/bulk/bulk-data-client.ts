import { expect } from 'vitest';
import { http, type TestServer } from '../../harness.ts';

/**
 * A Bulk Data client over plain fetch (https://hl7.org/fhir/uv/bulkdata/STU2/export.html): kick-off,
 * polling the status URL (checking X-Progress and Retry-After on each 202), and downloading every
 * file of the manifest (checking its count), as the export tests use it.
 */
export interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: { type: string; url: string; count: number }[];
  error: { type: string; url: string; count: number }[];
}

export interface ExportedResource {
  resourceType: string;
  id: string;
  meta: { versionId: string };
}

export type ExportedFiles = Map<string, ExportedResource[]>;

export interface KickOffOptions {
  token?: string;
  prefer?: string;
  /** Another server process to send the kick-off to. */
  at?: { url: string };
}

export function bulkDataClient(server: () => TestServer) {
  async function kickOff(path: string, options: KickOffOptions = {}) {
    const at = options.at ?? server();
    return http({ url: at.url, token: options.token ?? server().token }, 'GET', path, { headers: { prefer: options.prefer ?? 'respond-async', accept: 'application/fhir+json' } });
  }

  /** Polls the status URL until the manifest (each poll is answered 202 with X-Progress first). */
  async function manifestOf(statusUrl: string, token = server().token): Promise<Manifest> {
    for (;;) {
      const res = await fetch(statusUrl, { headers: { authorization: `Bearer ${token}` } });
      if (res.status === 200) {
        expect(res.headers.get('expires')).toBeTruthy();
        return (await res.json()) as Manifest;
      }
      expect(res.status, await res.text()).toBe(202);
      expect(res.headers.get('x-progress')).toBeTruthy();
      expect(res.headers.get('retry-after')).toBe('2');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async function download(manifest: Manifest, token = server().token): Promise<ExportedFiles> {
    const files: ExportedFiles = new Map();
    for (const output of manifest.output) {
      const res = await fetch(output.url, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+ndjson' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('application/fhir+ndjson');
      const lines = (await res.text()).split('\n').filter(Boolean).map((line) => JSON.parse(line) as ExportedResource);
      expect(lines).toHaveLength(output.count);
      files.set(output.type, [...(files.get(output.type) ?? []), ...lines]);
    }
    return files;
  }

  /** The diagnostics of the manifest's error files (OperationOutcome NDJSON). */
  async function errorsOf(manifest: Manifest, token = server().token): Promise<string[]> {
    const errors: string[] = [];
    for (const error of manifest.error) {
      expect(error.type).toBe('OperationOutcome');
      const text = await (await fetch(error.url, { headers: { authorization: `Bearer ${token}` } })).text();
      const lines = text.split('\n').filter(Boolean);
      expect(lines).toHaveLength(error.count);
      errors.push(...lines.flatMap((line) => (JSON.parse(line) as { issue: { diagnostics: string }[] }).issue.map((issue) => issue.diagnostics)));
    }
    return errors;
  }

  async function exportAll(path: string, options: KickOffOptions = {}) {
    const res = await kickOff(path, options);
    expect(res.status, res.text).toBe(202);
    const manifest = await manifestOf(res.headers.get('content-location') as string, options.token);
    return { manifest, files: await download(manifest, options.token), statusUrl: res.headers.get('content-location') as string };
  }

  return { kickOff, manifestOf, download, errorsOf, exportAll };
}

export const idsOf = (files: ExportedFiles, type: string): string[] => (files.get(type) ?? []).map((r) => r.id).sort();
