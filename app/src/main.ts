import { h, show } from './dom.ts';
import { FhirApi } from './fhir-api.ts';
import { ROLE_WORDS, whoIsSignedIn } from './kansas.ts';
import { showPerson } from './person-view.ts';
import { endWithToken, finishLaunch, signOut, startLaunch } from './session.ts';
import { showWorkList, type Navigation } from './work-list.ts';
import { refusalView } from './write-feedback.ts';

/**
 * The kanplan app: a SMART on FHIR app (SMART App Launch 2.2) for TCMs, care coordinators,
 * providers, people and guardians. Screens are kept in memory, never in the URL, so no person's
 * data or id reaches the address bar or the browser history.
 */
async function startApp(): Promise<void> {
  // Opened without a launch (no code, no session yet): go to the launch page, keeping iss/launch.
  if (!new URLSearchParams(location.search).has('code') && !sessionStorage.getItem('SMART_KEY')) {
    location.replace(`launch.html${location.search}`);
    return;
  }
  const client = await finishLaunch();
  const api = new FhirApi(client, () => signOut('Your session ended. Sign in again to continue.'));
  endWithToken(client);
  const user = await whoIsSignedIn(api, client.getFhirUser() ?? undefined);
  const who = document.getElementById('who');
  if (who) who.textContent = `${user.name} (${ROLE_WORDS[user.role]})`;
  const button = document.getElementById('sign-out');
  if (button) {
    button.hidden = false;
    button.onclick = () => signOut();
  }
  const go: Navigation = {
    workList: (notice) => void showWorkList(api, user, go, notice),
    person: (reference, notice) => void showPerson(api, user, go, reference, notice),
  };
  // A person or guardian sees their person; a launch with a patient opens that person; others their work list.
  const launchPatient = client.state.tokenResponse?.patient;
  const person = launchPatient ? `Patient/${launchPatient}` : user.person;
  if (person) go.person(person);
  else go.workList();
}

const page = document.body.dataset.page;
const run = page === 'launch' ? startLaunch() : startApp();
run.catch((err: unknown) => {
  show('Something went wrong', refusalView(err), h('p', {}, h('a', { href: 'launch.html' }, 'Sign in again')));
});
