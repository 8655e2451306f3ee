import net from 'node:net';
import { once } from 'node:events';
import { pino } from 'pino';
import { describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server/server.ts';
import { openTestDatabase } from '../harness.ts';

/** Reads from the socket until `done(text so far)` holds; resolves with everything read. */
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

describe('graceful shutdown', () => {
  test('close() lets an in-flight request finish, answers /readyz 503 meanwhile, then stops', async () => {
    const db = await openTestDatabase('pglite');
    const config = loadConfig({ AUTH_MODE: 'off' }, { port: 0, host: '127.0.0.1', baseUrl: 'http://127.0.0.1:0/fhir', loadDemoData: false });
    const server = await startServer(config, { db, logger: pino({ level: 'silent' }) });
    const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
    try {
      await once(socket, 'connect');
      const body = JSON.stringify({ resourceType: 'Patient', gender: 'female' });
      // Expect: 100-continue makes the server say when it has the request (headers parsed), so
      // the request is in flight, without any timing, before close() is called.
      socket.write(
        `POST /fhir/Patient HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/fhir+json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
      );
      await readUntil(socket, (text) => text.includes('100 Continue'));
      const closing = server.close();
      // The rest of the in-flight request, then a pipelined readiness probe on the same connection.
      socket.write(`${body}GET /readyz HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      const answers = await readUntil(socket, (text) => /"status":"unavailable"/.test(text));
      expect(answers).toMatch(/HTTP\/1\.1 201 Created/);
      expect(answers).toMatch(/HTTP\/1\.1 503 Service Unavailable/);
      expect(answers).toContain('"reason":"shutting down"');
      // The server ends the keep-alive connection once it is idle, so close() resolves without
      // waiting for the client or for keepAliveTimeout.
      const socketClosed = once(socket, 'close');
      await closing;
      await socketClosed;
      const [row] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM resource WHERE resource_type = 'Patient'");
      expect(row.n).toBe(1);
      // Stopped: new connections are refused.
      await expect(fetch(`${server.url}/metadata`)).rejects.toThrow();
    } finally {
      socket.destroy();
      await db.close();
    }
  });
});
