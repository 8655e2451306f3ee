import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig, type Config } from '../config.ts';
import { embeddedTemplatePath } from '../server/embedded-template.ts';
import { installInitialContent } from '../server/initial-content.ts';
import { createFhirContext } from '../server/server.ts';
import { openDatabase } from '../store/database.ts';
import { migrate } from '../store/migrate.ts';
import { defineCommand } from './command.ts';

export interface MadeTemplate {
  readonly dir: string;
  /** False when a template of this version and these settings was there already. */
  readonly made: boolean;
}

/**
 * Makes the template data directory a first start copies instead of running initdb, the
 * migrations and the initial content itself (src/server/embedded-template.ts): the same steps on
 * a new directory beside the final one, renamed into place once closed, so a start never sees a
 * half-made template. Templates of other versions or settings are removed.
 */
export async function makeEmbeddedTemplate(config: Config, templateRoot: string): Promise<MadeTemplate> {
  const dir = embeddedTemplatePath(config, templateRoot);
  if (fs.existsSync(path.join(dir, 'PG_VERSION'))) return { dir, made: false };
  fs.mkdirSync(templateRoot, { recursive: true });
  const partial = `${dir}.partial-${process.pid}`;
  fs.rmSync(partial, { recursive: true, force: true });
  const db = await openDatabase({ dataDir: partial, sharedBuffersBytes: config.embeddedSharedBuffersBytes });
  try {
    await migrate(db);
    const logger = pino({ level: 'warn' });
    await installInitialContent(createFhirContext(config, db, logger), config, logger);
  } finally {
    await db.close();
  }
  for (const entry of fs.readdirSync(templateRoot)) {
    if (entry !== path.basename(partial)) fs.rmSync(path.join(templateRoot, entry), { recursive: true, force: true });
  }
  fs.renameSync(partial, dir);
  return { dir, made: true };
}

/** `kanplan template`: run by npm's prepare, so that the first `npm start` is a copy, not an initdb. */
export const templateCommand = defineCommand({
  name: 'template',
  summary: 'Make the template a new embedded database (DATA_DIR) starts from (npm install runs it)',
  description: 'Written to EMBEDDED_TEMPLATE_DIR (.cache/embedded-template by default), keyed by the version and the settings that change a first start. Exit codes: 0 made, already there or turned off, 1 failed, 2 misused.',
  options: {},
  async run(_args, io) {
    const config = loadConfig();
    if (!config.embeddedTemplateDir) {
      // Said, not refused: npm install runs this, and turning the template off is a choice.
      io.stderr.write('EMBEDDED_TEMPLATE_DIR=off: no embedded database template is made or used.\n');
      return 0;
    }
    const { dir, made } = await makeEmbeddedTemplate(config, config.embeddedTemplateDir);
    io.stderr.write(made ? `Embedded database template made in ${dir}.\n` : `Embedded database template is up to date (${dir}).\n`);
    return 0;
  },
});
