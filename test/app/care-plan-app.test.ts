import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildApp } from '../../app/build.ts';
import { addUser } from '../../src/auth/server/users.ts';
import { launchTestBrowser, type TestBrowser } from '../browser.ts';
import { http, issueTestToken, startTestServer, testDatabases, type TestServer } from '../harness.ts';

const TASK_TYPE = 'https://kanplan.org/fhir/CodeSystem/ks-task-type';
const ROLE = 'https://kanplan.org/fhir/CodeSystem/ks-practitioner-role';
const ORG_TYPE = 'https://kanplan.org/fhir/CodeSystem/ks-organization-type';
const ARTIFACTS = path.resolve('test-artifacts/app');
const AXE_SOURCE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const documentText = (file: string): string => fs.readFileSync(new URL(`../../bundles/documents/${file}`, import.meta.url), 'utf8');

/** Fictional agencies and workers, one sign-in each (as in test/workflow/year.test.ts). */
const CAST = [
  { resourceType: 'Organization', id: 'app-tcm-agency', name: 'Example TCM agency (fictional)' },
  // The person's KS MCO extension names this MCO by identifier: change-of-needs Tasks are owned by it.
  { resourceType: 'Organization', id: 'app-mco', name: 'Example MCO (fictional)', identifier: [{ system: 'https://kanplan.org/fhir/CodeSystem/ks-mco', value: 'sunflower' }] },
  // Kansas organization types (ks-organization-type): the app's pick-lists offer these first.
  { resourceType: 'Organization', id: 'app-provider-agency', name: 'Example provider agency (fictional)', type: [{ coding: [{ system: ORG_TYPE, code: 'hcbs-provider-agency' }] }] },
  { resourceType: 'Organization', id: 'app-other-provider', name: 'Another provider agency (fictional)', type: [{ coding: [{ system: ORG_TYPE, code: 'hcbs-provider-agency' }] }] },
  { resourceType: 'Organization', id: 'app-report-center', name: 'Example protection report center (fictional)', type: [{ coding: [{ system: ORG_TYPE, code: 'dcf' }] }] },
  { resourceType: 'Organization', id: 'app-kdads', name: 'Example state agency (fictional)', type: [{ coding: [{ system: ORG_TYPE, code: 'kdads' }] }] },
  ...(
    [
      ['app-tcm', 'targeted-case-manager', 'app-tcm-agency', 'Tess'],
      ['app-cc', 'mco-care-coordinator', 'app-mco', 'Cal'],
      ['app-provider', 'hcbs-provider', 'app-provider-agency', 'Pat'],
    ] as const
  ).flatMap(([id, role, organization, given]) => [
    { resourceType: 'Practitioner', id: `${id}-person`, name: [{ family: 'Appworker', given: [given] }] },
    { resourceType: 'PractitionerRole', id, practitioner: { reference: `Practitioner/${id}-person` }, organization: { reference: `Organization/${organization}` }, code: [{ coding: [{ system: ROLE, code: role }] }] },
  ]),
];

