import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCommand } from '../../src/cli/client.ts';
import { launchCommand } from '../../src/cli/launch.ts';
import { userCommand } from '../../src/cli/user.ts';
import { authenticate } from '../../src/auth/server/users.ts';
import { findLaunchContext } from '../../src/auth/server/launches.ts';
import { openDatabase } from '../../src/store/database.ts';
import { captureIo } from './command-io.ts';

describe('kanplan client, user and launch', () => {
  let dataDir: string;
  const saved = { DATA_DIR: process.env.DATA_DIR, DATABASE_URL: process.env.DATABASE_URL, BASE_URL: process.env.BASE_URL };

  beforeAll(() => {
    dataDir = mkdtempSync(`${tmpdir()}/kanplan-auth-cli-`);
    process.env.DATA_DIR = dataDir;
    process.env.DATABASE_URL = '';
    process.env.BASE_URL = 'http://localhost:8080/fhir';
  });
  afterAll(() => {
    process.env.DATA_DIR = saved.DATA_DIR;
    process.env.DATABASE_URL = saved.DATABASE_URL;
    process.env.BASE_URL = saved.BASE_URL;
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function run(command: typeof clientCommand, args: string[]): Promise<{ code: number; out: string; err: string }> {
    const capture = captureIo();
    const code = await command.run(args, capture.io);
    return { code, out: capture.out(), err: capture.err() };
  }

  it('registers a public app with two redirect URIs and lists it; a missing redirect URI is a usage error', async () => {
    const added = await run(clientCommand, ['add', '--type', 'public', '--name', 'Plan Viewer', '--id', 'plan-viewer', '--redirect-uri', 'http://localhost:3000/cb', '--redirect-uri', 'http://127.0.0.1:3000/cb']);
    expect(added.code).toBe(0);
    expect(added.out).toBe('client_id: plan-viewer\n');
    const listed = await run(clientCommand, ['list']);
    expect(listed.out).toContain('plan-viewer\tpublic\tPlan Viewer\thttp://localhost:3000/cb,http://127.0.0.1:3000/cb');
    const refused = await run(clientCommand, ['add', '--type', 'public', '--name', 'No Redirect']);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('--redirect-uri');
  });

  it('prints a confidential-symmetric secret once; registers an asymmetric client from a JWKS file; removes a client', async () => {
    const symmetric = await run(clientCommand, ['add', '--type', 'confidential-symmetric', '--name', 'Care App', '--redirect-uri', 'https://care.example/cb', '--scope', 'launch openid fhirUser user/*.rs']);
    expect(symmetric.out).toMatch(/^client_id: \S+\nclient_secret: \S{30,}\n$/);
    const { publicKey } = await generateKeyPair('ES384', { extractable: true });
    const jwksFile = `${dataDir}/keys.json`;
    writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES384' }] }));
    const asymmetric = await run(clientCommand, ['add', '--type', 'confidential-asymmetric', '--name', 'MCO system', '--id', 'mco-1', '--jwks-file', jwksFile, '--scope', 'system/*.rs']);
    expect(asymmetric.code).toBe(0);
    const noKeys = await run(clientCommand, ['add', '--type', 'confidential-asymmetric', '--name', 'No keys']);
    expect(noKeys.code).toBe(2);
    expect((await run(clientCommand, ['remove', '--id', 'mco-1'])).code).toBe(0);
    expect((await run(clientCommand, ['remove', '--id', 'mco-1'])).code).toBe(1);
  });

  it('adds users with a generated or a given password, stored hashed; refuses a bad fhirUser', async () => {
    const generated = await run(userCommand, ['add', '--login', 'tcm.cli', '--fhir-user', 'PractitionerRole/tcm-cli']);
    expect(generated.code).toBe(0);
    const password = /^password: (\S+)\n$/.exec(generated.out)?.[1] as string;
    expect(password.length).toBeGreaterThanOrEqual(16);
    const bad = await run(userCommand, ['add', '--login', 'x', '--fhir-user', 'Organization/o-1']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('PractitionerRole/ID');
    expect((await run(userCommand, ['list'])).out).toBe('tcm.cli\tPractitionerRole/tcm-cli\n');
    const db = await openDatabase({ dataDir });
    try {
      const stored = (await db.query<{ password_hash: string }>('SELECT password_hash FROM auth_user'))[0].password_hash;
      expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(stored).not.toContain(password);
      expect(await authenticate(db, 'tcm.cli', password)).toEqual({ login: 'tcm.cli', fhirUser: 'PractitionerRole/tcm-cli' });
      expect(await authenticate(db, 'tcm.cli', 'not-the-password')).toBeUndefined();
    } finally {
      await db.close();
    }
  });

  it('creates an EHR launch for a user and prints its id and an example launch URL', async () => {
    const launched = await run(launchCommand, ['--patient', 'pat-cli', '--encounter', 'enc-cli', '--user', 'tcm.cli', '--client', 'plan-viewer']);
    expect(launched.code).toBe(0);
    const id = launched.out.trim();
    expect(launched.err).toContain(`launch=${id}`);
    const db = await openDatabase({ dataDir });
    try {
      expect(await findLaunchContext(db, id)).toMatchObject({ patient: 'pat-cli', encounter: 'enc-cli', login: 'tcm.cli', clientId: 'plan-viewer' });
    } finally {
      await db.close();
    }
    const unknownUser = await run(launchCommand, ['--patient', 'pat-cli', '--user', 'nobody']);
    expect(unknownUser.code).toBe(2);
  });
});
