import type { SqlExecutor } from '../../store/database.ts';
import { findOAuthRecord, upsertOAuthRecord } from '../../store/oauth-records.ts';

/**
 * The SMART launch context an authorization ends with (https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html#launch-context-arrives-with-your-access_token):
 * the patient (chosen in the picker, or bound to the EHR launch), the encounter, the user's
 * fhirUser. Kept beside oidc-provider's Grant under the same id, so every token of the grant —
 * the first and each refreshed one — carries the same context, and revoking the grant ends it.
 */
export interface GrantContext {
  readonly fhirUser?: string;
  readonly patient?: string;
  readonly encounter?: string;
  /** The EHR shows a patient banner already (EHR launch): the app need not. */
  readonly needPatientBanner: boolean;
}

const KIND = 'SmartGrantContext';

export async function saveGrantContext(sql: SqlExecutor, grantId: string, context: GrantContext, lifetimeSeconds: number): Promise<void> {
  await upsertOAuthRecord(sql, KIND, grantId, { payload: { ...context }, grantId, expiresAt: new Date(Date.now() + lifetimeSeconds * 1000) });
}

export async function findGrantContext(sql: SqlExecutor, grantId: string): Promise<GrantContext | undefined> {
  const payload = await findOAuthRecord(sql, KIND, grantId);
  if (!payload) return undefined;
  const text = (name: string): string | undefined => (typeof payload[name] === 'string' ? (payload[name] as string) : undefined);
  return { fhirUser: text('fhirUser'), patient: text('patient'), encounter: text('encounter'), needPatientBanner: payload.needPatientBanner === true };
}