/** No serious or critical axe-core violations on the screen as it is now (WCAG 2.1 AA rules). */
async function expectAccessible(page: Page, screen: string): Promise<void> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: { id: string; impact?: string; help: string; nodes: { target: unknown }[] }[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help} (${JSON.stringify(v.nodes.map((n) => n.target))})`);
  });
  expect(violations, `accessibility of ${screen}`).toEqual([]);
  // A phone-sized screen: nothing wider than the viewport (wide tables scroll inside their region).
  expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth), `width of ${screen}`).toBeLessThanOrEqual(0);
  // No protected health information in the address bar or in persistent storage.
  expect(await page.evaluate(() => localStorage.length), `localStorage on ${screen}`).toBe(0);
  expect(page.url(), `address of ${screen}`).not.toMatch(/Patient|patient=|code=/);
}

async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

describe.each(testDatabases)('the kanplan app in Chromium on %s', (kind) => {
  let server: TestServer;
  let browser: TestBrowser;
  let origin: string;
  let patient: string;
  let otherPatient: string;
  let pcspReference: string;

  beforeAll(async () => {
    await buildApp();
    server = await startTestServer(kind);
    origin = new URL(server.url).origin;
    for (const resource of CAST) expect((await http(server, 'PUT', `${resource.resourceType}/${resource.id}`, { body: resource })).status).toBe(201);
    const as = async (fhirUser: string) => ({ url: server.url, token: await issueTestToken(server.server, 'user/*.cruds', '1h', { fhirUser }) });
    const tcm = await as('PractitionerRole/app-tcm');
    const cc = await as('PractitionerRole/app-cc');
    const importing = (who: { url: string; token: string }, file: string) => http(who, 'POST', 'CarePlan/$import-document', { raw: documentText(file), headers: { 'content-type': 'application/json' } });
    const pcsp = await importing(tcm, 'avery-example.pcsp.json');
    expect(pcsp.status, pcsp.text).toBe(201);
    const plan = (await http(tcm, 'GET', pcsp.body.parameter.find((p: { name: string }) => p.name === 'carePlan').valueReference.reference)).body;
    patient = plan.subject.reference;
    pcspReference = `CarePlan/${plan.id}`;
    expect((await importing(tcm, 'avery-example.bsp.json')).status).toBe(201);
    expect((await importing(cc, 'avery-example.isp.json')).status).toBe(201);
    // A changed PCSP: the server opens the change-of-needs Task for the care coordinator.
    expect((await importing(tcm, 'updates/avery-example.pcsp.update-1.json')).status).toBe(200);
    const other = await importing(tcm, 'sam-testperson.pcsp.json');
    expect(other.status, other.text).toBe(201);
    otherPatient = (await http(tcm, 'GET', other.body.parameter.find((p: { name: string }) => p.name === 'carePlan').valueReference.reference)).body.subject.reference;
    const referral = { resourceType: 'Task', status: 'requested', intent: 'order', code: { coding: [{ system: TASK_TYPE, code: 'referral' }] }, description: 'Day services three days a week', for: { reference: patient }, authoredOn: '2026-08-01', requester: { reference: 'PractitionerRole/app-tcm' }, owner: { reference: 'Organization/app-provider-agency' } };
    expect((await http(tcm, 'POST', 'Task', { body: referral })).status).toBe(201);
    expect((await http(tcm, 'POST', 'Task', { body: { ...referral, description: 'Respite care on weekends' } })).status).toBe(201);
    expect((await http(server, 'PUT', 'RelatedPerson/app-guardian', { body: { resourceType: 'RelatedPerson', id: 'app-guardian', patient: { reference: patient }, name: [{ family: 'Guardianperson', given: ['Gale'] }] } })).status).toBe(201);
    await addUser(server.db, 'app.tcm', 'PractitionerRole/app-tcm', 'app-password-tcm');
    await addUser(server.db, 'app.cc', 'PractitionerRole/app-cc', 'app-password-cc');
    await addUser(server.db, 'app.provider', 'PractitionerRole/app-provider', 'app-password-provider');
    expect((await http(server, 'PUT', 'RelatedPerson/app-other-guardian', { body: { resourceType: 'RelatedPerson', id: 'app-other-guardian', patient: { reference: otherPatient }, name: [{ family: 'Otherguardian', given: ['Olu'] }] } })).status).toBe(201);
    await addUser(server.db, 'app.guardian', 'RelatedPerson/app-guardian', 'app-password-guardian');
    await addUser(server.db, 'app.other-guardian', 'RelatedPerson/app-other-guardian', 'app-password-other-guardian');
    browser = await launchTestBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** Opens /app/, signs in at the authorization server, allows, and waits for the first screen. */
  async function signIn(login: string, password: string, screenshotName?: string): Promise<Page> {
    await browser.context.clearCookies();
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${origin}/app/`);
    await page.waitForURL('**/app/launch.html');
    await page.waitForSelector('#sign-in-work-list');
    if (screenshotName) {
      await expectAccessible(page, 'launch');
      await screenshot(page, screenshotName);
    }
    await page.click('#sign-in-work-list');
    await page.fill('input[name="login"]', login);
    await page.fill('input[name="password"]', password);
    await page.click('button:has-text("Sign in")');
    await page.click('button:has-text("Allow")');
    await page.waitForURL(`${origin}/app/index.html**`);
    await page.waitForSelector('#sign-out:not([hidden])');
    // No code, state or person in the address bar once the app has started.
    await page.waitForFunction(() => !location.search.includes('code='));
    return page;
  }

  test('an EHR launch opens the app signed in on the person the EHR chose', async () => {
    const ehr = { url: server.url, token: await issueTestToken(server.server, 'system/*.cruds', '5m') };
    const created = await fetch(`${origin}/auth/launch`, { method: 'POST', headers: { authorization: `Bearer ${ehr.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ patient: patient.split('/')[1], user: 'app.tcm' }) });
    expect(created.status).toBe(201);
    const { launch, iss } = (await created.json()) as { launch: string; iss: string };
    await browser.context.clearCookies();
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${origin}/app/launch.html?iss=${encodeURIComponent(iss)}&launch=${encodeURIComponent(launch)}`);
    await page.fill('input[name="login"]', 'app.tcm');
    await page.fill('input[name="password"]', 'app-password-tcm');
    await page.click('button:has-text("Sign in")');
    await page.click('button:has-text("Allow")');
    await page.waitForURL(`${origin}/app/index.html**`);
    await page.waitForSelector('h1:has-text("Avery Example")');
    await page.waitForSelector('h2:has-text("Plans")');
    // The launch id and the code stay out of the address bar once the app has started.
    await page.waitForFunction(() => !location.search.includes('code='));
    expect(page.url()).not.toContain(launch);
    await page.close();
  });

  test('a standalone launch with the patient picker opens the chosen person; nothing about them reaches the address bar or persistent storage', async () => {
    await browser.context.clearCookies();
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${origin}/app/`);
    await page.click('#sign-in-person');
    await page.fill('input[name="login"]', 'app.tcm');
    await page.fill('input[name="password"]', 'app-password-tcm');
    await page.click('button:has-text("Sign in")');
    await page.fill('input[name="name"]', 'Sam');
    await page.click('button:has-text("Search")');
    await page.click('label:has-text("Sam Testperson")');
    await page.click('button:has-text("Allow")');
    await page.waitForURL(`${origin}/app/index.html**`);
    await page.waitForSelector('h1:has-text("Sam Testperson")');
    await page.waitForSelector('h2:has-text("Plans")');
    await page.waitForFunction(() => !location.search.includes('code='));
    expect(page.url()).not.toContain(otherPatient.split('/')[1]);
    await expectAccessible(page, 'person view (picked at launch)');
    // The launch state lives in sessionStorage only (it ends with the tab or Sign out): no IndexedDB, no cookie set for the app.
    expect(await page.evaluate(async () => (await indexedDB.databases()).length)).toBe(0);
    expect((await browser.context.cookies(`${origin}/app/`)).filter((c) => c.path.startsWith('/app'))).toEqual([]);
    await page.close();
  });

  test('a TCM finds the change-of-needs Task, opens the person, imports a changed PCSP (the errors of a bad one shown), sees the timeline, records a change in needs, files an ANE report (a missing field said in words) and refers to a provider, each agency picked from the directory', async () => {
    const page = await signIn('app.tcm', 'app-password-tcm', 'launch');
    await page.waitForSelector('h1:has-text("My work list")');
    await page.waitForSelector('section h2:has-text("Change of needs")');
    expect(await page.textContent('#task-counts')).toMatch(/open task/);
    await expectAccessible(page, 'work list (TCM)');
    await screenshot(page, 'work-list-tcm');
    await page.click('li:has(h3:has-text("Change of needs")) button:has-text("Open")');
    await page.waitForSelector('h1:has-text("Avery Example")');
    await page.waitForSelector('h2:has-text("Plans")');
    expect(await page.locator('[data-plan]').count()).toBeGreaterThanOrEqual(3);
    await page.click('[data-plan="pcsp"] button:has-text("Show the PCSP")');
    await page.waitForSelector('iframe.plan');
    await expectAccessible(page, 'person view (TCM)');
    await screenshot(page, 'person-tcm');

    await page.setInputFiles('input[name="document"]', { name: 'bad.pcsp.json', mimeType: 'application/json', buffer: Buffer.from(documentText('invalid/required.goal-without-description.pcsp.json')) });
    await page.click('button:has-text("Import the document")');
    const alert = page.locator('#import-result [role="alert"]');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/description/);
    await expectAccessible(page, 'import refused');
    await screenshot(page, 'import-error');

    const changed = JSON.parse(documentText('updates/avery-example.pcsp.update-1.json'));
    changed.strengths = [...changed.strengths, 'Likes to help neighbours with their gardens'];
    await page.setInputFiles('input[name="document"]', { name: 'changed.pcsp.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(changed)) });
    await page.click('button:has-text("Import the document")');
    await page.waitForSelector('p.notice:has-text("was imported")');

    // The timeline shows who changed what (Provenance of each import).
    expect(await page.locator('section:has(h2:has-text("Who changed what")) li').count()).toBeGreaterThanOrEqual(1);

    const change = page.locator('form[data-task-form="notify-change-of-needs"]');
    await change.locator('textarea[name="description"]').fill('Moved to a new day program closer to home');
    await change.locator('button[type="submit"]').click();
    await page.waitForSelector('p.notice:has-text("The change in needs was recorded")');
    await page.waitForSelector('section:has(h2:has-text("Tasks")) li:has-text("Moved to a new day program")');

    // An ANE report without the place it goes to is not sent; the form says which field is missing.
    let ane = page.locator('form[data-task-form="ane-report"]');
    await ane.locator('textarea[name="description"]').fill('Unexplained bruise on the left arm noticed at day program');
    await ane.locator('button[type="submit"]').click();
    const missing = ane.locator('[role="alert"]');
    await missing.waitFor();
    expect(await missing.textContent()).toMatch(/Report to .*is required/);
    expect(await ane.locator('select[name="owner"]').getAttribute('aria-invalid')).toBe('true');
    await expectAccessible(page, 'ANE report refused');
    // The agency comes from the directory: the DCF and KDADS organizations, narrowed by name.
    const options = () => ane.locator('select[name="owner"] option:not([value=""])').allTextContents();
    await expect.poll(options).toEqual(['Example protection report center (fictional)', 'Example state agency (fictional)']);
    await ane.locator('input[name="owner-find"]').fill('protection');
    await ane.locator('button:has-text("Find")').click();
    await expect.poll(options).toEqual(['Example protection report center (fictional)']);
    expect(await ane.locator('select[name="owner"]').inputValue()).toBe('Organization/app-report-center');
    await ane.locator('button[type="submit"]').click();
    await page.waitForSelector('p.notice:has-text("The ANE report was filed")');
    ane = page.locator('section:has(h2:has-text("Tasks")) li:has(h3:has-text("ANE report"))');
    await ane.waitFor();
    expect(await ane.textContent()).toMatch(/urgent/);

    // A referral to a provider agency picked from the directory.
    const referral = page.locator('form[data-task-form="referral"]');
    await expect.poll(() => referral.locator('select[name="owner"] option:not([value=""])').allTextContents()).toEqual(['Another provider agency (fictional)', 'Example provider agency (fictional)']);
    await referral.locator('textarea[name="description"]').fill('Supported employment two mornings a week');
    await referral.locator('select[name="owner"]').selectOption('Organization/app-provider-agency');
    await referral.locator('button[type="submit"]').click();
    await page.waitForSelector('p.notice:has-text("The referral was sent")');
    await page.waitForSelector('section:has(h2:has-text("Tasks")) li:has(h3:has-text("Referral")):has-text("Supported employment")');
    await page.close();
  });

  test('a care coordinator authorizes one planned service, denies another, partly approves a third with a reason and completes the ISP update', async () => {
    const page = await signIn('app.cc', 'app-password-cc');
    await page.waitForSelector('section h2:has-text("Change of needs")');
    await expectAccessible(page, 'work list (CC)');
    await screenshot(page, 'work-list-cc');
    await page.locator('li:has(h3:has-text("Change of needs")) button:has-text("Open")').first().click();
    await page.waitForSelector('h2:has-text("Services: planned and authorized")');
    const forms = page.locator('form.decide');
    expect(await forms.count()).toBeGreaterThanOrEqual(2);
    const first = forms.nth(0);
    await first.locator('input[name="number"]').fill('AUTH-APP-0001');
    await first.locator('button:has-text("Save decision")').click();
    await page.waitForSelector('p.notice, form.decide [role="alert"]');
    expect(await page.locator('form.decide [role="alert"]').allTextContents()).toEqual([]);
    await page.waitForSelector('p.notice:has-text("Approved: saved")');
    // The screen re-renders after the write; wait for the approved service's form to be gone.
    await expect.poll(() => page.locator('td .tag:has-text("Approved")').count()).toBe(1);
    const second = page.locator('form.decide').nth(0);
    await second.locator('select[name="decision"]').selectOption('denied');
    await second.locator('input[name="number"]').fill('AUTH-APP-0002');
    await second.locator('input[name="reason"]').fill('Covered by another service');
    await second.locator('button:has-text("Save decision")').click();
    await page.waitForSelector('p.notice:has-text("Denied: saved"), form.decide [role="alert"]');
    expect(await page.locator('form.decide [role="alert"]').allTextContents()).toEqual([]);
    expect(await page.locator('td .tag:has-text("Approved")').count()).toBe(1);
    expect(await page.locator('td .tag:has-text("Denied")').count()).toBe(1);
    await expectAccessible(page, 'person view (CC)');
    await screenshot(page, 'person-cc');

    const third = page.locator('form.decide').nth(0);
    await third.locator('select[name="decision"]').selectOption('partially-approved');
    await third.locator('input[name="units"]').fill('4');
    await third.locator('input[name="number"]').fill('AUTH-APP-0003');
    await third.locator('input[name="reason"]').fill('Half the hours asked for; review in three months');
    await third.locator('button:has-text("Save decision")').click();
    await page.waitForSelector('p.notice:has-text("Partly approved: saved"), form.decide [role="alert"]');
    expect(await page.locator('form.decide [role="alert"]').allTextContents()).toEqual([]);
    await page.waitForSelector('td:has(.tag:has-text("Partly approved")):has-text("Half the hours asked for")');

    // Back on the work list, the care coordinator completes the ISP update for a change of needs.
    await page.click('button:has-text("Back to my work list")');
    await page.waitForSelector('section h2:has-text("Change of needs")');
    const before = await page.locator('li:has(h3:has-text("Change of needs"))').count();
    await page.locator('li:has(h3:has-text("Change of needs")) button:has-text("Complete the ISP update")').first().click();
    await page.waitForSelector('p.notice:has-text("The ISP now includes this change"), li [role="alert"]');
    expect(await page.locator('li [role="alert"]').allTextContents()).toEqual([]);
    expect(await page.locator('li:has(h3:has-text("Change of needs"))').count()).toBeLessThan(before);
    await page.close();
  });

  test('a provider rejects one referral (a reason is needed), accepts and completes another, and finds the one the TCM sent from the app', async () => {
    const page = await signIn('app.provider', 'app-password-provider');
    await page.waitForSelector('section h2:has-text("Referral")');
    await expectAccessible(page, 'work list (provider)');
    await screenshot(page, 'work-list-provider');
    // A rejection without a reason: the server's 422 (rule ks-task-status-reason) is shown in words.
    const respite = page.locator('li:has(h3:has-text("Referral")):has-text("Respite care on weekends")');
    await respite.locator('button:has-text("Reject")').click();
    const refused = respite.locator('[role="alert"]');
    await refused.waitFor();
    expect(await refused.textContent()).toMatch(/does not meet the Kansas rules.*reason/s);
    await expectAccessible(page, 'referral rejection refused');
    await respite.locator('input[name="reason"]').fill('No weekend staff until next spring');
    await respite.locator('button:has-text("Reject")').click();
    await page.waitForSelector('p.notice:has-text("Referral is now rejected")');
    expect(await page.locator('li:has-text("Respite care on weekends")').count()).toBe(0);
    const dayServices = 'li:has(h3:has-text("Referral")):has-text("Day services three days a week")';
    await page.click(`${dayServices} button:has-text("Accept")`);
    await page.waitForSelector('p.notice:has-text("Referral is now accepted")');
    await page.click(`${dayServices} button:has-text("Mark complete")`);
    await page.waitForSelector('p.notice:has-text("Referral is now completed")');
    expect(await page.locator(dayServices).count()).toBe(0);
    // The referral the TCM sent from the app (to this agency, picked from the directory) waits here.
    expect(await page.locator('li:has(h3:has-text("Referral"))').allTextContents()).toEqual([expect.stringContaining('Supported employment two mornings a week')]);
    await page.close();
  });

  test("a guardian sees only their person's plans and signs the PCSP (the form says what is missing)", async () => {
    const page = await signIn('app.guardian', 'app-password-guardian');
    await page.waitForSelector('h1:has-text("Avery Example")');
    await page.waitForSelector('[data-plan="pcsp"]');
    expect(await page.locator('button:has-text("Back to my work list")').count()).toBe(0);
    // The PCSP document's own signatures (imported by the TCM) are listed.
    await page.waitForSelector('table[data-signatures] td:has-text("Avery Example")');
    await expectAccessible(page, 'person view (guardian)');
    await screenshot(page, 'person-guardian');
    // The other person's plans are not there for this sign-in, even asked for directly.
    const status = await page.evaluate(async (reference) => {
      const state = JSON.parse(sessionStorage.getItem(JSON.parse(sessionStorage.getItem('SMART_KEY') as string)) as string);
      const response = await fetch(`${state.serverUrl}/CarePlan?subject=${reference}`, { headers: { authorization: `Bearer ${state.tokenResponse.access_token}` } });
      return ((await response.json()) as { entry?: unknown[] }).entry?.length ?? 0;
    }, otherPatient);
    expect(status).toBe(0);

    const sign = page.locator('form[data-sign="pcsp"]');
    await sign.locator('button[type="submit"]').click();
    const missing = sign.locator('[role="alert"]');
    await missing.waitFor();
    expect(await missing.textContent()).toMatch(/I have read the PCSP.*Type your full name/s);
    await expectAccessible(page, 'signature refused');
    await sign.locator('input[name="agree"]').check();
    await sign.locator('input[name="signature"]').fill('Gale Guardianperson');
    await sign.locator('button[type="submit"]').click();
    await page.waitForSelector('p.notice:has-text("Your signature on the PCSP was saved")');
    const row = page.locator('table[data-signatures] tr:has-text("Gale Guardianperson")');
    await row.waitFor();
    expect(await row.textContent()).toMatch(/PCSP.*Gale Guardianperson.*Guardian.*electronic/);
    // Signed: the PCSP's form is gone until the plan changes.
    expect(await page.locator('form[data-sign="pcsp"]').count()).toBe(0);
    await expectAccessible(page, 'person view (guardian, signed)');
    await screenshot(page, 'person-guardian-signed');

    await page.click('#sign-out');
    await page.waitForSelector('h1:has-text("Signed out")');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.close();
  });

  test("another person's guardian sees neither that plan nor its signatures and cannot sign it", async () => {
    const page = await signIn('app.other-guardian', 'app-password-other-guardian');
    await page.waitForSelector('h1:has-text("Sam Testperson")');
    await page.waitForSelector('section:has(h2:has-text("Signatures"))');
    expect(await page.locator('table[data-signatures] tr:has-text("Gale Guardianperson")').count()).toBe(0);
    // Signing the other person's PCSP with this sign-in's token is refused by the server (403).
    const refused = await page.evaluate(
      async ({ person, plan }) => {
        const state = JSON.parse(sessionStorage.getItem(JSON.parse(sessionStorage.getItem('SMART_KEY') as string)) as string);
        const me = { reference: 'RelatedPerson/app-other-guardian', display: 'Olu Otherguardian' };
        const contract = {
          resourceType: 'Contract',
          meta: { profile: ['https://kanplan.org/fhir/StructureDefinition/ks-plan-signatures'] },
          status: 'executed',
          subject: [{ reference: person }],
          topicReference: { reference: plan },
          signer: [{ type: { system: 'https://kanplan.org/fhir/CodeSystem/ks-signer-role', code: 'guardian' }, party: me, signature: [{ type: [{ system: 'urn:iso-astm:E1762-95:2013', code: '1.2.840.10065.1.12.1.7' }], when: new Date().toISOString(), who: me }] }],
        };
        const response = await fetch(`${state.serverUrl}/Contract`, { method: 'POST', headers: { authorization: `Bearer ${state.tokenResponse.access_token}`, 'content-type': 'application/fhir+json' }, body: JSON.stringify(contract) });
        return response.status;
      },
      { person: patient, plan: pcspReference },
    );
    expect(refused).toBe(403);
    await page.close();
  });
});
