import { pino } from 'pino';
import { loadConfig } from '../config.ts';
import { startServer } from '../server/server.ts';
import type { StringOption } from './command.ts';
import { cliTokenClaims, issueLocalAccessToken } from './token.ts';

/**
 * How `import` and `export` reach kanplan: over HTTP, to `--server URL` (token from `--token` or
 * KANPLAN_TOKEN), or, without it, to an embedded server started for the command on the local
 * database (DATA_DIR or DATABASE_URL) with a token signed by the local key.
 */

export const serverOptions = {
  server: { type: 'string', placeholder: 'URL', description: 'A running kanplan FHIR base URL (default: an embedded server on DATA_DIR or DATABASE_URL)' },
  token: { type: 'string', placeholder: 'TOKEN', description: 'Bearer token for --server (default: KANPLAN_TOKEN)' },
} as const satisfies Record<string, StringOption>;

export interface ServerConnection {
  readonly baseUrl: string;
  readonly token?: string;
  close(): Promise<void>;
}

export interface ServerResponse {
  readonly status: number;
  readonly text: string;
}

export async function connectToServer(options: { readonly server?: string; readonly token?: string }): Promise<ServerConnection> {
  if (options.server) {
    return { baseUrl: options.server.replace(/\/$/, ''), token: options.token ?? process.env.KANPLAN_TOKEN, close: async () => undefined };
  }
  const config = loadConfig({ ...process.env, PORT: '0', HOST: '127.0.0.1', LOAD_DEMO_DATA: 'false' });
  // stdout carries the command's own output (the summary, or the exported document with no
  // --out), so the embedded server logs to stderr, and only warnings unless LOG_LEVEL says more.
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn', base: { service: 'kanplan' } }, pino.destination(2));
  const running = await startServer(config, { logger });
  const token = config.auth.mode === 'off' ? undefined : await issueLocalAccessToken(config, cliTokenClaims);
  return { baseUrl: running.url, token, close: () => running.close() };
}

/** One request to the FHIR API; `url` is relative to the base URL. */
export async function requestServer(connection: ServerConnection, method: string, url: string, body?: string, contentType?: string): Promise<ServerResponse> {
  const headers: Record<string, string> = {};
  if (connection.token) headers.authorization = `Bearer ${connection.token}`;
  if (contentType) headers['content-type'] = contentType;
  const response = await fetch(`${connection.baseUrl}/${url}`, { method, headers, body });
  return { status: response.status, text: await response.text() };
}
