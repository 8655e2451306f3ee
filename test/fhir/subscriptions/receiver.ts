import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One notification as a loopback receiver got it. */
export interface Received {
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly bundle: any;
  readonly type: string;
  readonly subscription: string;
  readonly eventNumbers: number[];
}

/**
 * A real HTTP receiver on loopback for rest-hook tests: records every POST it accepts; `mode`
 * makes it answer 200, 503 (down), or hold the request until released (a receiver that hangs);
 * `delayMs` makes it answer 200 late (a slow receiver).
 */
export class Receiver {
  readonly received: Received[] = [];
  mode: 'ok' | 'down' | 'hang' = 'ok';
  /** How long an accepted notification waits before its 200 (a slow receiver); recorded on arrival. */
  delayMs = 0;
  /** Called with each notification as it arrives, before it is answered. */
  onReceive: ((received: Received) => void) | undefined;
  private readonly server = http.createServer((req, res) => this.handle(req, res));
  private held: http.ServerResponse[] = [];
  url = '';

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (this.mode === 'down') {
        res.writeHead(503).end();
        return;
      }
      if (this.mode === 'hang') {
        this.held.push(res);
        return;
      }
      const bundle = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const status = bundle.entry[0].resource.parameter as any[];
      const value = (name: string): any => status.find((p) => p.name === name);
      const received: Received = {
        path: req.url ?? '',
        headers: req.headers,
        bundle,
        type: value('type').valueCode,
        subscription: value('subscription').valueReference.reference.replace(/^.*\/Subscription\//, ''),
        eventNumbers: status.filter((p) => p.name === 'notification-event').map((p) => Number(p.part.find((x: any) => x.name === 'event-number').valueString)),
      };
      this.received.push(received);
      this.onReceive?.(received);
      if (this.delayMs > 0) setTimeout(() => res.writeHead(200).end(), this.delayMs);
      else res.writeHead(200).end();
    });
  }

  /** Notifications of one subscription (by path or id) of one type. */
  of(subscription: string, type = 'event-notification'): Received[] {
    return this.received.filter((r) => r.subscription === subscription && r.type === type);
  }

  releaseHeld(): void {
    for (const res of this.held) res.destroy();
    this.held = [];
  }

  async close(): Promise<void> {
    this.releaseHeld();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Waits until `check` returns a value other than undefined/false; fails after a generous deadline. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, deadlineMs = 20_000): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
