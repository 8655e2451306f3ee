/**
 * The ceilings kanplan is compared with, in the same run: (a) a trivial express 5 route and
 * (b) node:http, each returning the same 3 KB JSON (../shared/measurements.md section 3).
 *   node bench/load/baseline-server.ts express|node-http   -> prints "ready <port>"
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';

const body = JSON.stringify({
  resourceType: 'CarePlan',
  id: 'baseline',
  status: 'active',
  intent: 'plan',
  subject: { reference: 'Patient/baseline' },
  note: Array.from({ length: 24 }, (_, i) => ({ text: `Baseline note ${i} padding the document to about three kilobytes.` })),
});

const kind = process.argv[2];
const server =
  kind === 'express'
    ? http.createServer(
        express()
          .disable('x-powered-by')
          .get('/{*path}', (_req, res) => {
            res.type('application/fhir+json').send(body);
          }),
      )
    : http.createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/fhir+json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`ready ${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
