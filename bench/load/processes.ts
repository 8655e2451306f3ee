import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const node = path.join(root, 'node_modules', 'node', 'bin', 'node');

/** A server under test in its own process, so the load generator never shares its event loop. */
export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  /** Milliseconds from spawn to ready. */
  readonly startupMs: number;
  rssMiB(): number;
  stop(): Promise<void>;
  /** SIGKILL: no shutdown, no drain (a crash, as the kill campaign makes one). */
  kill(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : 0;
}

/** Spawns `args` and resolves once a stdout line satisfies `ready` (which returns the URL). */
function spawnUntilReady(args: string[], env: NodeJS.ProcessEnv, ready: (line: string) => string | undefined, timeoutMs = 300_000): Promise<ServerProcess> {
  const started = performance.now();
  const child: ChildProcess = spawn(node, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const signal = (name: NodeJS.Signals): Promise<void> =>
    new Promise((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', () => done());
      child.kill(name);
    });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} was not ready within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
        const url = ready(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        if (url) {
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          child.stdout?.resume();
          const pid = child.pid as number;
          resolve({
            url,
            pid,
            startupMs: Math.round(performance.now() - started),
            rssMiB: () => rssOf(pid),
            stop: () => signal('SIGTERM'),
            kill: () => signal('SIGKILL'),
          });
          return;
        }
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited with ${code}: ${stderr}`));
    });
  });
}

/** `kanplan serve` with the given environment; ready when it logs "kanplan is ready". */
export async function startKanplan(env: Record<string, string>, extraNodeArgs: string[] = []): Promise<ServerProcess> {
  const port = await freePort();
  return spawnUntilReady(
    // As `npm start` runs it (package.json), young generation size included.
    ['--max-semi-space-size=4', ...extraNodeArgs, 'src/cli/main.ts', 'serve'],
    { ...process.env, LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: String(port), BASE_URL: `http://127.0.0.1:${port}/fhir`, LOAD_DEMO_DATA: 'false', ...env },
    (line) => {
      try {
        const parsed = JSON.parse(line) as { msg?: string; url?: string };
        return parsed.msg === 'kanplan is ready' ? parsed.url : undefined;
      } catch {
        return undefined;
      }
    },
  );
}

/** A baseline or peer script printing "ready <port>". */
export async function startScript(script: string, args: string[] = []): Promise<ServerProcess> {
  return spawnUntilReady([script, ...args], process.env, (line) => {
    const match = /^ready (\d+)$/.exec(line.trim());
    return match ? `http://127.0.0.1:${match[1]}` : undefined;
  });
}
