import { loadConfig } from '../config.ts';
import { startServer } from '../server/server.ts';
import { defineCommand } from './command.ts';

export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'Serve the FHIR API (embedded PGlite in DATA_DIR, or PostgreSQL with DATABASE_URL)',
  description: 'SIGTERM or SIGINT stops accepting connections, finishes in-flight requests and exits 0.',
  options: {
    // Passed on as PORT, so a bad value gets the configuration's own check and message.
    port: { type: 'string', placeholder: 'N', description: 'Port to listen on (default: PORT, else 8080)' },
  },
  async run({ values }, io) {
    const config = loadConfig(values.port === undefined ? process.env : { ...process.env, PORT: values.port });
    const server = await startServer(config);
    const stop = (signal: string): void => {
      io.stderr.write(`\n${signal} received: finishing in-flight requests\n`);
      server.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    // Runs until a signal ends the process.
    return new Promise<number>(() => undefined);
  },
});
