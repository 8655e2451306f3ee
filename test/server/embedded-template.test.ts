import fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeEmbeddedTemplate } from '../../src/cli/template.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { embeddedTemplateKey, findEmbeddedTemplate } from '../../src/server/embedded-template.ts';
import { startServer } from '../../src/server/server.ts';
import type { Database } from '../../src/store/database.ts';

// A first start on the embedded database, from the install-time template and without it, with
// the settings `npm start` has (demo data, the embedded authorization server).
const work = fs.mkdtempSync(path.join(tmpdir(), 'kanplan-template-'));
const templateRoot = path.join(work, 'templates');

function configFor(dataDir: string, embeddedTemplateDir: string | undefined, overrides: Partial<Config> = {}): Config {
  return loadConfig({}, { port: 0, host: '127.0.0.1', baseUrl: 'http://127.0.0.1:0/fhir', loadDemoData: true, dataDir, embeddedTemplateDir, ...overrides });
}

/** What a first start leaves in the database, apart from the times and the server-assigned ids. */
async function contentOf(db: Database): Promise<Record<string, unknown>> {
  const migrations = await db.query<{ version: number; name: string }>('SELECT version, name FROM schema_migration ORDER BY version');
  // AuditEvents record the requests of this start; the example plans' server-assigned ids differ from one load to the next.
  const counts = await db.query<{ resource_type: string; n: string }>(
    "SELECT resource_type, count(*)::text AS n FROM resource WHERE NOT deleted AND resource_type <> 'AuditEvent' GROUP BY resource_type ORDER BY resource_type",
  );
  const conformance = await db.query<{ resource_type: string; id: string; version_id: number }>(
    `SELECT resource_type, id, version_id FROM resource
      WHERE resource_type IN ('StructureDefinition', 'CodeSystem', 'ValueSet', 'SearchParameter', 'OperationDefinition', 'ImplementationGuide', 'Group')
      ORDER BY resource_type, id`,
  );
  const indexRows = await db.query<{ n: string }>('SELECT (SELECT count(*) FROM sp_token) + (SELECT count(*) FROM sp_string) + (SELECT count(*) FROM sp_reference) + (SELECT count(*) FROM sp_date) AS n');
  // demo.person is the first Patient of the example plans, whose id the server assigned.
  const users = await db.query<{ login: string; fhir_user: string }>("SELECT login, split_part(fhir_user, '/', 1) AS fhir_user FROM auth_user ORDER BY login");
  return { migrations, counts, conformance, indexRows, users };
}

/** Starts the server on `config`, notes what it printed and logged, and returns the database's content. */
async function firstStart(config: Config): Promise<{ content: Record<string, unknown>; printed: string; logged: string }> {
  let printed = '';
  let logged = '';
  const logger = pino({ level: 'info' }, { write: (line: string) => (logged += line) });
  const server = await startServer(config, { logger, stdout: { write: (text: string) => (printed += text) } });
  try {
    return { content: await contentOf(server.db), printed, logged };
  } finally {
    await server.close();
  }
}

describe('the embedded database template', () => {
  beforeAll(async () => {
    await makeEmbeddedTemplate(configFor(path.join(work, 'unused'), templateRoot), templateRoot);
  }, 600_000);
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test(
    'a first start from the template gives the database a first start without it gives: migrations, conformance resources, MCO groups, demo data and the demo sign-ins',
    async () => {
      const fromTemplate = await firstStart(configFor(path.join(work, 'from-template'), templateRoot));
      const withoutTemplate = await firstStart(configFor(path.join(work, 'without-template'), undefined));
      expect(fromTemplate.logged).toContain('embedded database created from the install-time template');
      expect(fromTemplate.logged).not.toContain('database schema migrated');
      expect(withoutTemplate.logged).toContain('database schema migrated');
      expect(fromTemplate.content).toEqual(withoutTemplate.content);
      // Sign-ins are made at the first start, never in the template: each install has its own passwords.
      expect(fromTemplate.printed).toContain('Demo sign-ins');
      expect((fromTemplate.content.users as unknown[]).length).toBe(5);
      const passwords = (text: string): string[] => [...text.matchAll(/^ {2}demo\.\S+\s+(\S+)/gm)].map((match) => match[1] as string);
      expect(passwords(fromTemplate.printed)).not.toEqual(passwords(withoutTemplate.printed));
    },
    600_000,
  );

  test('a data directory that holds a database already is not replaced by the template', () => {
    const config = configFor(path.join(work, 'from-template'), templateRoot);
    expect(fs.existsSync(path.join(config.dataDir, 'PG_VERSION'))).toBe(true);
    expect(findEmbeddedTemplate(config)).toBeUndefined();
  });

  test('a template made for other settings, or by another version, is not used', () => {
    const fresh = path.join(work, 'never-started');
    expect(findEmbeddedTemplate(configFor(fresh, templateRoot))).toBeDefined();
    expect(findEmbeddedTemplate(configFor(fresh, templateRoot, { loadDemoData: false }))).toBeUndefined();
    expect(findEmbeddedTemplate(configFor(fresh, templateRoot, { strictExtensions: true }))).toBeUndefined();
    expect(findEmbeddedTemplate(configFor(fresh, undefined))).toBeUndefined();
    expect(findEmbeddedTemplate(configFor(fresh, templateRoot, { databaseUrl: 'postgres://127.0.0.1/kanplan' }))).toBeUndefined();
  });

  test('the key changes with the code, the Kansas package, the example data and the PGlite version', () => {
    const root = path.join(work, 'package');
    const write = (file: string, text: string): void => {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), text);
    };
    write('node_modules/@electric-sql/pglite/package.json', '{"version":"0.5.16"}');
    write('src/store/migrations/001_resources.sql', 'CREATE TABLE resource ();');
    write('profiles/input/a.json', '{}');
    write('bundles/documents/a.json', '{}');
    const config = configFor(path.join(work, 'never-started'), templateRoot);
    const keys = [embeddedTemplateKey(config, root)];
    write('src/store/migrations/002_more.sql', 'CREATE TABLE more ();');
    keys.push(embeddedTemplateKey(config, root));
    write('profiles/input/a.json', '{"changed":true}');
    keys.push(embeddedTemplateKey(config, root));
    write('bundles/documents/a.json', '{"changed":true}');
    keys.push(embeddedTemplateKey(config, root));
    write('node_modules/@electric-sql/pglite/package.json', '{"version":"0.6.0"}');
    keys.push(embeddedTemplateKey(config, root));
    expect(new Set(keys).size).toBe(keys.length);
    expect(embeddedTemplateKey(config, root)).toBe(keys.at(-1));
    // Validation settings change which demo documents a first start accepts.
    const bySetting = [embeddedTemplateKey({ ...config, securityChecks: true }, root), embeddedTemplateKey({ ...config, refuseExampleUrls: true }, root)];
    expect(new Set([...keys, ...bySetting]).size).toBe(keys.length + 2);
  });

  test('making the template again at the same version leaves it as it is', async () => {
    const config = configFor(path.join(work, 'unused'), templateRoot);
    const before = fs.readdirSync(templateRoot);
    const again = await makeEmbeddedTemplate(config, templateRoot);
    expect(again.made).toBe(false);
    expect(fs.readdirSync(templateRoot)).toEqual(before);
    expect(before).toEqual([path.basename(again.dir)]);
  });
});
