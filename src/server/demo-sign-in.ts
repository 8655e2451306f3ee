import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Resource } from '@medplum/fhirtypes';
import { SYSTEM_ACCESS } from '../auth/access.ts';
import { findRegisteredClient, registerClient } from '../auth/server/clients.ts';
import { addUser, listAccounts } from '../auth/server/users.ts';
import type { FhirContext } from '../fhir/context.ts';
import { dispatch } from '../fhir/router.ts';
import type { Database } from '../store/database.ts';

const PEOPLE_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bundles/demo/sign-in-people.json');

export const DEMO_CLIENT_ID = 'kanplan-demo-app';
const DEMO_REDIRECT_URIS = ['http://localhost:3000/', 'http://localhost:3000/callback', 'http://127.0.0.1:3000/callback', 'http://localhost:9090/'];

export interface DemoCredential {
  readonly login: string;
  readonly fhirUser: string;
  readonly role: string;
  readonly password: string;
}

/** The demo patient the guardian and the person speak for: the first in the demo data. */
async function firstPatientId(ctx: FhirContext): Promise<string | undefined> {
  const response = await dispatch({ ...ctx, access: SYSTEM_ACCESS }, { method: 'GET', path: 'Patient', query: [['_count', '1'], ['_sort', '_id']], headers: {} });
  const bundle = response.resource as { entry?: { resource?: Resource }[] } | undefined;
  return bundle?.entry?.[0]?.resource?.id;
}

/**
 * One sign-in user each for a TCM, a care coordinator, a provider (PractitionerRoles), a
 * guardian (RelatedPerson) and a person (Patient), over fictional people written from
 * bundles/demo/sign-in-people.json, and the public demo app `kanplan-demo-app`: so an app can be
 * launched right after the first `npm start`. Passwords are random, returned to be shown once,
 * and stored only hashed. Does nothing once any user exists.
 */
export async function seedDemoSignIn(ctx: FhirContext, db: Database): Promise<DemoCredential[]> {
  if ((await listAccounts(db)).length > 0) return [];
  const patient = await firstPatientId(ctx);
  if (!patient) return [];
  const bundle = JSON.parse(fs.readFileSync(PEOPLE_FILE, 'utf8').replaceAll('{{patient}}', patient)) as { entry: { resource: Resource }[] };
  for (const { resource } of bundle.entry) {
    await dispatch({ ...ctx, access: SYSTEM_ACCESS }, { method: 'PUT', path: `${resource.resourceType}/${resource.id}`, query: [], headers: {}, body: resource, contentType: 'application/fhir+json' });
  }
  const people: [string, string, string][] = [
    ['demo.tcm', 'PractitionerRole/demo-tcm-role', 'targeted case manager'],
    ['demo.cc', 'PractitionerRole/demo-cc-role', 'care coordinator'],
    ['demo.provider', 'PractitionerRole/demo-provider-role', 'provider'],
    ['demo.guardian', 'RelatedPerson/demo-guardian', 'guardian'],
    ['demo.person', `Patient/${patient}`, 'person (patient)'],
  ];
  const credentials: DemoCredential[] = [];
  for (const [login, fhirUser, role] of people) {
    const { password } = await addUser(db, login, fhirUser);
    credentials.push({ login, fhirUser, role, password });
  }
  if (!(await findRegisteredClient(db, DEMO_CLIENT_ID))) {
    await registerClient(db, { type: 'public', clientId: DEMO_CLIENT_ID, name: 'kanplan demo app', redirectUris: DEMO_REDIRECT_URIS });
  }
  return credentials;
}

/** The one-time announcement of the demo sign-ins. */
export function describeDemoCredentials(credentials: readonly DemoCredential[]): string {
  return [
    'Demo sign-ins for SMART apps (shown only now; stored hashed):',
    ...credentials.map((c) => `  ${c.login.padEnd(14)} ${c.password}  ${c.role}, ${c.fhirUser}`),
    `Public demo client: ${DEMO_CLIENT_ID} (redirect URIs ${DEMO_REDIRECT_URIS.join(', ')})`,
    '',
  ].join('\n');
}
