import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.ts';

const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * What a template data directory's content is made from: the code that writes it (the schema in
 * src/store/migrations, the index extraction, the write rules: all of src/), the Kansas package and
 * the example plans, the PGlite build that lays out the files, and the settings that change what
 * the first start writes. A change to any of these makes another key, so a template made by an
 * older version is never copied after an upgrade.
 */
const CONTENT_SOURCES = ['src', 'profiles', 'bundles'];

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

/** The key of the template that holds what a first start with `config` writes, at this version. */
export function embeddedTemplateKey(config: Config, root: string = PACKAGE_ROOT): string {
  const hash = createHash('sha256');
  const pglite = JSON.parse(fs.readFileSync(path.join(root, 'node_modules', '@electric-sql', 'pglite', 'package.json'), 'utf8')) as { version: string };
  hash.update(JSON.stringify({
    pglite: pglite.version,
    loadDemoData: config.loadDemoData,
    validateKansasPlansWithoutMetaProfile: config.validateKansasPlansWithoutMetaProfile,
    strictExtensions: config.strictExtensions,
    securityChecks: config.securityChecks,
    refuseExampleUrls: config.refuseExampleUrls,
  }));
  for (const source of CONTENT_SOURCES) {
    for (const file of filesUnder(path.join(root, source))) {
      hash.update(`\0${path.relative(root, file)}\0`);
      hash.update(fs.readFileSync(file));
    }
  }
  return hash.digest('hex').slice(0, 24);
}

/** Where the template for `config` at this version lives, whether or not it has been made. */
export function embeddedTemplatePath(config: Config, templateRoot: string): string {
  return path.join(templateRoot, embeddedTemplateKey(config));
}

/**
 * The template data directory a new embedded database starts from, if it would be new (no
 * PG_VERSION in DATA_DIR) and a template of this version and settings was made at install time
 * (`kanplan template`, run by npm's prepare). Undefined otherwise: the start then runs initdb,
 * the migrations and the initial content itself, as it always could.
 */
export function findEmbeddedTemplate(config: Config): string | undefined {
  if (config.databaseUrl || !config.embeddedTemplateDir) return undefined;
  if (fs.existsSync(path.join(config.dataDir, 'PG_VERSION'))) return undefined;
  // The key reads ~10 MB of sources: not worth it where no template was ever made.
  if (!fs.existsSync(config.embeddedTemplateDir) || fs.readdirSync(config.embeddedTemplateDir).length === 0) return undefined;
  const dir = embeddedTemplatePath(config, config.embeddedTemplateDir);
  return fs.existsSync(path.join(dir, 'PG_VERSION')) ? dir : undefined;
}
