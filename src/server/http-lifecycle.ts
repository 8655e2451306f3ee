import type http from 'node:http';
import type { Logger } from 'pino';

/** How long a client is asked to wait while kanplan starts (RFC 9110 §10.2.3). */
const STARTING_RETRY_AFTER_SECONDS = 2;

/**
 * The answer to every request that arrives after the port is bound and before kanplan is ready
 * (migrations, conformance resources, demo data, keys): 503 with Retry-After, on a connection
 * that is then closed, so that no request waits unanswered and no connection made during start-up
 * holds up a later shutdown. /healthz says the process is alive (a liveness probe must not kill a
 * server that is still starting); /readyz says it is not ready yet.
 */
export function answerWhileStarting(req: http.IncomingMessage, res: http.ServerResponse): void {
  res.shouldKeepAlive = false;
  res.setHeader('Retry-After', String(STARTING_RETRY_AFTER_SECONDS));
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Cache-Control', 'no-store');
  const path = (req.url ?? '').split('?')[0];
  if (path === '/healthz') {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status: 'starting' }));
    return;
  }
  if (path === '/readyz') {
    res.writeHead(503, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status: 'unavailable', reason: 'starting' }));
    return;
  }
  const outcome = {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'transient', diagnostics: `kanplan is starting; retry after ${STARTING_RETRY_AFTER_SECONDS} seconds.` }],
  };
  res.writeHead(503, { 'Content-Type': 'application/fhir+json; charset=utf-8' }).end(JSON.stringify(outcome));
}

/**
 * Stops the HTTP server: no new connections; idle keep-alive connections closed now and each busy
 * one as soon as its response is sent (the caller's 'finish' hook); requests still running after
 * `graceMs` — a hung client, a slow upload, a request stuck on the database — have their
 * connections closed, so shutdown always ends within the grace period.
 */
export async function drainHttpServer(server: http.Server, graceMs: number, logger: Logger): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), graceMs);
  });
  const outcome = await Promise.race([closed, expired]);
  clearTimeout(timer);
  if (outcome === 'expired') {
    logger.warn({ graceMs }, 'shutdown grace period over: closing the connections of requests still running');
    server.closeAllConnections();
    await closed;
  }
}
