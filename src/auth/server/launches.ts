import { randomBytes } from 'node:crypto';
import type { SqlExecutor } from '../../store/database.ts';
import { findLaunch, insertLaunch, type StoredLaunch } from '../../store/auth-registry.ts';

/**
 * EHR launch contexts (https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html#launch-app-ehr-launch):
 * the EHR (or `kanplan launch`) binds a patient, optionally an encounter, the user and optionally
 * the client to an opaque launch id, which the app passes back as `launch` when it authorizes.
 */
export type LaunchContext = StoredLaunch;

export interface LaunchRequest {
  readonly patient: string;
  readonly encounter?: string;
  readonly login?: string;
  readonly clientId?: string;
}

/** Long enough to open the app and sign in; the launch is used once the app authorizes. */
const LAUNCH_LIFETIME_MS = 60 * 60 * 1000;
const ID = /^[A-Za-z0-9\-.]{1,64}$/;

export class LaunchError extends Error {}

export async function createLaunch(sql: SqlExecutor, request: LaunchRequest): Promise<LaunchContext> {
  if (!ID.test(request.patient)) throw new LaunchError(`patient ${JSON.stringify(request.patient)} is not a FHIR id.`);
  if (request.encounter !== undefined && !ID.test(request.encounter)) throw new LaunchError(`encounter ${JSON.stringify(request.encounter)} is not a FHIR id.`);
  const launch: LaunchContext = { id: randomBytes(18).toString('base64url'), ...request, expiresAt: new Date(Date.now() + LAUNCH_LIFETIME_MS) };
  await insertLaunch(sql, launch);
  return launch;
}

export async function findLaunchContext(sql: SqlExecutor, id: string): Promise<LaunchContext | undefined> {
  return findLaunch(sql, id);
}
