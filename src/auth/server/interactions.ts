import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';
import type { SqlExecutor } from '../../store/database.ts';
import { saveGrantContext, type GrantContext } from './grant-context.ts';
import { findLaunchContext } from './launches.ts';
import { consentPage, loginPage, type PatientOption, type ScopeLine } from './pages.ts';
import { GRANT_SECONDS } from './provider.ts';
import { describeScope } from './smart-scopes.ts';
import { authenticate, findAccount } from './users.ts';

/**
 * The sign-in flow after oidc-provider hands over (https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#user-flows):
 * login → consent (with the patient picker for a standalone `launch/patient`, or the patient of
 * the EHR launch). Plain functions: each returns a page to show or the result to finish with;
 * the HTTP glue is in src/server/auth-routes.ts.
 */
export type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

/** The patients a user may choose in the picker. Implemented over the FHIR data by the server. */
export interface PatientDirectory {
  /** For a Patient user: themself; RelatedPerson: their patient; practitioners: all, by name. */
  patientsFor(fhirUser: string, nameFilter?: string): Promise<PatientOption[]>;
  /** Whether the user may open this patient (the picker's choice is checked, never trusted). */
  mayChoose(fhirUser: string, patientId: string): Promise<boolean>;
}

export interface InteractionServices {
  readonly sql: SqlExecutor;
  readonly provider: Provider;
  readonly directory: PatientDirectory;
  readonly mountPath: string;
}

export type Step = { readonly page: string; readonly status: number } | { readonly result: InteractionResults };

const words = (value: unknown): string[] => (typeof value === 'string' ? value.split(' ').filter(Boolean) : []);

async function appName(provider: Provider, clientId: unknown): Promise<string> {
  const client = await provider.Client.find(String(clientId));
  return client?.clientName ?? String(clientId);
}

function scopeLines(interaction: Interaction): ScopeLine[] {
  return words(interaction.params.scope).map((scope) => ({ scope, description: describeScope(scope) }));
}

const actionOf = (services: InteractionServices, interaction: Interaction, step: string): string => `${services.mountPath}/interaction/${interaction.uid}/${step}`;

/** Whether this authorization needs a patient chosen in the picker (standalone launch/patient). */
function needsPicker(interaction: Interaction): boolean {
  return words(interaction.params.scope).includes('launch/patient') && !interaction.params.launch;
}

export async function showInteraction(services: InteractionServices, interaction: Interaction, filter?: string): Promise<Step> {
  const name = await appName(services.provider, interaction.params.client_id);
  if (interaction.prompt.name === 'login') {
    return { status: 200, page: loginPage({ action: actionOf(services, interaction, 'login'), appName: name, scopes: scopeLines(interaction) }) };
  }
  return consentStep(services, interaction, filter);
}

async function consentStep(services: InteractionServices, interaction: Interaction, filter?: string, error?: string, status = 200): Promise<Step> {
  const account = await findAccount(services.sql, String(interaction.session?.accountId));
  if (!account) return { result: { error: 'login_required', error_description: 'The signed-in account no longer exists.' } };
  const launch = interaction.params.launch ? await findLaunchContext(services.sql, String(interaction.params.launch)) : undefined;
  const patients = needsPicker(interaction) ? await services.directory.patientsFor(account.fhirUser, filter || undefined) : undefined;
  const page = consentPage({
    action: actionOf(services, interaction, 'consent'),
    filterAction: `${services.mountPath}/interaction/${interaction.uid}`,
    appName: await appName(services.provider, interaction.params.client_id),
    userLabel: `${account.login} (${account.fhirUser})`,
    scopes: scopeLines(interaction),
    patients,
    filter,
    launchPatient: launch?.patient,
    error,
  });
  return { status, page };
}

export async function submitLogin(services: InteractionServices, interaction: Interaction, form: Record<string, string>): Promise<Step> {
  const account = await authenticate(services.sql, form.login ?? '', form.password ?? '');
  if (!account) {
    const page = loginPage({
      action: actionOf(services, interaction, 'login'),
      appName: await appName(services.provider, interaction.params.client_id),
      scopes: scopeLines(interaction),
      login: form.login,
      error: 'The login name or the password is not right.',
    });
    return { status: 401, page };
  }
  return { result: { login: { accountId: account.login } } };
}

/** The login page again, saying how long to wait: too many attempts for this login name from this address. */
export async function tooManySignInAttempts(services: InteractionServices, interaction: Interaction, form: Record<string, string>, retryAfterSeconds: number): Promise<Step> {
  const wait = retryAfterSeconds >= 90 ? `${Math.ceil(retryAfterSeconds / 60)} minutes` : `${retryAfterSeconds} seconds`;
  const page = loginPage({
    action: actionOf(services, interaction, 'login'),
    appName: await appName(services.provider, interaction.params.client_id),
    scopes: scopeLines(interaction),
    login: form.login,
    error: `Too many sign-in attempts for this login name. Wait ${wait}, then try again.`,
  });
  return { status: 429, page };
}

/** Allow (with the chosen patient) or deny; an allowed consent makes the grant and its launch context. */
export async function submitConsent(services: InteractionServices, interaction: Interaction, form: Record<string, string>): Promise<Step> {
  if (form.decision !== 'allow') return { result: { error: 'access_denied', error_description: 'The user did not allow access.' } };
  const accountId = String(interaction.session?.accountId);
  const account = await findAccount(services.sql, accountId);
  if (!account) return { result: { error: 'login_required', error_description: 'The signed-in account no longer exists.' } };
  const context = await launchContextOf(services, interaction, account.login, account.fhirUser, form.patient);
  if ('error' in context) {
    if (context.error === 'access_denied') return { result: { error: 'access_denied', error_description: context.message } };
    return consentStep(services, interaction, undefined, context.message, 400);
  }
  const { Grant } = services.provider;
  const grant = new Grant({ accountId, clientId: String(interaction.params.client_id) });
  const details = interaction.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [resource, scopes] of Object.entries(details.missingResourceScopes ?? {})) grant.addResourceScope(resource, scopes.join(' '));
  const grantId = await grant.save();
  await saveGrantContext(services.sql, grantId, context, GRANT_SECONDS);
  return { result: { consent: { grantId } } };
}

async function launchContextOf(
  services: InteractionServices,
  interaction: Interaction,
  login: string,
  fhirUser: string,
  chosen: string | undefined,
): Promise<GrantContext | { error: 'access_denied' | 'choose'; message: string }> {
  if (interaction.params.launch) {
    const launch = await findLaunchContext(services.sql, String(interaction.params.launch));
    if (!launch) return { error: 'access_denied', message: 'The launch has expired; launch the app from the EHR again.' };
    if (launch.login && launch.login !== login) return { error: 'access_denied', message: 'This launch was made for another user.' };
    return { fhirUser, patient: launch.patient, encounter: launch.encounter, needPatientBanner: false };
  }
  if (!needsPicker(interaction)) return { fhirUser, needPatientBanner: true };
  if (!chosen) return { error: 'choose', message: 'Choose a patient to continue.' };
  if (!(await services.directory.mayChoose(fhirUser, chosen))) return { error: 'choose', message: 'You may not open that patient; choose one from the list.' };
  return { fhirUser, patient: chosen, needPatientBanner: true };
}
