/**
 * The pages of the sign-in flow as plain functions returning HTML: server-rendered, no script,
 * no external assets, labelled inputs, one h1 per page, `lang` set — readable by screen readers
 * and simple to drive from tests (inputs `login`, `password`, `patient`; buttons with clear text).
 */
export interface ScopeLine {
  readonly scope: string;
  readonly description: string;
}

export interface PatientOption {
  readonly id: string;
  readonly name: string;
  readonly birthDate?: string;
}

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => escapes[char]);

const STYLE = `body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}
label{display:block;margin-top:1rem;font-weight:600}input[type=text],input[type=password],input[type=search]{width:100%;padding:.5rem;font-size:1rem}
button{margin-top:1rem;margin-right:.5rem;padding:.5rem 1.2rem;font-size:1rem}.error{color:#9b1c1c;border:1px solid #9b1c1c;padding:.5rem}
fieldset{margin-top:1rem}fieldset label{font-weight:400;display:inline}li{margin:.3rem 0}code{font-size:.85em}`;

function layout(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)} – kanplan</title><style>${STYLE}</style></head>
<body><main>
${body}
</main></body>
</html>`;
}

function scopeList(scopes: readonly ScopeLine[]): string {
  if (scopes.length === 0) return '<p>The app asks for no access to records.</p>';
  return `<ul>${scopes.map((line) => `<li>${escapeHtml(line.description)} <code>${escapeHtml(line.scope)}</code></li>`).join('')}</ul>`;
}

export function loginPage(view: { action: string; appName: string; scopes: readonly ScopeLine[]; error?: string; login?: string }): string {
  return layout(
    'Sign in',
    `<h1>Sign in to kanplan</h1>
<p><strong>${escapeHtml(view.appName)}</strong> wants to use your kanplan records.</p>
${view.error ? `<p class="error" role="alert">${escapeHtml(view.error)}</p>` : ''}
<form method="post" action="${escapeHtml(view.action)}">
<label for="login">Login name</label>
<input type="text" id="login" name="login" autocomplete="username" required autofocus value="${escapeHtml(view.login ?? '')}">
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
<h2>The app asks to</h2>
${scopeList(view.scopes)}`,
  );
}

export interface ConsentView {
  readonly action: string;
  /** Where the name filter of the patient picker is sent (GET). */
  readonly filterAction: string;
  readonly appName: string;
  readonly userLabel: string;
  readonly scopes: readonly ScopeLine[];
  /** The patient picker's choices; absent when no patient is to be chosen. */
  readonly patients?: readonly PatientOption[];
  readonly filter?: string;
  /** A patient bound by the EHR launch, shown for information. */
  readonly launchPatient?: string;
  readonly error?: string;
}

function picker(view: ConsentView): string {
  if (!view.patients) return '';
  const options = view.patients.length
    ? view.patients
        .map(
          (patient, index) =>
            `<li><input type="radio" id="patient-${index}" name="patient" value="${escapeHtml(patient.id)}"${view.patients?.length === 1 ? ' checked' : ''} required> <label for="patient-${index}">${escapeHtml(patient.name)}${patient.birthDate ? `, born ${escapeHtml(patient.birthDate)}` : ''} <code>Patient/${escapeHtml(patient.id)}</code></label></li>`,
        )
        .join('')
    : '<li>No patient matches.</li>';
  return `<fieldset><legend>Choose the patient</legend><ul>${options}</ul></fieldset>`;
}

export function consentPage(view: ConsentView): string {
  const filterForm = view.patients
    ? `<form method="get" action="${escapeHtml(view.filterAction)}" role="search">
<label for="filter">Find a patient by name</label>
<input type="search" id="filter" name="name" value="${escapeHtml(view.filter ?? '')}">
<button type="submit">Search</button>
</form>`
    : '';
  return layout(
    'Allow access',
    `<h1>Allow ${escapeHtml(view.appName)} to use your records?</h1>
<p>You are signed in as <strong>${escapeHtml(view.userLabel)}</strong>.</p>
${view.error ? `<p class="error" role="alert">${escapeHtml(view.error)}</p>` : ''}
${view.launchPatient ? `<p>Patient: <code>Patient/${escapeHtml(view.launchPatient)}</code></p>` : ''}
<h2>The app asks to</h2>
${scopeList(view.scopes)}
${filterForm}
<form method="post" action="${escapeHtml(view.action)}">
${picker(view)}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" formnovalidate>Deny</button>
</form>`,
  );
}

export function errorPage(error: string, description: string): string {
  return layout('Sign-in problem', `<h1>The sign-in could not go on</h1><p role="alert"><strong>${escapeHtml(error)}</strong>: ${escapeHtml(description)}</p><p>Go back to the app and start again.</p>`);
}
