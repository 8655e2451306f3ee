import { ConfigError } from '../config.ts';
import { DatabaseInUseError } from '../store/pglite.ts';
import { processIo, type Command, type CommandIo } from './command.ts';
import { backupCommand, restoreCommand } from './backup.ts';
import { checkCommand } from './check.ts';
import { clientCommand } from './client.ts';
import { exportCommand } from './export.ts';
import { exportBulkCommand } from './export-bulk.ts';
import { importCommand } from './import.ts';
import { launchCommand } from './launch.ts';
import { reindexCommand } from './reindex.ts';
import { serveCommand } from './serve.ts';
import { subscriptionsCommand } from './subscriptions.ts';
import { templateCommand } from './template.ts';
import { tokenCommand } from './token.ts';
import { userCommand } from './user.ts';
import { validateCommand } from './validate.ts';

/**
 * The `kanplan` entry point (bin/kanplan.js, `npm start`, `npm run kanplan`): picks the command
 * named by the first argument and runs it. A new command is one file in src/cli/ and one line here.
 */
export const commands: readonly Command[] = [
  serveCommand,
  tokenCommand,
  clientCommand,
  userCommand,
  launchCommand,
  importCommand,
  exportCommand,
  exportBulkCommand,
  validateCommand,
  reindexCommand,
  checkCommand,
  backupCommand,
  restoreCommand,
  subscriptionsCommand,
  templateCommand,
];

function help(): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return [
    'kanplan: FHIR R4 server for Kansas LTSS care plans (PCSP, BSP, ISP)',
    '',
    'Usage: kanplan <command> [options]',
    '',
    'Commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    "Run 'kanplan <command> --help' for a command's options.",
    '',
    'Settings come from environment variables: PORT, HOST, BASE_URL, DATA_DIR, DATABASE_URL,',
    'EMBEDDED_SHARED_BUFFERS, MAX_BODY_SIZE, MAX_BUNDLE_ENTRIES, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE,',
    'LOG_LEVEL, LOAD_DEMO_DATA, VALIDATE_KANSAS_WITHOUT_PROFILE, STRICT_EXTENSIONS, SECURITY_CHECKS, REFUSE_EXAMPLE_URLS, PLAN_REVIEW_INTERVAL_MONTHS,',
    'AUTH_MODE, AUTH_KEY_FILE, AUTH_JWKS_URL, AUTH_ISSUER, AUTH_AUDIENCE, AUTH_TOKEN_URL,',
    'AUTH_AUTHORIZE_URL, AUTH_INTROSPECT_URL, AUTH_REVOKE_URL, AUTH_ALLOW_PRIVATE_JWKS_URLS, JOBS, JOB_POLL_MS,',
    'JOB_LEASE_MS, BULK_EXPORT_RETENTION_HOURS, BULK_EXPORT_BATCH.',
    'See README.md.',
  ].join('\n');
}

/** Runs `kanplan ARGV...` and returns the exit code: 0 done, 1 failed, 2 misused or misconfigured. */
export async function main(argv: readonly string[], io: CommandIo = processIo): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? commands.find((command) => command.name === args[0]) : undefined;
    io.stdout.write(`${topic ? topic.help : help()}\n`);
    return name ? 0 : 1;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (!command) {
    io.stderr.write(`Unknown command ${JSON.stringify(name)}.\n\n${help()}\n`);
    return 2;
  }
  try {
    return await command.run(args, io);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr.write(`Configuration error: ${err.message}\n`);
      return 2;
    }
    if (err instanceof DatabaseInUseError) {
      io.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

/**
 * Exits once stdout and stderr have taken everything written to them. A write to a full pipe
 * (64 KiB unread: `kanplan import big-dir | less`, or a parent process reading late) is queued,
 * and process.exit would drop it — a long list of failed documents would be cut short.
 */
async function exitAfterOutput(code: number): Promise<never> {
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((resolve) => stream.write('', () => resolve()))));
  process.exit(code);
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => exitAfterOutput(code),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      return exitAfterOutput(1);
    },
  );
}
