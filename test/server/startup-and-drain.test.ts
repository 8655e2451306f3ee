import net from 'node:net';
import { once } from 'node:events';
import { pino } from 'pino';
import { describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server/server.ts';
import { openTestDatabase, testDatabases } from '../harness.ts';

/** Reads from the socket until `done(text so far)` holds. */
function readUntil(socket: net.Socket, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('utf8');
      if (done(text)) {
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
    socket.once('close', () => (done(text) ? resolve(text) : reject(new Error(`socket closed after: ${text}`))));
  });
}

describe.each(testDatabases)('start-up and shutdown (%s)', (kind) => {
  test('requests during start-up are answered 503 with Retry-After; a connection made then and a hung request do not hold up shutdown beyond the grace period', async () => {
    const db = await openTestDatabase(kind);
    const config = loadConfig({ AUTH_MODE: 'off' }, { port: 0, host: '127.0.0.1', baseUrl: 'http://127.0.0.1:0/fhir', loadDemoData: false, shutdownGraceMs: 300 });
    const idleSockets: net.Socket[] = [];
    const seen: { status: number; retryAfter: string | null; connection: string | null; body: unknown }[] = [];
    const server = await startServer(config, {
      db,
      logger: pino({ level: 'silent' }),
      async whileStarting(url) {
        const origin = url.replace(/\/fhir$/, '');
        for (const target of [`${url}/metadata`, `${url}/Patient?name=x`, `${origin}/readyz`, `${origin}/healthz`]) {
          const response = await fetch(target);
          seen.push({ status: response.status, retryAfter: response.headers.get('retry-after'), connection: response.headers.get('connection'), body: await response.json() });
        }
        // A client that connects while kanplan starts and then sends nothing.
        const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
        await once(socket, 'connect');
        idleSockets.push(socket);
      },
    });
    const port = Number(new URL(server.url).port);
    try {
      expect(seen.map((answer) => answer.status)).toEqual([503, 503, 503, 200]);
      for (const answer of seen) {
        expect(answer.retryAfter).toBe('2');
        expect(answer.connection).toBe('close');
      }
      expect(seen[0].body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'transient', diagnostics: expect.stringContaining('starting') }] });
      expect(seen[2].body).toEqual({ status: 'unavailable', reason: 'starting' });
      expect(seen[3].body).toEqual({ status: 'starting' });
      // Ready: the same port now serves the API.
      expect((await fetch(`${server.url}/metadata`)).status).toBe(200);

      // A request in flight whose client never sends the rest of its body.
      const hung = net.connect(port, '127.0.0.1');
      await once(hung, 'connect');
      hung.write('POST /fhir/Patient HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/fhir+json\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n');
      await readUntil(hung, (text) => text.includes('100 Continue'));
      hung.write('{"resourceType":');
      const hungClosed = once(hung, 'close');
      // Resolves only because the grace period ends the hung request's connection.
      await server.close();
      await hungClosed;
      const [row] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM resource WHERE resource_type = 'Patient'");
      expect(row.n).toBe(0);
      await expect(fetch(`${server.url}/metadata`)).rejects.toThrow();
    } finally {
      for (const socket of idleSockets) socket.destroy();
      await db.close();
    }
  });
});
