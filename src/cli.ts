import { issueAccessToken, loadOrCreateSigningKey } from './auth/signing-key.ts';
import { ConfigError, loadConfig } from './config.ts';
import { DatabaseInUseError } from './store/pglite.ts';
import { exportCommand, importCommand } from './documents/cli.ts';
import { REINDEX_USAGE, runReindexCommand } from './search/index.ts';
import { startServer } from './server/server.ts';
import { validateCommand } from './validation/cli-validate.ts';

/** A kanplan sub-command: its one-line summary for --help and what it runs. */
export interface Command {
  readonly summary: string;
  readonly usage: string;
  run(args: string[]): Promise<number>;
}

const commands: Record<string, Command> = {
  serve: {
    summary: 'Serve the FHIR API (embedded PGlite in DATA_DIR, or PostgreSQL with DATABASE_URL)',
    usage: 'kanplan serve [--port N]',
    async run(args) {
      const portFlag = args.indexOf('--port');
      const env = portFlag >= 0 ? { ...process.env, PORT: args[portFlag + 1] } : process.env;
      const config = loadConfig(env);
      const server = await startServer(config);
      const stop = (signal: string): void => {
        process.stderr.write(`\n${signal} received: finishing in-flight requests\n`);
        server.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      return new Promise<number>(() => undefined);
    },
  },
};

function flag(args: string[], name: string, fallback: string): string {
  const index = args.indexOf(name);
  return index >= 0 && args[index + 1] !== undefined ? args[index + 1] : fallback;
}

commands.token = {
  summary: "Issue an access token signed with this server's local key (DATA_DIR/auth)",
  usage: "kanplan token [--scope 'system/*.cruds'] [--subject NAME] [--expires 1h]",
  async run(args) {
    const config = loadConfig();
    if (config.auth.jwksUrl) {
      process.stderr.write('AUTH_JWKS_URL is set: tokens come from that authorization server, not from kanplan.\n');
      return 2;
    }
    const key = await loadOrCreateSigningKey(config.auth.keyFile);
    const token = await issueAccessToken(key, {
      scope: flag(args, '--scope', 'system/*.cruds'),
      subject: flag(args, '--subject', 'kanplan-cli'),
      issuer: config.auth.issuer,
      audience: config.auth.audience,
      expiresIn: flag(args, '--expires', '1h'),
    });
    process.stdout.write(`${token}\n`);
    return 0;
  },
};

commands.import = importCommand;
commands.export = exportCommand;

commands.validate = validateCommand;
commands.reindex = {
  summary: 'Rebuild search-index rows written with other SearchParameters (resumable; the server may stay up)',
  usage: REINDEX_USAGE,
  run: runReindexCommand,
};

function help(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  return [
    'kanplan: FHIR R4 server for Kansas LTSS care plans (PCSP, BSP, ISP)',
    '',
    'Usage: kanplan <command> [options]',
    '',
    'Commands:',
    ...Object.entries(commands).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`),
    '',
    'Settings come from environment variables: PORT, HOST, BASE_URL, DATA_DIR, DATABASE_URL,',
    'EMBEDDED_SHARED_BUFFERS, MAX_BODY_SIZE, MAX_BUNDLE_ENTRIES, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE,',
    'LOG_LEVEL, LOAD_DEMO_DATA, VALIDATE_KANSAS_WITHOUT_PROFILE, PLAN_REVIEW_INTERVAL_MONTHS,',
    'AUTH_MODE, AUTH_KEY_FILE, AUTH_JWKS_URL, AUTH_ISSUER, AUTH_AUDIENCE, AUTH_TOKEN_URL,',
    'AUTH_AUTHORIZE_URL.',
    'See README.md.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${help()}\n`);
    return name ? 0 : 1;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`Unknown command ${JSON.stringify(name)}.\n\n${help()}\n`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${command.summary}\n\nUsage: ${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(args);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${err.message}\n`);
      return 2;
    }
    if (err instanceof DatabaseInUseError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
