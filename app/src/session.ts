import FHIR from 'fhirclient';
import type Client from 'fhirclient/lib/Client';
import { h, show } from './dom.ts';

/** The client id the app has on the kanplan it is served by (registered at every start); `client_id` overrides it. */
const DEFAULT_CLIENT_ID = 'kanplan-app';

/**
 * Scopes (SMART App Launch 2.2, https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html):
 * `user/*.cruds` — the server's role rules and compartments decide what each person may do; no
 * `offline_access`/`online_access`, so there is no refresh token and the session ends with the token.
 */
const USER_SCOPE = 'openid fhirUser user/*.cruds';

/**
 * launch.html: an EHR launch (`iss` and `launch` in the query) authorizes at once; a standalone
 * launch offers "my work list" (user scope) or "one person" (launch/patient: the patient picker).
 * The FHIR base is `iss`, else the `/fhir` beside where the app is served.
 */
export async function startLaunch(): Promise<void> {
  const query = new URLSearchParams(location.search);
  const iss = query.get('iss') ?? new URL('../fhir', location.href).href;
  const clientId = query.get('client_id') ?? DEFAULT_CLIENT_ID;
  const launch = query.get('launch');
  const authorize = (scope: string, extra: { launch?: string } = {}) =>
    FHIR.oauth2.authorize({ iss, clientId, scope, redirectUri: 'index.html', pkceMode: 'required', ...extra });
  if (launch) {
    await authorize(`launch ${USER_SCOPE}`, { launch });
    return;
  }
  show(
    'Sign in',
    h('p', {}, 'Sign in with the account your agency, MCO or the state gave you.'),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', id: 'sign-in-work-list', onclick: () => void authorize(USER_SCOPE) }, 'Sign in to my work list'),
      h('button', { type: 'button', class: 'secondary', id: 'sign-in-person', onclick: () => void authorize(`launch/patient ${USER_SCOPE}`) }, 'Sign in and choose a person'),
    ),
    h('p', { class: 'muted' }, `Server: ${iss}`),
  );
}

/** index.html after the redirect: fhirclient checks the state and exchanges the code (PKCE). */
export async function finishLaunch(): Promise<Client> {
  return FHIR.oauth2.ready();
}

/** Sign-out: forget the token and fhirclient's state (the only thing the app keeps, in sessionStorage). */
export function signOut(message = 'You are signed out.'): void {
  sessionStorage.clear();
  show('Signed out', h('p', { role: 'status' }, message), h('p', {}, h('a', { href: 'launch.html' }, 'Sign in again')));
  const button = document.getElementById('sign-out');
  if (button) button.hidden = true;
  const who = document.getElementById('who');
  if (who) who.textContent = '';
}

/** The session ends when the access token does: sign out at its expiry. */
export function endWithToken(client: Client): void {
  const expiresAt = client.state.expiresAt;
  if (!expiresAt) return;
  const left = expiresAt * 1000 - Date.now();
  setTimeout(() => signOut('Your session ended. Sign in again to continue.'), Math.max(0, left));
}
